import assert from "node:assert/strict";
import { Pipeline, pl, Provider, schema, t } from "../../mod.ts";
import type { Schema } from "../schema/schema.ts";
import type { Step } from "../core/lineage.ts";
import { columnLineage, type ColumnSource } from "./column_lineage.ts";

const provider = new Provider();
const local = provider.local();
const Orders = schema({
  order_id: t.int64,
  customer_id: t.int64,
  quantity: t.int64,
  price: t.float64,
  status: t.string,
});
const Customers = schema({ customer_id: t.int64, region: t.string, email: t.string });

/** The one step of `input -> task -> output`, for a single-source task body. */
function single(output: Schema, body: (df: pl.LazyDataFrame) => pl.LazyDataFrame): Step {
  const task = local.task({ name: "task", input: Orders, output }, body);
  const from = provider.bucket({ bucket: "shop", path: "orders.parquet", schema: Orders });
  const to = provider.bucket({ bucket: "shop", path: "out.parquet", schema: output });
  return from.transform(task).to(to).lineage[0];
}

const d = (input: string, column: string, subtype: ColumnSource["subtype"]): ColumnSource => ({
  input,
  column,
  type: "DIRECT",
  subtype,
});
const i = (input: string, column: string, subtype: ColumnSource["subtype"]): ColumnSource => ({
  input,
  column,
  type: "INDIRECT",
  subtype,
});

Deno.test("a projection is an identity, a rename keeps its source", () => {
  const lineage = columnLineage(
    single(
      schema({ id: t.int64, status: t.string }),
      (df) => df.select(pl.col("order_id").alias("id"), "status"),
    ),
  );
  assert.deepEqual(lineage.fields, {
    id: [d("input", "order_id", "IDENTITY")],
    status: [d("input", "status", "IDENTITY")],
  });
  assert.deepEqual(lineage.dataset, []);
  const renamed = columnLineage(
    single(
      schema({
        id: t.int64,
        customer_id: t.int64,
        quantity: t.int64,
        price: t.float64,
        s: t.string,
      }),
      (df) => df.rename({ order_id: "id", status: "s" }),
    ),
  );
  assert.deepEqual(renamed.fields.id, [d("input", "order_id", "IDENTITY")]);
  assert.deepEqual(renamed.fields.s, [d("input", "status", "IDENTITY")]);
});

Deno.test("arithmetic and casts transform every column they read", () => {
  const lineage = columnLineage(
    single(
      schema({ order_id: t.int64, amount: t.float64, units: t.float64 }),
      (df) =>
        df.select(
          "order_id",
          pl.col("quantity").mul(pl.col("price")).round(2).alias("amount"),
          pl.col("quantity").cast(pl.Float64).alias("units"),
        ),
    ),
  );
  assert.deepEqual(lineage.fields, {
    order_id: [d("input", "order_id", "IDENTITY")],
    amount: [d("input", "quantity", "TRANSFORMATION"), d("input", "price", "TRANSFORMATION")],
    units: [d("input", "quantity", "TRANSFORMATION")],
  });
});

Deno.test("withColumns keeps the input's columns and adds computed ones", () => {
  const lineage = columnLineage(
    single(
      schema({ order_id: t.int64, customer_id: t.int64, amount: t.float64 }),
      (df) =>
        df.withColumns(pl.col("quantity").mul(pl.col("price")).alias("amount"))
          .drop(["quantity", "price", "status"]),
    ),
  );
  assert.deepEqual(lineage.fields, {
    order_id: [d("input", "order_id", "IDENTITY")],
    customer_id: [d("input", "customer_id", "IDENTITY")],
    amount: [d("input", "quantity", "TRANSFORMATION"), d("input", "price", "TRANSFORMATION")],
  });
});

Deno.test("a filter and a sort decide the rows: indirect, for the whole output", () => {
  const lineage = columnLineage(
    single(
      schema({ order_id: t.int64 }),
      (df) =>
        df.filter(pl.col("status").eq(pl.lit("completed")).and(pl.col("quantity").gt(0)))
          .sort("price")
          .select("order_id"),
    ),
  );
  assert.deepEqual(lineage.fields, { order_id: [d("input", "order_id", "IDENTITY")] });
  assert.deepEqual(lineage.dataset, [
    i("input", "status", "FILTER"),
    i("input", "quantity", "FILTER"),
    i("input", "price", "SORT"),
  ]);
});

Deno.test("a group-by: keys are identities and group the rows, aggregates aggregate", () => {
  const lineage = columnLineage(
    single(
      schema({ customer_id: t.int64, status: t.string, orders: t.int64, spent: t.float64 }),
      (df) =>
        df.groupBy(["customer_id", "status"]).agg(
          pl.len().cast(pl.Int64).alias("orders"),
          pl.col("quantity").mul(pl.col("price")).sum().alias("spent"),
        ),
    ),
  );
  assert.deepEqual(lineage.fields, {
    customer_id: [d("input", "customer_id", "IDENTITY")],
    status: [d("input", "status", "IDENTITY")],
    orders: [],
    spent: [d("input", "quantity", "AGGREGATION"), d("input", "price", "AGGREGATION")],
  });
  assert.deepEqual(lineage.dataset, [
    i("input", "customer_id", "GROUP_BY"),
    i("input", "status", "GROUP_BY"),
  ]);
});

Deno.test("a join: each column from its side, the key from the left, both keys join", () => {
  const Joined = schema({
    order_id: t.int64,
    customer_id: t.int64,
    region: t.string,
    status: t.string,
  });
  const join = local.task(
    { name: "join", inputs: { orders: Orders, customers: Customers }, output: Joined },
    ({ orders, customers }) =>
      orders.join(customers, { on: "customer_id", how: "left" })
        .select("order_id", "customer_id", "region", "status"),
  );
  const [step] = new Pipeline({
    orders: provider.bucket({ bucket: "shop", path: "orders.parquet", schema: Orders }),
    customers: provider.bucket({ bucket: "shop", path: "customers.parquet", schema: Customers }),
  }).transform(join).to(provider.bucket({ bucket: "shop", path: "joined.parquet", schema: Joined }))
    .lineage;
  const lineage = columnLineage(step);
  assert.deepEqual(lineage.fields, {
    order_id: [d("orders", "order_id", "IDENTITY")],
    customer_id: [d("orders", "customer_id", "IDENTITY")],
    region: [d("customers", "region", "IDENTITY")],
    status: [d("orders", "status", "IDENTITY")],
  });
  assert.deepEqual(lineage.dataset, [
    i("orders", "customer_id", "JOIN"),
    i("customers", "customer_id", "JOIN"),
  ]);
});

Deno.test("a clashing right column carries the suffix and still comes from the right", () => {
  const Left = schema({ id: t.int64, x: t.float64 });
  const Both = schema({ id: t.int64, x: t.float64, x_right: t.float64 });
  const join = local.task(
    { name: "clash", inputs: { a: Left, b: Left }, output: Both },
    ({ a, b }) => a.join(b, { on: "id", suffix: "_right" }),
  );
  const [step] = new Pipeline({
    a: provider.bucket({ bucket: "lab", path: "a.parquet", schema: Left }),
    b: provider.bucket({ bucket: "lab", path: "b.parquet", schema: Left }),
  }).transform(join).to(provider.bucket({ bucket: "lab", path: "ab.parquet", schema: Both }))
    .lineage;
  assert.deepEqual(columnLineage(step).fields, {
    id: [d("a", "id", "IDENTITY")],
    x: [d("a", "x", "IDENTITY")],
    x_right: [d("b", "x", "IDENTITY")],
  });
});

Deno.test("a when's condition is conditional; a selector yields one column per match", () => {
  const lineage = columnLineage(
    single(
      schema({ big: t.int64, quantity: t.float64, price: t.float64 }),
      (df) =>
        df.select(
          pl.when(pl.col("price").gt(10)).then(pl.col("quantity")).otherwise(pl.lit(0))
            .alias("big"),
          pl.col(["quantity", "price"]).cast(pl.Float64),
        ),
    ),
  );
  assert.deepEqual(lineage.fields, {
    big: [i("input", "price", "CONDITIONAL"), d("input", "quantity", "TRANSFORMATION")],
    quantity: [d("input", "quantity", "TRANSFORMATION")],
    price: [d("input", "price", "TRANSFORMATION")],
  });
});

Deno.test("string functions polars keeps opaque still give lineage", () => {
  const lineage = columnLineage(
    single(
      schema({ status: t.string }),
      (df) => df.select(pl.col("status").str.toLowerCase()),
    ),
  );
  assert.deepEqual(lineage.fields, { status: [d("input", "status", "TRANSFORMATION")] });
});

Deno.test("lineage composes through several nodes of one plan", () => {
  const lineage = columnLineage(
    single(
      schema({ status: t.string, revenue: t.float64 }),
      (df) =>
        df.withColumns(pl.col("quantity").mul(pl.col("price")).alias("amount"))
          .groupBy("status").agg(pl.col("amount").sum().alias("revenue")),
    ),
  );
  assert.deepEqual(lineage.fields, {
    status: [d("input", "status", "IDENTITY")],
    revenue: [d("input", "quantity", "AGGREGATION"), d("input", "price", "AGGREGATION")],
  });
});
