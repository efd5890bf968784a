import assert from "node:assert/strict";
import { scheduleNodes } from "./schedule.ts";

Deno.test("invocations run up to their pool's size at once, beside the in-process steps", async () => {
  const nodes = Array.from({ length: 24 }, (_, i) => ({ id: i, remote: i % 3 !== 0 }));
  const running = { remote: 0, local: 0 };
  const most = { remote: 0, local: 0 };
  const outcome = await scheduleNodes(
    nodes,
    () => [],
    2,
    async (node) => {
      const pool = node.remote ? "remote" : "local";
      running[pool] += 1;
      most[pool] = Math.max(most[pool], running[pool]);
      await new Promise((resolve) => setTimeout(resolve, 5));
      running[pool] -= 1;
    },
    { pools: { of: (node) => node.remote ? "invocations" : undefined, sizes: { invocations: 8 } } },
  );
  assert.deepEqual(outcome.failures, []);
  assert.deepEqual(most, { remote: 8, local: 2 });
});
