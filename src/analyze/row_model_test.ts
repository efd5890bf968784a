import assert from "node:assert/strict";
import { Pipeline, pl, Provider, schema, t } from "../../mod.ts";
import type { Step } from "../core/lineage.ts";
import { estimateOutputRows } from "./row_model.ts";

const provider = new Provider({ localRoot: "/nonexistent/glacier-row-model" });
const local = provider.local();
const Orders = schema({ order_id: t.int64, customer_id: t.int64, amount: t.float64 });
const Customers = schema({ customer_id: t.int64, region: t.string });
const Joined = schema({
  order_id: t.int64,
  customer_id: t.int64,
  amount: t.float64,
  region: t.string,
});
const Revenue = schema({ region: t.string, revenue: t.float64 });
const orders = provider.bucket({ bucket: "rows", path: "orders.parquet", schema: Orders });
const more = provider.bucket({ bucket: "rows", path: "more.parquet", schema: Orders });
const customers = provider.bucket({ bucket: "rows", path: "customers.parquet", schema: Customers });

function only(bucket: { graph(): { steps: readonly Step[] } }): Step {
  const steps = bucket.graph().steps;
  return steps[steps.length - 1];
}

Deno.test("a join keeps the rows of its left input, whatever order the inputs are declared in", () => {
  const join = local.task(
    { name: "join", inputs: { customers_df: Customers, orders_df: Orders }, output: Joined },
    ({ customers_df, orders_df }) => orders_df.join(customers_df, { on: "customer_id" }),
  );
  const out = provider.bucket({ bucket: "rows", path: "joined.parquet", schema: Joined });
  const step = only(
    new Pipeline({ customers_df: customers, orders_df: orders }).transform(join).to(out),
  );
  const estimate = estimateOutputRows(step, { customers_df: 10, orders_df: 1000 });
  assert.equal(estimate.rows, 1000);
  assert.match(estimate.rule, /joins keep the rows of their left input 'orders_df'/);
});

Deno.test("an aggregation keeps a small share of rows, and at least one", () => {
  const agg = local.task(
    { name: "by_region", input: Joined, output: Revenue },
    (df) => df.groupBy("region").agg(pl.col("amount").sum().alias("revenue")),
  );
  const joined = provider.bucket({ bucket: "rows", path: "j.parquet", schema: Joined });
  const out = provider.bucket({ bucket: "rows", path: "revenue.csv", schema: Revenue });
  const step = only(joined.transform(agg).to(out));
  assert.equal(estimateOutputRows(step, { input: 1_000_000 }).rows, 10_000);
  assert.equal(estimateOutputRows(step, { input: 5 }).rows, 1);
  assert.match(estimateOutputRows(step, { input: 5 }).rule, /an aggregation keeps 1% of rows/);
});

Deno.test("a filter halves the rows, a slice caps them, a plain projection keeps them", () => {
  const out = provider.bucket({ bucket: "rows", path: "o.parquet", schema: Orders });
  const filter = local.task(
    { name: "big", input: Orders, output: Orders },
    (df) => df.filter(pl.col("amount").gt(10)),
  );
  assert.equal(
    estimateOutputRows(only(orders.transform(filter).to(out)), { input: 800 }).rows,
    400,
  );
  const head = local.task({ name: "head", input: Orders, output: Orders }, (df) => df.head(25));
  assert.equal(estimateOutputRows(only(orders.transform(head).to(out)), { input: 800 }).rows, 25);
  const same = local.task(
    { name: "double", input: Orders, output: Orders },
    (df) => df.withColumns(pl.col("amount").mul(2)),
  );
  const kept = estimateOutputRows(only(orders.transform(same).to(out)), { input: 800 });
  assert.deepEqual(kept, { rows: 800, rule: "it keeps every row it reads" });
});

Deno.test("a concatenation keeps the rows of every input, even two with the same columns", () => {
  const union = local.task(
    { name: "union", inputs: { a: Orders, b: Orders }, output: Orders },
    ({ a, b }) => pl.concat([a, b]),
  );
  const out = provider.bucket({ bucket: "rows", path: "all.parquet", schema: Orders });
  const step = only(new Pipeline({ a: orders, b: more }).transform(union).to(out));
  const estimate = estimateOutputRows(step, { a: 300, b: 200 });
  assert.equal(estimate.rows, 500);
  assert.match(estimate.rule, /a concatenation keeps the rows of inputs 'a', 'b'/);
});

Deno.test("a task that cannot be planned without data keeps its first input's rows, and says why", () => {
  const broken = local.task({ name: "broken", input: Orders, output: Orders }, () => {
    throw new Error("needs a lookup table");
  });
  const out = provider.bucket({ bucket: "rows", path: "b.parquet", schema: Orders });
  const estimate = estimateOutputRows(only(orders.transform(broken).to(out)), { input: 70 });
  assert.equal(estimate.rows, 70);
  assert.match(
    estimate.rule,
    /could not be built without data \(task 'broken' threw: needs a lookup table\)/,
  );
});

Deno.test("a select of aggregates only yields one row; mixed with a column it keeps them all", () => {
  const Total = schema({ total: t.float64, n: t.uint32 });
  const out = provider.bucket({ bucket: "rows", path: "total.parquet", schema: Total });
  const total = local.task(
    { name: "total", input: Orders, output: Total },
    (df) => df.select(pl.col("amount").sum().alias("total"), pl.len().alias("n")),
  );
  const one = estimateOutputRows(only(orders.transform(total).to(out)), { input: 5000 });
  assert.deepEqual(one, { rows: 1, rule: "a select of aggregates only yields one row" });

  const Share = schema({ order_id: t.int64, share: t.float64 });
  const shares = provider.bucket({ bucket: "rows", path: "share.parquet", schema: Share });
  const share = local.task(
    { name: "share", input: Orders, output: Share },
    (df) =>
      df.select(pl.col("order_id"), pl.col("amount").div(pl.col("amount").sum()).alias("share")),
  );
  assert.equal(
    estimateOutputRows(only(orders.transform(share).to(shares)), { input: 5000 }).rows,
    5000,
  );
});

Deno.test("inputs with many columns are still told apart when polars shortens their column list", () => {
  const Wide = schema({
    order_id: t.int64,
    customer_id: t.int64,
    a: t.int64,
    b: t.int64,
    c: t.int64,
  });
  const WideJoined = schema({
    order_id: t.int64,
    customer_id: t.int64,
    a: t.int64,
    b: t.int64,
    c: t.int64,
    region: t.string,
  });
  const wide = provider.bucket({ bucket: "rows", path: "wide.parquet", schema: Wide });
  const out = provider.bucket({ bucket: "rows", path: "wide_joined.parquet", schema: WideJoined });
  const join = local.task(
    { name: "wide_join", inputs: { c_df: Customers, w_df: Wide }, output: WideJoined },
    ({ c_df, w_df }) => w_df.join(c_df, { on: "customer_id" }),
  );
  const step = only(new Pipeline({ c_df: customers, w_df: wide }).transform(join).to(out));
  const estimate = estimateOutputRows(step, { c_df: 10, w_df: 900 });
  assert.equal(estimate.rows, 900);
  assert.match(estimate.rule, /left input 'w_df'/);
});
