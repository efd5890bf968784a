/**
 * Spark tasks through Spark Connect, seen from the server's side: the real Spark Connect server
 * the harness starts (`sharedSparkConnect`; one for every test file of the `deno test` process)
 * and its Spark UI's REST API
 * (`/api/v1/applications/<id>/jobs`), whose jobs carry the tags Spark Connect gives them:
 * `SparkConnect_OperationTag_User_<user>_Session_<session>_...`, and
 * `SparkConnect_SessionTag_User_<user>_Session_<session>_Tag_<tag>` for the tag Glacier's runner
 * puts on each job it runs (`glacier-job-<n>`, numbered within its session).
 *
 * @module
 */
import assert from "node:assert/strict";
import { pl, Provider, schema, SparkConfig, StorageError, t } from "../../mod.ts";
import { withS3Server } from "./_s3_server.ts";
import { type SharedSparkConnect, sharedSparkConnect, testSparkVenv } from "./_spark_cluster.ts";
import { startSparkConnectServer } from "../../src/stack/spark_cluster.ts";
import { withEnv } from "../_env.ts";

/** No Spark configuration leaks in from the shell that runs the tests. */
const NO_SPARK = {
  SPARK_REMOTE: undefined,
  SPARK_MASTER: undefined,
  GLACIER_EMR_APPLICATION_ID: undefined,
  AWS_ENDPOINT_URL_EMR_SERVERLESS: undefined,
};

const N = schema({ n: t.int64 });

/** One job as the Spark UI's REST API lists it. */
interface UiJob {
  readonly jobId: number;
  readonly status: "RUNNING" | "SUCCEEDED" | "FAILED" | "UNKNOWN";
  readonly jobTags: readonly string[];
}

/** A job of a Glacier run: the session it ran in and the runner's job number. */
interface RunJob extends UiJob {
  readonly session: string;
  readonly glacierJob: number;
}

/** Every job the server's application has run, from its Spark UI. */
async function serverJobs(server: SharedSparkConnect): Promise<UiJob[]> {
  const apps = await (await fetch(`${server.ui}/api/v1/applications`)).json() as { id: string }[];
  assert.equal(apps.length, 1, `one application on ${server.ui}: ${JSON.stringify(apps)}`);
  const response = await fetch(`${server.ui}/api/v1/applications/${apps[0].id}/jobs`);
  return await response.json() as UiJob[];
}

/** The jobs after `since` that a Glacier runner tagged, with their session and job number. */
async function runJobs(server: SharedSparkConnect, since: number): Promise<RunJob[]> {
  return (await serverJobs(server)).filter((job) => job.jobId > since).flatMap((job) => {
    const tagged = job.jobTags
      .map((tag) =>
        /^SparkConnect_SessionTag_User_.*_Session_([0-9a-f-]+)_Tag_glacier-job-(\d+)$/.exec(tag)
      )
      .find((match) => match !== null);
    return tagged ? [{ ...job, session: tagged[1], glacierJob: Number(tagged[2]) }] : [];
  });
}

/** The server's busy task slots, from its Spark UI: each executor's active tasks, each active stage. */
async function busy(server: SharedSparkConnect): Promise<{ tasks: number; stages: number[] }> {
  const apps = await (await fetch(`${server.ui}/api/v1/applications`)).json() as { id: string }[];
  const base = `${server.ui}/api/v1/applications/${apps[0].id}`;
  const executors = await (await fetch(`${base}/executors`)).json() as { activeTasks: number }[];
  const stages = await (await fetch(`${base}/stages?status=active`)).json() as {
    stageId: number;
  }[];
  return {
    tasks: executors.reduce((sum, executor) => sum + executor.activeTasks, 0),
    stages: stages.map((stage) => stage.stageId),
  };
}

/** The last job id the server has given, or -1. */
async function lastJobId(server: SharedSparkConnect): Promise<number> {
  return Math.max(-1, ...(await serverJobs(server)).map((job) => job.jobId));
}

/** Runs `fn` with a fresh S3 server, the shared Spark Connect server, and a fresh provider. */
async function withConnect(
  fn: (provider: Provider, server: SharedSparkConnect) => Promise<void>,
): Promise<void> {
  const connect = await sharedSparkConnect();
  await withS3Server(async (s3) => {
    await withEnv(
      { ...s3.env(), ...NO_SPARK, ...connect.env() },
      async () => fn(new Provider({ localRoot: await Deno.makeTempDir() }), connect),
    );
  });
}

/** What a new Spark Connect client gets when it asks for an existing session by id. */
async function reattach(server: SharedSparkConnect, session: string): Promise<string> {
  const script = [
    "import sys",
    "from pyspark.sql import SparkSession",
    "try:",
    "    spark = SparkSession.builder.remote(sys.argv[1]).create()",
    "    print('open', spark.range(3).count())",
    "except Exception as error:",
    "    print('refused', error)",
  ].join("\n");
  const output = await new Deno.Command(server.venv.python, {
    args: ["-c", script, `${server.remote}/;session_id=${session}`],
    stdin: "null",
  }).output();
  const text = new TextDecoder().decode(output.stdout).trim();
  assert.ok(output.success, `${text}\n${new TextDecoder().decode(output.stderr).slice(-2000)}`);
  return text;
}

Deno.test("a Spark Connect job past its task's timeout is interrupted on the server, its running tasks end within 20 s, nothing is published and the server is free for the next task", async () => {
  await withConnect(async (provider, server) => {
    const input = provider.bucket({ bucket: "slow", path: "in.parquet", schema: N });
    const output = provider.bucket({ bucket: "slow", path: "cube.parquet", schema: N });
    const copied = provider.bucket({ bucket: "slow", path: "copy.parquet", schema: N });
    const copiedAfter = provider.bucket({ bucket: "slow", path: "copy_after.parquet", schema: N });
    // 5000³ rows of a cross join: hours of work on this machine, unless it is stopped.
    await input.write(pl.DataFrame({ n: pl.Series("n", [...Array(5000).keys()], pl.Int64) }), {
      mode: "cloud",
    });
    const copy = provider.spark({ config: new SparkConfig({ executors: 1, timeoutSeconds: 60 }) })
      .task({ name: "small_copy", input: N, output: N }, (df) => df.filter(pl.col("n").lt(3)));
    // A small task first warms the server's executor, so that the query's tasks are running well
    // before its timeout (the run opens its session within that time too).
    await input.transform(copy).to(copied).run({ mode: "cloud", quiet: true });
    const spark = provider.spark({ config: new SparkConfig({ executors: 1, timeoutSeconds: 8 }) });
    const cube = spark.task({ name: "cross_cube", input: N, output: N }, (df) => {
      const a = df.select(pl.col("n").alias("a"));
      const b = df.select(pl.col("n").alias("b"));
      const c = df.select(pl.col("n").alias("c"));
      return a.join(b, { how: "cross" }).join(c, { how: "cross" }).select(
        pl.col("a").plus(pl.col("b")).plus(pl.col("c")).sum().alias("n"),
      );
    });
    const since = await lastJobId(server);
    await assert.rejects(
      () => input.transform(cube).to(output).run({ mode: "cloud", quiet: true }),
      /task 'cross_cube' exceeded its timeout of 8 s/,
    );
    const failed = performance.now();
    let left = await busy(server);
    assert.ok(
      left.tasks > 0,
      `the query's tasks were not running when its timeout came: ${JSON.stringify(left)}`,
    );
    await assert.rejects(() => output.read({ mode: "cloud" }), StorageError);
    // Its tasks end within 20 s. Spark stops a task it was told to kill only when the task next
    // checks for that, which this query's generated loop would not do for hours; the server's
    // task reaper kills the executor that runs it instead, and starts another.
    while ((left.tasks > 0 || left.stages.length > 0) && performance.now() - failed < 20_000) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      left = await busy(server);
    }
    assert.deepEqual(
      left,
      { tasks: 0, stages: [] },
      `20 s after the timeout the server still runs tasks: ${JSON.stringify(left)}`,
    );
    // The server is free: a small task right after runs at once.
    const started = performance.now();
    await input.transform(copy).to(copiedAfter).run({ mode: "cloud", quiet: true });
    const seconds = (performance.now() - started) / 1000;
    assert.deepEqual((await copiedAfter.read({ mode: "cloud" })).getColumn("n").toArray(), [
      0,
      1,
      2,
    ]);
    assert.ok(seconds < 60, `the next task took ${seconds.toFixed(1)} s`);
    // The server's side: of the two runs' jobs, none still runs (the query's was cancelled:
    // FAILED).
    const jobs = await runJobs(server, since);
    const shown = JSON.stringify(jobs.map(({ jobId, status, session }) => ({
      jobId,
      status,
      session,
    })));
    assert.ok(jobs.every((job) => job.status !== "RUNNING"), `a job still runs: ${shown}`);
    assert.ok(jobs.some((job) => job.status === "FAILED"), `no job of the query failed: ${shown}`);
  });
});

Deno.test("one Spark Connect session serves every spark step of a run, and the run closes it", async () => {
  await withConnect(async (provider, server) => {
    const buckets = ["a", "b", "c", "d"].map((name) =>
      provider.bucket({ bucket: "chain", path: `${name}.parquet`, schema: N })
    );
    await buckets[0].write(pl.DataFrame({ n: pl.Series("n", [1, 2, 3, 4], pl.Int64) }), {
      mode: "cloud",
    });
    const spark = provider.spark({ config: new SparkConfig({ executors: 1 }) });
    const step = (name: string, body: (df: pl.LazyDataFrame) => pl.LazyDataFrame) =>
      spark.task({ name, input: N, output: N }, body);
    const pipeline = buckets[0]
      .transform(step("double", (df) => df.select(pl.col("n").mul(pl.lit(2).cast(pl.Int64)))))
      .to(buckets[1])
      .transform(step("keep_big", (df) => df.filter(pl.col("n").gt(pl.lit(2).cast(pl.Int64)))))
      .to(buckets[2])
      .transform(step("order", (df) => df.sort("n", true)))
      .to(buckets[3]);
    const since = await lastJobId(server);
    const report = await pipeline.run({ mode: "cloud", quiet: true });
    assert.deepEqual(report.steps.map((s) => [s.task, s.status]), [
      ["double", "ran"],
      ["keep_big", "ran"],
      ["order", "ran"],
    ]);
    assert.deepEqual((await buckets[3].read({ mode: "cloud" })).getColumn("n").toArray(), [
      8,
      6,
      4,
    ]);
    const jobs = await runJobs(server, since);
    const sessions = [...new Set(jobs.map((job) => job.session))];
    assert.equal(sessions.length, 1, `the run's jobs came from sessions ${sessions.join(", ")}`);
    assert.deepEqual(
      [...new Set(jobs.map((job) => job.glacierJob))].sort(),
      [1, 2, 3],
      "the three steps ran as the session's jobs 1, 2 and 3",
    );
    assert.ok(jobs.every((job) => job.status === "SUCCEEDED"), JSON.stringify(jobs));
    // The session is closed: the server refuses a client that asks for it by id.
    assert.match(await reattach(server, sessions[0]), /^refused .*INVALID_HANDLE\.SESSION_CLOSED/);
  });
});

Deno.test("a Spark Connect server asked for memory that is not a size is refused before it starts, naming the value", async () => {
  const venv = await testSparkVenv();
  const logFile = await Deno.makeTempFile({ suffix: ".log" });
  try {
    await assert.rejects(
      () => startSparkConnectServer({ venv, logFile, memory: "2 GB" }),
      (error: Error) =>
        error instanceof RangeError &&
        /memory must be a size such as 2g or 512m, got '2 GB'/.test(error.message),
    );
    assert.equal(await Deno.readTextFile(logFile), "", "no JVM was started");
  } finally {
    await Deno.remove(logFile);
  }
});
