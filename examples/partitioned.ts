/**
 * Partitioned pipelines: daily orders (one key) are cleaned day by day and totalled over every
 * day; daily sales by region (two keys) are summed per day and region, then over a trailing
 * week with `lookback`. Each partition of each step is computed once: a rerun computes nothing,
 * a new or changed day computes only what reads it.
 *
 * ```sh
 * deno run -A examples/partitioned.ts run       # writes sample days if absent, backfills, prints
 * deno run -A examples/partitioned.ts run --partition date=2026-01-03..2026-01-05 --partition region=north
 * deno run -A examples/partitioned.ts plan      # what a run would compute, and why
 * deno run -A examples/partitioned.ts check     # data-free check of every task
 * ```
 *
 * @module
 */
import { AwsConfig, daily, pl, Provider, schema, t, values } from "../mod.ts";
import { runExample, type Seed } from "./_main.ts";

const provider = new Provider({ config: new AwsConfig({ region: "us-east-1" }) });
const local = provider.local();

/** Ten days of data; a key without `end` runs up to yesterday (the last complete day). */
const days = daily({ start: "2026-01-01", end: "2026-01-10" });
const regions = values(["north", "south"]);

// One key: daily orders.
const Orders = schema({ order_id: t.int64, amount: t.float64 });
const CleanOrders = schema({ order_id: t.int64, amount: t.float64, day: t.string });
const DailyRevenue = schema({ date: t.string, orders: t.uint32, revenue: t.float64 });

const orders = provider.bucket({
  bucket: "glacier-demo",
  path: "partitioned/orders/{date}.csv",
  schema: Orders,
  partitions: { date: days },
});
const cleanOrders = provider.bucket({
  bucket: "glacier-demo",
  path: "partitioned/clean_orders/{date}.parquet",
  schema: CleanOrders,
  partitions: { date: days },
});
const dailyRevenue = provider.bucket({
  bucket: "glacier-demo",
  path: "partitioned/daily_revenue.parquet",
  schema: DailyRevenue,
});

/** Drops refunds and stamps each order with its day: the task's second parameter. */
export const cleanTask = local.task(
  { name: "clean_orders", input: Orders, output: CleanOrders },
  (df, { date }) => df.filter(pl.col("amount").gt(0)).withColumns(pl.lit(date).alias("day")),
);

/** Every day's orders as one frame, the key `date` as a column: revenue per day. */
export const revenueTask = local.task(
  {
    name: "daily_revenue",
    input: schema({ amount: t.float64, date: t.string }),
    output: DailyRevenue,
  },
  (df) =>
    df.groupBy("date").agg(
      pl.len().cast(pl.UInt32).alias("orders"),
      pl.col("amount").sum().alias("revenue"),
    ).sort("date"),
);

/** Daily orders -> cleaned day by day -> revenue over every day. */
export const dailyOrders = orders.transform(cleanTask).to(cleanOrders)
  .transform(revenueTask).to(dailyRevenue)
  .withName("daily_orders", "Clean each day's orders, then total them per day");

// Two keys: daily sales by region.
const Sales = schema({ sale_id: t.int64, units: t.int64, price: t.float64 });
const DaySummary = schema({ units: t.int64, revenue: t.float64 });
const Trailing = schema({ units: t.int64, revenue: t.float64, days: t.uint32 });
const keys = { date: days, region: regions };

const sales = provider.bucket({
  bucket: "glacier-demo",
  path: "partitioned/sales/{region}/{date}.parquet",
  schema: Sales,
  partitions: keys,
});
const daySummary = provider.bucket({
  bucket: "glacier-demo",
  path: "partitioned/day_summary/{region}/{date}.parquet",
  schema: DaySummary,
  partitions: keys,
});
const trailingWeek = provider.bucket({
  bucket: "glacier-demo",
  path: "partitioned/trailing_week/{region}/{date}.parquet",
  schema: Trailing,
  partitions: keys,
});

/** One region's day: units and revenue. */
export const summaryTask = local.task(
  { name: "day_summary", input: Sales, output: DaySummary },
  (df) =>
    df.select(
      pl.col("units").sum().alias("units"),
      pl.col("units").mul(pl.col("price")).sum().alias("revenue"),
    ),
);

/** A region's day and the six before it (fewer at the start), from `lookback({ date: 6 })`. */
export const trailingTask = local.task(
  {
    name: "trailing_week",
    input: schema({ units: t.int64, revenue: t.float64, date: t.string }),
    output: Trailing,
  },
  (df) =>
    df.select(
      pl.col("units").sum().alias("units"),
      pl.col("revenue").sum().alias("revenue"),
      pl.col("date").nUnique().cast(pl.UInt32).alias("days"),
    ),
);

/** Daily sales by region -> a summary per day and region -> its trailing week. */
export const regionalSales = sales.transform(summaryTask).to(daySummary)
  .lookback({ date: 6 }).transform(trailingTask).to(trailingWeek)
  .withName("regional_sales", "Sum each region's day, then its trailing week");

/** The sample days, as `{ date }` partitions. */
function sampleDays(): string[] {
  return Array.from({ length: 10 }, (_, i) => `2026-01-${String(i + 1).padStart(2, "0")}`);
}

/** A day's orders: a few sales and one refund, varying by day. */
function ordersOf(partition: Readonly<Record<string, string>>): pl.DataFrame {
  const day = Number(partition.date.slice(8, 10));
  const ids = Array.from({ length: 4 + (day % 3) }, (_, i) => day * 100 + i);
  return pl.DataFrame({
    order_id: pl.Series("order_id", ids, pl.Int64),
    amount: pl.Series("amount", ids.map((id, i) => (i === 0 ? -5 : 10 + (id % 7))), pl.Float64),
  });
}

/** A region's day of sales. */
function salesOf(partition: Readonly<Record<string, string>>): pl.DataFrame {
  const day = Number(partition.date.slice(8, 10));
  const north = partition.region === "north";
  const ids = Array.from({ length: 3 }, (_, i) => day * 1000 + (north ? 0 : 500) + i);
  return pl.DataFrame({
    sale_id: pl.Series("sale_id", ids, pl.Int64),
    units: pl.Series(
      "units",
      ids.map((_, i) => 1 + ((day * 3 + i + (north ? 0 : 2)) % 5)),
      pl.Int64,
    ),
    price: pl.Series("price", ids.map((_, i) => 2.5 + i), pl.Float64),
  });
}

const seeds: Seed[] = [
  { bucket: orders, rows: ordersOf, partitions: sampleDays().map((date) => ({ date })) },
  {
    bucket: sales,
    rows: salesOf,
    partitions: sampleDays().flatMap((date) => regions.values.map((region) => ({ date, region }))),
  },
];

if (import.meta.main) {
  // No top-level await: the glacier command imports this module while it runs.
  runExample({
    module: import.meta.url,
    seeds,
    show: [dailyRevenue, trailingWeek],
    modes: ["run", "plan", "check", "visualize"],
  }, Deno.args).then((status) => Deno.exit(status));
}
