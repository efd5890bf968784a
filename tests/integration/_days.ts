/**
 * A one-step daily pipeline for the lock tests, importable and runnable as a script, so that two
 * runs can hold their locks at once in two processes: `raw/{date}` doubled into `out/{date}`.
 *
 * Script use: `deno run -A _days.ts ROOT MODE FROM TO` runs the days from FROM to TO and prints
 * `{"runId": ...}`, or the error as JSON (exit 3).
 *
 * @module
 */
import { daily, pl, Provider, type RunReport, schema, type StorageMode, t } from "../../mod.ts";
import { days } from "./_sales.ts";

/** The pipeline's buckets under one local root (and, in cloud mode, the S3 bucket `days`). */
export function daysPipeline(root: string) {
  const provider = new Provider({ localRoot: root });
  const N = schema({ n: t.int64 });
  const partitions = { date: daily({ start: "2026-01-01", end: "2026-01-31" }) };
  const raw = provider.bucket({
    bucket: "days",
    path: "raw/{date}.parquet",
    schema: N,
    partitions,
  });
  const out = provider.bucket({
    bucket: "days",
    path: "out/{date}.parquet",
    schema: N,
    partitions,
  });
  const double = provider.local().task(
    { name: "double", input: N, output: N },
    (df) => df.select(pl.col("n").add(pl.col("n")).alias("n")),
  );
  return { raw, out, pipeline: raw.transform(double).to(out).withName("days") };
}

/**
 * Writes each day's input: the day of the month, once.
 *
 * @param root the local root.
 * @param mode local files or S3.
 * @param from the first day.
 * @param to the last day.
 */
export async function seedDays(root: string, mode: StorageMode, from: string, to: string) {
  const { raw } = daysPipeline(root);
  for (const day of days(from, to)) {
    const n = pl.Series("n", [Number(day.slice(8))], pl.Int64);
    await raw.write(pl.DataFrame({ n }), { partition: { date: day }, mode });
  }
}

/**
 * Runs the days from one date to another.
 *
 * @param root the local root.
 * @param mode local files or S3.
 * @param from the first day.
 * @param to the last day.
 * @param wait seconds to wait for another run's locks.
 * @returns the report.
 */
export async function runDays(
  root: string,
  mode: StorageMode,
  from: string,
  to: string,
  wait?: number,
): Promise<RunReport> {
  return await daysPipeline(root).pipeline.run({
    mode,
    quiet: true,
    partitions: { date: { from, to } },
    ...(wait === undefined ? {} : { wait }),
  });
}

if (import.meta.main) {
  const [root, mode, from, to] = Deno.args;
  try {
    const report = await runDays(root, mode as StorageMode, from, to);
    console.log(JSON.stringify({ runId: report.runId }));
  } catch (error) {
    console.log(JSON.stringify({ name: (error as Error).name, message: (error as Error).message }));
    Deno.exit(3);
  }
}
