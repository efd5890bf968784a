/**
 * File formats, chosen by a bucket path's extension.
 *
 * @module
 */

/** The file formats buckets can hold. */
export type FileFormat = "parquet" | "csv" | "ndjson" | "ipc";

const EXTENSIONS: Readonly<Record<string, FileFormat>> = {
  parquet: "parquet",
  csv: "csv",
  ndjson: "ndjson",
  jsonl: "ndjson",
  arrow: "ipc",
  ipc: "ipc",
};

/**
 * The format of a path, from its extension.
 *
 * @param path a bucket path.
 * @returns the format.
 * @throws {TypeError} for an extension Glacier cannot read and write.
 */
export function formatOf(path: string): FileFormat {
  const ext = path.includes(".") ? path.slice(path.lastIndexOf(".") + 1).toLowerCase() : "";
  const format = EXTENSIONS[ext];
  if (format === undefined) {
    throw new TypeError(
      `bucket path '${path}' has no known file extension; use .parquet, .csv, .ndjson, .jsonl, .arrow or .ipc`,
    );
  }
  return format;
}
