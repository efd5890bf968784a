/**
 * Chains that must type-check: a step after a join, branches from one bucket, branches that meet
 * again in a join, a bucket with extra columns feeding a task, and a multi-source task whose
 * inputs come from chained buckets.
 *
 * @module
 */
import { type Bucket, Pipeline, pl, Provider, schema, t, type Transform } from "../../mod.ts";
import { assertType, type Extends, type IsExact } from "./_assert.ts";

const provider = new Provider();
const local = provider.local();
const spark = provider.spark();

const Orders = schema({ order_id: t.int64, customer_id: t.int64, amount: t.float64 });
const Customers = schema({ customer_id: t.int64, region: t.string, name: t.string });
const CustomerRegion = schema({ customer_id: t.int64, region: t.string });
const Joined = schema({
  order_id: t.int64,
  customer_id: t.int64,
  amount: t.float64,
  region: t.string,
});
const Revenue = schema({ region: t.string, revenue: t.float64 });
const Amounts = schema({ amount: t.float64 });
const Totals = schema({ customer_id: t.int64, total: t.float64 });
const Counts = schema({ customer_id: t.int64, orders: t.uint32 });
const Summary = schema({ customer_id: t.int64, total: t.float64, orders: t.uint32 });

const orders = provider.bucket({ bucket: "shop", path: "raw/orders.parquet", schema: Orders });
// `Customers` has a `name` column that no task reads: extra columns are allowed on inputs.
const customers = provider.bucket({ bucket: "shop", path: "raw/customers.csv", schema: Customers });
const joined = provider.bucket({ bucket: "shop", path: "stage/joined.parquet", schema: Joined });
const revenue = provider.bucket({ bucket: "shop", path: "out/revenue.parquet", schema: Revenue });
const totals = provider.bucket({ bucket: "shop", path: "stage/totals.arrow", schema: Totals });
const counts = provider.bucket({ bucket: "shop", path: "stage/counts.ndjson", schema: Counts });
const summary = provider.bucket({ bucket: "shop", path: "out/summary.jsonl", schema: Summary });
const amounts = provider.bucket({ bucket: "shop", path: "out/amounts.ipc", schema: Amounts });

const join = spark.task(
  {
    name: "join_orders_customers",
    inputs: { orders_df: Orders, customers_df: CustomerRegion },
    output: Joined,
  },
  ({ orders_df, customers_df }) => orders_df.join(customers_df, { on: "customer_id" }),
);
const byRegion = local.task(
  { name: "revenue_by_region", input: Joined, output: Revenue },
  (df) => df.groupBy("region").agg(pl.col("amount").sum().alias("revenue")),
);
// Reads one column of `Orders`, and later of `Joined`, which has it too.
const onlyAmounts = local.task(
  { name: "only_amounts", input: Amounts, output: Amounts },
  (df) => df.select("amount"),
);
const total = local.task(
  { name: "total_per_customer", input: Orders, output: Totals },
  (df) => df.groupBy("customer_id").agg(pl.col("amount").sum().alias("total")),
);
const count = local.task(
  { name: "count_per_customer", input: Orders, output: Counts },
  (df) => df.groupBy("customer_id").agg(pl.col("order_id").count().alias("orders")),
);
const combine = local.task(
  {
    name: "combine",
    description: "totals and counts side by side",
    inputs: { totals_df: Totals, counts_df: Counts },
    output: Summary,
  },
  ({ totals_df, counts_df }) => totals_df.join(counts_df, { on: "customer_id" }),
);

// Chaining after a join.
const enriched = new Pipeline({ orders_df: orders, customers_df: customers }).transform(join)
  .to(joined);
const report = enriched.transform(byRegion).to(revenue);
assertType<IsExact<typeof report, typeof revenue>>();

// A bucket with extra columns feeds a task that reads fewer.
const fromJoined = enriched.transform(onlyAmounts);
assertType<IsExact<typeof fromJoined, Transform<typeof Amounts, "only_amounts">>>();
const amountsOut = fromJoined.to(amounts);
assertType<IsExact<typeof amountsOut, typeof amounts>>();

// Branching: two tasks read one bucket; the branches meet again in a join.
const totalsOut = orders.transform(total).to(totals);
const countsOut = orders.transform(count).to(counts);
const summaryOut = new Pipeline({ totals_df: totalsOut, counts_df: countsOut }).transform(combine)
  .to(summary);
assertType<IsExact<typeof summaryOut, typeof summary>>();

// Pipeline inputs may be given in any order; the key set is what counts.
const reordered = new Pipeline({ counts_df: counts, totals_df: totals }).transform(combine);
assertType<IsExact<typeof reordered, Transform<typeof Summary, "combine">>>();

// The same task value can be applied to several buckets that fit.
const again = orders.transform(onlyAmounts);
assertType<IsExact<typeof again, Transform<typeof Amounts, "only_amounts">>>();

// Every stage is a `Bucket` and keeps its schema and location types.
assertType<Extends<typeof summaryOut, Bucket<typeof Summary, string>>>();
// ...and fits a plain `Bucket`, so pipelines can be collected and passed around.
assertType<Extends<typeof summaryOut, Bucket>>();
assertType<IsExact<typeof enriched.schema, typeof Joined>>();
assertType<IsExact<typeof summaryOut.location, "shop/out/summary.jsonl">>();
assertType<IsExact<ReturnType<typeof report.withName>, typeof revenue>>();

/** The pipelines, named; never called at type-check time. */
export function pipelines(): readonly Bucket[] {
  return [report.withName("revenue"), summaryOut.withName("summary", "per customer"), amountsOut];
}
