/**
 * The example of DESIGN section 1, written out in full: it must type-check.
 *
 * @module
 */
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
import { assertType, type IsExact } from "./_assert.ts";

const provider = new Provider({ config: new AwsConfig({ region: "us-east-1" }) });
const local = provider.local();
const lambda = provider.serverless({
  config: new LambdaConfig({ memoryMb: 1024, timeoutSeconds: 300 }),
});
const spark = provider.spark({ config: new SparkConfig({ executors: 2 }) });

const Orders = schema({ order_id: t.int64, customer_id: t.int64, amount: t.float64 });
const Customers = schema({ customer_id: t.int64, region: t.string });
const Joined = schema({
  order_id: t.int64,
  customer_id: t.int64,
  amount: t.float64,
  region: t.string,
});
const Revenue = schema({ region: t.string, revenue: t.float64 });
const BigOrders = schema({ order_id: t.int64, amount: t.float64 });

const orders = provider.bucket({ bucket: "shop", path: "raw/orders.parquet", schema: Orders });
const customers = provider.bucket({
  bucket: "shop",
  path: "raw/customers.parquet",
  schema: Customers,
});
const joined = provider.bucket({ bucket: "shop", path: "stage/joined.parquet", schema: Joined });
const revenue = provider.bucket({ bucket: "shop", path: "out/revenue.parquet", schema: Revenue });
const bigOrders = provider.bucket({
  bucket: "shop",
  path: "out/big_orders.csv",
  schema: BigOrders,
});

const join = spark.task(
  {
    name: "join_orders_customers",
    inputs: { orders_df: Orders, customers_df: Customers },
    output: Joined,
  },
  ({ orders_df, customers_df }) => {
    assertType<IsExact<typeof orders_df, pl.LazyDataFrame<typeof Orders>>>();
    assertType<IsExact<typeof customers_df, pl.LazyDataFrame<typeof Customers>>>();
    return orders_df.join(customers_df, { on: "customer_id" });
  },
);
const byRegion = local.task(
  { name: "revenue_by_region", input: Joined, output: Revenue },
  (df) => df.groupBy("region").agg(pl.col("amount").sum().alias("revenue")),
);
const big = lambda.task(
  { name: "big_orders", input: Orders, output: BigOrders },
  (df) => df.filter(pl.col("amount").gt(100)).select("order_id", "amount"),
);

const enriched = new Pipeline({ orders_df: orders, customers_df: customers })
  .transform(join)
  .to(joined);
const report = enriched.transform(byRegion).to(revenue).withName("revenue", "Revenue by region");
const bigReport = orders.transform(big).to(bigOrders);

assertType<IsExact<typeof enriched, typeof joined>>();
assertType<IsExact<typeof report, Bucket<typeof Revenue, "shop/out/revenue.parquet">>>();
assertType<IsExact<typeof bigReport, typeof bigOrders>>();
assertType<IsExact<typeof joined.location, "shop/stage/joined.parquet">>();

/** Every run mode of section 1, typed; never called, since these files are only type-checked. */
export async function runAll(): Promise<number> {
  const ran = await report.run({ mode: "local" });
  assertType<IsExact<typeof ran.steps[number]["task"], string>>();
  await report.run({ mode: "cloud" });
  const generated = await report.run({ mode: "generate", outputDir: "./terraform" });
  assertType<IsExact<typeof generated.files, readonly string[]>>();
  const checked = await report.run({ mode: "check" });
  assertType<IsExact<typeof checked.ok, boolean>>();
  const analysis = await report.run({ mode: "analyze" });
  const text: string = report.visualize() + report.visualize({ format: "dot" });
  const frame = await revenue.read();
  assertType<IsExact<typeof frame, pl.DataFrame<typeof Revenue>>>();
  await orders.write(pl.DataFrame({ order_id: [1], customer_id: [2], amount: [3.5] }));
  return analysis.estimatedCost().totalUsd + text.length + (await bigReport.run({
    mode: "local",
  })).seconds;
}
