/**
 * Every wiring mistake of DESIGN section 2, several ways each. Each wrong line carries
 * `// @ts-expect-error`, so `deno check` of this file passes only while every one of them is
 * still a type error. The message text of each mistake is checked by `messages_test.ts`.
 *
 * Nothing here runs: the mistakes sit in a function that is never called.
 *
 * @module
 */
import { Pipeline, pl, Provider, schema, t } from "../../mod.ts";
import { Customers, Joined, Orders, Revenue } from "../_shop.ts";

const provider = new Provider();
const local = provider.local();
const spark = provider.spark();

const NoRegion = schema({ customer_id: t.int64, name: t.string });
const Int32Ids = schema({ customer_id: t.int32, region: t.string });
const FloatRegion = schema({ region: t.float64, revenue: t.float64 });
const RevenueShort = schema({ region: t.string });
const RevenueLong = schema({ region: t.string, revenue: t.float64, year: t.int32 });
const RevenueF32 = schema({ region: t.string, revenue: t.float32 });
const Tags = schema({ tags: t.list(t.string), at: t.datetime, day: t.date });
const IntTags = schema({ tags: t.list(t.int64), at: t.datetime, day: t.date });
const DayAsDatetime = schema({ tags: t.list(t.string), at: t.datetime, day: t.datetime });
const Place = schema({ place: t.struct({ city: t.string, zip: t.int32 }) });
const PlaceZip64 = schema({ place: t.struct({ city: t.string, zip: t.int64 }) });

const orders = provider.bucket({ bucket: "shop", path: "raw/orders.parquet", schema: Orders });
const customers = provider.bucket({ bucket: "shop", path: "raw/cust.parquet", schema: Customers });
const noRegion = provider.bucket({ bucket: "shop", path: "raw/names.parquet", schema: NoRegion });
const int32Ids = provider.bucket({ bucket: "shop", path: "raw/cust32.parquet", schema: Int32Ids });
const joined = provider.bucket({ bucket: "shop", path: "stage/joined.parquet", schema: Joined });
const revenue = provider.bucket({ bucket: "shop", path: "out/revenue.parquet", schema: Revenue });
const floatRegion = provider.bucket({ bucket: "shop", path: "out/f.parquet", schema: FloatRegion });
const short = provider.bucket({ bucket: "shop", path: "out/short.parquet", schema: RevenueShort });
const long = provider.bucket({ bucket: "shop", path: "out/long.parquet", schema: RevenueLong });
const f32 = provider.bucket({ bucket: "shop", path: "out/f32.parquet", schema: RevenueF32 });
const tags = provider.bucket({ bucket: "logs", path: "tags.parquet", schema: Tags });
const intTags = provider.bucket({ bucket: "logs", path: "int_tags.parquet", schema: IntTags });
const dayAsDt = provider.bucket({ bucket: "logs", path: "dt.parquet", schema: DayAsDatetime });
const place = provider.bucket({ bucket: "logs", path: "place.parquet", schema: Place });
const place64 = provider.bucket({ bucket: "logs", path: "place64.parquet", schema: PlaceZip64 });

const join = spark.task(
  {
    name: "join_orders_customers",
    inputs: { orders_df: Orders, customers_df: Customers },
    output: Joined,
  },
  ({ orders_df, customers_df }) => orders_df.join(customers_df, { on: "customer_id" }),
);
const byRegion = local.task(
  { name: "revenue_by_region", input: Joined, output: Revenue },
  (df) => df.groupBy("region").agg(pl.col("amount").sum().alias("revenue")),
);
const total = local.task(
  { name: "total", input: Orders, output: Revenue },
  (df) => df.select(pl.lit("all").alias("region"), pl.col("amount").sum().alias("revenue")),
);
const keepTags = local.task(
  { name: "keep_tags", input: Tags, output: Tags },
  (df) => df,
);
const keepPlace = local.task(
  { name: "keep_place", input: Place, output: Place },
  (df) => df,
);

/** The mistakes. Never called: `deno check` is the test. */
export function mistakes(): unknown[] {
  const wrong: unknown[] = [];
  const step = new Pipeline({ orders_df: orders, customers_df: customers }).transform(join);

  // 1. A Pipeline kwarg whose name the task does not declare.
  // @ts-expect-error `orders` is not an input of the task (and `orders_df` is not given).
  wrong.push(new Pipeline({ orders, customers_df: customers }).transform(join));
  // @ts-expect-error both names are wrong.
  wrong.push(new Pipeline({ orders, customers }).transform(join));
  const three = { orders_df: orders, customers_df: customers, x: joined };
  // @ts-expect-error a third, undeclared kwarg.
  wrong.push(new Pipeline(three).transform(join));
  // @ts-expect-error letter case counts.
  wrong.push(new Pipeline({ Orders_df: orders, customers_df: customers }).transform(join));

  // 2. A kwarg the task declares but the Pipeline lacks.
  // @ts-expect-error `customers_df` is missing.
  wrong.push(new Pipeline({ orders_df: orders }).transform(join));
  // @ts-expect-error `orders_df` is missing.
  wrong.push(new Pipeline({ customers_df: customers }).transform(join));

  // 3. Swapped buckets, or a named bucket lacking a column or with another dtype.
  // @ts-expect-error swapped.
  wrong.push(new Pipeline({ orders_df: customers, customers_df: orders }).transform(join));
  // @ts-expect-error the same bucket twice.
  wrong.push(new Pipeline({ orders_df: orders, customers_df: orders }).transform(join));
  // @ts-expect-error the customers bucket lacks `region`.
  wrong.push(new Pipeline({ orders_df: orders, customers_df: noRegion }).transform(join));
  // @ts-expect-error `customer_id` is Int32 in the bucket, Int64 in the task.
  wrong.push(new Pipeline({ orders_df: orders, customers_df: int32Ids }).transform(join));
  // @ts-expect-error a finished step's bucket of the wrong schema.
  wrong.push(new Pipeline({ orders_df: step.to(joined), customers_df: revenue }).transform(join));

  // 4. A single-source task given a bucket lacking one of its columns (or of another dtype).
  // @ts-expect-error `orders` lacks `region`.
  wrong.push(orders.transform(byRegion));
  // @ts-expect-error `customers` lacks `order_id` and `amount`.
  wrong.push(customers.transform(byRegion));
  // @ts-expect-error `revenue` lacks every column but `region`.
  wrong.push(revenue.transform(total));
  // @ts-expect-error list items are Int64 in the bucket, String in the task.
  wrong.push(intTags.transform(keepTags));
  // @ts-expect-error `day` is Datetime in the bucket, Date in the task.
  wrong.push(dayAsDt.transform(keepTags));
  // @ts-expect-error a struct field differs.
  wrong.push(place64.transform(keepPlace));
  // @ts-expect-error down a chain: `revenue` lacks what `byRegion` reads.
  wrong.push(step.to(joined).transform(byRegion).to(revenue).transform(byRegion));

  // 5. `.to(bucket)` whose schema differs from the task's output schema.
  // @ts-expect-error the target lacks `revenue`.
  wrong.push(joined.transform(byRegion).to(short));
  // @ts-expect-error the target has an extra `year`.
  wrong.push(joined.transform(byRegion).to(long));
  // @ts-expect-error `revenue` is Float32 in the target.
  wrong.push(joined.transform(byRegion).to(f32));
  // @ts-expect-error `region` is Float64 in the target.
  wrong.push(joined.transform(byRegion).to(floatRegion));
  // @ts-expect-error a target of another shape altogether.
  wrong.push(step.to(revenue));
  // @ts-expect-error the source bucket itself.
  wrong.push(step.to(orders));
  // @ts-expect-error a struct field differs in the target.
  wrong.push(place.transform(keepPlace).to(place64));
  // @ts-expect-error list items differ in the target.
  wrong.push(tags.transform(keepTags).to(intTags));

  // 6. A multi-source task in single-source `.transform`, and the reverse.
  // @ts-expect-error a multi-source task on one bucket.
  wrong.push(orders.transform(join));
  // @ts-expect-error a multi-source task on a bucket that has every column.
  wrong.push(joined.transform(join));
  // @ts-expect-error a single-source task in a Pipeline.
  wrong.push(new Pipeline({ input: joined }).transform(byRegion));
  // @ts-expect-error a single-source task in a Pipeline of the right buckets.
  wrong.push(new Pipeline({ orders_df: orders, customers_df: customers }).transform(total));

  // 7. `.to()` on a bare bucket, `.run()` on an unfinished `.transform()`.
  // @ts-expect-error a bucket has no `.to`.
  wrong.push(orders.to(revenue));
  // @ts-expect-error a finished pipeline is a bucket, with no `.to` either.
  wrong.push(step.to(joined).to(revenue));
  // @ts-expect-error an unfinished step has no `.run`.
  wrong.push(joined.transform(byRegion).run({ mode: "local" }));
  // @ts-expect-error an unfinished multi-source step has no `.run`.
  wrong.push(step.run({ mode: "local" }));
  // @ts-expect-error nor `.transform`: it must be written somewhere first.
  wrong.push(step.transform(byRegion));
  // @ts-expect-error nor `.withName`.
  wrong.push(step.withName("joined"));

  return wrong;
}

/** Polars' own types keep checking column names inside task bodies. Never called. */
export function insideBodies(): unknown[] {
  return [
    local.task(
      { name: "join_on_missing", inputs: { a: Orders, b: Customers }, output: Joined },
      // @ts-expect-error `region` is not a column of both frames.
      ({ a, b }) => a.join(b, { on: "region" }),
    ),
    local.task(
      { name: "join_on_missing_left", inputs: { a: Orders, b: Customers }, output: Joined },
      // @ts-expect-error `order_id` is not a column of the right frame.
      ({ a, b }) => a.join(b, { leftOn: "customer_id", rightOn: "order_id" }),
    ),
  ];
}
