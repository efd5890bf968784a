/**
 * Column data types. Glacier uses polars' own dtypes: `t.int64` is `pl.Int64`.
 *
 * @module
 */
import pl from "../polars.ts";

/** A polars data type, as nodejs-polars declares it. */
export type DataType = pl.DataType;

/** A polars `List` dtype that also remembers, statically, the dtype of its items. */
export type ListOf<I extends pl.DataType> = pl.List & { readonly "~items"?: I };

/** A polars `Struct` dtype that also remembers, statically, its fields. */
export type StructOf<F extends Record<string, pl.DataType>> = pl.Struct & {
  readonly "~fields"?: F;
};

/** The time unit of a `Datetime` dtype. */
export type TimeUnit = "ms" | "us" | "ns";

/** A polars `Datetime` dtype that also remembers, statically, its unit and time zone. */
export type DatetimeOf<U extends TimeUnit, Z extends string | undefined = undefined> =
  & pl.Datetime
  & { readonly "~unit"?: U; readonly "~zone"?: Z };

/** The dtypes a schema column can have, by short name. */
export interface Dtypes {
  /** Signed 8-bit integer (`pl.Int8`). */
  readonly int8: pl.Int8;
  /** Signed 16-bit integer (`pl.Int16`). */
  readonly int16: pl.Int16;
  /** Signed 32-bit integer (`pl.Int32`). */
  readonly int32: pl.Int32;
  /** Signed 64-bit integer (`pl.Int64`). */
  readonly int64: pl.Int64;
  /** Unsigned 8-bit integer (`pl.UInt8`). */
  readonly uint8: pl.UInt8;
  /** Unsigned 16-bit integer (`pl.UInt16`). */
  readonly uint16: pl.UInt16;
  /** Unsigned 32-bit integer (`pl.UInt32`). */
  readonly uint32: pl.UInt32;
  /** Unsigned 64-bit integer (`pl.UInt64`). */
  readonly uint64: pl.UInt64;
  /** 32-bit float (`pl.Float32`). */
  readonly float32: pl.Float32;
  /** 64-bit float (`pl.Float64`); JS number literals become this dtype. */
  readonly float64: pl.Float64;
  /** Boolean (`pl.Bool`). */
  readonly bool: pl.Bool;
  /** UTF-8 string (`pl.String`). */
  readonly string: pl.String;
  /** Calendar date (`pl.Date`). */
  readonly date: pl.Date;
  /** Timestamp in milliseconds without time zone (`pl.Datetime("ms")`), what JS `Date`s become. */
  readonly datetime: DatetimeOf<"ms">;
  /**
   * A timestamp with an explicit unit and optional time zone.
   *
   * @param unit `"ms"`, `"us"` or `"ns"`.
   * @param timeZone an IANA zone such as `"UTC"`, or none.
   * @returns the polars `Datetime` dtype.
   */
  datetimeOf<const U extends TimeUnit, const Z extends string | undefined = undefined>(
    unit: U,
    timeZone?: Z,
  ): DatetimeOf<U, Z>;
  /**
   * A list whose items all have the dtype `inner`.
   *
   * @param inner the dtype of the items.
   * @returns the polars `List` dtype.
   */
  list<const I extends pl.DataType>(inner: I): ListOf<I>;
  /**
   * A struct with named fields.
   *
   * @param fields the fields and their dtypes.
   * @returns the polars `Struct` dtype.
   */
  struct<const F extends Record<string, pl.DataType>>(fields: F): StructOf<F>;
}

/**
 * The column dtypes, as polars' own dtype values.
 *
 * @example
 * ```ts
 * import { schema, t } from "@glacier/glacier";
 * const Event = schema({ id: t.int64, tags: t.list(t.string), at: t.datetime });
 * ```
 */
export const t: Dtypes = Object.freeze({
  int8: pl.Int8,
  int16: pl.Int16,
  int32: pl.Int32,
  int64: pl.Int64,
  uint8: pl.UInt8,
  uint16: pl.UInt16,
  uint32: pl.UInt32,
  uint64: pl.UInt64,
  float32: pl.Float32,
  float64: pl.Float64,
  bool: pl.Bool,
  string: pl.String,
  date: pl.Date,
  datetime: pl.Datetime("ms") as DatetimeOf<"ms">,
  datetimeOf<const U extends TimeUnit, const Z extends string | undefined = undefined>(
    unit: U,
    timeZone?: Z,
  ): DatetimeOf<U, Z> {
    return pl.Datetime(unit, timeZone) as DatetimeOf<U, Z>;
  },
  list<const I extends pl.DataType>(inner: I): ListOf<I> {
    return pl.List(inner) as ListOf<I>;
  },
  struct<const F extends Record<string, pl.DataType>>(fields: F): StructOf<F> {
    return pl.Struct(fields) as StructOf<F>;
  },
});

/** The readable name of a dtype at the type level, the same text as {@link dtypeName}. */
export type DtypeName<D> = D extends { readonly "~items"?: infer I }
  ? [I] extends [pl.DataType] ? unknown extends I ? "List" : `List(${DtypeName<I>})` : "List"
  : D extends { readonly "~unit"?: infer U extends TimeUnit; readonly "~zone"?: infer Z }
    ? [Z] extends [string] ? `Datetime(${U}, ${Z})` : `Datetime(${U})`
  : D extends { readonly variant: "Utf8" } ? "String"
  : D extends { readonly variant: infer V extends string } ? V
  : "unknown";

/**
 * The readable name of a dtype: `Int64`, `List(String)`, `Datetime(ms)`, `Struct(a: Int64)`.
 *
 * @param dtype a polars dtype.
 * @returns its name as Glacier's messages print it.
 */
export function dtypeName(dtype: pl.DataType): string {
  const inner = (dtype as unknown as { inner: unknown[] | null }).inner;
  switch (dtype.variant) {
    case "Utf8":
      return "String";
    case "List":
    case "FixedSizeList":
      return `${dtype.variant}(${dtypeName(inner![0] as pl.DataType)})`;
    case "Datetime":
      return inner![1] ? `Datetime(${inner![0]}, ${inner![1]})` : `Datetime(${inner![0]})`;
    case "Struct": {
      const fields = (inner as { name: string; dtype: pl.DataType }[]).map((f) =>
        `${f.name}: ${dtypeName(f.dtype)}`
      );
      return `Struct(${fields.join(", ")})`;
    }
    default:
      return dtype.variant;
  }
}

/**
 * Whether two dtypes are the same, including list items, struct fields and time units.
 *
 * @param a one dtype.
 * @param b the other.
 * @returns `true` when polars would treat them as the same dtype.
 */
export function sameDtype(a: pl.DataType, b: pl.DataType): boolean {
  return dtypeName(a) === dtypeName(b);
}
