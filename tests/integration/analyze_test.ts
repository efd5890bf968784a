/**
 * Cost analysis end to end: `run({ mode: "analyze" })` and `glacier MODULE analyze` over real
 * local files, declared size hints, and objects on a real S3 server (versitygw on loopback).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { HeadObjectCommand } from "../../src/io/s3/_sdk.ts";
import { daily, LambdaConfig, Pipeline, pl, Provider, schema, SparkConfig, t } from "../../mod.ts";
import { main } from "../../cli.ts";
import { s3Client, withS3Server } from "./_s3_server.ts";
import { withAwsEnv } from "../_env.ts";

const modUrl = new URL("../../mod.ts", import.meta.url).href;
const GB = 1024 ** 3;

const Orders = schema({ order_id: t.int64, customer_id: t.int64, amount: t.float64 });
const Customers = schema({ customer_id: t.int64, region: t.string });
const Joined = schema({
  order_id: t.int64,
  customer_id: t.int64,
  amount: t.float64,
  region: t.string,
});
const Revenue = schema({ region: t.string, revenue: t.float64 });

/** The shop on all three resources, each bucket optionally with a size hint. */
function shop(localRoot: string, hints: { orders?: number; customers?: number } = {}) {
  const provider = new Provider({ localRoot });
  const lambda = provider.serverless({ config: new LambdaConfig({ memoryMb: 1024 }) });
  const spark = provider.spark({ config: new SparkConfig({ executors: 2 }) });
  const local = provider.local();
  const orders = provider.bucket({
    bucket: "analyze-shop",
    path: "raw/orders.parquet",
    schema: Orders,
    sizeHint: hints.orders,
  });
  const customers = provider.bucket({
    bucket: "analyze-shop",
    path: "raw/customers.csv",
    schema: Customers,
    sizeHint: hints.customers,
  });
  const cleaned = provider.bucket({
    bucket: "analyze-shop",
    path: "clean/orders.parquet",
    schema: Orders,
  });
  const joined = provider.bucket({
    bucket: "analyze-shop",
    path: "stage/joined.arrow",
    schema: Joined,
  });
  const revenue = provider.bucket({
    bucket: "analyze-shop",
    path: "out/revenue.csv",
    schema: Revenue,
  });
  const clean = lambda.task(
    { name: "clean_orders", input: Orders, output: Orders },
    (df) => df.filter(pl.col("amount").gt(0)),
  );
  const join = spark.task(
    {
      name: "join_customers",
      inputs: { orders_df: Orders, customers_df: Customers },
      output: Joined,
    },
    ({ orders_df, customers_df }) => orders_df.join(customers_df, { on: "customer_id" }),
  );
  const byRegion = local.task(
    { name: "revenue_by_region", input: Joined, output: Revenue },
    (df) => df.groupBy("region").agg(pl.col("amount").sum().alias("revenue")),
  );
  const report = new Pipeline({
    orders_df: orders.transform(clean).to(cleaned),
    customers_df: customers,
  }).transform(join).to(joined).transform(byRegion).to(revenue).withName("revenue");
  return { provider, orders, customers, report };
}

function ordersFrame(n: number): pl.DataFrame {
  const ids = Array.from({ length: n }, (_, i) => i + 1);
  return pl.DataFrame({
    order_id: pl.Series("order_id", ids, pl.Int64),
    customer_id: pl.Series("customer_id", ids.map((i) => (i * 7919) % 5000), pl.Int64),
    amount: ids.map((i) => ((i * 48271) % 100_000) / 100 - 20),
  });
}

function customersFrame(n: number): pl.DataFrame {
  const ids = Array.from({ length: n }, (_, i) => i);
  return pl.DataFrame({
    customer_id: pl.Series("customer_id", ids, pl.Int64),
    region: ids.map((i) => ["emea", "americas", "apac"][i % 3]),
  });
}

Deno.test("the estimate names every task, uses the real size of existing data and grows with it", async () => {
  const root = await Deno.makeTempDir({ prefix: "glacier-analyze-" });
  const { orders, customers, report } = shop(root);
  await customers.write(customersFrame(5000));

  const small = await orders.write(ordersFrame(2_000));
  const before = await report.run({ mode: "analyze" });
  const large = await orders.write(ordersFrame(400_000));
  const after = await report.run({ mode: "analyze" });

  for (const analysis of [before, after]) {
    assert.deepEqual(Object.keys(analysis.estimatedCost().byTask), [
      "clean_orders",
      "join_customers",
      "revenue_by_region",
    ]);
    assert.equal(analysis.pipeline, "revenue");
  }
  assert.equal(before.steps[0].inputBytes, small.bytes, "the size of the file on disk");
  assert.equal(after.steps[0].inputBytes, large.bytes);
  assert.equal(large.bytes, (await Deno.stat(large.uri)).size);
  assert.ok(
    after.estimatedCost().assumptions.some((a) =>
      a.startsWith("input 'analyze-shop/raw/orders.parquet': ") &&
      a.endsWith(`measured at ${large.uri}`)
    ),
  );
  assert.ok(after.estimatedCost().totalUsd > before.estimatedCost().totalUsd);
  assert.ok(after.steps[0].usd > before.steps[0].usd, "the Lambda task runs longer");
  assert.ok(after.steps[1].inputRows > before.steps[1].inputRows, "rows flow down the DAG");
});

Deno.test("declared sizeHints stand in before any data exists, and a larger hint costs more", async () => {
  const root = await Deno.makeTempDir({ prefix: "glacier-analyze-" });
  const small = await shop(root, { orders: 50_000_000, customers: 1_000_000 }).report.run({
    mode: "analyze",
  });
  const large = await shop(root, { orders: 5 * GB, customers: 1_000_000 }).report.run({
    mode: "analyze",
  });
  assert.equal(small.steps[0].inputBytes, 50_000_000);
  assert.equal(large.steps[0].inputBytes, 5 * GB);
  assert.ok(large.estimatedCost().totalUsd > small.estimatedCost().totalUsd);
  assert.ok(
    large.estimatedCost().assumptions.includes(
      "input 'analyze-shop/raw/orders.parquet': no data found, 5 GiB from its sizeHint",
    ),
  );
});

Deno.test("a serverless task with a large input is told it will not fit Lambda and to use spark", async () => {
  const root = await Deno.makeTempDir({ prefix: "glacier-analyze-" });
  const analysis = await shop(root, { orders: 40 * GB }).report.run({ mode: "analyze" });
  const memory = analysis.warnings.find((w) => w.includes("Lambda's 10,240 MB maximum"));
  assert.ok(memory, analysis.warnings.join("\n"));
  assert.match(
    memory,
    /^task 'clean_orders' needs about [\d,]+ MB of memory for its 40 GiB of input/,
  );
  assert.match(memory, /declare it on provider\.spark\(\.\.\.\) instead of provider\.serverless/);
  assert.ok(analysis.warnings.some((w) => w.includes("longer than Lambda's 15-minute limit")));
});

Deno.test("glacier analyze prints a table per pipeline; --max-usd exits 1 above the estimate, 0 below", async () => {
  const root = await Deno.makeTempDir({ prefix: "glacier-analyze-cli-" });
  const module = join(root, "pipelines.ts");
  await Deno.writeTextFile(
    module,
    `
import { LambdaConfig, pl, Provider, schema, t } from "${modUrl}";
const provider = new Provider({ localRoot: ${JSON.stringify(join(root, "data"))} });
const lambda = provider.serverless({ config: new LambdaConfig({ memoryMb: 2048 }) });
const Raw = schema({ id: t.int64, v: t.float64 });
const Sum = schema({ total: t.float64 });
const raw = provider.bucket({ bucket: "cli-analyze", path: "raw.csv", schema: Raw, sizeHint: 2_000_000_000 });
const total = provider.bucket({ bucket: "cli-analyze", path: "total.parquet", schema: Sum });
const sum = lambda.task({ name: "sum_values", input: Raw, output: Sum }, (df) => df.select(pl.col("v").sum().alias("total")));
export const totals = raw.transform(sum).to(total).withName("totals");
`,
  );
  const glacier = async (...args: string[]) => {
    let out = "";
    let err = "";
    const status = await main(args, {
      out: (s) => (out += s + "\n"),
      err: (s) => (err += s + "\n"),
    });
    return { status, out, err };
  };
  const plain = await glacier(module, "analyze");
  assert.equal(plain.status, 0, plain.err);
  assert.match(plain.out, /^pipeline 'totals': \$(0\.\d+) per run/);
  assert.match(
    plain.out,
    /\n {2}task +resource +rows in +rows out +bytes in +bytes out +time +cost\n/,
  );
  assert.match(plain.out, /\n {2}sum_values +lambda 2048 MB +[\d,]+ +[\d,]+ +1\.9 GiB /);
  assert.match(plain.out, /\n {2}total per run +\$0\.\d{6}\n/);
  assert.match(
    plain.out,
    /\nassumptions:\n {2}- input 'cli-analyze\/raw\.csv': no data found, 1\.9 GiB from its sizeHint/,
  );
  const total = Number(/^pipeline 'totals': \$(\S+) per run/.exec(plain.out)![1]);
  assert.ok(total > 0);

  const above = await glacier(module, "analyze", "--max-usd", String(total / 2));
  assert.equal(above.status, 1);
  assert.match(above.err, /pipeline 'totals' is estimated at \$0\.\d{6} per run, above --max-usd /);
  const below = await glacier(module, "analyze", "--max-usd", String(total * 2));
  assert.equal(below.status, 0, below.err);
  assert.equal(below.err, "");
});

Deno.test("with storage 'cloud' the sizes come from S3 objects (HeadObject on a real S3 server)", () =>
  withS3Server((server) =>
    withAwsEnv(server.env(), async () => {
      const root = await Deno.makeTempDir({ prefix: "glacier-analyze-s3-" });
      const { orders, customers, report } = shop(root);
      await orders.write(ordersFrame(30_000), { mode: "cloud" });
      await customers.write(customersFrame(3_000), { mode: "cloud" });
      const head = await s3Client(server).send(
        new HeadObjectCommand({ Bucket: "analyze-shop", Key: "raw/orders.parquet" }),
      );

      const cloud = await report.run({ mode: "analyze", storage: "cloud" });
      assert.equal(cloud.steps[0].inputBytes, head.ContentLength);
      assert.ok(
        cloud.estimatedCost().assumptions.some((a) =>
          a.endsWith("measured at s3://analyze-shop/raw/orders.parquet")
        ),
      );
      const local = await report.run({ mode: "analyze" });
      assert.equal(local.steps[0].inputBytes, 100 * 1024 * 1024, "no local data: the default");

      let out = "";
      const status = await main(await cliModule(root), {
        out: (s) => (out += s + "\n"),
        err: () => {},
      });
      assert.equal(status, 0);
      assert.match(
        out,
        /input 'analyze-shop\/raw\/orders\.parquet': [\d.]+ KiB measured at s3:\/\//,
      );
    })
  ));

Deno.test("with storage 'cloud' a partitioned input is sized per partition from its S3 listing", () =>
  withS3Server((server) =>
    withAwsEnv(server.env(), async () => {
      const provider = new Provider({
        localRoot: await Deno.makeTempDir({ prefix: "glacier-analyze-s3-" }),
      });
      const S = schema({ v: t.float64 });
      const keys = { date: daily({ start: "2026-01-01", end: "2026-01-03" }) };
      const raw = provider.bucket({
        bucket: "analyze-shop",
        path: "days/{date}.parquet",
        schema: S,
        partitions: keys,
      });
      const copied = provider.bucket({
        bucket: "analyze-shop",
        path: "copied/{date}.parquet",
        schema: S,
        partitions: keys,
      });
      const copy = provider.local().task({ name: "copy", input: S, output: S }, (df) => df);
      const days = raw.transform(copy).to(copied);
      const sizes: number[] = [];
      for (const [i, date] of ["2026-01-01", "2026-01-02"].entries()) {
        const v = Array.from({ length: 1000 * (i + 1) }, (_, k) => k * 1.5);
        await raw.write(pl.DataFrame({ v: pl.Series("v", v, pl.Float64) }), {
          mode: "cloud",
          partition: { date },
        });
        const head = await s3Client(server).send(
          new HeadObjectCommand({ Bucket: "analyze-shop", Key: `days/${date}.parquet` }),
        );
        sizes.push(head.ContentLength!);
      }
      const analysis = await days.run({ mode: "analyze", storage: "cloud" });
      assert.equal(analysis.partitions, 3);
      // Two days measured on S3; the third, without data yet, at their median.
      assert.deepEqual(
        analysis.steps[0].perPartition!.map((p) => p.inputBytes),
        [sizes[0], sizes[1], Math.round((sizes[0] + sizes[1]) / 2)],
      );
      assert.ok(
        analysis.estimatedCost().assumptions.some((a) =>
          a.startsWith("input 'analyze-shop/days/{date}.parquet': 1 partition read without data")
        ),
      );
    })
  ));

/** A module with the shop's first step, for `glacier MODULE analyze --mode cloud`. */
async function cliModule(root: string): Promise<string[]> {
  const module = join(root, "cloud_module.ts");
  await Deno.writeTextFile(
    module,
    `
import { LambdaConfig, pl, Provider, schema, t } from "${modUrl}";
const provider = new Provider({ localRoot: ${JSON.stringify(join(root, "cli-data"))} });
const lambda = provider.serverless({ config: new LambdaConfig() });
const Orders = schema({ order_id: t.int64, customer_id: t.int64, amount: t.float64 });
const orders = provider.bucket({ bucket: "analyze-shop", path: "raw/orders.parquet", schema: Orders });
const cleaned = provider.bucket({ bucket: "analyze-shop", path: "clean/orders.parquet", schema: Orders });
const clean = lambda.task({ name: "clean_orders", input: Orders, output: Orders }, (df) => df.filter(pl.col("amount").gt(0)));
export const cleaning = orders.transform(clean).to(cleaned);
`,
  );
  return [module, "analyze", "--mode", "cloud"];
}
