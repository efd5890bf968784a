/**
 * The cascade stops in cloud mode whatever resource wrote an output: a step that reruns on Lambda
 * or on Spark and writes the bytes its bucket holds leaves its version as it was, so the steps
 * downstream are up to date, and a change that does reach the output is said truly. On real
 * software: a real S3 server (versitygw), the module's Lambda artifact under the AWS Lambda
 * Runtime Interface Emulator, and the Spark Connect server of PySpark 4.0.1.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { pl, Provider, type RunReport, SparkConfig } from "../../mod.ts";
import type { BucketRef } from "../../src/core/lineage.ts";
import { S3RunSession } from "../../src/io/s3/s3_session.ts";
import { S3Storage } from "../../src/io/s3/s3_storage.ts";
import { PutObjectCommand } from "../../src/io/s3/_sdk.ts";
import { s3Client, withS3Server } from "./_s3_server.ts";
import { withLambdaStack } from "./_lambda_stack.ts";
import { NO_SPARK, sharedSparkConnect } from "./_spark_cluster.ts";
import { AWS_VARIABLES, withEnv } from "../_env.ts";

const modUrl = new URL("../../mod.ts", import.meta.url).href;

/** Task `a`'s code, as written first and after an edit that changes nothing it writes. */
const DOUBLE = {
  first: `df.select(pl.col("n").mul(pl.lit(2)).cast(pl.Int64).alias("n"))`,
  edited: `df.select(pl.col("n").add(pl.col("n")).alias("n"))`,
};

/**
 * A pipeline module: `raw -> a -> mid -> b -> out`, `a` with the code given, on Lambda in the
 * pipeline it exports, and on any resource through the `cascade` function it exports; `b` local.
 */
async function writeModule(double: string, bucket: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "glacier-cascade-module-" });
  const module = join(dir, "pipelines.ts");
  await Deno.writeTextFile(
    module,
    `import { type ExecutionResource, LambdaConfig, pl, Provider, schema, t } from "${modUrl}";
const N = schema({ n: t.int64 });
const Total = schema({ total: t.int64 });
export function cascade(provider: Provider, on: ExecutionResource, bucket: string) {
  const raw = provider.bucket({ bucket, path: "raw/n.parquet", schema: N });
  const mid = provider.bucket({ bucket, path: "mid/doubled.parquet", schema: N });
  const out = provider.bucket({ bucket, path: "out/total.parquet", schema: Total });
  const a = on.task({ name: "cascade_a", input: N, output: N }, (df) => ${double});
  const b = provider.local().task({ name: "cascade_b", input: N, output: Total }, (df) =>
    df.select(pl.col("n").sum().cast(pl.Int64).alias("total")));
  return { raw, out, pipeline: raw.transform(a).to(mid).transform(b).to(out).withName("cascade") };
}
const provider = new Provider({ localRoot: "${dir}" });
const lambda = provider.serverless({ config: new LambdaConfig({ memoryMb: 1024, timeoutSeconds: 60 }) });
export const { pipeline } = cascade(provider, lambda, "${bucket}");
`,
  );
  return module;
}

const nums = (values: number[]) => pl.DataFrame({ n: pl.Series("n", values, pl.Int64) });

function why(report: RunReport): string[] {
  return report.steps.map((s) => `${s.task} ${s.status}: ${s.reason}`);
}

/** What the module's `cascade` returns (the module is imported at run time). */
// deno-lint-ignore no-explicit-any
type Cascade = { raw: any; out: any; pipeline: any };

/** The first run, over `n` = 1, 2, 3: both steps run. */
async function seed(p: Cascade): Promise<void> {
  await p.raw.write(nums([1, 2, 3]), { mode: "cloud" });
  const seeded = await p.pipeline.run({ mode: "cloud", quiet: true });
  assert.deepEqual(why(seeded), [
    "cascade_a ran: no previous run",
    "cascade_b ran: no previous run",
  ]);
}

/**
 * Runs the pipeline after an edit of `a` that changes nothing it writes (`a` reruns, `b` is up to
 * date), then after a new input that changes what `a` writes (both rerun, and say why).
 */
async function editThenChange(p: Cascade): Promise<void> {
  const same = await p.pipeline.run({ mode: "cloud", quiet: true });
  assert.deepEqual(why(same), [
    "cascade_a ran: task code changed",
    "cascade_b skipped: up to date",
  ]);
  await p.raw.write(nums([1, 2, 4]), { mode: "cloud" });
  const changed = await p.pipeline.run({ mode: "cloud", quiet: true });
  assert.deepEqual(why(changed), ["cascade_a ran: input changed", "cascade_b ran: input changed"]);
  const total = (await p.out.read({ mode: "cloud" })).getColumn("total").get(0);
  assert.equal(Number(total), 14);
}

Deno.test("the cascade stops at an output whose bytes did not change, whatever resource wrote it", async (test) => {
  const bucket = `cascade-lambda-${crypto.randomUUID().slice(0, 6)}`;
  const first = await writeModule(DOUBLE.first, bucket);
  const edited = await writeModule(DOUBLE.edited, bucket);
  const v1 = await import(first);
  const v2 = await import(edited);
  await withS3Server(async (s3) => {
    await test.step("Lambda: a local task's write and a Lambda write of the same bytes are one version, and an edit that changes nothing stops there", async () => {
      await withEnv(s3.env(), async () => {
        // `a` on provider.local() first: the run hashes what it uploads.
        const provider = new Provider({ localRoot: await Deno.makeTempDir() });
        const here: Cascade = v1.cascade(provider, provider.local(), bucket);
        await seed(here);

        // The same task on Lambda, recomputed: the function hashes what it uploads.
        await withLambdaStack({ module: first, s3 }, async (stack) => {
          await withEnv(stack.env(), async () => {
            const moved = await v1.pipeline.run({
              mode: "cloud",
              force: ["cascade_a"],
              quiet: true,
            });
            assert.deepEqual(why(moved), [
              "cascade_a ran: forced",
              "cascade_b skipped: up to date",
            ]);
            assert.equal(moved.steps[0].resource, "lambda 1024 MB");
          });
        });

        // An edit of `a` that writes the same bytes: `a` reruns, `b` does not.
        await withLambdaStack({ module: edited, s3 }, async (stack) => {
          await withEnv(stack.env(), () => editThenChange({ ...here, pipeline: v2.pipeline }));
        });
      }, AWS_VARIABLES);
    });

    await test.step("Spark: an edit that changes nothing the job writes stops there", async () => {
      const server = await sharedSparkConnect();
      const other = `cascade-spark-${crypto.randomUUID().slice(0, 6)}`;
      await withEnv({ ...s3.env(), ...NO_SPARK, SPARK_REMOTE: server.remote }, async () => {
        const provider = new Provider({ localRoot: await Deno.makeTempDir() });
        const spark = provider.spark({
          config: new SparkConfig({ executors: 1, executorMemory: "1g" }),
        });
        await seed(v1.cascade(provider, spark, other));
        await editThenChange(v2.cascade(provider, spark, other));
      }, AWS_VARIABLES);
    });

    await test.step("an output staged with no hash is compared with the bucket's object: on their MD5s, or byte by byte when one was uploaded in parts", async () => {
      const other = `cascade-nohash-${crypto.randomUUID().slice(0, 6)}`;
      await withEnv(s3.env(), async () => {
        const provider = new Provider({ localRoot: await Deno.makeTempDir() });
        const { pipeline } = v1.cascade(provider, provider.local(), other);
        const mid: BucketRef = pipeline.graph().steps[0].target;
        const storage = new S3Storage(mid.settings.region);
        const client = s3Client(s3);
        const put = (key: string, body: Uint8Array) =>
          client.send(new PutObjectCommand({ Bucket: other, Key: key, Body: body }));
        const dir = await Deno.makeTempDir();
        const session = await S3RunSession.begin(pipeline.graph());
        try {
          const at = session.stagingFor(mid);
          // What a function or job that reports no hash leaves: an object at the staging key.
          const staged = async (body: Uint8Array, inParts = false) => {
            if (inParts) {
              // Larger than one part (16 MiB): its ETag is no MD5 of its bytes.
              await Deno.writeFile(join(dir, "staged"), body);
              await storage.upload(join(dir, "staged"), other, at.key);
              assert.equal((await storage.head(other, at.key))?.md5, undefined);
            } else {
              await put(at.key, body);
              assert.ok((await storage.head(other, at.key))?.md5);
            }
            await session.stagedRemotely(mid);
            return await session.sameAsStored(mid);
          };
          const flipped = (body: Uint8Array) =>
            body.map((x, i) => i === body.length - 1 ? x ^ 1 : x);

          const small = nums([1, 2, 3]).writeParquet();
          await put(mid.path, small);
          assert.equal(await staged(small), true);
          assert.equal(await staged(flipped(small)), false);

          const large = new Uint8Array(17 * 1024 * 1024).map((_, i) => (i * 7) % 251);
          await put(mid.path, large);
          assert.equal(await staged(large, true), true);
          assert.equal(await staged(flipped(large), true), false);
        } finally {
          await session.abort();
          client.destroy();
          await Deno.remove(dir, { recursive: true });
        }
      }, AWS_VARIABLES);
    });
  });
});
