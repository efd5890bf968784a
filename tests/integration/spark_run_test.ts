/**
 * Spark tasks in cloud mode, end to end, on real software: buckets on a real S3 server
 * (versitygw), tasks compiled to Spark SQL and run by Glacier's runner through `spark-submit` on
 * PySpark 4.0.1, once in-process (`local[2]`) and once on a standalone master and worker; then
 * `examples/complete.ts` with its Lambda tasks under the Lambda Runtime Interface Emulator too.
 *
 * The EMR Serverless path cannot run here (there is no EMR Serverless to reach): its request
 * building and job-run state handling are tested against recorded `GetJobRun` answers, and say
 * so in their names.
 *
 * The first run installs PySpark, boto3 and pyarrow into `.glacier/venv-spark` (a minute or two)
 * and versitygw into `.glacier/bin` (about a minute); a spark-submit then takes about 10 s in
 * `local[2]` and 15 to 20 s on the standalone cluster, mostly the JVM's and Spark's start.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from "../../src/io/s3/_sdk.ts";
import {
  CheckFailedError,
  Pipeline,
  pl,
  Provider,
  schema,
  SparkConfig,
  StorageError,
  t,
  TaskError,
  UnsupportedError,
} from "../../mod.ts";
import { s3Client, type S3Server, withS3Server } from "./_s3_server.ts";
import {
  NO_SPARK,
  sharedSparkConnect,
  sparkConfDir,
  submitEnv,
  testSparkVenv,
} from "./_spark_cluster.ts";
import { freePort } from "../../src/stack/process.ts";
import { sourced } from "./_stack_env.ts";
import { withLambdaStack } from "./_lambda_stack.ts";
import { SparkConnectSession } from "../../src/backends/spark/_connect.ts";
import type { SparkBatch, SparkJob } from "../../src/backends/spark/job.ts";
import {
  type EmrServerlessConfig,
  type EmrServerlessDeps,
  jobFiles,
  jobRunProgress,
  runJobOnEmrServerless,
  startJobRunRequest,
} from "../../src/backends/spark/emr_serverless.ts";
import { sparkTarget } from "../../src/backends/spark/executor.ts";
import { withEnv } from "../_env.ts";

const repo = new URL("../..", import.meta.url).pathname;

async function objectBytes(server: S3Server, bucket: string, key: string): Promise<Uint8Array> {
  const out = await s3Client(server).send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return await out.Body!.transformToByteArray();
}

async function putObject(server: S3Server, bucket: string, key: string, body: Uint8Array) {
  await s3Client(server).send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
}

/** Rows as sorted JSON lines, for comparing results whose order is not part of the answer. */
function multiset(frame: pl.DataFrame): string[] {
  return frame.toRecords().map((r) => JSON.stringify(r)).sort();
}

// ---------------------------------------------------------------------------------------------
// The pipeline: a spark join, a spark aggregate, then a local task.

const Orders = schema({ order_id: t.int64, customer_id: t.int64, amount: t.float64 });
const Customers = schema({ customer_id: t.int64, region: t.string, since: t.date });
const Joined = schema({
  order_id: t.int64,
  customer_id: t.int64,
  amount: t.float64,
  region: t.string,
  since: t.date,
});
const Revenue = schema({ region: t.string, revenue: t.float64, orders: t.int64 });
const Report = schema({ region: t.string, revenue: t.float64, orders: t.int64, share: t.float64 });

function shop(root: string, config: SparkConfig) {
  const provider = new Provider({ localRoot: root });
  const spark = provider.spark({ config });
  const local = provider.local();
  const bucket = "spark-shop";
  const orders = provider.bucket({ bucket, path: "raw/orders.parquet", schema: Orders });
  const customers = provider.bucket({ bucket, path: "raw/customers.csv", schema: Customers });
  const joined = provider.bucket({ bucket, path: "stage/joined.arrow", schema: Joined });
  const revenue = provider.bucket({ bucket, path: "stage/revenue.ndjson", schema: Revenue });
  const report = provider.bucket({ bucket, path: "out/report.parquet", schema: Report });
  const corrupt = provider.bucket({ bucket, path: "raw/corrupt.parquet", schema: Orders });
  const join = spark.task(
    { name: "spark_join", inputs: { orders_df: Orders, customers_df: Customers }, output: Joined },
    ({ orders_df, customers_df }) =>
      orders_df.join(customers_df, { on: "customer_id" }).sort("order_id"),
  );
  const aggregate = spark.task(
    { name: "spark_revenue", input: Joined, output: Revenue },
    (df) =>
      df.groupBy("region").agg(
        pl.col("amount").sum().alias("revenue"),
        pl.len().cast(pl.Int64).alias("orders"),
      ),
  );
  const share = local.task(
    { name: "local_share", input: Revenue, output: Report },
    (df) =>
      df.withColumns(pl.col("revenue").div(pl.col("revenue").sum()).round(4).alias("share"))
        .sort("region"),
  );
  const pipeline = new Pipeline({ orders_df: orders, customers_df: customers }).transform(join)
    .to(joined).transform(aggregate).to(revenue).transform(share).to(report);
  const broken = corrupt.transform(
    spark.task({ name: "spark_reads_corrupt", input: Orders, output: Orders }, (df) => df),
  ).to(provider.bucket({ bucket, path: "out/corrupt_copy.parquet", schema: Orders }));
  const Codes = schema({ customer_id: t.int64, code: t.int64 });
  const strict = customers.transform(spark.task(
    { name: "spark_strict_cast", input: Customers, output: Codes },
    (df) => df.select(pl.col("customer_id"), pl.col("region").cast(pl.Int64, true).alias("code")),
  )).to(provider.bucket({ bucket, path: "out/codes.parquet", schema: Codes }));
  return { orders, customers, joined, revenue, report, corrupt, pipeline, broken, strict, bucket };
}

const ordersFrame = pl.DataFrame({
  order_id: pl.Series("order_id", [1, 2, 3, 4, 5, 6, 7], pl.Int64),
  customer_id: pl.Series("customer_id", [10, 20, 10, 30, 99, 20, 30], pl.Int64),
  amount: [10.5, -1, 4.5, 7, 3, 2.25, 100],
});
const customersFrame = pl.DataFrame({
  customer_id: pl.Series("customer_id", [10, 20, 30, 40], pl.Int64),
  region: ["eu", "us, east", 'ap "south"', "none"],
  since: pl.Series("since", [
    new Date(Date.UTC(2020, 0, 1)),
    new Date(Date.UTC(2021, 5, 30)),
    new Date(Date.UTC(1999, 11, 31)),
    new Date(Date.UTC(2026, 1, 28)),
  ], pl.Date),
});

/**
 * Runs the shop pipeline locally and in cloud mode on the Spark `config` and the environment
 * names, and checks that the rows agree; then that failing Spark jobs (those of `failing`: a
 * corrupt input, a strict cast) name the task with Spark's own error and change no bucket.
 */
async function sparkParity(
  test: Deno.TestContext,
  server: S3Server,
  config: SparkConfig,
  where: RegExp,
  failing: readonly ("corrupt input" | "strict cast")[] = ["corrupt input", "strict cast"],
): Promise<void> {
  const s = shop(await Deno.makeTempDir({ prefix: "glacier-spark-local-" }), config);
  await s.orders.write(ordersFrame);
  await s.customers.write(customersFrame);
  await s.pipeline.run({ mode: "local", quiet: true });
  const local = {
    joined: (await s.joined.read()).toRecords(),
    revenue: multiset(await s.revenue.read()),
    report: (await s.report.read()).toRecords(),
  };
  await s.orders.write(ordersFrame, { mode: "cloud" });
  await s.customers.write(customersFrame, { mode: "cloud" });

  await test.step("a spark join, a spark aggregate and a local task give local mode's rows", async () => {
    const report = await s.pipeline.run({ mode: "cloud", quiet: true });
    assert.deepEqual(
      report.steps.map((step) => [step.task, step.rows]),
      [["spark_join", 6], ["spark_revenue", 3], ["local_share", 3]],
    );
    assert.ok(report.steps.every((step) => step.bytes > 0));
    assert.deepEqual((await s.joined.read({ mode: "cloud" })).toRecords(), local.joined);
    assert.deepEqual(multiset(await s.revenue.read({ mode: "cloud" })), local.revenue);
    assert.deepEqual((await s.report.read({ mode: "cloud" })).toRecords(), local.report);
  });

  await test.step("a failing Spark job names the task with Spark's error; no bucket changes", async () => {
    await putObject(server, s.bucket, "raw/corrupt.parquet", new TextEncoder().encode("no"));
    const failures = [
      {
        kind: "corrupt input" as const,
        pipeline: s.broken,
        family: StorageError,
        message:
          /task 'spark_reads_corrupt' failed on .*: input 'input' of task 'spark_reads_corrupt' \(s3:\/\/spark-shop\/raw\/corrupt.parquet\) cannot be read as parquet: \[FAILED_READ_FILE/,
      },
      {
        kind: "strict cast" as const,
        pipeline: s.strict,
        family: TaskError,
        message:
          /task 'spark_strict_cast' failed on .*: \[USER_RAISED_EXCEPTION\] task 'spark_strict_cast': strict cast from String to Int64 failed/,
      },
    ].filter((failure) => failing.includes(failure.kind));
    for (const { pipeline, family, message } of failures) {
      // The target holds data from before; the failed run must leave it as it was.
      const target = pipeline.lineage[0].target;
      const columns = Object.keys(target.schema);
      const previous = pl.DataFrame(
        Object.fromEntries(columns.map((c) => [c, pl.Series(c, [42], pl.Int64)])),
      );
      await new Provider().bucket({
        bucket: target.bucket,
        path: target.path,
        schema: target.schema,
      }).write(
        columns.includes("amount") ? previous.withColumns(pl.lit(1.5).alias("amount")) : previous,
        { mode: "cloud" },
      );
      const before = await objectBytes(server, target.bucket, target.path);
      await assert.rejects(pipeline.run({ mode: "cloud", quiet: true }), (e: Error) => {
        assert.ok(e instanceof family, `${e.name}: ${e.message}`);
        assert.match(e.message, /no bucket was changed/);
        assert.match(e.message, where);
        assert.match(e.message, message);
        assert.ok(e.message.length < 1500, `a few lines, not a JVM trace:\n${e.message}`);
        return true;
      });
      assert.deepEqual(await objectBytes(server, target.bucket, target.path), before);
    }
    const listed = await s3Client(server).send(
      new ListObjectsV2Command({ Bucket: s.bucket, Prefix: ".glacier/" }),
    );
    assert.deepEqual(
      (listed.Contents ?? []).map((o) => o.Key).filter((k) => !/^\.glacier\/locks\//.test(k!)),
      [],
      "no staged output, journal or scratch is left behind",
    );
  });
}

Deno.test("spark tasks in cloud mode on local[2] (SparkConfig master) give local mode's rows", async (test) => {
  const venv = await testSparkVenv();
  // Three partitions after each shuffle, kept apart however small: the sorted join's result is
  // written by three tasks, its parts joined into the bucket's one file in order.
  await using conf = await sparkConfDir({
    "spark.sql.shuffle.partitions": "3",
    "spark.sql.adaptive.coalescePartitions.enabled": "false",
  });
  await withS3Server(async (server) => {
    await withEnv({
      ...server.env(),
      ...submitEnv(venv),
      SPARK_CONF_DIR: conf.dir,
    }, async () => {
      await sparkParity(
        test,
        server,
        new SparkConfig({ executors: 1, executorMemory: "1g", master: "local[2]" }),
        /failed on Spark master local\[2\]/,
        // A corrupt input on spark-submit: spark_batch_test.ts (a broken day fails alone).
        ["strict cast"],
      );
    });
  });
});

Deno.test("a spark task's checks run inside its job (Spark Connect), on the output it wrote (a CSV here)", () =>
  withSparkConnect(async (_server, provider) => {
    const spark = provider.spark();
    const orders = provider.bucket({
      bucket: "spark-checks",
      path: "orders.parquet",
      schema: Orders,
    });
    const checked = (severity: "error" | "warn") =>
      provider.bucket({
        bucket: "spark-checks",
        path: `${severity}.csv`,
        schema: Orders,
        checks: (c) => [c.between("amount", 0, null, { severity }), c.unique("customer_id")],
      });
    const copy = (name: string) =>
      spark.task(
        { name, input: Orders, output: Orders },
        (df) => df.filter(pl.col("order_id").lt(7)),
      );
    await orders.write(ordersFrame.filter(pl.col("customer_id").neq(10)), { mode: "cloud" });
    const failing = orders.transform(copy("spark_audited")).to(checked("error"));
    await assert.rejects(failing.run({ mode: "cloud", quiet: true }), (e: Error) => {
      assert.ok(e instanceof CheckFailedError, `${e.name}: ${e.message}`);
      assert.match(
        e.message,
        /check 'between\(amount, 0, null\)' failed on bucket 'spark-checks\/error.csv': 1 row fails; it is:\n {2}\{"order_id":2,"customer_id":20,"amount":-1\}/,
      );
      assert.deepEqual(
        e.results.map((r) => [r.name, r.passed, r.failingRows]),
        [["between(amount, 0, null)", false, 1], ["unique(customer_id)", false, 2]],
      );
      return true;
    });
    await assert.rejects(checked("error").read({ mode: "cloud" }), StorageError);
    const warned = orders.transform(copy("spark_audited_warn")).to(checked("warn"));
    await assert.rejects(warned.run({ mode: "cloud", quiet: true }), /unique\(customer_id\)/);
    await orders.write(
      ordersFrame.filter(pl.col("order_id").gt(1).and(pl.col("order_id").lt(5))),
      {
        mode: "cloud",
      },
    );
    await warned.run({ mode: "cloud", quiet: true });
    assert.equal((await checked("warn").read({ mode: "cloud" })).height, 3);
  }));

Deno.test("spark tasks in cloud mode through Spark Connect (SPARK_REMOTE), one session per run, give local mode's rows", async (test) => {
  const connect = await sharedSparkConnect();
  await withS3Server(async (server) => {
    await withEnv({ ...server.env(), ...NO_SPARK, ...connect.env() }, async () => {
      await sparkParity(
        test,
        server,
        new SparkConfig({ executors: 2, executorMemory: "1g" }),
        new RegExp(`failed on Spark Connect ${connect.remote.replaceAll(".", "\\.")}`),
      );
    });
  });
});

/** Runs `fn` against a fresh S3 server and the file's Spark Connect server, with a fresh provider. */
async function withSparkConnect(
  fn: (server: S3Server, provider: Provider) => Promise<void>,
): Promise<void> {
  const connect = await sharedSparkConnect();
  await withS3Server(async (server) => {
    await withEnv(
      { ...server.env(), ...NO_SPARK, ...connect.env() },
      async () => fn(server, new Provider({ localRoot: await Deno.makeTempDir() })),
    );
  });
}

// ---------------------------------------------------------------------------------------------
// Every dtype of `t` through a spark task and on into a local one: Spark has no unsigned integers
// and keeps microseconds, so the runner writes each column as its bucket stores it.

const at = [
  new Date(Date.UTC(2024, 1, 29, 12, 30, 15, 123)),
  null,
  new Date(Date.UTC(1969, 11, 31, 23, 59, 59, 999)),
];

/** Each dtype of `t` with three values: extremes and a null. */
const DTYPES: readonly [string, pl.Series][] = [
  ["int8", pl.Series("v", [-128, null, 127], t.int8)],
  ["int16", pl.Series("v", [-32768, null, 32767], t.int16)],
  ["int32", pl.Series("v", [-2147483648, null, 2147483647], t.int32)],
  ["int64", pl.Series("v", [-9007199254740991, null, 9007199254740991], t.int64)],
  ["uint8", pl.Series("v", [0, null, 255], t.uint8)],
  ["uint16", pl.Series("v", [0, null, 65535], t.uint16)],
  ["uint32", pl.Series("v", [0, null, 4294967295], t.uint32)],
  ["uint64", pl.Series("v", [0n, null, 18446744073709551615n], t.uint64)],
  ["float32", pl.Series("v", [-1.5, null, 3.25], t.float32)],
  ["float64", pl.Series("v", [-1e300, null, 0.1], t.float64)],
  ["bool", pl.Series("v", [true, null, false], t.bool)],
  ["string", pl.Series("v", ["", null, "Ostküste 東京"], t.string)],
  ["date", pl.Series("v", at, pl.Datetime("ms")).cast(t.date)],
  ["datetime", pl.Series("v", at, t.datetime)],
  ['datetimeOf("us")', pl.Series("v", at, pl.Datetime("ms")).cast(t.datetimeOf("us"))],
  [
    'datetimeOf("us", "UTC")',
    pl.Series("v", at, pl.Datetime("ms")).cast(t.datetimeOf("us", "UTC")),
  ],
  [
    'datetimeOf("ms", "Europe/Paris")',
    pl.Series("v", at, t.datetime).dt.replaceTimeZone("Europe/Paris"),
  ],
  ["list(uint8)", pl.Series("v", [[1, 255], null, []], t.list(t.uint8))],
  ["list(string)", pl.Series("v", [["a", "b"], null, []], t.list(t.string))],
  [
    "struct({ a: int64, b: string })",
    pl.DataFrame({ a: pl.Series("a", [1, null, 3], t.int64), b: ["x", null, "ü"] }).toStruct("v"),
  ],
];

Deno.test("every dtype of t round-trips through a spark task (Spark Connect) and is read by the next task", async (test) => {
  await withSparkConnect(async (_server, provider) => {
    const spark = provider.spark({ config: new SparkConfig({ executors: 1 }) });
    // One column per dtype, one run: a dtype that does not round-trip fails it naming its column.
    const columns = DTYPES.map(([name, values], i) => [`c${i}`, name, values] as const);
    const frame = pl.DataFrame([
      pl.Series("id", [1, 2, 3], t.int64),
      ...columns.map(([column, , values]) => values.alias(column)),
    ]);
    const Row = schema(Object.fromEntries(frame.getColumns().map((c) => [c.name, c.dtype])));
    const bucket = (path: string) => provider.bucket({ bucket: "dtypes", path, schema: Row });
    const [source, viaSpark, viaIpc, out] = [
      bucket("in.parquet"),
      bucket("spark.parquet"),
      bucket("spark.arrow"),
      bucket("local.parquet"),
    ];
    await source.write(frame, { mode: "cloud" });
    const copy = (name: string) =>
      spark.task({ name, input: Row, output: Row }, (df) => df.sort("id"));
    const next = provider.local().task(
      { name: "local_copy", input: Row, output: Row },
      (df) => df.sort("id"),
    );
    await source.transform(copy("spark_copy")).to(viaSpark).transform(next).to(out).run({
      mode: "cloud",
      quiet: true,
    });
    await source.transform(copy("spark_copy_ipc")).to(viaIpc).run({ mode: "cloud", quiet: true });
    const [read, ipc] = [await out.read({ mode: "cloud" }), await viaIpc.read({ mode: "cloud" })];
    for (const [column, name, values] of columns) {
      await test.step(name, () => {
        for (const written of [read, ipc]) {
          assert.equal(written.getColumn(column).dtype.toString(), values.dtype.toString());
          assert.deepEqual(written.getColumn(column).toArray(), values.toArray());
        }
      });
    }
  });
});

Deno.test("a spark task counting rows (UInt32, as pl.len() gives) feeds a local task", async () => {
  await withSparkConnect(async (_server, provider) => {
    const spark = provider.spark({ config: new SparkConfig({ executors: 1 }) });
    const Sales = schema({ region: t.string, amount: t.float64 });
    const Counts = schema({ region: t.string, orders: t.uint32, customers: t.uint32 });
    const Share = schema({ region: t.string, orders: t.uint32, share: t.float64 });
    const sales = provider.bucket({ bucket: "count", path: "sales.parquet", schema: Sales });
    const counts = provider.bucket({ bucket: "count", path: "counts.arrow", schema: Counts });
    const share = provider.bucket({ bucket: "count", path: "share.parquet", schema: Share });
    const count = spark.task(
      { name: "count_orders", input: Sales, output: Counts },
      (df) =>
        df.groupBy("region").agg(
          pl.len().alias("orders"),
          pl.col("amount").nUnique().alias("customers"),
        ),
    );
    const shares = provider.local().task(
      { name: "order_share", input: Counts, output: Share },
      (df) =>
        df.select(
          "region",
          "orders",
          pl.col("orders").cast(pl.Float64).div(pl.col("orders").sum()).alias("share"),
        ).sort("region"),
    );
    await sales.write(
      pl.DataFrame({ region: ["eu", "us", "eu", "eu"], amount: [1, 2, 1, 3] }),
      { mode: "cloud" },
    );
    const report = await sales.transform(count).to(counts).transform(shares).to(share).run({
      mode: "cloud",
      quiet: true,
    });
    assert.deepEqual(report.steps.map((s) => [s.task, s.rows]), [
      ["count_orders", 2],
      ["order_share", 2],
    ]);
    assert.deepEqual((await share.read({ mode: "cloud" })).toRecords(), [
      { region: "eu", orders: 3, share: 0.75 },
      { region: "us", orders: 1, share: 0.25 },
    ]);
  });
});

/** Runs `glacier stack` with `args`; returns its exit status and output. */
async function stack(...args: string[]): Promise<{ code: number; out: string }> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(repo, "tools", "stack.ts"), ...args],
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: output.code, out: decode(output.stdout) + decode(output.stderr) };
}

const STACK_ENV = [
  "AWS_ENDPOINT_URL_S3",
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
  "AWS_REGION",
  "AWS_S3_FORCE_PATH_STYLE",
  "GLACIER_STATE_BUCKET",
  "SPARK_REMOTE",
  "SPARK_MASTER",
  "SPARK_HOME",
  "PYSPARK_PYTHON",
] as const;

Deno.test("stack up starts a Spark Connect server and writes SPARK_REMOTE: spark tasks run through it, and through SPARK_MASTER without it", async (test) => {
  const stateDir = await Deno.makeTempDir({ prefix: "glacier-spark-stack-" });
  const [s3Port, lambdaPort, connectPort] = [freePort(), freePort(), freePort()];
  const sparkPort = freePort();
  const flags = [
    "--state-dir",
    stateDir,
    "--s3-port",
    String(s3Port),
    "--lambda-port",
    String(lambdaPort),
    "--spark-port",
    String(sparkPort),
    "--spark-connect-port",
    String(connectPort),
  ];
  await testSparkVenv();
  try {
    const up = await stack("up", ...flags);
    assert.equal(up.code, 0, up.out);
    assert.match(
      up.out,
      new RegExp(`spark-connect: started pid \\d+ on sc://127\\.0\\.0\\.1:${connectPort}`),
    );
    const env = await sourced(join(stateDir, "stack.env"), STACK_ENV);
    assert.equal(env.SPARK_REMOTE, `sc://127.0.0.1:${connectPort}`);
    assert.equal(env.SPARK_MASTER, `spark://127.0.0.1:${sparkPort}`);
    const status = await stack("status", ...flags);
    assert.match(
      status.out,
      new RegExp(`spark-connect\\s+running\\s+pid \\d+\\s+sc://127\\.0\\.0\\.1:${connectPort}`),
    );

    const provider = new Provider({ localRoot: await Deno.makeTempDir() });
    const Events = schema({ user: t.int64, amount: t.float64 });
    const Totals = schema({ user: t.int64, events: t.uint32, amount: t.float64 });
    const events = provider.bucket({ bucket: "stack", path: "events.parquet", schema: Events });
    const totals = provider.bucket({ bucket: "stack", path: "totals.parquet", schema: Totals });
    const total = provider.spark({ config: new SparkConfig({ timeoutSeconds: 180 }) }).task(
      { name: "total_by_user", input: Events, output: Totals },
      (df) =>
        df.groupBy("user").agg(pl.len().alias("events"), pl.col("amount").sum().alias("amount"))
          .sort("user"),
    );
    const pipeline = events.transform(total).to(totals);
    const rows = 10_000;
    const expected = Array.from({ length: 100 }, (_, user) => ({
      user,
      events: 100,
      amount: 100 * user + 4950,
    }));
    await withEnv({ ...NO_SPARK, ...env }, async () => {
      await events.write(
        pl.DataFrame({
          user: pl.Series("user", Array.from({ length: rows }, (_, i) => i % 100), pl.Int64),
          amount: Array.from({ length: rows }, (_, i) => (i % 100) + Math.floor(i / 100)),
        }),
        { mode: "cloud" },
      );
      await test.step("through SPARK_REMOTE, the stack's Spark Connect server", async () => {
        // The first run meets a cold server; the later ones, forced past the ledger, a warm one.
        for (let run = 0; run < 3; run++) {
          const report = await pipeline.run({ mode: "cloud", quiet: true, force: run > 0 });
          assert.equal(report.steps[0].status, "ran");
          assert.equal(report.steps[0].rows, 100);
          console.log(`  10,000-row spark task, run ${run + 1}: ${report.seconds.toFixed(2)} s`);
        }
        assert.deepEqual((await totals.read({ mode: "cloud" })).toRecords(), expected);
      });
      await test.step("through SPARK_MASTER (spark-submit to the standalone master) when SPARK_REMOTE is unset", async () => {
        await withEnv({ SPARK_REMOTE: undefined }, async () => {
          const stale = pl.DataFrame([
            pl.Series("user", [-1], t.int64),
            pl.Series("events", [0], t.uint32),
            pl.Series("amount", [0], t.float64),
          ]);
          await totals.write(stale, { mode: "cloud" });
          await pipeline.run({ mode: "cloud", quiet: true });
          assert.deepEqual((await totals.read({ mode: "cloud" })).toRecords(), expected);
        });
      });
    });
  } finally {
    const down = await stack("down", ...flags);
    assert.equal(down.code, 0, down.out);
    assert.match(down.out, /spark-connect: pid \d+ \(port \d+\) stopped/);
    await Deno.remove(stateDir, { recursive: true });
  }
});

Deno.test("a hand-written job: the runner reads and writes CSV as Glacier does, to exactly the output key", async () => {
  const connect = await sharedSparkConnect();
  await withS3Server(async (server) => {
    await withEnv({ ...server.env(), ...NO_SPARK }, async () => {
      const provider = new Provider({ localRoot: await Deno.makeTempDir() });
      const People = schema({ id: t.int64, name: t.string, born: t.date, score: t.float64 });
      const people = provider.bucket({ bucket: "hand", path: "in/people.csv", schema: People });
      const out = provider.bucket({ bucket: "hand", path: "out/people.csv", schema: People });
      const frame = pl.DataFrame({
        id: pl.Series("id", [1, 2, 3, 4], pl.Int64),
        name: ['quote " and, comma', "line\nbreak", "", null],
        born: pl.Series("born", [
          new Date(Date.UTC(1990, 0, 2)),
          null,
          new Date(Date.UTC(2000, 1, 29)),
          new Date(Date.UTC(1970, 0, 1)),
        ], pl.Date),
        score: [1.5, null, -0.25, 1e-7],
      });
      await people.write(frame, { mode: "cloud" });
      const columns = [["id", "BIGINT"], ["name", "STRING"], ["born", "DATE"], [
        "score",
        "DOUBLE",
      ]] as const;
      const job: SparkJob = {
        glacier: 1,
        task: "hand_copy",
        sql: "SELECT id, name, born, score FROM people ORDER BY id",
        inputs: {
          input: { view: "people", uri: "s3://hand/in/people.csv", format: "csv", columns },
        },
        output: { uri: "s3://hand/out/people.csv", format: "csv", columns },
      };
      const session = await SparkConnectSession.open(connect.remote, connect.venv.python);
      const outcome = await session.run(job).finally(() => session.close());
      assert.ok(outcome.ok, JSON.stringify(outcome));
      assert.equal(outcome.result.rows, 4);
      const bytes = await objectBytes(server, "hand", "out/people.csv");
      assert.equal(outcome.result.bytes, bytes.length);
      assert.deepEqual((await out.read({ mode: "cloud" })).toRecords(), frame.toRecords());
    });
  });
});

/** Runs `fn` against a fresh S3 server with the test Spark's environment and a fresh provider. */
async function withLocalSpark(
  fn: (server: S3Server, provider: Provider) => Promise<void>,
): Promise<void> {
  const venv = await testSparkVenv();
  await withS3Server(async (server) => {
    await withEnv({
      ...server.env(),
      ...submitEnv(venv),
    }, async () => fn(server, new Provider({ localRoot: await Deno.makeTempDir() })));
  });
}

Deno.test("a spark task reads and writes CSV with its buckets' options: separator, quote, nulls, US dates", async () => {
  await withSparkConnect(async (server, provider) => {
    const Sales = schema({
      day: t.date,
      at: t.datetimeOf("us"),
      amount: t.float64,
      note: t.string,
    });
    const csv = {
      separator: ";",
      quote: "'",
      nullValues: ["NA"],
      dateFormat: "%m/%d/%Y",
      datetimeFormat: "%m/%d/%Y %H:%M",
    } as const;
    const sales = provider.bucket({ bucket: "opts", path: "in/sales.csv", schema: Sales, csv });
    const out = provider.bucket({ bucket: "opts", path: "out/sales.csv", schema: Sales, csv });
    const spark = provider.spark({ config: new SparkConfig({ executors: 1 }) });
    const copy = spark.task(
      { name: "copy_sales", input: Sales, output: Sales },
      (df) => df.sort("day"),
    );
    await sales.write(
      pl.DataFrame({ day: ["2025-01-01"], at: ["2025-01-01T00:00"], amount: [1.5], note: ["x"] })
        .withColumns(
          pl.col("day").str.strptime(pl.Date, "%Y-%m-%d"),
          pl.col("at").str.strptime(pl.Datetime, "%Y-%m-%dT%H:%M").cast(pl.Datetime("us")),
        ),
      { mode: "cloud" },
    );
    const text = "note;amount;at;day\n" +
      "plain;2.5;12/31/2025 23:59;12/31/2025\n'a;b';NA;03/05/2025 10:30;03/05/2025\n";
    await s3Client(server).send(
      new PutObjectCommand({ Bucket: "opts", Key: "in/sales.csv", Body: text }),
    );
    await sales.transform(copy).to(out).run({ mode: "cloud", quiet: true });
    const written = new TextDecoder().decode(await objectBytes(server, "opts", "out/sales.csv"));
    assert.equal(
      written,
      "day;at;amount;note\n03/05/2025;03/05/2025 10:30;NA;'a;b'\n" +
        "12/31/2025;12/31/2025 23:59;2.5;plain\n",
    );
    assert.deepEqual((await out.read({ mode: "cloud" })).toRecords(), [
      {
        day: new Date("2025-03-05"),
        at: new Date("2025-03-05T10:30:00Z"),
        amount: null,
        note: "a;b",
      },
      {
        day: new Date("2025-12-31"),
        at: new Date("2025-12-31T23:59:00Z"),
        amount: 2.5,
        note: "plain",
      },
    ]);
  });
});

Deno.test("a spark task past SparkConfig's timeout fails the run naming it, and its spark-submit is stopped", async () => {
  await withLocalSpark(async (_server, provider) => {
    const N = schema({ n: t.int64 });
    const input = provider.bucket({ bucket: "slow", path: "in.parquet", schema: N });
    const output = provider.bucket({ bucket: "slow", path: "out.parquet", schema: N });
    const spark = provider.spark({
      config: new SparkConfig({
        executors: 1,
        executorMemory: "1g",
        master: "local[2]",
        timeoutSeconds: 2,
      }),
    });
    const copy = spark.task({ name: "copy_slowly", input: N, output: N }, (df) => df);
    await input.write(pl.DataFrame({ n: pl.Series("n", [1], pl.Int64) }), { mode: "cloud" });
    const started = performance.now();
    await assert.rejects(
      () => input.transform(copy).to(output).run({ mode: "cloud", quiet: true }),
      /task 'copy_slowly' exceeded its timeout of 2 s/,
    );
    assert.ok((performance.now() - started) / 1000 < 8, "the run failed at its timeout");
    await assert.rejects(() => output.read({ mode: "cloud" }), StorageError);
    let left = "";
    for (let i = 0; i < 30; i++) {
      const ps = await new Deno.Command("pgrep", { args: ["-f", "copy_slowly\\.[0-9]+\\.json"] })
        .output();
      left = new TextDecoder().decode(ps.stdout).trim();
      if (left === "") break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    assert.equal(left, "", "no process of the job is left");
  });
});

Deno.test("cloud mode refuses spark tasks it cannot run before reading or writing anything", async (test) => {
  await withS3Server(async (server) => {
    const s = shop(await Deno.makeTempDir(), new SparkConfig({ executors: 1 }));
    await test.step("no Spark configured: no master and no EMR Serverless application", async () => {
      await withEnv({ ...server.env(), ...NO_SPARK }, async () => {
        await assert.rejects(s.pipeline.run({ mode: "cloud", quiet: true }), (e: Error) => {
          assert.ok(e instanceof UnsupportedError, `${e}`);
          assert.match(
            e.message,
            /cloud mode cannot run task 'spark_join' \(spark\), 'spark_revenue' \(spark\) yet: no Spark is configured for them\. Nothing was read or written\. Set SparkConfig\(\{ remote \}\) or SPARK_REMOTE for a Spark Connect server .*SparkConfig\(\{ master \}\) or SPARK_MASTER/,
          );
          return true;
        });
      });
    });
    await test.step("a standalone master that takes no connection", async () => {
      const port = (() => {
        const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
        const p = (listener.addr as Deno.NetAddr).port;
        listener.close();
        return p;
      })();
      const venv = await testSparkVenv();
      await withEnv({
        ...server.env(),
        ...NO_SPARK,
        SPARK_MASTER: `spark://127.0.0.1:${port}`,
        SPARK_HOME: venv.sparkHome,
      }, async () => {
        await assert.rejects(s.pipeline.run({ mode: "cloud", quiet: true }), (e: Error) => {
          assert.ok(e instanceof UnsupportedError, `${e}`);
          assert.match(
            e.message,
            new RegExp(
              `task 'spark_join' runs on the Spark master spark://127\\.0\\.0\\.1:${port} \\(SPARK_MASTER\\), which takes no connection .*Nothing was read or written\\. Start it \\(glacier stack up`,
            ),
          );
          return true;
        });
      });
    });
    await test.step("no spark-submit anywhere", async () => {
      await withEnv({
        ...server.env(),
        ...NO_SPARK,
        SPARK_MASTER: "local[2]",
        SPARK_HOME: "/nonexistent/spark",
        PATH: "/usr/bin:/bin",
      }, async () => {
        const cwd = Deno.cwd();
        Deno.chdir(await Deno.makeTempDir());
        try {
          await assert.rejects(s.pipeline.run({ mode: "cloud", quiet: true }), (e: Error) => {
            assert.ok(e instanceof UnsupportedError, `${e}`);
            assert.match(
              e.message,
              /task 'spark_join' runs on Spark at local\[2\], but spark-submit was not found .*run glacier stack up, which installs Spark .*or set SPARK_HOME/,
            );
            return true;
          });
        } finally {
          Deno.chdir(cwd);
        }
      });
    });
    const list = await s3Client(server).send(new ListObjectsV2Command({ Bucket: s.bucket }))
      .catch((e) => e);
    assert.equal((list as Error).name, "NoSuchBucket", "nothing was created in S3");
  });
});

Deno.test("the selection rule: SparkConfig master, then SPARK_MASTER, then EMR Serverless, else none", async () => {
  await withEnv(NO_SPARK, async () => {
    assert.deepEqual(sparkTarget({ master: "local[2]" }), {
      kind: "self-managed",
      master: "local[2]",
      from: "SparkConfig",
    });
    assert.deepEqual(sparkTarget({}), { kind: "none" });
    await withEnv({ GLACIER_EMR_APPLICATION_ID: "00abc" }, async () => {
      assert.deepEqual(sparkTarget({}), { kind: "emr-serverless" });
      await withEnv({ SPARK_MASTER: "spark://h:7077" }, () => {
        assert.deepEqual(sparkTarget({}), {
          kind: "self-managed",
          master: "spark://h:7077",
          from: "SPARK_MASTER",
        });
        assert.equal(sparkTarget({ master: "local[1]" }).kind, "self-managed");
        return Promise.resolve();
      });
    });
    await withEnv({ AWS_ENDPOINT_URL_EMR_SERVERLESS: "http://127.0.0.1:1" }, () => {
      assert.deepEqual(sparkTarget({}), { kind: "emr-serverless" });
      return Promise.resolve();
    });
  });
});

// ---------------------------------------------------------------------------------------------
// EMR Serverless: no real server exists here, so these use recorded answers (the shapes of
// `StartJobRun` and `GetJobRun` in the EMR Serverless API reference) and an in-memory S3.

const EMR: EmrServerlessConfig = {
  applicationId: "00fabcdef1234567",
  executionRoleArn: "arn:aws:iam::123456789012:role/glacier-spark",
  artifacts: "s3://glacier-artifacts/glacier",
  region: "eu-west-1",
  endpoint: "https://emr-serverless.eu-west-1.amazonaws.com",
};

const EMR_JOB: SparkJob = {
  glacier: 1,
  task: "enrich_orders",
  sql: "SELECT 1 AS x",
  inputs: {},
  output: {
    uri: "s3://shop/.glacier/staging/run-1/stage/enriched.parquet",
    format: "parquet",
    columns: [["x", "INT"]],
  },
};

/** Recorded EMR Serverless answers, replayed in order; S3 in memory. */
function recorded(
  states: { state: string; stateDetails?: string }[],
  result: string | undefined,
): EmrServerlessDeps & {
  requests: unknown[];
  objects: Map<string, string>;
  sleeps: number[];
  cancelled: string[];
} {
  const objects = new Map<string, string>();
  const requests: unknown[] = [];
  const sleeps: number[] = [];
  const cancelled: string[] = [];
  let poll = 0;
  return {
    requests,
    objects,
    sleeps,
    cancelled,
    cancelJobRun(applicationId, jobRunId) {
      assert.equal(applicationId, EMR.applicationId);
      cancelled.push(jobRunId);
      return Promise.resolve();
    },
    startJobRun(request) {
      requests.push(request);
      // The runner, when the run ends, writes its answer where the request says.
      if (result !== undefined) {
        const args = request.jobDriver.sparkSubmit.entryPointArguments;
        objects.set(args[args.indexOf("--result") + 1], result);
      }
      return Promise.resolve("00fjobrun0000001");
    },
    getJobRun(applicationId, jobRunId) {
      assert.equal(applicationId, EMR.applicationId);
      assert.equal(jobRunId, "00fjobrun0000001");
      return Promise.resolve(states[Math.min(poll++, states.length - 1)]);
    },
    put(uri, text, onlyIfMissing) {
      if (!(onlyIfMissing && objects.has(uri))) objects.set(uri, text);
      return Promise.resolve();
    },
    get(uri) {
      return Promise.resolve(objects.get(uri));
    },
    sleep(ms) {
      sleeps.push(ms);
      return Promise.resolve();
    },
  };
}

Deno.test("EMR Serverless (recorded answers, no real server): the StartJobRun request", () => {
  const files = {
    runner: "s3://glacier-artifacts/glacier/spark/runner-0123456789abcdef.py",
    job: "s3://glacier-artifacts/glacier/spark/jobs/run-1/enrich_orders.json",
    result: "s3://glacier-artifacts/glacier/spark/jobs/run-1/enrich_orders.result.json",
  };
  assert.deepEqual(
    startJobRunRequest(EMR_JOB, "run-1", EMR, { executors: 2, executorMemory: "4g" }, files),
    {
      applicationId: "00fabcdef1234567",
      executionRoleArn: "arn:aws:iam::123456789012:role/glacier-spark",
      name: "glacier:enrich_orders",
      clientToken: "run-1:enrich_orders",
      jobDriver: {
        sparkSubmit: {
          entryPoint: files.runner,
          entryPointArguments: [files.job, "--result", files.result],
          sparkSubmitParameters: "--conf spark.dynamicAllocation.enabled=false " +
            "--conf spark.executor.instances=2 --conf spark.executor.memory=4g",
        },
      },
      tags: { "glacier:task": "enrich_orders", "glacier:run": "run-1" },
    },
  );
  const limited = startJobRunRequest(
    EMR_JOB,
    "run-1",
    EMR,
    { executors: 2, executorMemory: "4g", timeoutSeconds: 90 },
    files,
  );
  assert.equal(limited.executionTimeoutMinutes, 2, "a task's timeout, in whole minutes");
  assert.deepEqual(jobRunProgress({ state: "RUNNING" }), { done: false, state: "RUNNING" });
  assert.deepEqual(jobRunProgress({ state: "CANCELLED", stateDetails: "Job run cancelled" }), {
    done: true,
    succeeded: false,
    state: "CANCELLED",
    details: "Job run cancelled",
  });
});

Deno.test("EMR Serverless (recorded answers, no real server): polling to SUCCESS, FAILED and CANCELLED", async (test) => {
  await test.step("SUCCESS with the runner's answer gives its rows and bytes", async () => {
    const deps = recorded(
      [{ state: "PENDING" }, { state: "SCHEDULED" }, { state: "RUNNING" }, { state: "SUCCESS" }],
      JSON.stringify({ rows: 42, bytes: 1234, seconds: 61.5 }),
    );
    const states: string[] = [];
    const outcome = await runJobOnEmrServerless(
      EMR_JOB,
      "run-1",
      EMR,
      { executors: 2, executorMemory: "4g" },
      "print('runner')\n",
      deps,
      { onState: (_id, state) => states.push(state) },
    );
    assert.deepEqual(outcome, {
      ok: true,
      result: { rows: 42, bytes: 1234, seconds: 61.5 },
      jobRunId: "00fjobrun0000001",
    });
    assert.deepEqual(states, ["SUBMITTED", "PENDING", "SCHEDULED", "RUNNING", "SUCCESS"]);
    assert.deepEqual(deps.sleeps, [2000, 3000, 4500, 6750], "the polls back off");
    const uploaded = [...deps.objects.keys()].sort();
    assert.match(
      uploaded[0],
      /^s3:\/\/glacier-artifacts\/glacier\/spark\/jobs\/run-1\/enrich_orders\.json$/,
    );
    assert.equal(JSON.parse(deps.objects.get(uploaded[0])!).task, "enrich_orders");
    assert.match(
      uploaded[2],
      /^s3:\/\/glacier-artifacts\/glacier\/spark\/runner-[0-9a-f]{16}\.py$/,
    );
  });
  await test.step("a task's timeout cancels the job run and stops polling", async () => {
    const deps = recorded([{ state: "RUNNING" }], undefined);
    const timeout = new AbortController();
    const polls: string[] = [];
    const outcome = await runJobOnEmrServerless(
      EMR_JOB,
      "run-1",
      EMR,
      { executors: 2, executorMemory: "4g", timeoutSeconds: 60 },
      "print('runner')\n",
      {
        ...deps,
        sleep: (ms) => {
          if (polls.length === 2) timeout.abort();
          return deps.sleep(ms);
        },
      },
      { onState: (_id, state) => polls.push(state), signal: timeout.signal },
    );
    assert.equal(outcome.ok, false);
    assert.deepEqual(deps.cancelled, ["00fjobrun0000001"]);
    assert.deepEqual(polls, ["SUBMITTED", "RUNNING", "CANCELLING"]);
  });
  await test.step("FAILED with the runner's answer gives Spark's own error", async () => {
    const deps = recorded(
      [{ state: "RUNNING" }, {
        state: "FAILED",
        stateDetails: "Job failed, please check complete logs",
      }],
      JSON.stringify({ error: "[DIVIDE_BY_ZERO] Division by zero.", type: "TaskError" }),
    );
    const outcome = await runJobOnEmrServerless(
      EMR_JOB,
      "run-1",
      EMR,
      { executors: 1, executorMemory: "2g" },
      "",
      deps,
    );
    assert.deepEqual(outcome, {
      ok: false,
      failure: { error: "[DIVIDE_BY_ZERO] Division by zero.", type: "TaskError" },
      jobRunId: "00fjobrun0000001",
    });
  });
  await test.step("CANCELLED without an answer gives the state and its details", async () => {
    const deps = recorded([{ state: "CANCELLING" }, {
      state: "CANCELLED",
      stateDetails: "Job run was cancelled by user",
    }], undefined);
    const outcome = await runJobOnEmrServerless(
      EMR_JOB,
      "run-1",
      EMR,
      { executors: 1, executorMemory: "2g" },
      "",
      deps,
    );
    assert.equal(outcome.ok, false);
    assert.match(
      !outcome.ok ? outcome.failure.error : "",
      /^the job run ended CANCELLED: Job run was cancelled by user \(the runner left no answer at s3:\/\/glacier-artifacts\/glacier\/spark\/jobs\/run-1\/enrich_orders\.result\.json/,
    );
  });
});

Deno.test("EMR Serverless (recorded answers, no real server): a batch of units is one job run, answering each unit", async () => {
  const batch: SparkBatch = {
    glacier: 1,
    task: "enrich_orders.1",
    units: [
      { job: EMR_JOB },
      { job: { ...EMR_JOB, task: "rank_orders" }, after: [0] },
    ],
  };
  const answer = {
    rows: 42,
    bytes: 1234,
    seconds: 70,
    units: [
      { rows: 42, bytes: 1234, seconds: 50 },
      { error: "[DIVIDE_BY_ZERO] Division by zero.", type: "TaskError", seconds: 3 },
    ],
  };
  const deps = recorded([{ state: "RUNNING" }, { state: "SUCCESS" }], JSON.stringify(answer));
  const outcome = await runJobOnEmrServerless(
    batch,
    "run-1",
    EMR,
    {
      executors: 2,
      executorMemory: "4g",
    },
    "",
    deps,
  );
  assert.deepEqual(outcome, { ok: true, result: answer, jobRunId: "00fjobrun0000001" });
  assert.equal(deps.requests.length, 1, "one StartJobRun for both units");
  const uploaded = JSON.parse(
    deps.objects.get("s3://glacier-artifacts/glacier/spark/jobs/run-1/enrich_orders.1.json")!,
  );
  assert.deepEqual(uploaded.units.map((u: { job: SparkJob }) => u.job.task), [
    "enrich_orders",
    "rank_orders",
  ]);
  // Two jobs of one run never share an idempotency token, however long their names.
  const long = "a_task_whose_name_is_long_enough_to_fill_the_token";
  const files = jobFiles(EMR.artifacts, "2026-12-06T08-51-24-123Z-1a2b3c4d", long, "00");
  const tokens = [1, 2].map((n) =>
    startJobRunRequest(
      { ...batch, task: `${long}.${n}` },
      "2026-12-06T08-51-24-123Z-1a2b3c4d",
      EMR,
      { executors: 1, executorMemory: "1g" },
      files,
    ).clientToken
  );
  assert.notEqual(tokens[0], tokens[1]);
  assert.ok(tokens.every((token) => token.length <= 64), tokens.join(", "));
});

// ---------------------------------------------------------------------------------------------
// The complete example: local, Lambda and Spark tasks, in cloud mode on the whole local stack.

/** Runs `deno run -A examples/complete.ts ARGS` in `cwd` with `env`. */
async function complete(
  args: string[],
  cwd: string,
  env: Record<string, string> = {},
): Promise<{ code: number; out: string; err: string }> {
  const result = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(repo, "examples", "complete.ts"), ...args],
    cwd,
    env: { NO_COLOR: "1", ...NO_SPARK_ENV, ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: result.code, out: decode(result.stdout), err: decode(result.stderr) };
}

/** Emptied in the child, so that the shell's Spark or EMR settings cannot leak into it. */
const NO_SPARK_ENV = { SPARK_REMOTE: "", SPARK_MASTER: "", GLACIER_EMR_APPLICATION_ID: "" };

/** The example's outputs, by key: whether their task sorts (ordered rows) or not (a multiset). */
const COMPLETE_OUTPUTS: ReadonlyArray<readonly [string, "ordered" | "multiset"]> = [
  ["clean/orders.parquet", "multiset"],
  ["clean/customers.parquet", "multiset"],
  ["stage/enriched.parquet", "multiset"],
  ["out/regional_sales.parquet", "ordered"],
  ["out/category_sales.parquet", "ordered"],
  ["out/customer_value.arrow", "ordered"],
];

function readBytes(key: string, bytes: Uint8Array): pl.DataFrame {
  return key.endsWith(".arrow")
    ? pl.readIPC(Buffer.from(bytes))
    : pl.readParquet(Buffer.from(bytes));
}

Deno.test("examples/complete.ts in cloud mode on S3, Lambda and Spark Connect gives the rows local mode gives", async () => {
  const localCwd = await Deno.makeTempDir({ prefix: "glacier-complete-local-" });
  const local = await complete(["run"], localCwd);
  assert.equal(local.code, 0, local.err);
  const module = join(repo, "examples", "complete.ts");
  const connect = await sharedSparkConnect();
  await withS3Server(async (s3) => {
    await withLambdaStack({ module, s3 }, async (lambda) => {
      const cloudCwd = await Deno.makeTempDir({ prefix: "glacier-complete-cloud-" });
      const cloud = await complete(["run", "--mode", "cloud"], cloudCwd, {
        ...s3.env(),
        ...lambda.env(),
        ...connect.env(),
      });
      assert.equal(cloud.code, 0, `${cloud.out}\n${cloud.err}`);
      assert.match(cloud.err, /enrich_orders .*spark/);
      for (const [key, kind] of COMPLETE_OUTPUTS) {
        const expected = readBytes(
          key,
          await Deno.readFile(join(localCwd, ".glacier", "data", "glacier-demo", key)),
        );
        const actual = readBytes(key, await objectBytes(s3, "glacier-demo", key));
        assert.deepEqual(actual.schema, expected.schema, `${key}: schema`);
        if (kind === "ordered") {
          assert.deepEqual(actual.toRecords(), expected.toRecords(), `${key}: rows in order`);
        } else {
          assert.deepEqual(multiset(actual), multiset(expected), `${key}: rows`);
        }
      }
    });
  });
});

Deno.test("generate writes each spark task's EMR Serverless entry point, which runs its task on Spark", async () => {
  const venv = await testSparkVenv();
  const out = await Deno.makeTempDir({ prefix: "glacier-spark-tf-" });
  const s = shop(await Deno.makeTempDir(), new SparkConfig({ executors: 2, executorMemory: "2g" }));
  const report = await s.pipeline.run({ mode: "generate", outputDir: out });
  assert.ok(report.files.includes("artifacts/spark_join.py"), report.files.join(", "));
  assert.ok(report.files.includes("artifacts/spark_revenue.py"));
  assert.ok(
    report.warnings.every((w) => !/EMR Serverless/.test(w)),
    `no placeholder for a spark task: ${report.warnings.join("\n")}`,
  );
  const tf = JSON.parse(await Deno.readTextFile(join(out, "cdk.tf.json")));
  const objects = Object.values(tf.resource.aws_s3_object) as {
    key: string;
    source_hash: string;
  }[];
  const entry = await Deno.readFile(join(out, "artifacts", "spark_join.py"));
  const { createHash } = await import("node:crypto");
  assert.deepEqual(
    objects.find((o) => o.key === "artifacts/spark_join.py")?.source_hash,
    createHash("sha256").update(entry).digest("hex"),
  );
  // The entry point as the state machine starts it, on a Spark that reads S3 through the
  // runner's staging: it writes the target bucket's object itself.
  await withS3Server(async (server) => {
    await withEnv({ ...server.env(), ...NO_SPARK }, async () => {
      await s.orders.write(ordersFrame, { mode: "cloud" });
      await s.customers.write(customersFrame, { mode: "cloud" });
      const run = await new Deno.Command(venv.sparkSubmit, {
        args: [
          "--master",
          "local[2]",
          "--conf",
          "spark.driver.host=127.0.0.1",
          join(out, "artifacts", "spark_join.py"),
          "--pipeline",
          "spark_shop",
          "--task",
          "spark_join",
        ],
        env: { PYSPARK_PYTHON: venv.python },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stdout = new TextDecoder().decode(run.stdout).trim().split("\n").pop()!;
      assert.equal(run.code, 0, `${stdout}\n${new TextDecoder().decode(run.stderr).slice(-2000)}`);
      assert.equal(JSON.parse(stdout).rows, 6);
      assert.equal((await s.joined.read({ mode: "cloud" })).height, 6);
    });
  });
});
