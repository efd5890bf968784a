/**
 * Bytes per row: how much one row of a schema takes in memory (Arrow layout, as polars holds
 * it) and in each file format, so that a bucket's size in bytes gives its rows and back.
 *
 * @module
 */
import type pl from "../polars.ts";
import type { Schema } from "../schema/schema.ts";
import type { FileFormat } from "../io/file_format.ts";

/** The figures the size model rests on. */
export interface SizeAssumptions {
  /** Average characters in a string value. */
  readonly stringChars: number;
  /** Average items in a list value. */
  readonly listItems: number;
  /** Parquet size as a fraction of the in-memory size (zstd, dictionaries). */
  readonly parquetRatio: number;
  /** Arrow IPC size as a fraction of the in-memory size (zstd). */
  readonly ipcRatio: number;
}

/**
 * The default size figures.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SIZE_ASSUMPTIONS } from "./sizes.ts";
 * assert.equal(SIZE_ASSUMPTIONS.parquetRatio, 0.3);
 * ```
 */
export const SIZE_ASSUMPTIONS: SizeAssumptions = Object.freeze({
  stringChars: 16,
  listItems: 3,
  parquetRatio: 0.3,
  ipcRatio: 0.5,
});

type Inner = { name: string; dtype: pl.DataType }[] | unknown[] | null;

function innerOf(dtype: pl.DataType): Inner {
  return (dtype as unknown as { inner: Inner }).inner;
}

/** Bytes one value takes in memory. */
function memoryBytes(dtype: pl.DataType, a: SizeAssumptions): number {
  switch (dtype.variant) {
    case "Int8":
    case "UInt8":
      return 1;
    case "Int16":
    case "UInt16":
      return 2;
    case "Int32":
    case "UInt32":
    case "Float32":
    case "Date":
      return 4;
    case "Bool":
      return 0.125;
    case "String":
    case "Utf8":
    case "Categorical":
      return 4 + a.stringChars;
    case "List":
    case "FixedSizeList":
      return 4 + a.listItems * memoryBytes(innerOf(dtype)![0] as pl.DataType, a);
    case "Struct":
      return fields(dtype).reduce((sum, f) => sum + memoryBytes(f.dtype, a), 0);
    default:
      return 8;
  }
}

/** Characters one value takes as text, without quotes or separators. */
function textChars(dtype: pl.DataType, a: SizeAssumptions): number {
  switch (dtype.variant) {
    case "Int8":
    case "UInt8":
      return 3;
    case "Int16":
    case "UInt16":
      return 5;
    case "Int32":
    case "UInt32":
      return 5;
    case "Int64":
    case "UInt64":
      return 7;
    case "Float32":
      return 7;
    case "Float64":
      return 9;
    case "Bool":
      return 5;
    case "Date":
      return 10;
    case "Datetime":
      return 23;
    case "String":
    case "Utf8":
    case "Categorical":
      return a.stringChars;
    case "List":
    case "FixedSizeList": {
      const item = innerOf(dtype)![0] as pl.DataType;
      return 2 + a.listItems * (jsonChars(item, a) + 1);
    }
    case "Struct":
      return 2 +
        fields(dtype).reduce((sum, f) => sum + f.name.length + 4 + jsonChars(f.dtype, a), 0);
    default:
      return 10;
  }
}

/** Characters one value takes in JSON: text plus quotes where JSON quotes it. */
function jsonChars(dtype: pl.DataType, a: SizeAssumptions): number {
  const quoted = ["String", "Utf8", "Categorical", "Date", "Datetime"].includes(dtype.variant);
  return textChars(dtype, a) + (quoted ? 2 : 0);
}

function fields(dtype: pl.DataType): { name: string; dtype: pl.DataType }[] {
  return (innerOf(dtype) ?? []) as { name: string; dtype: pl.DataType }[];
}

/**
 * Bytes one row of a schema takes in memory, as polars holds it.
 *
 * @param schema the columns.
 * @param assumptions the size figures.
 * @returns bytes per row.
 */
export function memoryBytesPerRow(
  schema: Schema,
  assumptions: SizeAssumptions = SIZE_ASSUMPTIONS,
): number {
  return Object.values(schema).reduce((sum, dtype) => sum + memoryBytes(dtype, assumptions), 0);
}

/**
 * Bytes one row of a schema takes in a file of a format. Parquet and Arrow IPC compress the
 * in-memory size; CSV and NDJSON are text and do not.
 *
 * @param schema the columns.
 * @param format the file format.
 * @param assumptions the size figures.
 * @returns bytes per row, more than zero.
 */
export function storedBytesPerRow(
  schema: Schema,
  format: FileFormat,
  assumptions: SizeAssumptions = SIZE_ASSUMPTIONS,
): number {
  const columns = Object.entries(schema);
  switch (format) {
    case "parquet":
      return memoryBytesPerRow(schema, assumptions) * assumptions.parquetRatio;
    case "ipc":
      return memoryBytesPerRow(schema, assumptions) * assumptions.ipcRatio;
    case "csv":
      return columns.reduce((sum, [, dtype]) => sum + textChars(dtype, assumptions) + 1, 0);
    case "ndjson":
      return 2 + columns.reduce(
        (sum, [name, dtype]) => sum + name.length + 4 + jsonChars(dtype, assumptions),
        0,
      );
  }
}

/**
 * Bytes a file of a format takes whatever its rows: parquet's and Arrow IPC's footer and
 * per-column metadata (measured on files polars writes), CSV's header line.
 *
 * @param schema the columns.
 * @param format the file format.
 * @returns bytes.
 */
export function fileOverheadBytes(schema: Schema, format: FileFormat): number {
  const names = Object.keys(schema);
  switch (format) {
    case "parquet":
      return 170 + 90 * names.length;
    case "ipc":
      return 200 + 110 * names.length;
    case "csv":
      return names.reduce((sum, name) => sum + name.length + 1, 0);
    case "ndjson":
      return 0;
  }
}

/**
 * The rows a file of a given size holds, estimated from the schema.
 *
 * @param bytes the file's size.
 * @param schema its columns.
 * @param format its format.
 * @param assumptions the size figures.
 * @returns whole rows; zero only for a file of zero bytes.
 */
export function rowsFromBytes(
  bytes: number,
  schema: Schema,
  format: FileFormat,
  assumptions: SizeAssumptions = SIZE_ASSUMPTIONS,
): number {
  if (bytes <= 0) return 0;
  const payload = Math.max(0, bytes - fileOverheadBytes(schema, format));
  return Math.max(1, Math.round(payload / storedBytesPerRow(schema, format, assumptions)));
}

/**
 * The size of a file holding a number of rows, estimated from the schema, its format's
 * overhead included.
 *
 * @param rows the rows.
 * @param schema the columns.
 * @param format the file format.
 * @param assumptions the size figures.
 * @returns whole bytes.
 */
export function bytesFromRows(
  rows: number,
  schema: Schema,
  format: FileFormat,
  assumptions: SizeAssumptions = SIZE_ASSUMPTIONS,
): number {
  return Math.round(
    fileOverheadBytes(schema, format) + rows * storedBytesPerRow(schema, format, assumptions),
  );
}
