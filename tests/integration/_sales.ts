/**
 * A partitioned pipeline for the partition tests, importable and runnable as a script (so a
 * commit can be cut short by a real SIGKILL): daily sales by region are cleaned partition by
 * partition (the task reads its partition's date), summed over a trailing week with `lookback`,
 * and totalled over every partition into one unpartitioned report.
 *
 * Script use: `deno run -A _sales.ts ROOT seed FROM TO` writes sales for every day and region,
 * `deno run -A _sales.ts ROOT run [FROM TO]` runs (printing `ok` or the error as JSON).
 *
 * @module
 */
import {
  daily,
  pl,
  Provider,
  type RunReport,
  schema,
  type StorageMode,
  t,
  values,
} from "../../mod.ts";
import { BucketImpl } from "../../src/core/bucket.ts";

/** The pipeline's buckets and its last bucket, under one local root. */
export function salesPipeline(root: string) {
  const provider = new Provider({ localRoot: root });
  const local = provider.local();
  const Sales = schema({ order_id: t.int64, amount: t.float64 });
  const Clean = schema({ order_id: t.int64, amount: t.float64, day: t.string });
  const Weekly = schema({ amount: t.float64, days: t.uint32 });
  const Totals = schema({ region: t.string, amount: t.float64, partitions: t.uint32 });
  const keys = {
    date: daily({ start: "2026-01-01", end: "2026-01-31" }),
    region: values(["north", "south"]),
  };
  const sales = provider.bucket({
    bucket: "shop",
    path: "raw/{region}/{date}.parquet",
    schema: Sales,
    partitions: keys,
  });
  const clean = provider.bucket({
    bucket: "shop",
    path: "clean/{region}/{date}.parquet",
    schema: Clean,
    partitions: keys,
  });
  const weekly = provider.bucket({
    bucket: "shop",
    path: "weekly/{region}/{date}.parquet",
    schema: Weekly,
    partitions: keys,
  });
  const totals = provider.bucket({ bucket: "shop", path: "report/totals.parquet", schema: Totals });
  const cleanTask = local.task(
    { name: "clean_sales", input: Sales, output: Clean },
    (df, { date }) => df.filter(pl.col("amount").gt(0)).withColumns(pl.lit(date).alias("day")),
  );
  const weekTask = local.task(
    { name: "trailing_week", input: schema({ amount: t.float64, date: t.string }), output: Weekly },
    (df) =>
      df.select(
        pl.col("amount").sum().alias("amount"),
        pl.col("date").nUnique().cast(pl.UInt32).alias("days"),
      ),
  );
  const totalTask = local.task(
    {
      name: "totals",
      input: schema({ amount: t.float64, region: t.string, date: t.string }),
      output: Totals,
    },
    (df) =>
      df.groupBy("region").agg(
        pl.col("amount").sum().alias("amount"),
        pl.col("date").nUnique().cast(pl.UInt32).alias("partitions"),
      ).sort("region"),
  );
  const cleaned = sales.transform(cleanTask).to(clean);
  const week = cleaned.lookback({ date: 6 }).transform(weekTask).to(weekly);
  const report = cleaned.transform(totalTask).to(totals);
  return { provider, sales, clean, weekly, totals, week, report, Sales };
}

/** Days from one date to another, inclusive. */
export function days(from: string, to: string): string[] {
  const out: string[] = [];
  for (let d = Date.parse(from); d <= Date.parse(to); d += 86_400_000) {
    out.push(new Date(d).toISOString().slice(0, 10));
  }
  return out;
}

/** One day's sales for a region: three orders, one of them a refund the cleaning drops. */
export function salesOf(day: string, region: string): pl.DataFrame {
  const base = Number(day.slice(8, 10)) * 100 + (region === "north" ? 0 : 50);
  return pl.DataFrame({
    order_id: pl.Series("order_id", [base, base + 1, base + 2], pl.Int64),
    amount: pl.Series("amount", [10, 20, -5], pl.Float64),
  });
}

/**
 * Runs the whole pipeline (both outputs) over a range of days.
 *
 * @param root the local root.
 * @param from the first day, or every complete day without it.
 * @param to the last day.
 * @param mode local files (default) or S3.
 * @returns the report.
 */
export async function runSales(
  root: string,
  from?: string,
  to?: string,
  mode: StorageMode = "local",
): Promise<RunReport> {
  const { week, report } = salesPipeline(root);
  return await BucketImpl.combine([week, report], "sales").run({
    mode,
    quiet: true,
    ...(from && to ? { partitions: { date: { from, to } } } : {}),
  });
}

if (import.meta.main) {
  const [root, command, from, to] = Deno.args;
  const { sales } = salesPipeline(root);
  if (command === "seed") {
    for (const day of days(from, to)) {
      for (const region of ["north", "south"]) {
        await sales.write(salesOf(day, region), { partition: { date: day, region } });
      }
    }
  } else if (command === "run") {
    try {
      await runSales(root, from, to);
      console.log("ok");
    } catch (error) {
      console.log(
        JSON.stringify({ name: (error as Error).name, message: (error as Error).message }),
      );
      Deno.exit(3);
    }
  }
}
