/**
 * The content key of what a step wrote: the same bytes get the same key whoever staged them (a
 * local task in cloud mode, a Lambda function, a Spark job), and an output with the bytes its
 * bucket holds keeps that version's key.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import pl from "../../polars.ts";
import { hashFile } from "../../io/file_identity.ts";
import { sinkFile } from "../../io/formats.ts";
import { writtenKey } from "./ledger.ts";

const RUNNER_DIR = fileURLToPath(new URL("../../backends/spark/", import.meta.url));

/** What the Spark runner's `Storage.put` answers for placing a local file at a local path. */
async function placedBySparkRunner(file: string, target: string): Promise<unknown> {
  const script = [
    "import json, sys",
    `sys.path.insert(0, ${JSON.stringify(RUNNER_DIR)})`,
    "import runner",
    "print(json.dumps(runner.Storage(None, classic=False).put(sys.argv[1], sys.argv[2])))",
  ].join("\n");
  const out = await new Deno.Command("python3", {
    args: ["-c", script, file, target],
    env: { GLACIER_SPARK_IO: "staged" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

Deno.test("a local task's cloud write and a Spark or Lambda write of the same bytes get the same content key", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // The file a step's polars plan gives, as a local task in cloud mode and a function stage it.
    const file = join(dir, "out.parquet");
    const frame = pl.DataFrame({ n: pl.Series("n", [1, 2, 3], pl.Int64) });
    await sinkFile(frame.lazy(), file, "parquet");
    const bytes = (await Deno.stat(file)).size;
    // The key of the version a local task wrote in cloud mode (S3RunSession hashes its upload;
    // the Lambda runtime hashes the file it uploads the same way).
    const held = {
      key: await writtenKey(
        { bytes, content: await hashFile(file) },
        undefined,
        undefined,
        "run:1:mid",
      ),
      bytes,
    };
    assert.match(held.key, /^sha256:[0-9a-f]{64}$/);

    const placed = await placedBySparkRunner(file, join(dir, "placed.parquet")) as {
      bytes: number;
      content: string;
    };
    assert.deepEqual(placed, { bytes, content: held.key });
    assert.deepEqual(await Deno.readFile(join(dir, "placed.parquet")), await Deno.readFile(file));
    const asked: string[] = [];
    const compare = () => {
      asked.push("compared");
      return Promise.resolve(false);
    };
    assert.equal(await writtenKey(placed, held, compare, "run:2:mid"), held.key);
    // Other bytes: a key of their own.
    const other = join(dir, "other.parquet");
    await sinkFile(frame.lazy().select(pl.col("n").add(pl.col("n"))), other, "parquet");
    const changed = { bytes: (await Deno.stat(other)).size, content: await hashFile(other) };
    assert.equal(await writtenKey(changed, held, compare, "run:2:mid"), changed.content);
    // Hashes tell on their own: the staged object is never read to compare.
    assert.deepEqual(asked, []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

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
