/**
 * The content key of what a step wrote: the same bytes get the same key whoever staged them (a
 * local task in cloud mode, a Lambda function, a Spark job), and an output with the bytes its
 * bucket holds keeps that version's key.
 */
import assert from "node:assert/strict";
import { writtenKey } from "./ledger.ts";

Deno.test("an output staged with no hash keeps the version its bucket holds when its bytes are the same, and only then", async () => {
  const held = { key: "run:1:mid", bytes: 100 };
  const same = () => Promise.resolve(true);
  const differs = () => Promise.resolve(false);
  assert.equal(await writtenKey({ bytes: 100 }, held, same, "run:2:mid"), "run:1:mid");
  assert.equal(await writtenKey({ bytes: 100 }, held, differs, "run:2:mid"), "run:2:mid");
  // Another size: not compared.
  assert.equal(
    await writtenKey({ bytes: 99 }, held, () => assert.fail("compared"), "run:2:mid"),
    "run:2:mid",
  );
  // A hash against a version keyed before hashes: compared, and kept when the bytes are the same.
  const hashed = { bytes: 100, content: `sha256:${"a".repeat(64)}` };
  assert.equal(await writtenKey(hashed, held, same, "run:2:mid"), "run:1:mid");
  assert.equal(await writtenKey(hashed, held, differs, "run:2:mid"), hashed.content);
  assert.equal(await writtenKey({ bytes: 100 }, undefined, same, "run:2:mid"), "run:2:mid");
});
