/**
 * Partitions in cloud mode on a real S3 server (versitygw): the partitioned sales pipeline gives
 * the rows local mode gives, a rerun runs nothing, one broken partition fails alone (the others
 * published, the retry exact), serverless steps that read every partition or a window of them run
 * on Lambda (the Runtime Interface Emulator) with local mode's rows, and steps whose remote
 * resource cannot read their partitions as declared are refused before anything is read.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { PutObjectCommand } from "../../src/io/s3/_sdk.ts";
import { daily, pl, Provider, type RunReport, schema, t, UnsupportedError } from "../../mod.ts";
import { withAwsEnv } from "../_env.ts";
import { runTaskEvent } from "../../src/backends/lambda/runtime.ts";
import { s3Client, withS3Server } from "./_s3_server.ts";
import { withLambdaStack } from "./_lambda_stack.ts";
import { days, runSales, salesOf, salesPipeline } from "./_sales.ts";
import { failedReport } from "../_failed_run.ts";

const FROM = "2026-01-01";
const TO = "2026-01-06";

Deno.test("a partitioned pipeline in cloud mode: local mode's rows, a rerun that runs nothing, a broken day that fails alone", () =>
  withS3Server((server) =>
    withAwsEnv(server.env(), async () => {
      const root = await Deno.makeTempDir({ prefix: "glacier-partitions-cloud-" });
      const { sales } = salesPipeline(root);
      for (const day of days(FROM, TO)) {
        for (const region of ["north", "south"]) {
          const frame = salesOf(day, region);
          const partition = { date: day, region };
          await sales.write(frame, { partition });
          await sales.write(frame, { partition, mode: "cloud" });
        }
      }
      const local = await runSales(root);
      assert.equal(local.status, "succeeded");

      const cloud = await runSales(root, undefined, undefined, "cloud");
      assert.equal(cloud.status, "succeeded");
      const ranOf = (report: typeof cloud) =>
        report.steps.filter((s) => s.status === "ran").map((s) =>
          `${s.task} ${s.partition ? Object.values(s.partition).join(" ") : ""}`.trim()
        ).sort();
      assert.deepEqual(ranOf(cloud), ranOf(local));
      assert.equal(ranOf(cloud).length, 12 + 12 + 1);

      const { clean, weekly, totals } = salesPipeline(root);
      const both = async (read: (mode: "local" | "cloud") => Promise<pl.DataFrame>) =>
        assert.deepEqual((await read("cloud")).toRecords(), (await read("local")).toRecords());
      await both((mode) => totals.read({ mode }));
      await both((mode) => clean.read({ mode }));
      await both((mode) => weekly.read({ mode }));
      // The task read its partition's key in cloud mode too.
      assert.deepEqual(
        (await clean.read({ mode: "cloud", partition: { date: "2026-01-04", region: "north" } }))
          .getColumn("day").toArray(),
        ["2026-01-04", "2026-01-04"],
      );

      const again = await runSales(root, undefined, undefined, "cloud");
      assert.deepEqual(ranOf(again), []);
      assert.ok(again.steps.every((s) => s.reason === "up to date"));

      // A new day whose south partition is not parquet: north runs and is published alone.
      const day = "2026-01-07";
      await sales.write(salesOf(day, "north"), {
        partition: { date: day, region: "north" },
        mode: "cloud",
      });
      const client = s3Client(server);
      await client.send(
        new PutObjectCommand({
          Bucket: "shop",
          Key: `raw/south/${day}.parquet`,
          Body: new TextEncoder().encode("not parquet"),
        }),
      );
      client.destroy();
      const report = await failedReport(runSales(root, undefined, undefined, "cloud"));
      assert.match(report.error!, /failed for 1 of 14 partitions, and published the others/);
      assert.deepEqual(report.failedPartitions?.map((f) => [f.partition, f.task]), [
        [{ date: day, region: "south" }, "clean_sales"],
      ]);
      assert.match(report.failedPartitions![0].error, /s3:\/\/shop\/raw\/south\/2026-01-07/);
      assert.equal(report.retry, `--partition date=${day} --partition region=south`);
      assert.deepEqual(
        ranOf(report),
        [`clean_sales ${day} north`, `trailing_week ${day} north`],
      );
      assert.equal(
        (await clean.read({ mode: "cloud", partition: { date: day, region: "north" } })).height,
        2,
      );
      await assert.rejects(
        () => clean.read({ mode: "cloud", partition: { date: day, region: "south" } }),
        /has no data|does not exist|NoSuchKey/,
      );
    })
  ));

Deno.test("a Spark task that takes its partition's key is refused before anything is read", () =>
  withS3Server((server) =>
    withAwsEnv(server.env(), async () => {
      const provider = new Provider({ localRoot: await Deno.makeTempDir() });
      const N = schema({ n: t.int64 });
      const Day = schema({ n: t.int64, day: t.string });
      const keys = { date: daily({ start: "2026-01-01", end: "2026-01-03" }) };
      const raw = provider.bucket({
        bucket: "refused",
        path: "raw/{date}.parquet",
        schema: N,
        partitions: keys,
      });
      await raw.write(pl.DataFrame({ n: pl.Series("n", [1], pl.Int64) }), {
        mode: "cloud",
        partition: { date: "2026-01-01" },
      });
      const stamp = provider.spark().task(
        { name: "spark_stamp", input: N, output: Day },
        (df, { date }) => df.withColumns(pl.lit(date).alias("day")),
      );
      const days = provider.bucket({
        bucket: "refused",
        path: "day/{date}.parquet",
        schema: Day,
        partitions: keys,
      });
      const stamped = raw.transform(stamp).to(days);
      await assert.rejects(
        () => stamped.run({ mode: "cloud", quiet: true }),
        (e: Error) => {
          assert.ok(e instanceof UnsupportedError, `${e}`);
          assert.ok(
            e.message.includes(
              "task 'spark_stamp' (spark) uses its partition's key 'date', which its resource does not give it (when it reads its input by partitions, declare 'date' as String columns of its input and read the columns instead)",
            ),
            e.message,
          );
          assert.match(e.message, /nothing was read or written.*provider\.local\(\)/);
          return true;
        },
      );
      await assert.rejects(
        () => days.read({ mode: "cloud", partition: { date: "2026-01-01" } }),
        /has no data|does not exist|NoSuchKey/,
      );
    })
  ));

Deno.test("a Lambda task event carries its partition: the task reads its key, its input the keys as columns", () =>
  withS3Server((server) =>
    withAwsEnv(server.env(), async () => {
      const provider = new Provider({ localRoot: await Deno.makeTempDir() });
      const N = schema({ n: t.int64 });
      const Out = schema({ n: t.int64, day: t.string, key: t.string });
      const keys = { date: daily({ start: "2026-01-01" }) };
      const raw = provider.bucket({
        bucket: "lampart",
        path: "raw/{date}.parquet",
        schema: N,
        partitions: keys,
      });
      const out = provider.bucket({
        bucket: "lampart",
        path: "out/{date}.parquet",
        schema: Out,
        partitions: keys,
      });
      const stamp = provider.serverless().task(
        { name: "lam_stamp", input: schema({ n: t.int64, date: t.string }), output: Out },
        (df, { date }) => df.select("n", pl.lit(date).alias("day"), pl.col("date").alias("key")),
      );
      const pipeline = raw.transform(stamp).to(out);
      const partition = { date: "2026-01-02" };
      await raw.write(pl.DataFrame({ n: pl.Series("n", [1, 2], pl.Int64) }), {
        partition,
        mode: "cloud",
      });
      const steps = new Map(pipeline.lineage.map((step) => [step.task.name, step]));
      const result = await runTaskEvent(steps, {
        glacier: 1,
        task: "lam_stamp",
        run: "partition-event",
        inputs: { input: { bucket: "lampart", key: "raw/2026-01-02.parquet" } },
        output: { bucket: "lampart", key: "out/2026-01-02.parquet" },
        partition,
      });
      assert.equal(result.rows, 2);
      assert.deepEqual((await out.read({ mode: "cloud", partition })).toRecords(), [
        { n: 1, day: "2026-01-02", key: "2026-01-02" },
        { n: 2, day: "2026-01-02", key: "2026-01-02" },
      ]);
    })
  ));

const modUrl = new URL("../../mod.ts", import.meta.url).href;

Deno.test("serverless steps that read every partition, or a window of them, run on Lambda with local mode's rows", async () => {
  const dir = await Deno.makeTempDir({ prefix: "glacier-lambda-parts-" });
  const module = join(dir, "pipelines.ts");
  await Deno.writeTextFile(
    module,
    `
import { daily, pl, Provider, schema, t } from "${modUrl}";
const provider = new Provider({ localRoot: Deno.env.get("GLACIER_TEST_ROOT") ?? "/tmp/glacier-lambda-parts" });
const lambda = provider.serverless();
const N = schema({ n: t.int64 });
const Dated = schema({ n: t.int64, date: t.string });
const partitions = { date: daily({ start: "2026-01-01", end: "2026-01-31" }) };
export const raw = provider.bucket({ bucket: "lamparts", path: "raw/{date}.parquet", schema: N, partitions });
const doubled = provider.bucket({ bucket: "lamparts", path: "doubled/{date}.parquet", schema: N, partitions });
const double = lambda.task({ name: "lam_double", input: N, output: N }, (df) =>
  df.select(pl.col("n").add(pl.col("n")).alias("n")));
const Window = schema({ total: t.int64, days: t.uint32, first: t.string });
const window = lambda.task({ name: "lam_window", input: Dated, output: Window }, (df) =>
  df.select(pl.col("n").sum().alias("total"), pl.col("date").nUnique().cast(pl.UInt32).alias("days"), pl.col("date").min().alias("first")));
const every = lambda.task({ name: "lam_every", input: Dated, output: Dated }, (df) => df.sort(["date", "n"]));
const made = raw.transform(double).to(doubled);
export const windows = made.lookback({ date: 2 }).transform(window).to(
  provider.bucket({ bucket: "lamparts", path: "window/{date}.parquet", schema: Window, partitions }),
);
export const all = made.transform(every).to(
  provider.bucket({ bucket: "lamparts", path: "all.parquet", schema: Dated }),
);
`,
  );
  Deno.env.set("GLACIER_TEST_ROOT", await Deno.makeTempDir());
  const m = await import(module);
  const selection = { partitions: { date: { from: "2026-01-01", to: "2026-01-04" } } };
  await withS3Server((s3) =>
    withLambdaStack(
      { module, s3 },
      (stack) =>
        withAwsEnv({ ...s3.env(), ...stack.env() }, async () => {
          for (let day = 1; day <= 4; day++) {
            const frame = pl.DataFrame({ n: pl.Series("n", [day, 10 * day], pl.Int64) });
            const partition = { date: `2026-01-0${day}` };
            await m.raw.write(frame, { partition });
            await m.raw.write(frame, { partition, mode: "cloud" });
          }
          for (const pipeline of [m.windows, m.all]) {
            const local = await pipeline.run({ mode: "local", quiet: true, ...selection });
            const cloud = await pipeline.run({ mode: "cloud", quiet: true, ...selection });
            assert.equal(cloud.status, "succeeded");
            const ran = (report: RunReport) =>
              report.steps.map((s) => `${s.task} ${s.partition?.date ?? ""} ${s.status} ${s.rows}`)
                .sort();
            assert.deepEqual(ran(cloud), ran(local));
            assert.deepEqual(
              (await pipeline.read({ mode: "cloud" })).toRecords(),
              (await pipeline.read({ mode: "local" })).toRecords(),
            );
          }
          // The window of 3 January is 1 to 3 January; every partition is all four days.
          assert.deepEqual(
            (await m.windows.read({ mode: "cloud", partition: { date: "2026-01-03" } }))
              .toRecords(),
            [{ total: 2 * 66, days: 3, first: "2026-01-01" }],
          );
          assert.equal((await m.all.read({ mode: "cloud" })).height, 8);
        }),
    )
  );
});
