/**
 * Reading and writing the file formats buckets hold, with polars' lazy scans and streaming sinks.
 *
 * @module
 */
import pl from "../polars.ts";
import { columnsOf, dataIssues, type Schema, schemaOf } from "../schema/schema.ts";
import { SchemaMismatchError, StorageError } from "../core/errors.ts";
import type { BucketRef } from "../core/lineage.ts";
import { formatOf } from "../provider/format.ts";
import { firstLine } from "./_errors.ts";
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
  return schemaOf(frame.clone().limit(0).collectSync());
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

/**
 * A lazy scan of a bucket's data in a local file, validated against the bucket's schema and
 * limited to its columns, in schema order.
 *
 * @param ref the bucket.
 * @param path the local file holding its data.
 * @param uri where the data comes from, for messages (the path, or an `s3://` URI).
 * @returns the lazy frame.
 * @throws {StorageError} when the file cannot be read in the bucket's format.
 * @throws {SchemaMismatchError} when the data does not fit the schema.
 */
export function scanValidated(ref: BucketRef, path: string, uri: string): pl.LazyDataFrame {
  const format = formatOf(ref.path);
  let frame: pl.LazyDataFrame;
  let schema: Schema;
  try {
    frame = scanFile(path, format, ref.schema);
    schema = planSchema(frame);
  } catch (error) {
    throw new StorageError(
      `bucket '${ref.location}' data at ${uri} cannot be read as ${format}: ${firstLine(error)}`,
      { cause: error },
    );
  }
  const issues = dataIssues(schema, ref.schema, { bucket: ref.location, uri });
  if (issues.length > 0) throw new SchemaMismatchError(issues.join("; "));
  return frame.select(columnsOf(ref.schema));
}

/**
 * A frame about to be written to a bucket, checked against its schema and limited to its columns.
 *
 * @param ref the bucket.
 * @param frame the data; extra columns are dropped.
 * @returns the lazy frame to store, columns in schema order.
 * @throws {SchemaMismatchError} when the frame does not fit the schema; nothing is written.
 */
export function writableFrame(ref: BucketRef, frame: pl.DataFrame): pl.LazyDataFrame {
  const issues = dataIssues(schemaOf(frame), ref.schema, {
    bucket: ref.location,
    uri: "the frame given to write()",
  });
  if (issues.length > 0) {
    throw new SchemaMismatchError(
      `${issues.join("; ")}; nothing was written. Give the frame the schema's dtypes ` +
        "(JS numbers become Float64: build integer columns with pl.Series(name, values, pl.Int64))",
    );
  }
  return frame.lazy().select(columnsOf(ref.schema));
}
