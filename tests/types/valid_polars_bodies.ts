/**
 * Task bodies get typed polars frames: polars' own `join({ on })` and `select(...)` types flow
 * through them.
 *
 * @module
 */
import { Pipeline, pl, Provider, schema, t } from "../../mod.ts";
import { assertType, type IsExact } from "./_assert.ts";

const provider = new Provider();
const local = provider.local();
const lambda = provider.serverless();

const Orders = schema({ order_id: t.int64, customer_id: t.int64, amount: t.float64 });
const Customers = schema({ customer_id: t.int64, region: t.string });
const Joined = schema({
  order_id: t.int64,
  customer_id: t.int64,
  amount: t.float64,
  region: t.string,
});
const Slim = schema({ order_id: t.int64, amount: t.float64 });

const join = local.task(
  { name: "typed_join", inputs: { left: Orders, right: Customers }, output: Joined },
  ({ left, right }) => {
    const out = left.join(right, { on: "customer_id" });
    assertType<
      IsExact<
        typeof out,
        pl.LazyDataFrame<{
          readonly order_id: pl.Int64;
          readonly customer_id: pl.Int64;
          readonly amount: pl.Float64;
          region: pl.String;
        }>
      >
    >();
    const keyed = left.join(right, { leftOn: "customer_id", rightOn: "customer_id", how: "left" });
    return keyed.select("order_id", "customer_id", "amount", "region");
  },
);
const slim = lambda.task(
  { name: "typed_select", input: Orders, output: Slim },
  (df) => {
    assertType<IsExact<typeof df, pl.LazyDataFrame<typeof Orders>>>();
    const out = df.select("order_id", "amount");
    assertType<
      IsExact<
        typeof out,
        pl.LazyDataFrame<{ readonly order_id: pl.Int64; readonly amount: pl.Float64 }>
      >
    >();
    return out;
  },
);
// A body may return any LazyDataFrame: polars loses column types through agg and withColumns.
const widened = local.task(
  { name: "widened", input: Slim, output: Slim },
  (df) => df.withColumns(pl.col("amount").mul(2)),
);

// The task values keep their input and output schemas and their names.
assertType<
  IsExact<typeof join.inputs, { readonly left: typeof Orders; readonly right: typeof Customers }>
>();
assertType<IsExact<typeof join.kind, "multi">>();
assertType<IsExact<typeof slim.input, typeof Orders>>();
assertType<IsExact<typeof slim.output, typeof Slim>>();
assertType<IsExact<typeof slim.name, "typed_select">>();
assertType<IsExact<typeof slim.kind, "single">>();
assertType<IsExact<Parameters<typeof slim.apply>[0], pl.LazyDataFrame<typeof Orders>>>();

const orders = provider.bucket({ bucket: "shop", path: "raw/orders.parquet", schema: Orders });
const customers = provider.bucket({
  bucket: "shop",
  path: "raw/customers.parquet",
  schema: Customers,
});
const joined = provider.bucket({ bucket: "shop", path: "stage/joined.parquet", schema: Joined });
const slimmed = provider.bucket({ bucket: "shop", path: "out/slim.parquet", schema: Slim });
const doubled = provider.bucket({ bucket: "shop", path: "out/doubled.parquet", schema: Slim });

const out = new Pipeline({ left: orders, right: customers }).transform(join).to(joined)
  .transform(slim).to(slimmed)
  .transform(widened).to(doubled);
assertType<IsExact<typeof out, typeof doubled>>();
