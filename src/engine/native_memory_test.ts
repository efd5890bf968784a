import assert from "node:assert/strict";
import { pl } from "../../mod.ts";
import { NativeMemory } from "./native_memory.ts";

Deno.test("after 64 computed partitions, the polars frames nothing holds are collected", async () => {
  const memory = new NativeMemory();
  let freed = false;
  const registry = new FinalizationRegistry(() => freed = true);
  (() => registry.register(pl.DataFrame({ a: [1, 2, 3] }), "frame"))();
  for (let i = 0; i < 64; i++) memory.computed(1024);
  for (let tick = 0; tick < 10 && !freed; tick++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.ok(freed, "the frame was collected");
});
