/**
 * Many units of Spark work in one job, on real software: buckets on a real S3 server (versitygw),
 * spark tasks run by Glacier's runner through `spark-submit` on PySpark 4.0.1 (`local[2]`) and on
 * a Spark Connect server. Spark's own event log (one file per application, that is per
 * `spark-submit`) counts the jobs a run started.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { PutObjectCommand } from "../../src/io/s3/_sdk.ts";
import { daily, pl, Provider, type RunReport, schema, SparkConfig, t } from "../../mod.ts";
import { s3Client, type S3Server, withS3Server } from "./_s3_server.ts";
import {
  NO_SPARK,
  sharedSparkConnect,
  sparkConfDir,
  submitEnv,
  testSparkVenv,
} from "./_spark_cluster.ts";
import { withEnv } from "../_env.ts";
import { failedReport } from "../_failed_run.ts";

const Reading = schema({ sensor: t.int64, celsius: t.float64 });
const Scaled = schema({ sensor: t.int64, kelvin: t.float64 });
const Labelled = schema({ sensor: t.int64, kelvin: t.float64, warm: t.bool });
const FROM = "2026-03-01";
const DAYS = ["2026-03-01", "2026-03-02", "2026-03-03", "2026-03-04", "2026-03-05"];

/** Two consecutive partitioned spark steps: readings to kelvin, kelvin to a label. */
function readings(root: string, config: SparkConfig) {
  const provider = new Provider({ localRoot: root });
  const spark = provider.spark({ config });
  const keys = { date: daily({ start: FROM, end: DAYS.at(-1) }) };
  const bucket = "spark-batch";
  const raw = provider.bucket({
    bucket,
    path: "raw/{date}.parquet",
    schema: Reading,
    partitions: keys,
  });
  const scaled = provider.bucket({
    bucket,
    path: "scaled/{date}.parquet",
    schema: Scaled,
    partitions: keys,
  });
  const labelled = provider.bucket({
    bucket,
    path: "labelled/{date}.parquet",
    schema: Labelled,
    partitions: keys,
  });
  const scale = spark.task(
    { name: "spark_scale", input: Reading, output: Scaled },
    (df) => df.select(pl.col("sensor"), pl.col("celsius").add(273.15).alias("kelvin")),
  );
  const label = spark.task(
    { name: "spark_label", input: Scaled, output: Labelled },
    (df) => df.withColumns(pl.col("kelvin").gt(293.15).alias("warm")),
  );
  const pipeline = raw.transform(scale).to(scaled).transform(label).to(labelled);
  return { provider, spark, keys, raw, scaled, labelled, pipeline, bucket };
}

function readingsOf(day: string, offset = 0): pl.DataFrame {
  const n = Number(day.slice(-2));
  return pl.DataFrame({
    sensor: pl.Series("sensor", [1, 2, 3], pl.Int64),
    celsius: [n + offset, 15.5 + n, -3 * n],
  });
}

/**
 * The Spark applications (one per spark-submit) in an event log directory, each as the tasks its
 * Spark jobs ran (from their descriptions, `glacier task 'NAME'`), sorted.
 */
async function applications(dir: string): Promise<string[]> {
  const apps: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) {
      apps.push(...await applications(path));
      continue;
    }
    const tasks = new Set<string>();
    for (const line of (await Deno.readTextFile(path)).split("\n")) {
      if (!line.includes('"SparkListenerJobStart"')) continue;
      const description = JSON.parse(line).Properties?.["spark.job.description"] ?? "";
      const task = description.match(/^glacier task '(.*)'$/)?.[1];
      if (task) tasks.add(task);
    }
    apps.push([...tasks].sort().join(" + "));
  }
  return apps.sort();
}

/** The names of the Spark applications in an event log directory, sorted. */
async function applicationNames(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.isFile) continue;
    for (const line of (await Deno.readTextFile(join(dir, entry.name))).split("\n")) {
      if (line.includes('"SparkListenerApplicationStart"')) {
        names.push(JSON.parse(line)["App Name"]);
      }
    }
  }
  return names.sort();
}

/** The jobs of a Spark Connect server's application, from its UI's REST API. */
async function connectJobs(ui: string): Promise<{ jobId: number; jobTags: string[] }[]> {
  const apps = await (await fetch(`${ui}/api/v1/applications`)).json();
  const response = await fetch(`${ui}/api/v1/applications/${apps[0].id}/jobs`);
  return await response.json();
}

function ranOf(report: RunReport): string[] {
  return report.steps.filter((s) => s.status === "ran").map((s) =>
    `${s.task} ${s.partition?.date} (${s.reason})`
  ).sort();
}

async function putObject(server: S3Server, bucket: string, key: string, body: Uint8Array) {
  const client = s3Client(server);
  await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
  client.destroy();
}

Deno.test("spark-submit: a partitioned step and the step after it run in one Spark application, give local mode's rows, and a broken day fails alone", async () => {
  const venv = await testSparkVenv();
  const events = await Deno.makeTempDir({ prefix: "glacier-spark-events-" });
  await using _events = { [Symbol.asyncDispose]: () => Deno.remove(events, { recursive: true }) };
  await using conf = await sparkConfDir({
    "spark.eventLog.enabled": "true",
    "spark.eventLog.dir": `file://${events}`,
    "spark.eventLog.compress": "false",
    "spark.eventLog.rolling.enabled": "false",
  });
  await withS3Server(async (server) => {
    await withEnv({
      ...server.env(),
      ...submitEnv(venv),
      SPARK_CONF_DIR: conf.dir,
    }, async () => {
      const root = await Deno.makeTempDir({ prefix: "glacier-spark-batch-" });
      const r = readings(
        root,
        new SparkConfig({ executors: 1, executorMemory: "1g", master: "local[2]" }),
      );
      for (const date of DAYS) {
        await r.raw.write(readingsOf(date), { partition: { date } });
        await r.raw.write(readingsOf(date), { partition: { date }, mode: "cloud" });
      }
      await r.pipeline.run({ mode: "local", quiet: true });

      const first = await r.pipeline.run({ mode: "cloud", quiet: true });
      assert.equal(first.status, "succeeded");
      assert.deepEqual(
        ranOf(first),
        DAYS.flatMap((d) => [
          `spark_label ${d} (no previous run)`,
          `spark_scale ${d} (no previous run)`,
        ]).sort(),
      );
      assert.deepEqual(
        await applications(events),
        ["spark_label + spark_scale"],
        "both steps over every day ran in one spark-submit",
      );
      assert.deepEqual(
        await applicationNames(events),
        ["glacier:spark_scale.1"],
        "the application is named by spark-submit's --name: the batch's first task",
      );
      for (const date of DAYS) {
        for (const bucket of [r.scaled, r.labelled]) {
          const partition = { date };
          assert.deepEqual(
            (await bucket.read({ mode: "cloud", partition })).toRecords(),
            (await bucket.read({ partition })).toRecords(),
            `${bucket.location} ${date}`,
          );
        }
      }

      const again = await r.pipeline.run({ mode: "cloud", quiet: true });
      assert.deepEqual(ranOf(again), []);
      assert.ok(again.steps.every((s) => s.reason === "up to date"));
      assert.equal((await applications(events)).length, 1, "a rerun starts no Spark");

      // Day 2 gets new readings and day 3 a file that is not Parquet: both must run.
      await r.raw.write(readingsOf("2026-03-02", 100), {
        partition: { date: "2026-03-02" },
        mode: "cloud",
      });
      await putObject(
        server,
        r.bucket,
        "raw/2026-03-03.parquet",
        new TextEncoder().encode("not parquet"),
      );
      const report = await failedReport(r.pipeline.run({ mode: "cloud", quiet: true }));
      assert.match(report.error!, /failed for 1 of 5 partitions, and published the others/);
      assert.deepEqual(report.failedPartitions?.map((f) => [f.partition, f.task]), [
        [{ date: "2026-03-03" }, "spark_scale"],
      ]);
      assert.match(
        report.failedPartitions![0].error,
        /task 'spark_scale' failed on Spark master local\[2\]: input 'input' of task 'spark_scale' \(s3:\/\/spark-batch\/raw\/2026-03-03\.parquet\) cannot be read as parquet/,
      );
      // The label of day 2 must run only because its input changed, so it waited for that input
      // in a job of its own, and says so.
      assert.deepEqual(ranOf(report), [
        "spark_label 2026-03-02 (input changed)",
        "spark_scale 2026-03-02 (input changed)",
      ]);
      assert.deepEqual(
        report.steps.filter((s) => s.partition?.date === "2026-03-03").map((s) => [
          s.task,
          s.status,
        ]).sort(),
        [["spark_label", "skipped"], ["spark_scale", "failed"]],
      );
      assert.deepEqual(
        await applications(events),
        ["spark_label", "spark_label + spark_scale", "spark_scale"],
        "the run's first job ran spark_scale (both days), its second the label of day 2",
      );
      const day2 = { partition: { date: "2026-03-02" }, mode: "cloud" } as const;
      assert.deepEqual(
        (await r.labelled.read(day2)).getColumn("kelvin").toArray(),
        [375.15, 290.65, 267.15],
      );
    });
  });
});

Deno.test("Spark Connect: a partitioned step's days go to the run's session as one request, each publishing alone", async () => {
  const server = await sharedSparkConnect();
  await withS3Server(async (s3) => {
    await withEnv({ ...s3.env(), ...NO_SPARK, SPARK_REMOTE: server.remote }, async () => {
      const root = await Deno.makeTempDir({ prefix: "glacier-spark-batch-connect-" });
      const r = readings(root, new SparkConfig({ executors: 1, executorMemory: "1g" }));
      for (const date of DAYS) {
        await r.raw.write(readingsOf(date), { partition: { date } });
        if (date !== "2026-03-04") {
          await r.raw.write(readingsOf(date), { partition: { date }, mode: "cloud" });
        }
      }
      await putObject(s3, r.bucket, "raw/2026-03-04.parquet", new TextEncoder().encode("no"));
      await r.pipeline.run({ mode: "local", quiet: true });
      const before = new Set((await connectJobs(server.ui)).map((job) => job.jobId));
      const report = await failedReport(r.pipeline.run({ mode: "cloud", quiet: true }));
      assert.deepEqual(report.failedPartitions?.map((f) => f.partition.date), ["2026-03-04"]);
      assert.match(report.failedPartitions![0].error, /failed on Spark Connect sc:\/\//);
      // Each request the run sent tags the Spark jobs it started: one for the four good days of
      // spark_scale, one for their labels.
      const jobs = (await connectJobs(server.ui)).filter((job) => !before.has(job.jobId));
      const requests = new Set(
        jobs.flatMap((job) => job.jobTags.flatMap((tag) => tag.match(/glacier-job-\d+$/) ?? [])),
      );
      assert.ok(jobs.length >= 8, `a Spark job or more per day and step: ${jobs.length}`);
      assert.equal(requests.size, 2, `requests: ${[...requests].join(", ")}`);
      for (const date of DAYS.filter((d) => d !== "2026-03-04")) {
        assert.deepEqual(
          (await r.labelled.read({ mode: "cloud", partition: { date } })).toRecords(),
          (await r.labelled.read({ partition: { date } })).toRecords(),
        );
      }
    });
  });
});

Deno.test("spark tasks read every partition as one frame and a lookback window, with the keys as String columns, giving local mode's rows", async () => {
  const server = await sharedSparkConnect();
  await withS3Server(async (s3) => {
    await withEnv({ ...s3.env(), ...NO_SPARK, SPARK_REMOTE: server.remote }, async () => {
      const root = await Deno.makeTempDir({ prefix: "glacier-spark-reads-" });
      const { provider, spark, keys, raw, bucket } = readings(
        root,
        new SparkConfig({ executors: 1 }),
      );
      const Dated = schema({ sensor: t.int64, celsius: t.float64, date: t.string });
      const Total = schema({ date: t.string, total: t.float64, sensors: t.int64 });
      const Window = schema({ sensor: t.int64, total: t.float64, days: t.int64 });
      const totals = raw.transform(spark.task(
        { name: "spark_daily_totals", input: Dated, output: Total },
        (df) =>
          df.groupBy("date").agg(
            pl.col("celsius").sum().alias("total"),
            pl.len().cast(pl.Int64).alias("sensors"),
          ).sort("date"),
      )).to(provider.bucket({ bucket, path: "totals.parquet", schema: Total }));
      const windows = raw.lookback({ date: 2 }).transform(spark.task(
        { name: "spark_three_days", input: Dated, output: Window },
        (df) =>
          df.groupBy("sensor").agg(
            pl.col("celsius").sum().alias("total"),
            pl.col("date").nUnique().cast(pl.Int64).alias("days"),
          ).sort("sensor"),
      )).to(provider.bucket({
        bucket,
        path: "window/{date}.parquet",
        schema: Window,
        partitions: keys,
      }));
      for (const date of DAYS) {
        await raw.write(readingsOf(date), { partition: { date } });
        await raw.write(readingsOf(date), { partition: { date }, mode: "cloud" });
      }
      for (const pipeline of [totals, windows]) {
        await pipeline.run({ mode: "local", quiet: true });
        const report = await pipeline.run({ mode: "cloud", quiet: true });
        assert.equal(report.status, "succeeded");
      }
      const both = async (read: (mode: "local" | "cloud") => Promise<pl.DataFrame>) => {
        const local = (await read("local")).toRecords();
        assert.deepEqual((await read("cloud")).toRecords(), local);
        return local;
      };
      const daily_ = await both((mode) => totals.read({ mode }));
      assert.deepEqual(daily_.map((r) => r.date), DAYS);
      for (const date of DAYS) {
        const rows = await both((mode) => windows.read({ mode, partition: { date } }));
        const days = Math.min(3, DAYS.indexOf(date) + 1);
        assert.deepEqual(rows.map((r) => r.days), [days, days, days], date);
      }
    });
  });
});
