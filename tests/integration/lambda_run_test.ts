/**
 * Serverless tasks in cloud mode, end to end: the module's Lambda artifact runs under the AWS
 * Lambda Runtime Interface Emulator (one per function, behind the stack's router), buckets live
 * on a real S3 server, and cloud mode invokes the functions through `@aws-sdk/client-lambda`.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { GetObjectCommand, PutObjectCommand } from "../../src/io/s3/_sdk.ts";
import {
  CheckFailedError,
  pl,
  Provider,
  schema,
  SchemaMismatchError,
  StorageError,
  t,
  TaskError,
} from "../../mod.ts";
import { s3Client, withS3Env, withS3Server } from "./_s3_server.ts";
import { withLambdaStack } from "./_lambda_stack.ts";
import { runTaskEvent } from "../../src/backends/lambda/runtime.ts";

const modUrl = new URL("../../mod.ts", import.meta.url).href;

/** A pipeline module with serverless tasks that succeed, throw, run too long, or lie. */
async function writeModule(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "glacier-lambda-module-" });
  const module = join(dir, "pipelines.ts");
  await Deno.writeTextFile(
    module,
    `
import { LambdaConfig, pl, Provider, schema, t } from "${modUrl}";
const provider = new Provider({ localRoot: Deno.env.get("GLACIER_TEST_ROOT") ?? "/tmp/glacier-lambda-module" });
const lambda = provider.serverless({ config: new LambdaConfig({ memoryMb: 1024, timeoutSeconds: 3 }) });
const local = provider.local();
const Orders = schema({ order_id: t.int64, region: t.string, amount: t.float64 });
const Revenue = schema({ region: t.string, revenue: t.float64, orders: t.int64 });
export const orders = provider.bucket({ bucket: "lam", path: "raw/orders.csv", schema: Orders });
const cleaned = provider.bucket({ bucket: "lam", path: "clean/orders.parquet", schema: Orders });
const revenue = provider.bucket({ bucket: "lam", path: "out/revenue.parquet", schema: Revenue });
const clean = lambda.task({ name: "lam_clean", input: Orders, output: Orders }, (df) =>
  df.filter(pl.col("amount").gt(0)).withColumns(pl.col("region").str.toUpperCase()));
const byRegion = lambda.task({ name: "lam_by_region", input: Orders, output: Revenue }, (df) =>
  df.groupBy("region").agg(pl.col("amount").sum().alias("revenue"), pl.len().cast(pl.Int64).alias("orders")).sort("region"));
const copy = local.task({ name: "local_copy", input: Orders, output: Orders }, (df) => df);
export const good = orders.transform(clean).to(cleaned).transform(byRegion).to(revenue);
export const mixed = orders.transform(copy).to(provider.bucket({ bucket: "lam", path: "copy.parquet", schema: Orders }));
const boom = lambda.task({ name: "lam_boom", input: Orders, output: Orders }, () => {
  throw new Error("lambda says no");
});
export const throws = orders.transform(boom).to(provider.bucket({ bucket: "lam", path: "boom.parquet", schema: Orders }));
const slow = lambda.task({ name: "lam_slow", input: Orders, output: Orders }, (df) => {
  const end = Date.now() + 20_000;
  while (Date.now() < end) { /* longer than the function's timeout */ }
  return df;
});
export const timesOut = orders.transform(slow).to(provider.bucket({ bucket: "lam", path: "slow.parquet", schema: Orders }));
const liar = lambda.task({ name: "lam_liar", input: Orders, output: Orders }, (df) =>
  df.withColumns(pl.col("amount").cast(pl.Int64)));
export const wrongSchema = orders.transform(liar).to(provider.bucket({ bucket: "lam", path: "liar.parquet", schema: Orders }));
const upper = lambda.task({ name: "lam_upper", input: Orders, output: Orders }, (df) =>
  df.withColumns(pl.col("region").str.toUpperCase()));
export const audited = orders.transform(upper).to(provider.bucket({
  bucket: "lam",
  path: "audited.parquet",
  schema: Orders,
  checks: (c) => [c.acceptedValues("region", ["EU", "US"]), c.between("amount", 0, null, { severity: "warn" })],
}));
`,
  );
  return module;
}

const ordersFrame = pl.DataFrame({
  order_id: pl.Series("order_id", [1, 2, 3, 4, 5], pl.Int64),
  region: ["eu", "us", "eu", "apac", "us"],
  amount: [10.5, -1, 4.5, 7, 3],
});

async function objectBytes(bucket: string, key: string, server: Parameters<typeof s3Client>[0]) {
  const out = await s3Client(server).send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return await out.Body!.transformToByteArray();
}

Deno.test("serverless tasks run on the Lambda runtime protocol and give the rows local mode gives", async (test) => {
  const module = await writeModule();
  Deno.env.set("GLACIER_TEST_ROOT", await Deno.makeTempDir());
  const m = await import(module);
  await withS3Server(async (s3) => {
    await withLambdaStack({ module, s3 }, async (stack) => {
      const saved = new Map<string, string | undefined>();
      const env = { ...s3.env(), ...stack.env() };
      for (const [k, v] of Object.entries(env)) {
        saved.set(k, Deno.env.get(k));
        Deno.env.set(k, v);
      }
      try {
        await m.orders.write(ordersFrame);
        await m.good.run({ mode: "local", quiet: true });
        const local = (await m.good.read()).toRecords();
        await m.orders.write(ordersFrame, { mode: "cloud" });

        await test.step("a two-step serverless pipeline equals local mode", async () => {
          const report = await m.good.run({ mode: "cloud", quiet: true });
          assert.deepEqual(
            report.steps.map((s: { task: string; rows: number }) => [s.task, s.rows]),
            [
              ["lam_clean", 4],
              ["lam_by_region", 3],
            ],
          );
          assert.deepEqual((await m.good.read({ mode: "cloud" })).toRecords(), local);
        });

        const before = await objectBytes("lam", "out/revenue.parquet", s3);
        const untouched = async () =>
          assert.deepEqual(await objectBytes("lam", "out/revenue.parquet", s3), before);

        await test.step(
          "a task that throws is named with Lambda's error, and nothing changes",
          async () => {
            await assert.rejects(m.throws.run({ mode: "cloud", quiet: true }), (e: Error) => {
              assert.ok(e instanceof TaskError, `${e}`);
              assert.match(
                e.message,
                /task 'lam_boom' failed on Lambda function 'glacier-lam_boom': task 'lam_boom' threw: lambda says no/,
              );
              assert.match(e.message, /no bucket was changed/);
              return true;
            });
            await assert.rejects(m.throws.read({ mode: "cloud" }), StorageError);
            await untouched();
          },
        );

        await test.step("a task that runs past its timeout says so and what to do", async () => {
          await assert.rejects(m.timesOut.run({ mode: "cloud", quiet: true }), (e: Error) => {
            assert.ok(e instanceof TaskError, `${e}`);
            assert.match(
              e.message,
              /task 'lam_slow' timed out on Lambda function 'glacier-lam_slow' after 3 s .*raise timeoutSeconds/,
            );
            return true;
          });
          await assert.rejects(m.timesOut.read({ mode: "cloud" }), StorageError);
        });

        await test.step(
          "a task whose output breaks its schema names the column and both dtypes",
          async () => {
            await assert.rejects(m.wrongSchema.run({ mode: "cloud", quiet: true }), (e: Error) => {
              assert.ok(e instanceof SchemaMismatchError, `${e}`);
              assert.match(
                e.message,
                /column 'amount' is Int64 in the output of task 'lam_liar' but Float64 in bucket 'lam\/liar.parquet'/,
              );
              return true;
            });
            await assert.rejects(m.wrongSchema.read({ mode: "cloud" }), StorageError);
          },
        );

        await test.step(
          "checks run inside the function: an error check that fails publishes nothing, a warn check publishes",
          async () => {
            await assert.rejects(m.audited.run({ mode: "cloud", quiet: true }), (e: Error) => {
              assert.ok(e instanceof CheckFailedError, `${e}`);
              assert.match(
                e.message,
                /check 'accepted_values\(region\)' failed on bucket 'lam\/audited.parquet': 1 row fails; it is:\n {2}\{"order_id":4,"region":"APAC","amount":7\}/,
              );
              assert.deepEqual(
                e.results.map((r) => [r.name, r.severity, r.passed, r.failingRows]),
                [["accepted_values(region)", "error", false, 1], [
                  "between(amount, 0, null)",
                  "warn",
                  false,
                  1,
                ]],
              );
              return true;
            });
            await assert.rejects(m.audited.read({ mode: "cloud" }), StorageError);
            await m.orders.write(ordersFrame.filter(pl.col("region").neq(pl.lit("apac"))), {
              mode: "cloud",
            });
            await m.audited.run({ mode: "cloud", quiet: true });
            assert.equal((await m.audited.read({ mode: "cloud" })).height, 4);
            await m.orders.write(ordersFrame, { mode: "cloud" });
          },
        );

        await test.step("a function that is not deployed says how to deploy it", async () => {
          const other = new Provider({ localRoot: await Deno.makeTempDir() });
          const S = schema({ id: t.int64 });
          const lone = other.serverless().task(
            { name: "not_deployed", input: S, output: S },
            (df) => df,
          );
          const src = other.bucket({ bucket: "lam", path: "nd/in.parquet", schema: S });
          await src.write(pl.DataFrame({ id: pl.Series("id", [1], pl.Int64) }), { mode: "cloud" });
          const p = src.transform(lone).to(
            other.bucket({ bucket: "lam", path: "nd/out.parquet", schema: S }),
          );
          await assert.rejects(
            p.run({ mode: "cloud", quiet: true }),
            /Lambda function 'glacier-not_deployed' for task 'not_deployed' does not exist at http:\/\/127.0.0.1:\d+/,
          );
        });

        await test.step(
          "an input clearly larger than the function's memory is refused before anything runs",
          async () => {
            const big = new Provider({ localRoot: await Deno.makeTempDir() });
            const S = schema({ id: t.int64, text: t.string });
            const small = big.serverless({
              config: new (await import(modUrl)).LambdaConfig({ memoryMb: 128 }),
            })
              .task({ name: "lam_clean", input: S, output: S }, (df) => df);
            const src = big.bucket({ bucket: "lam", path: "big/in.parquet", schema: S });
            const rows = 400_000;
            await src.write(
              pl.DataFrame({ id: pl.Series("id", [0], pl.Int64) })
                .select(pl.intRange(0, rows).cast(pl.Int64).alias("id"))
                .withColumns(
                  pl.concatString([
                    pl.lit("x-"),
                    pl.col("id").cast(pl.String),
                    pl.lit(crypto.randomUUID()),
                  ], "").alias("text"),
                ),
              { mode: "cloud" },
            );
            const p = src.transform(small).to(
              big.bucket({ bucket: "lam", path: "big/out.parquet", schema: S }),
            );
            await assert.rejects(
              p.run({ mode: "cloud", quiet: true }),
              /task 'lam_clean' reads \d+ MB, which needs about \d+ MB of memory, more than its Lambda function's 128 MB. Nothing was read or written/,
            );
          },
        );
      } finally {
        for (const [k, v] of saved) v === undefined ? Deno.env.delete(k) : Deno.env.set(k, v);
      }
    });
  });
});

Deno.test("the Lambda runtime's task handler reads and writes CSV with the buckets' options, against a real S3 server", () =>
  withS3Env(async (server, client) => {
    const provider = new Provider({ localRoot: await Deno.makeTempDir() });
    const Sales = schema({ day: t.date, amount: t.float64, note: t.string });
    const csv = { separator: "|", nullValues: ["-"], dateFormat: "%d.%m.%Y" };
    const sales = provider.bucket({ bucket: "lamcsv", path: "in.csv", schema: Sales, csv });
    const out = provider.bucket({ bucket: "lamcsv", path: "out.csv", schema: Sales, csv });
    const double = provider.serverless().task(
      { name: "lam_double", input: Sales, output: Sales },
      (df) => df.withColumns(pl.col("amount").mul(2)),
    );
    const pipeline = sales.transform(double).to(out);
    await sales.write(
      pl.DataFrame({ day: ["2025-01-01"], amount: [1.5], note: ["x"] })
        .withColumns(pl.col("day").str.strptime(pl.Date, "%Y-%m-%d")),
      { mode: "cloud" },
    );
    await client.send(
      new PutObjectCommand({
        Bucket: "lamcsv",
        Key: "in.csv",
        Body: "note|day|amount\nfirst|05.03.2025|-\nsecond|31.12.2025|2.5\n",
      }),
    );
    const steps = new Map(pipeline.lineage.map((step) => [step.task.name, step]));
    const result = await runTaskEvent(steps, {
      glacier: 1,
      task: "lam_double",
      run: "csv-options",
      inputs: { input: { bucket: "lamcsv", key: "in.csv" } },
      output: { bucket: "lamcsv", key: "out.csv" },
    });
    assert.equal(result.rows, 2);
    assert.equal(
      new TextDecoder().decode(await objectBytes("lamcsv", "out.csv", server)),
      "day|amount|note\n05.03.2025|-|first\n31.12.2025|5.0|second\n",
    );
  }));
