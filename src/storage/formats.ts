/**
 * Reading and writing the file formats buckets hold, with polars' lazy scans and streaming sinks.
 *
 * @module
 */
import pl from "../polars.ts";
import type { Schema } from "../schema/schema.ts";
import type { FileFormat } from "../provider/format.ts";

/**
 * A lazy scan of a file. Text formats are parsed with the declared dtypes; binary formats carry
 * their own schema, which the caller validates.
 *
 * @param path the file.
 * @param format its format.
 * @param declared the bucket's schema.
 * @returns the lazy frame.
 */
export function scanFile(path: string, format: FileFormat, declared: Schema): pl.LazyDataFrame {
  switch (format) {
    case "parquet":
      return pl.scanParquet(path);
    case "ipc":
      return pl.scanIPC(path);
    case "csv":
      return pl.scanCSV(path, { schema: { ...declared }, hasHeader: true });
    case "ndjson":
      return pl.scanJson(path, { schema: { ...declared } });
  }
}

/**
 * Streams a lazy frame into a file.
 *
 * @param frame the plan to run.
 * @param path the file to create.
 * @param format its format.
 */
export async function sinkFile(
  frame: pl.LazyDataFrame,
  path: string,
  format: FileFormat,
): Promise<void> {
  switch (format) {
    case "parquet":
      await frame.sinkParquet(path, { compression: "zstd", statistics: true }).collect();
      return;
    case "ipc":
      await frame.sinkIpc(path, { compression: "zstd" }).collect();
      return;
    case "csv":
      await frame.sinkCSV(path).collect();
      return;
    case "ndjson":
      await frame.sinkNdJson(path).collect();
      return;
  }
}

/**
 * The schema of a lazy frame, computed from its plan without reading data.
 *
 * @param frame the plan.
 * @returns the schema its result will have.
 */
export function planSchema(frame: pl.LazyDataFrame): Schema {
  return frame.clone().limit(0).collectSync().schema;
}

/**
 * Counts the rows of a file; cheap for parquet and ipc, a scan for text formats.
 *
 * @param path the file.
 * @param format its format.
 * @param declared the bucket's schema.
 * @returns the row count.
 */
export async function countRows(
  path: string,
  format: FileFormat,
  declared: Schema,
): Promise<number> {
  const counted = await scanFile(path, format, declared).select(pl.len().alias("n")).collect();
  return Number(counted.getColumn("n").get(0));
}
