/**
 * Glacier's (polars') dtypes as Spark SQL types, and the SQL spelling of identifiers and
 * literals.
 *
 * @module
 */
import type pl from "../../polars.ts";
import { dtypeName } from "../../schema/dtypes.ts";

/** A dtype Spark cannot hold, with the polars name of the dtype. */
export class UnsupportedDtype extends Error {
  /**
   * @param dtype the polars dtype's name, e.g. `Duration(ms)`.
   */
  constructor(readonly dtype: string) {
    super(`dtype '${dtype}' has no Spark SQL type`);
  }
}

/**
 * The Spark SQL type of a polars dtype. Unsigned integers widen to the next signed type
 * (`UInt32` to `BIGINT`, `UInt64` to `DECIMAL(20,0)`), naive datetimes become `TIMESTAMP_NTZ` and
 * zoned ones `TIMESTAMP` (an instant).
 *
 * @param dtype the polars dtype.
 * @returns the Spark type, as Spark's DDL spells it.
 * @throws {UnsupportedDtype} for `Time`, `Duration`, `Object` and other dtypes without a match.
 */
export function sparkType(dtype: pl.DataType): string {
  const inner = (dtype as unknown as { inner: unknown[] | null }).inner;
  switch (dtype.variant) {
    case "Int8":
      return "TINYINT";
    case "Int16":
    case "UInt8":
      return "SMALLINT";
    case "Int32":
    case "UInt16":
      return "INT";
    case "Int64":
    case "UInt32":
      return "BIGINT";
    case "UInt64":
      return "DECIMAL(20,0)";
    case "Float32":
      return "FLOAT";
    case "Float64":
      return "DOUBLE";
    case "Bool":
      return "BOOLEAN";
    case "Utf8":
    case "String":
    case "Categorical":
      return "STRING";
    case "Date":
      return "DATE";
    case "Datetime":
      return inner?.[1] ? "TIMESTAMP" : "TIMESTAMP_NTZ";
    case "Decimal": {
      const [precision, scale] = (inner ?? []) as (number | null)[];
      return `DECIMAL(${precision ?? 38},${scale ?? 0})`;
    }
    case "Null":
      return "VOID";
    case "List":
    case "FixedSizeList":
      return `ARRAY<${sparkType(inner![0] as pl.DataType)}>`;
    case "Struct": {
      const fields = inner as { name: string; dtype: pl.DataType }[];
      return `STRUCT<${fields.map((f) => `${ident(f.name)}: ${sparkType(f.dtype)}`).join(", ")}>`;
    }
    default:
      throw new UnsupportedDtype(dtypeName(dtype));
  }
}

/**
 * How a job names an Arrow type for the runner: an alias pyarrow knows (`uint32`, `string`), or a
 * list, struct, timestamp or decimal made of them.
 */
export type ArrowSpec =
  | string
  | { readonly list: ArrowSpec }
  | { readonly struct: readonly (readonly [string, ArrowSpec])[] }
  | { readonly timestamp: string; readonly tz?: string }
  | { readonly decimal: readonly [number, number] };

/**
 * The Arrow type a bucket's file holds for a polars dtype: what the runner casts Spark's output
 * to, since Spark writes unsigned integers as wider signed ones and datetimes in microseconds.
 *
 * @param dtype the polars dtype, one that {@linkcode sparkType} maps.
 * @returns its Arrow type, as the runner reads it.
 */
export function arrowType(dtype: pl.DataType): ArrowSpec {
  const inner = (dtype as unknown as { inner: unknown[] | null }).inner;
  switch (dtype.variant) {
    case "Float32":
      return "float";
    case "Float64":
      return "double";
    case "Utf8":
    case "String":
    case "Categorical":
      return "string";
    case "Date":
      return "date32";
    case "Datetime": {
      const [unit, tz] = (inner ?? []) as (string | null)[];
      return { timestamp: unit ?? "us", ...(tz ? { tz } : {}) };
    }
    case "Decimal": {
      const [precision, scale] = (inner ?? []) as (number | null)[];
      return { decimal: [precision ?? 38, scale ?? 0] };
    }
    case "List":
    case "FixedSizeList":
      return { list: arrowType(inner![0] as pl.DataType) };
    case "Struct": {
      const fields = inner as { name: string; dtype: pl.DataType }[];
      return { struct: fields.map((f) => [f.name, arrowType(f.dtype)] as const) };
    }
    default:
      return dtype.variant.toLowerCase();
  }
}

/** The kinds of dtype the compiler treats alike. */
export type DtypeFamily =
  | "int"
  | "uint"
  | "float"
  | "bool"
  | "string"
  | "date"
  | "datetime"
  | "null"
  | "other";

/**
 * The family of a dtype: signed or unsigned integer, float, bool, string, date, datetime, null.
 *
 * @param dtype the polars dtype.
 * @returns its family.
 */
export function family(dtype: pl.DataType): DtypeFamily {
  switch (dtype.variant) {
    case "Int8":
    case "Int16":
    case "Int32":
    case "Int64":
      return "int";
    case "UInt8":
    case "UInt16":
    case "UInt32":
    case "UInt64":
      return "uint";
    case "Float32":
    case "Float64":
      return "float";
    case "Bool":
      return "bool";
    case "Utf8":
    case "String":
      return "string";
    case "Date":
      return "date";
    case "Datetime":
      return "datetime";
    case "Null":
      return "null";
    default:
      return "other";
  }
}

/**
 * Whether a dtype is an integer, signed or not.
 *
 * @param dtype the polars dtype.
 * @returns `true` for `Int8` to `UInt64`.
 */
export function isInteger(dtype: pl.DataType): boolean {
  const f = family(dtype);
  return f === "int" || f === "uint";
}

/**
 * A Spark SQL identifier, quoted with backticks.
 *
 * @param name the column, view or field name.
 * @returns the quoted identifier.
 */
export function ident(name: string): string {
  return "`" + name.replaceAll("`", "``") + "`";
}

/**
 * A Spark SQL string literal. Spark reads backslash escapes in string literals, so backslashes
 * and quotes are escaped, and control characters are written as `\uXXXX`.
 *
 * @param text the string.
 * @returns the literal, single-quoted.
 */
export function stringLiteral(text: string): string {
  let out = "'";
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    if (ch === "\\") out += "\\\\";
    else if (ch === "'") out += "\\'";
    else if (code < 0x20 || code === 0x7f) out += `\\u${code.toString(16).padStart(4, "0")}`;
    else out += ch;
  }
  return out + "'";
}

/**
 * A Spark SQL literal of a float, keeping NaN and the infinities.
 *
 * @param value the number.
 * @param type `DOUBLE` or `FLOAT`.
 * @returns the literal.
 */
export function floatLiteral(value: number, type: "DOUBLE" | "FLOAT" = "DOUBLE"): string {
  if (Number.isNaN(value)) return `CAST('NaN' AS ${type})`;
  if (value === Infinity) return `CAST('Infinity' AS ${type})`;
  if (value === -Infinity) return `CAST('-Infinity' AS ${type})`;
  const text = Object.is(value, -0) ? "-0.0" : String(value);
  const literal = `${text.replace(/^-/, "")}D`;
  const signed = text.startsWith("-") ? `(-${literal})` : literal;
  return type === "DOUBLE" ? signed : `CAST(${signed} AS FLOAT)`;
}

/**
 * A `TIMESTAMP_NTZ` literal for a count of microseconds since the epoch, read as a wall-clock
 * time (no time zone).
 *
 * @param micros microseconds since 1970-01-01 00:00:00.
 * @returns the literal.
 */
export function timestampNtzLiteral(micros: bigint): string {
  const millis = micros / 1000n - (micros % 1000n < 0n ? 1n : 0n);
  const rest = micros - millis * 1000n;
  const date = new Date(Number(millis));
  const iso = date.toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ
  const fraction = iso.slice(20, 23) + String(rest).padStart(3, "0");
  return `TIMESTAMP_NTZ '${iso.slice(0, 10)} ${iso.slice(11, 19)}.${fraction}'`;
}
