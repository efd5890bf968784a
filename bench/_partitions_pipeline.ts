/**
 * The partitioned pipeline of the partitions benchmarks (`partitions.ts`, `partitions_memory.ts`):
 * daily raw orders cleaned day by day, then summed per region per day, and optionally the top
 * region per day.
 *
 * @module
 */
import { join } from "node:path";
import { daily, pl, Provider, schema, t } from "../mod.ts";
import { BucketImpl } from "../src/core/bucket.ts";

/** The first day. */
export const START = "2024-01-01";
const Raw = schema({ id: t.int64, region: t.string, amount: t.float64 });
const Clean = schema({ id: t.int64, region: t.string, amount: t.float64, day: t.string });
const ByRegion = schema({ region: t.string, amount: t.float64, orders: t.uint32 });
const Top = schema({ region: t.string, amount: t.float64 });

/**
 * The pipeline: raw -> clean -> by_region (2 steps), and -> top for 3 steps.
 *
 * @param root the local root.
 * @param days how many daily partitions, from 2024-01-01.
 * @param steps 2 or 3.
 * @returns the input bucket and the pipeline.
 */
export function pipeline(root: string, days: number, steps: 2 | 3) {
  const provider = new Provider({ localRoot: root });
  const local = provider.local();
  const keys = { date: daily({ start: START, end: dayAfter(START, days - 1) }) };
  const raw = provider.bucket({
    bucket: "bench",
    path: "raw/{date}.parquet",
    schema: Raw,
    partitions: keys,
  });
  const cleaned = provider.bucket({
    bucket: "bench",
    path: "clean/{date}.parquet",
    schema: Clean,
    partitions: keys,
  });
  const byRegionOut = provider.bucket({
    bucket: "bench",
    path: "by_region/{date}.parquet",
    schema: ByRegion,
    partitions: keys,
  });
  const topOut = provider.bucket({
    bucket: "bench",
    path: "top/{date}.parquet",
    schema: Top,
    partitions: keys,
  });
  const clean = local.task(
    { name: "clean", input: Raw, output: Clean },
    (df, { date }) => df.filter(pl.col("amount").gt(0)).withColumns(pl.lit(date).alias("day")),
  );
  const byRegion = local.task(
    { name: "by_region", input: Clean, output: ByRegion },
    (df) =>
      df.groupBy("region").agg(
        pl.col("amount").sum().alias("amount"),
        pl.len().cast(pl.UInt32).alias("orders"),
      ).sort("region"),
  );
  const top = local.task(
    { name: "top", input: ByRegion, output: Top },
    (df) => df.sort("amount", true).head(1).select("region", "amount"),
  );
  const two = raw.transform(clean).to(cleaned).transform(byRegion).to(byRegionOut);
  const built = steps === 2 ? two : two.transform(top).to(topOut);
  return { raw, pipeline: BucketImpl.combine([built], `bench_${steps}`) };
}

/** The day `n` days after a day. */
export function dayAfter(day: string, n: number): string {
  return new Date(Date.parse(day) + n * 86_400_000).toISOString().slice(0, 10);
}

/**
 * Writes every input partition as a parquet file where the bucket keeps it.
 *
 * @param root the local root.
 * @param days how many partitions.
 * @param rows rows per partition.
 */
export async function seed(root: string, days: number, rows: number): Promise<void> {
  const dir = join(root, "bench", "raw");
  await Deno.mkdir(dir, { recursive: true });
  const regions = ["north", "south", "east", "west"];
  for (let d = 0; d < days; d++) {
    const frame = pl.DataFrame({
      id: pl.Series("id", Array.from({ length: rows }, (_, i) => d * rows + i), pl.Int64),
      region: pl.Series("region", Array.from({ length: rows }, (_, i) => regions[i % 4])),
      amount: pl.Series(
        "amount",
        Array.from({ length: rows }, (_, i) => ((i * 7919 + d) % 1000) - 50),
        pl.Float64,
      ),
    });
    frame.writeParquet(join(dir, `${dayAfter(START, d)}.parquet`));
  }
}
