/**
 * Quality checks as data: what `checks: (c) => [...]` on `provider.bucket` declares. Each check
 * is a frozen record naming the bucket it belongs to; the in-process executor and the Lambda
 * runtime evaluate them with polars (`checks_audit.ts`), the Spark backend compiles them to SQL.
 *
 * Column names are checked twice with the same words: by `deno check` (the parameter types of
 * {@linkcode CheckBuilder}) and when the bucket is declared (the builder throws a
 * {@linkcode WiringError}).
 *
 * @module
 */
import { createHash } from "node:crypto";
import type pl from "../polars.ts";
import { type DtypeName, dtypeName } from "../schema/dtypes.ts";
import { messages } from "../schema/messages.ts";
import { emptyFrame, type Schema } from "../schema/schema.ts";
import { firstLine, WiringError } from "./errors.ts";

/** `error` fails the run and publishes nothing when the check fails; `warn` publishes and reports. */
export type Severity = "error" | "warn";

/** The last argument of every check. */
export interface SeverityOption {
  /** `error` (default) fails the run when the check fails; `warn` publishes and reports. */
  readonly severity?: Severity;
}

/** A bound of `between`: a number, a string, or a `Date` for date and datetime columns. */
export type CheckBound = number | string | Date;

/** A value of `acceptedValues`. */
export type AcceptedValue = string | number | boolean;

/** What every check has. */
export interface CheckBase {
  /** The name results and messages use: `not_null(model)`, or the name given to `expr`. */
  readonly name: string;
  /** `error` or `warn`. */
  readonly severity: Severity;
  /** The bucket it checks, as `bucket/path`. */
  readonly bucket: string;
}

/** Every row has a value in `column`. */
export interface NotNullCheck extends CheckBase {
  /** The kind. */
  readonly kind: "not_null";
  /** The column. */
  readonly column: string;
}

/** No two rows have the same values in `columns` (nulls count as equal values). */
export interface UniqueCheck extends CheckBase {
  /** The kind. */
  readonly kind: "unique";
  /** The key's columns. */
  readonly columns: readonly string[];
}

/** Every non-null value of `column` is one of `values`. */
export interface AcceptedValuesCheck extends CheckBase {
  /** The kind. */
  readonly kind: "accepted_values";
  /** The column. */
  readonly column: string;
  /** The values allowed. */
  readonly values: readonly AcceptedValue[];
}

/** Every non-null value of `column` lies within the bounds, both inclusive; `null` is open. */
export interface BetweenCheck extends CheckBase {
  /** The kind. */
  readonly kind: "between";
  /** The column. */
  readonly column: string;
  /** The lowest value allowed, or `null` for none. */
  readonly min: CheckBound | null;
  /** The highest value allowed, or `null` for none. */
  readonly max: CheckBound | null;
}

/** The number of rows lies within the bounds, both inclusive. */
export interface RowCountCheck extends CheckBase {
  /** The kind. */
  readonly kind: "row_count";
  /** The fewest rows allowed. */
  readonly min?: number;
  /** The most rows allowed. */
  readonly max?: number;
}

/** A boolean polars expression holds for every row (a row where it is null passes, as in SQL). */
export interface ExprCheck extends CheckBase {
  /** The kind. */
  readonly kind: "expr";
  /** The expression, one boolean per row. */
  readonly predicate: pl.Expr;
}

/** One quality check of a bucket. */
export type QualityCheck =
  | NotNullCheck
  | UniqueCheck
  | AcceptedValuesCheck
  | BetweenCheck
  | RowCountCheck
  | ExprCheck;

/**
 * The JS values each kind of column takes in `acceptedValues` (`values`) and `between` (`bounds`),
 * by the dtype's `variant`; a kind missing from a table cannot be read by that check.
 *
 * @internal
 */
export interface CheckValues {
  readonly values: {
    readonly Int8: number;
    readonly Int16: number;
    readonly Int32: number;
    readonly Int64: number;
    readonly UInt8: number;
    readonly UInt16: number;
    readonly UInt32: number;
    readonly UInt64: number;
    readonly Float32: number;
    readonly Float64: number;
    readonly String: string;
    readonly Utf8: string;
    readonly Bool: boolean;
  };
  readonly bounds: Omit<CheckValues["values"], "Bool"> & {
    readonly Date: Date;
    readonly Datetime: Date;
  };
}

/**
 * The JS values check `K` takes for a column of dtype `D`, or `never` when it cannot read that
 * dtype (for `bounds`, a datetime with a time zone too).
 *
 * @internal
 */
export type ValueOf<D, K extends keyof CheckValues> = D extends
  { readonly variant: infer V extends keyof CheckValues[K] }
  ? V extends "Datetime" ? D extends { readonly "~zone"?: infer Z } ? [Z] extends [string] ? never
      : Date
    : Date
  : CheckValues[K][V]
  : never;

/**
 * What a check's column parameter accepts: the column when the bucket has it and the check can
 * read its dtype (`V` is not `never`), else the message saying why not.
 *
 * @internal
 */
export type ColumnFor<S, L extends string, C extends string, K extends string, V> = C extends
  keyof S ? [V] extends [never] ? NoInfer<
      `column '${C}' of bucket '${L}' is ${DtypeName<S[C]>}, which check '${K}' cannot compare`
    >
  : C
  : NoInfer<`bucket '${L}' lacks column '${C}' that check '${K}' reads`>;

/**
 * The values of a column's checks, or anything when the column itself is the mistake.
 *
 * @internal
 */
export type ValuesFor<V> = [V] extends [never] ? unknown : V;

/**
 * What `unique` accepts: one column or several, when the bucket has them all.
 *
 * @internal
 */
export type ColumnsFor<S, L extends string, C extends string> = [Exclude<C, keyof S>] extends
  [never] ? C | readonly C[]
  : NoInfer<`bucket '${L}' lacks column '${Exclude<C, keyof S>}' that check 'unique' reads`>;

/**
 * The `c` of `checks: (c) => [...]`: makes the checks of one bucket. Column names are checked
 * against the bucket's schema by `deno check` and again when the bucket is declared.
 *
 * @typeParam S the bucket's schema.
 * @typeParam L its location `bucket/path`, for messages.
 */
export interface CheckBuilder<S extends Schema, L extends string> {
  /**
   * Every row has a value in `column`. Named `not_null(column)`.
   *
   * @param column a column of the bucket.
   * @param options the severity (default `error`).
   * @returns the check.
   */
  notNull<const C extends string>(
    column: ColumnFor<S, L, C, "not_null", unknown>,
    options?: SeverityOption,
  ): QualityCheck;
  /**
   * No two rows have the same values in the columns (nulls count as equal values); every row of
   * a repeated key fails. Named `unique(a, b)`.
   *
   * @param columns one column, or the columns of the key.
   * @param options the severity (default `error`).
   * @returns the check.
   */
  unique<const C extends string>(
    columns: ColumnsFor<S, L, C>,
    options?: SeverityOption,
  ): QualityCheck;
  /**
   * Every non-null value of a string, number or boolean column is one of `values`. Named
   * `accepted_values(column)`.
   *
   * @param column a column of the bucket.
   * @param values the values allowed.
   * @param options the severity (default `error`).
   * @returns the check.
   */
  acceptedValues<const C extends string, V = ValueOf<S[C & keyof S], "values">>(
    column: ColumnFor<S, L, C, "accepted_values", V>,
    values: readonly NoInfer<ValuesFor<V>>[],
    options?: SeverityOption,
  ): QualityCheck;
  /**
   * Every non-null value of a number, string, date or datetime column lies within the bounds,
   * both inclusive; `null` leaves a side open. Named `between(column, min, max)`.
   *
   * @param column a column of the bucket.
   * @param min the lowest value allowed, or `null`.
   * @param max the highest value allowed, or `null`.
   * @param options the severity (default `error`).
   * @returns the check.
   */
  between<const C extends string, V = ValueOf<S[C & keyof S], "bounds">>(
    column: ColumnFor<S, L, C, "between", V>,
    min: NoInfer<ValuesFor<V>> | null,
    max: NoInfer<ValuesFor<V>> | null,
    options?: SeverityOption,
  ): QualityCheck;
  /**
   * The number of rows lies within the bounds, both inclusive. Named `row_count(min 1, max 9)`.
   *
   * @param bounds `min`, `max` or both.
   * @param options the severity (default `error`).
   * @returns the check.
   */
  rowCount(
    bounds: { readonly min?: number; readonly max?: number },
    options?: SeverityOption,
  ): QualityCheck;
  /**
   * A boolean polars expression holds for every row; a row where it is null passes, as in SQL.
   *
   * @param name the check's name.
   * @param predicate one boolean per row, such as `pl.col("ts").lt(pl.lit(new Date()))`.
   * @param options the severity (default `error`).
   * @returns the check.
   */
  expr(name: string, predicate: pl.Expr, options?: SeverityOption): QualityCheck;
}

/** The checks of one bucket, as `provider.bucket({ checks })` takes them. */
export type ChecksOf<S extends Schema, L extends string> = (
  c: CheckBuilder<S, L>,
) => readonly QualityCheck[];

/** A check without what every check has: what each builder method defines. */
type CheckDefinition = QualityCheck extends infer Q
  ? Q extends QualityCheck ? Omit<Q, keyof CheckBase> : never
  : never;

/** Kinds of column `between` compares. */
const BETWEEN_KINDS = new Set<string>([
  "Int8",
  "Int16",
  "Int32",
  "Int64",
  "UInt8",
  "UInt16",
  "UInt32",
  "UInt64",
  "Float32",
  "Float64",
  "String",
  "Utf8",
  "Date",
  "Datetime",
]);

/** Kinds of column `acceptedValues` reads. */
const VALUE_KINDS = new Set<string>([...BETWEEN_KINDS, "Bool"].filter((k) => !/^Date/.test(k)));

/** The implementation behind {@linkcode CheckBuilder}: validates as it builds. */
class CheckBuilderImpl implements CheckBuilder<Schema, string> {
  readonly #bucket: string;
  readonly #schema: Schema;

  constructor(bucket: string, schema: Schema) {
    this.#bucket = bucket;
    this.#schema = schema;
  }

  notNull(column: string, options?: SeverityOption): QualityCheck {
    this.#column(column, "not_null");
    return this.#make({ kind: "not_null", column }, `not_null(${column})`, options);
  }

  unique(columns: string | readonly string[], options?: SeverityOption): QualityCheck {
    const list = typeof columns === "string" ? [columns] : [...(columns ?? [])];
    if (list.length === 0) {
      throw new WiringError(`check 'unique' of bucket '${this.#bucket}' needs at least one column`);
    }
    for (const column of list) this.#column(column, "unique");
    const check = { kind: "unique" as const, columns: Object.freeze(list) };
    return this.#make(check, `unique(${list.join(", ")})`, options);
  }

  acceptedValues(
    column: string,
    values: readonly unknown[],
    options?: SeverityOption,
  ): QualityCheck {
    const dtype = this.#column(column, "accepted_values", VALUE_KINDS);
    const want = dtype.variant === "Bool"
      ? "boolean"
      : dtype.variant === "String" || dtype.variant === "Utf8"
      ? "string"
      : "number";
    if (!Array.isArray(values) || values.some((v) => typeof v !== want)) {
      throw new WiringError(
        `check 'accepted_values(${column})' of bucket '${this.#bucket}' needs an array of ` +
          `${want}s for column '${column}' (${dtypeName(dtype)})`,
      );
    }
    const check = {
      kind: "accepted_values" as const,
      column,
      values: Object.freeze([...values]) as readonly AcceptedValue[],
    };
    return this.#make(check, `accepted_values(${column})`, options);
  }

  between(
    column: string,
    min: unknown,
    max: unknown,
    options?: SeverityOption,
  ): QualityCheck {
    const dtype = this.#column(column, "between", BETWEEN_KINDS);
    if (dtype.variant === "Datetime" && zoneOf(dtype)) {
      throw new WiringError(
        messages.checkDtype(column, this.#bucket, dtypeName(dtype), "between"),
      );
    }
    const want = /^(Date|Datetime)$/.test(dtype.variant)
      ? "Date"
      : dtype.variant === "String" || dtype.variant === "Utf8"
      ? "string"
      : "number";
    const fits = (b: unknown) =>
      b === null ||
      (want === "Date" ? b instanceof Date && !isNaN(b.getTime()) : typeof b === want);
    const name = `between(${column}, ${boundText(min, dtype)}, ${boundText(max, dtype)})`;
    if (!fits(min) || !fits(max) || (min === null && max === null)) {
      throw new WiringError(
        `check '${name}' of bucket '${this.#bucket}' needs bounds of type ${want} or null ` +
          `(not both null) for column '${column}' (${dtypeName(dtype)})`,
      );
    }
    const check = {
      kind: "between" as const,
      column,
      min: min as CheckBound | null,
      max: max as CheckBound | null,
    };
    return this.#make(check, name, options);
  }

  rowCount(
    bounds: { readonly min?: number; readonly max?: number },
    options?: SeverityOption,
  ): QualityCheck {
    const { min, max } = bounds ?? {};
    const parts = [
      ...(min === undefined ? [] : [`min ${min}`]),
      ...(max === undefined ? [] : [`max ${max}`]),
    ];
    const name = `row_count(${parts.join(", ")})`;
    const count = (n: unknown) => n === undefined || (Number.isSafeInteger(n) && Number(n) >= 0);
    if (parts.length === 0 || !count(min) || !count(max)) {
      throw new WiringError(
        `check '${name}' of bucket '${this.#bucket}' needs { min, max } or one of them, ` +
          "as whole numbers of rows",
      );
    }
    const check = {
      kind: "row_count" as const,
      ...(min === undefined ? {} : { min }),
      ...(max === undefined ? {} : { max }),
    };
    return this.#make(check, name, options);
  }

  expr(name: string, predicate: pl.Expr, options?: SeverityOption): QualityCheck {
    if (typeof name !== "string" || name.length === 0) {
      throw new WiringError(`an expr check of bucket '${this.#bucket}' needs a name`);
    }
    if (!(predicate instanceof Object) || typeof (predicate as pl.Expr).alias !== "function") {
      throw new WiringError(
        `check '${name}' of bucket '${this.#bucket}' needs a polars expression, such as ` +
          'pl.col("x").gt(0)',
      );
    }
    let dtype: pl.DataType;
    try {
      // One row of nulls: some polars operations (rolling windows) fail on no rows at all.
      dtype = emptyFrame(this.#schema).clear(1).select(predicate.alias("check")).dtypes[0];
    } catch (error) {
      throw new WiringError(
        `check '${name}' of bucket '${this.#bucket}' cannot be evaluated on its columns: ${
          firstLine(error)
        }`,
      );
    }
    if (dtype.variant !== "Bool") {
      throw new WiringError(
        `check '${name}' of bucket '${this.#bucket}' must give one boolean per row; ` +
          `its expression gives ${dtypeName(dtype)}`,
      );
    }
    return this.#make({ kind: "expr", predicate }, name, options);
  }

  #column(column: string, check: string, kinds?: Set<string>): pl.DataType {
    const dtype = typeof column === "string" && Object.hasOwn(this.#schema, column)
      ? this.#schema[column]
      : undefined;
    if (dtype === undefined) {
      throw new WiringError(messages.checkMissingColumn(this.#bucket, String(column), check));
    }
    if (kinds && !kinds.has(dtype.variant)) {
      throw new WiringError(messages.checkDtype(column, this.#bucket, dtypeName(dtype), check));
    }
    return dtype;
  }

  #make(check: CheckDefinition, name: string, options?: SeverityOption): QualityCheck {
    const severity = options?.severity ?? "error";
    if (severity !== "error" && severity !== "warn") {
      throw new WiringError(
        `check '${name}' of bucket '${this.#bucket}' has severity '${severity}'; ` +
          "use 'error' or 'warn'",
      );
    }
    return Object.freeze({ ...check, name, severity, bucket: this.#bucket }) as QualityCheck;
  }
}

function zoneOf(dtype: pl.DataType): string | undefined {
  return (dtype as unknown as { inner?: unknown[] }).inner?.[1] as string | undefined;
}

/** A bound as a check's default name shows it: `-60`, `2026-01-31`, `'a'`, `null`. */
function boundText(bound: unknown, dtype: pl.DataType): string {
  if (bound instanceof Date) {
    const iso = isNaN(bound.getTime()) ? "Invalid Date" : bound.toISOString();
    return dtype.variant === "Date" ? iso.slice(0, 10) : iso;
  }
  if (typeof bound === "string") return `'${bound}'`;
  return String(bound);
}

/**
 * Runs a bucket's `checks` callback and validates what it returns: what `provider.bucket` calls.
 *
 * @param bucket the bucket's location, `bucket/path`.
 * @param schema its schema.
 * @param define the callback.
 * @returns the checks, frozen.
 * @throws {WiringError} naming the bucket, the check and the column, for a column the bucket
 *   lacks, a dtype the check cannot compare, or two checks of the same name.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { schema, t } from "@glacier/glacier";
 * import { declareChecks } from "./checks.ts";
 * const checks = declareChecks("lab/raw.parquet", schema({ celsius: t.float64 }), (c) => [
 *   c.notNull("celsius"),
 *   c.between("celsius", -60, 60, { severity: "warn" }),
 * ]);
 * assert.deepEqual(checks.map((c) => c.name), ["not_null(celsius)", "between(celsius, -60, 60)"]);
 * ```
 */
export function declareChecks<S extends Schema, L extends string>(
  bucket: L,
  schema: S,
  define: ChecksOf<S, L>,
): readonly QualityCheck[] {
  if (typeof define !== "function") {
    throw new WiringError(
      `bucket '${bucket}' checks must be a function, such as (c) => [c.notNull("id")]`,
    );
  }
  const checks = define(new CheckBuilderImpl(bucket, schema) as unknown as CheckBuilder<S, L>);
  if (!Array.isArray(checks)) {
    throw new WiringError(`bucket '${bucket}' checks must return an array of checks`);
  }
  const names = new Set<string>();
  for (const check of checks as readonly QualityCheck[]) {
    if (check === null || typeof check !== "object" || check.bucket !== bucket) {
      throw new WiringError(
        `bucket '${bucket}' checks must be made with the c of its own checks callback`,
      );
    }
    if (names.has(check.name)) {
      throw new WiringError(
        `bucket '${bucket}' has two checks named '${check.name}'; give one of them another name`,
      );
    }
    names.add(check.name);
  }
  return Object.freeze([...checks]);
}

/** A check's identity, for caching its results per bucket version. */
export interface CheckIdentity {
  /** The check's name, as results show it. */
  readonly name: string;
  /**
   * A hash of what decides the check's outcome: its kind, columns, values, bounds, or its polars
   * expression. The severity is not part of it: it changes what a failure does, not the result.
   */
  readonly hash: string;
}

/**
 * A check's identity: two checks with the same identity give the same result on the same data,
 * so a result cached per bucket version and identity can be reused (with the check's current
 * severity, which the identity leaves out).
 *
 * @param check the check.
 * @returns its name and definition hash.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { schema, t } from "@glacier/glacier";
 * import { checkIdentity, declareChecks } from "./checks.ts";
 * const [a, b] = declareChecks("lab/x.parquet", schema({ x: t.int64 }), (c) => [
 *   c.between("x", 0, 10),
 *   c.between("x", 0, 11),
 * ]);
 * assert.notEqual(checkIdentity(a).hash, checkIdentity(b).hash);
 * ```
 */
export function checkIdentity(check: QualityCheck): CheckIdentity {
  const definition = (() => {
    switch (check.kind) {
      case "not_null":
        return [check.kind, check.column];
      case "unique":
        return [check.kind, check.columns];
      case "accepted_values":
        return [check.kind, check.column, check.values];
      case "between":
        return [check.kind, check.column, boundKey(check.min), boundKey(check.max)];
      case "row_count":
        return [check.kind, check.min ?? null, check.max ?? null];
      case "expr":
        return [check.kind, check.name, String(check.predicate.serialize("json"))];
    }
  })();
  const hash = createHash("sha256").update(JSON.stringify(definition)).digest("hex").slice(0, 16);
  return { name: check.name, hash };
}

function boundKey(bound: CheckBound | null): unknown {
  return bound instanceof Date ? { date: bound.toISOString() } : bound;
}
