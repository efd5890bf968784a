import assert from "node:assert/strict";
import {
  AwsConfig,
  type Bucket,
  LambdaConfig,
  Pipeline,
  pl,
  Provider,
  schema,
  SparkConfig,
  t,
} from "../../mod.ts";
import { CostModel, MODEL_SETTINGS, parseMemoryGb } from "./cost_model.ts";
import { AWS_PRICES, type PriceTable } from "./prices.ts";
import type { MeasuredSize } from "./size_probe.ts";

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

/** The shop of DESIGN section 1 on all three resources: local, Lambda and Spark. */
function shop(options: { region?: string; lambda?: LambdaConfig; ordersHint?: number } = {}) {
  const provider = new Provider({
    config: new AwsConfig({ region: options.region ?? "us-east-1" }),
    localRoot: "/nonexistent/glacier-cost-model",
  });
  const lambda = provider.serverless({ config: options.lambda ?? new LambdaConfig() });
  const spark = provider.spark({ config: new SparkConfig({ executors: 2, executorMemory: "4g" }) });
  const local = provider.local();
  const orders = provider.bucket({
    bucket: "shop",
    path: "raw/orders.csv",
    schema: Orders,
    sizeHint: options.ordersHint,
  });
  const customers = provider.bucket({
    bucket: "shop",
    path: "raw/customers.csv",
    schema: Customers,
  });
  const cleaned = provider.bucket({ bucket: "shop", path: "clean/orders.parquet", schema: Orders });
  const joined = provider.bucket({ bucket: "shop", path: "stage/joined.parquet", schema: Joined });
  const revenue = provider.bucket({ bucket: "shop", path: "out/revenue.parquet", schema: Revenue });
  const clean = lambda.task(
    { name: "clean", input: Orders, output: Orders },
    (df) => df.filter(pl.col("amount").gt(0)),
  );
  const join = spark.task(
    { name: "join", inputs: { orders_df: Orders, customers_df: Customers }, output: Joined },
    ({ orders_df, customers_df }) => orders_df.join(customers_df, { on: "customer_id" }),
  );
  const byRegion = local.task(
    { name: "by_region", input: Joined, output: Revenue },
    (df) => df.groupBy("region").agg(pl.col("amount").sum().alias("revenue")),
  );
  const report: Bucket = new Pipeline({
    orders_df: orders.transform(clean).to(cleaned),
    customers_df: customers,
  }).transform(join).to(joined).transform(byRegion).to(revenue);
  return { graph: report.graph(), orders, cleaned };
}

function sized(entries: Record<string, number>): Map<string, MeasuredSize> {
  return new Map(
    Object.entries(entries).map((
      [location, bytes],
    ) => [location, { bytes, where: `/x/${location}` }]),
  );
}

Deno.test("the estimate names every task and its total is the tasks plus orchestration", () => {
  const analysis = new CostModel().estimate(shop().graph, new Map());
  const cost = analysis.estimatedCost();
  assert.deepEqual(Object.keys(cost.byTask), ["clean", "join", "by_region"]);
  assert.deepEqual(analysis.steps.map((s) => s.task), ["clean", "join", "by_region"]);
  assert.deepEqual(analysis.steps.map((s) => s.resource), ["lambda 1024 MB", "spark x2", "local"]);
  const tasks = Object.values(cost.byTask).reduce((a, b) => a + b, 0);
  assert.ok(Math.abs(cost.totalUsd - tasks - analysis.details.orchestrationUsd) < 1e-12);
  assert.equal(analysis.details.stateTransitions, 3 + 2, "three tasks, start and end");
  assert.ok(cost.totalUsd > 0);
  assert.ok(analysis.steps.every((s) => s.usd > 0 && s.seconds > 0));
});

Deno.test("the estimate grows with the input size", () => {
  const { graph } = shop();
  const model = new CostModel();
  const small = model.estimate(graph, sized({ "shop/raw/orders.csv": 10_000_000 }));
  const large = model.estimate(graph, sized({ "shop/raw/orders.csv": 2_000_000_000 }));
  assert.ok(large.estimatedCost().totalUsd > small.estimatedCost().totalUsd);
  assert.ok(large.steps[0].usd > small.steps[0].usd, "the Lambda task pays for longer");
  assert.ok(large.steps[1].inputRows > small.steps[1].inputRows, "rows are carried downstream");
  assert.ok(large.steps[2].seconds > small.steps[2].seconds);
});

Deno.test("real sizes win over sizeHint, sizeHint over the stated default", () => {
  const hinted = shop({ ordersHint: 5 * GB });
  const model = new CostModel();
  const fromHint = model.estimate(hinted.graph, new Map());
  assert.equal(fromHint.steps[0].inputBytes, 5 * GB);
  assert.ok(
    fromHint.estimatedCost().assumptions.includes(
      "input 'shop/raw/orders.csv': no data found, 5 GiB from its sizeHint",
    ),
  );
  const real = model.estimate(hinted.graph, sized({ "shop/raw/orders.csv": 1234 }));
  assert.equal(real.steps[0].inputBytes, 1234);
  assert.ok(
    real.estimatedCost().assumptions.some((a) =>
      a.startsWith("input 'shop/raw/orders.csv': 1.2 KiB measured at /x/shop/raw/orders.csv")
    ),
  );
  const none = model.estimate(shop().graph, new Map());
  assert.equal(none.steps[0].inputBytes, 100 * 1024 * 1024);
  assert.ok(
    none.estimatedCost().assumptions.some((a) =>
      a.includes("'shop/raw/customers.csv': no data and no sizeHint, assumed 100 MiB")
    ),
  );
});

Deno.test("an output's real size from a previous run wins over the row model", () => {
  const { graph } = shop();
  const analysis = new CostModel().estimate(graph, sized({ "shop/clean/orders.parquet": 777 }));
  assert.equal(analysis.steps[0].outputBytes, 777);
  assert.equal(analysis.steps[1].inputBytes, 777 + 100 * 1024 * 1024, "and feeds the next step");
  const cost = analysis.estimatedCost();
  assert.ok(cost.assumptions.some((a) => a.includes("(a previous run's output)")));
  assert.ok(
    cost.assumptions.includes("task 'join': joins keep the rows of their left input 'orders_df'"),
  );
  assert.ok(cost.assumptions.some((a) => a.startsWith("task 'by_region': an aggregation keeps")));
  assert.ok(!cost.assumptions.some((a) => a.startsWith("task 'clean':")));
});

Deno.test("EMR Serverless bills each worker for at least a minute; local tasks pay no compute", () => {
  const free = { usd: 0, per: 1, unit: "", source: "", confirmed: true };
  const prices: PriceTable = {
    ...AWS_PRICES,
    s3Standard: { writeRequests: free, readRequests: free, storageGbMonth: free },
  };
  const settings = { ...MODEL_SETTINGS, startupSeconds: { local: 0, serverless: 0, spark: 0 } };
  const analysis = new CostModel({ prices, settings }).estimate(
    shop().graph,
    sized({ "shop/raw/orders.csv": 1000, "shop/raw/customers.csv": 1000 }),
  );
  const emr = AWS_PRICES.emrServerless;
  const minute = 3 * (60 / 3600) * (emr.vcpuHour.usd + 4 * emr.memoryGbHour.usd);
  assert.ok(analysis.steps[1].seconds < 1, "the job itself is short");
  assert.ok(Math.abs(analysis.steps[1].usd - minute) < 1e-12, `${analysis.steps[1].usd}`);
  assert.equal(analysis.steps[2].usd, 0);
});

Deno.test("a serverless task too big for Lambda is told to use provider.spark", () => {
  const { graph } = shop();
  const analysis = new CostModel().estimate(graph, sized({ "shop/raw/orders.csv": 50 * GB }));
  const [memory, time] = analysis.warnings;
  assert.match(
    memory,
    /^task 'clean' needs about [\d,]+ MB of memory for its 50 GiB of input, more than Lambda's 10,240 MB maximum; declare it on provider\.spark\(\.\.\.\)/,
  );
  assert.match(
    time,
    /^task 'clean' is estimated to run .*longer than Lambda's 15-minute limit; declare it on provider\.spark/,
  );
});

Deno.test("a serverless task that fits Lambda but not its settings is told what to raise", () => {
  const { graph } = shop({ lambda: new LambdaConfig({ memoryMb: 512, timeoutSeconds: 3 }) });
  const analysis = new CostModel().estimate(graph, sized({ "shop/raw/orders.csv": 400_000_000 }));
  assert.equal(analysis.warnings.length, 2, analysis.warnings.join("\n"));
  assert.match(
    analysis.warnings[0],
    /raise memoryMb to at least \d+ \(Lambda allows up to 10240\) or declare it on provider\.spark/,
  );
  assert.match(
    analysis.warnings[1],
    /longer than its LambdaConfig timeoutSeconds of 3; raise timeoutSeconds to at least \d+/,
  );
  const small = new CostModel().estimate(graph, sized({ "shop/raw/orders.csv": 1000 }));
  assert.deepEqual(small.warnings, []);
});

Deno.test("a provider outside the price table's region is warned about", () => {
  const analysis = new CostModel().estimate(shop({ region: "eu-west-1" }).graph, new Map());
  assert.ok(
    analysis.warnings.some((w) =>
      w.startsWith("the prices are AWS's for us-east-1, but the provider's region is 'eu-west-1'")
    ),
  );
});

Deno.test("Spark memory settings are read as Spark reads them", () => {
  assert.equal(parseMemoryGb("4g"), 4);
  assert.equal(parseMemoryGb("512m"), 0.5);
  assert.equal(parseMemoryGb("2048"), 2);
  assert.equal(parseMemoryGb("1t"), 1024);
  assert.throws(
    () => parseMemoryGb("lots"),
    /executorMemory 'lots' is not Spark's memory notation/,
  );
});
