/**
 * Deterministic objects for the S3 throughput benchmark: a parquet file of a given size whose
 * values are hashes of the row index, so that zstd cannot shrink them (about 18.4 bytes a row),
 * built with polars expressions and cached under `bench/data/s3/` between runs.
 *
 * @module
 */
import { join } from "node:path";
import { pl, schema, t } from "../mod.ts";
import { DATA_DIR } from "./_data.ts";

/** Bump when the generator changes, so stale cached files are rebuilt. */
const GENERATOR_VERSION = 1;

/** Bytes a row takes in the zstd parquet file, measured: used to pick the rows for a size. */
const BYTES_PER_ROW = 18.44;

/** The columns of the benchmark object. */
export const ThroughputSchema = schema({
  id: t.int64,
  key: t.int64,
  x: t.float64,
  y: t.float64,
});

/** One cached object. */
export interface SourceObject {
  /** The parquet file. */
  readonly path: string;
  /** Its rows. */
  readonly rows: number;
  /** Its size in bytes. */
  readonly bytes: number;
}

/**
 * The rows an object of about `megabytes` MB (10^6 bytes) has.
 *
 * @param megabytes the wanted file size.
 * @returns a row count.
 */
export function rowsFor(megabytes: number): number {
  return Math.max(1, Math.round(megabytes * 1e6 / BYTES_PER_ROW));
}

/**
 * Returns the cached parquet file with `rows` rows, generating it when missing. It is written the
 * way Glacier writes parquet (`sinkParquet`, zstd, statistics).
 *
 * @param rows how many rows.
 * @returns the file, its rows and its size.
 */
export async function ensureSource(rows: number): Promise<SourceObject> {
  const dir = join(DATA_DIR, "s3");
  const path = join(dir, `v${GENERATOR_VERSION}-${rows}.parquet`);
  try {
    return { path, rows, bytes: (await Deno.stat(path)).size };
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  await Deno.mkdir(dir, { recursive: true });
  const temp = `${path}.${crypto.randomUUID()}.tmp`;
  try {
    await sourceFrame(rows).sinkParquet(temp, { compression: "zstd", statistics: true }).collect();
    await Deno.rename(temp, path);
  } finally {
    await Deno.remove(temp).catch(() => {});
  }
  return { path, rows, bytes: (await Deno.stat(path)).size };
}

/**
 * The plan of the benchmark object: `id` counts up, `key` is 62 random-looking bits, `x` a
 * random-looking float in [0, 1), `y` one of a million two-decimal values.
 *
 * @param rows how many rows.
 * @returns the lazy frame.
 */
export function sourceFrame(rows: number): pl.LazyDataFrame {
  const id = pl.col("id");
  const u64 = (value: number) => pl.lit(value).cast(pl.UInt64);
  return pl.DataFrame([pl.intRange(0, rows, 1, pl.Int64, true).alias("id")]).lazy().select(
    id,
    id.hash(11, 12, 13, 14).modulo(u64(2 ** 62)).cast(pl.Int64).alias("key"),
    id.hash(21, 22, 23, 24).cast(pl.Float64).div(2 ** 64).alias("x"),
    id.hash(31, 32, 33, 34).modulo(u64(1_000_000)).cast(pl.Float64).div(100).alias("y"),
  );
}
