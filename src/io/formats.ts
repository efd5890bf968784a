/**
 * Reading and writing the file formats buckets hold, with polars' lazy scans and streaming sinks.
 *
 * @module
 */
import pl from "../polars.ts";
import { columnsOf, dataIssues, planSchema, type Schema, schemaOf } from "../schema/schema.ts";
import { firstLine, GlacierError, SchemaMismatchError, StorageError } from "../core/errors.ts";
import type { BucketRef, CsvOptions } from "../core/lineage.ts";
import { formatOf } from "./file_format.ts";
import type { FileFormat } from "./file_format.ts";
import {
  checkCsvFile,
  checkNdjsonFile,
  csvWriteOptions,
  rememberCsvOrigin,
  scanCsv,
} from "./text_input.ts";

/**
 * A lazy scan of a file. Text formats are parsed with the declared dtypes; binary formats carry
 * their own schema, which the caller validates.
 *
 * @param path the file.
 * @param format its format.
 * @param declared the bucket's schema.
 * @param csv a CSV bucket's options.
 * @param columns a CSV file's columns in order (default: the schema's order).
 * @returns the lazy frame.
 */
export function scanFile(
  path: string,
  format: FileFormat,
  declared: Schema,
  csv?: CsvOptions,
  columns?: readonly string[],
): pl.LazyDataFrame {
  switch (format) {
    case "parquet":
      return pl.scanParquet(path);
    case "ipc":
      return pl.scanIPC(path);
    case "csv":
      return scanCsv(path, declared, csv, columns);
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
 * @param csv a CSV bucket's options.
 */
export async function sinkFile(
  frame: pl.LazyDataFrame,
  path: string,
  format: FileFormat,
  csv?: CsvOptions,
): Promise<void> {
  switch (format) {
    case "parquet":
      await frame.sinkParquet(path, { compression: "zstd", statistics: true }).collect();
      return;
    case "ipc":
      await frame.sinkIpc(path, { compression: "zstd" }).collect();
      return;
    case "csv":
      await frame.sinkCSV(path, csvWriteOptions(csv)).collect();
      return;
    case "ndjson":
      await frame.sinkNdJson(path).collect();
      return;
  }
}

/**
 * Counts the rows of a file; cheap for parquet and ipc, a scan for text formats.
 *
 * @param path the file.
 * @param format its format.
 * @param declared the bucket's schema.
 * @param csv a CSV bucket's options.
 * @returns the row count.
 */
export async function countRows(
  path: string,
  format: FileFormat,
  declared: Schema,
  csv?: CsvOptions,
): Promise<number> {
  const counted = await scanFile(path, format, declared, csv).select(pl.len().alias("n")).collect();
  return Number(counted.getColumn("n").get(0));
}

/**
 * A lazy scan of a bucket's data in a local file, validated against the bucket's schema and
 * limited to its columns, in schema order. Text formats are checked first, as declared
 * ({@linkcode checkCsvFile}, {@linkcode checkNdjsonFile}).
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
  let columns: string[] | undefined;
  try {
    const source = { location: ref.location, uri };
    columns = format === "csv" ? checkCsvFile(path, ref.schema, ref.csv ?? {}, source) : undefined;
    if (format === "ndjson") checkNdjsonFile(path, ref.schema, source);
    frame = scanFile(path, format, ref.schema, ref.csv, columns);
    schema = planSchema(frame);
  } catch (error) {
    if (error instanceof GlacierError) throw error;
    throw new StorageError(
      `bucket '${ref.location}' data at ${uri} cannot be read as ${format}: ${firstLine(error)}`,
      { cause: error },
    );
  }
  const issues = dataIssues(schema, ref.schema, { bucket: ref.location, uri });
  if (issues.length > 0) throw new SchemaMismatchError(issues.join("; "));
  const selected = frame.select(columnsOf(ref.schema));
  return columns ? rememberCsvOrigin(selected, path, uri, ref.csv ?? {}, columns) : selected;
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
