/**
 * Compiling polars expressions (their serialized JSON) to Spark SQL expressions. Every result
 * carries the dtype polars gives it (asked of the {@linkcode PlanOracle}), and operands are cast
 * to the dtype polars computes in, so Spark never applies its own coercion rules.
 *
 * @module
 */
import type pl from "../../polars.ts";
import { UnsupportedError } from "../../core/errors.ts";
import { dtypeName, sameDtype } from "../../schema/dtypes.ts";
import { OPAQUE_MARKER, type PlanJson, unsupportedMessage } from "./_capture.ts";
import type { PlanOracle } from "../../core/plan_oracle.ts";
import { variant } from "../../core/task_plan.ts";
import { sparkPattern } from "./_csv.ts";
import { QUANTILE_METHODS, quantileSql, rollingFrame, rowsBetween } from "./_rolling.ts";
import { strptimeSql } from "./_strptime.ts";
import { truncateSql, zonedTruncateSql } from "./_truncate.ts";
import {
  family,
  floatLiteral,
  ident,
  isInteger,
  sparkType,
  stringLiteral,
  timestampNtzLiteral,
  UnsupportedDtype,
} from "./_types.ts";

/** How a value varies: per row, one per group (an aggregate), or a constant. */
export type ExprKind = "row" | "agg" | "lit";

/** A compiled expression. */
export interface SqlExpr {
  /** The Spark SQL text. */
  readonly sql: string;
  /** The dtype polars gives the expression. */
  readonly dtype: pl.DataType;
  /** Whether it varies per row, per group, or not at all. */
  readonly kind: ExprKind;
  /** Whether the SQL holds a window function (which `WHERE` and `GROUP BY` cannot hold). */
  readonly window: boolean;
}

/** One key of a relation's row order: a hidden column, its direction and null placement. */
export interface OrderItem {
  /** The hidden column. */
  readonly col: string;
  /** Descending. */
  readonly desc: boolean;
  /** Nulls after the values. */
  readonly nullsLast: boolean;
  /** The column's Spark type. */
  readonly type: string;
}

/**
 * An `ORDER BY` list.
 *
 * @param items the order.
 * @param reverse whether to reverse every key (for the last rows, or `last`).
 * @param qualify a prefix for the columns, such as `l.`.
 * @returns the list, without the keywords.
 */
export function orderList(items: readonly OrderItem[], reverse = false, qualify = ""): string {
  return items.map((item) => {
    const desc = item.desc !== reverse;
    const nullsLast = item.nullsLast !== reverse;
    return `${qualify}${ident(item.col)} ${desc ? "DESC" : "ASC"} NULLS ${
      nullsLast ? "LAST" : "FIRST"
    }`;
  }).join(", ");
}

/** What `first` and `last` in a `group_by().agg` compile to; the group-by supplies it. */
export type FirstLast = (which: "first" | "last", value: SqlExpr) => string;

/** Where an expression is compiled. */
export interface ExprScope {
  /** The task, for messages. */
  readonly task: string;
  /** The type authority. */
  readonly oracle: PlanOracle;
  /** The plan node whose output the expression reads. */
  readonly input: PlanJson;
  /** The columns it may read, with their dtypes. */
  readonly columns: ReadonlyMap<string, pl.DataType>;
  /** The SQL that reads a column. */
  readonly ref: (name: string) => string;
  /** `row`: one value per row (aggregates become windows); `agg`: one value per group. */
  readonly mode: "row" | "agg";
  /** The input's row order, for `first` and `last` as windows. */
  readonly order: readonly OrderItem[];
  /** `first`/`last` in `agg` mode. */
  readonly firstLast?: FirstLast;
}

/**
 * Throws the error for an operation Glacier does not compile.
 *
 * @param scope the scope, for the task's name.
 * @param operation the polars operation.
 * @returns never.
 */
export function refuse(scope: { readonly task: string }, operation: string): never {
  throw new UnsupportedError(unsupportedMessage(scope.task, operation));
}

/** `CamelCase` to `snake_case`. */
export function snake(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toLowerCase();
}

const HORIZONTAL = new Set([
  "Boolean.AllHorizontal",
  "Boolean.AnyHorizontal",
  "StringExpr.ConcatHorizontal",
  "MaxHorizontal",
  "MinHorizontal",
  "SumHorizontal",
  "MeanHorizontal",
  "Coalesce",
  "AsStruct",
  "ListExpr.Concat",
]);

/** The dotted name of a function variant, e.g. `StringExpr.ConcatHorizontal`. */
function functionKey(fn: unknown): string {
  const [name, value] = variant(fn);
  if (typeof value === "string") return `${name}.${value}`;
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    const [inner] = variant(value);
    if (inner !== "?" && /^[A-Z]/.test(inner)) return `${name}.${inner}`;
  }
  return name;
}

/**
 * The name polars' Python API gives a function, for messages: `str.extract`, `rolling_mean`,
 * `cum_sum`, `fill_null(strategy=forward)`.
 *
 * @param fn the function's JSON.
 * @returns the name.
 */
export function functionName(fn: unknown): string {
  const [name, value] = variant(fn);
  const prefix: Record<string, string> = {
    StringExpr: "str.",
    ListExpr: "list.",
    TemporalExpr: "dt.",
    StructExpr: "struct.",
    ArrayExpr: "arr.",
    BinaryExpr: "bin.",
    Boolean: "",
    Range: "",
  };
  if (name === "RollingExpr" || name === "RollingExprBy") {
    const [inner] = variant((value as { function?: unknown })?.function);
    return `rolling_${snake(inner)}`;
  }
  if (name === "FillNullWithStrategy") {
    const [strategy] = variant(value);
    return `fill_null(strategy=${snake(strategy)})`;
  }
  if (name in prefix) {
    const [inner] = variant(value);
    return `${prefix[name]}${snake(inner)}`;
  }
  return snake(name);
}

/**
 * Expands the selectors (`pl.all()`, `pl.col([...])`, `exclude`, ...) of an expression into one
 * expression per column, as polars does; horizontal functions (`concat_str`, `all_horizontal`)
 * take the columns as inputs instead.
 *
 * @param expr the expression.
 * @param scope where it is read.
 * @returns the expanded expressions.
 */
export function expand(expr: unknown, scope: ExprScope): unknown[] {
  const selectors: string[] = [];
  const collect = (node: unknown): void => {
    if (node === null || typeof node !== "object") return;
    if (Array.isArray(node)) return node.forEach(collect);
    const [name, value] = variant(node);
    if (name === "Selector" || name === "Nth") {
      selectors.push(JSON.stringify(node));
      return;
    }
    // The inputs of a horizontal function expand in place (see `substitute`).
    if (
      name === "Function" && HORIZONTAL.has(functionKey((value as { function: unknown }).function))
    ) {
      return;
    }
    Object.values(node).forEach(collect);
  };
  collect(expr);
  const distinct = [...new Set(selectors)];
  if (distinct.length > 1) refuse(scope, "an expression with several multi-column selectors");
  const names = distinct.length === 1
    ? scope.oracle.exprFields(scope.input, JSON.parse(distinct[0])).map(([n]) => n)
    : [undefined];
  return names.map((column) => substitute(expr, column, scope));
}

/** Replaces the selector by one column and expands the inputs of horizontal functions. */
function substitute(node: unknown, column: string | undefined, scope: ExprScope): unknown {
  if (node === null || typeof node !== "object") return node;
  if (Array.isArray(node)) return node.map((n) => substitute(n, column, scope));
  const [name, value] = variant(node);
  if (name === "Selector" || name === "Nth") return { Column: column };
  if (name === "Function") {
    const fn = value as { input: unknown[]; function: unknown };
    if (HORIZONTAL.has(functionKey(fn.function))) {
      return { Function: { ...fn, input: fn.input.flatMap((n) => expand(n, scope)) } };
    }
  }
  return Object.fromEntries(
    Object.entries(node).map(([k, v]) => [k, substitute(v, column, scope)]),
  );
}

/** The kind of a combination of operands. */
function combine(...parts: SqlExpr[]): ExprKind {
  if (parts.some((p) => p.kind === "row")) return "row";
  if (parts.some((p) => p.kind === "agg")) return "agg";
  return "lit";
}

/** The Spark type of a dtype, refusing the task when there is none. */
function typeOf(scope: ExprScope, dtype: pl.DataType): string {
  try {
    return sparkType(dtype);
  } catch (error) {
    if (error instanceof UnsupportedDtype) refuse(scope, `a value of dtype ${error.dtype}`);
    throw error;
  }
}

/**
 * A value converted to another dtype where polars would convert it implicitly (supertypes):
 * numeric widening and the like, which cannot fail.
 */
function coerce(scope: ExprScope, value: SqlExpr, to: pl.DataType): string {
  if (sameDtype(value.dtype, to)) return value.sql;
  if (family(value.dtype) === "null") return `CAST(NULL AS ${typeOf(scope, to)})`;
  if (family(to) === "string" && family(value.dtype) === "float") {
    refuse(scope, `cast from ${dtypeName(value.dtype)} to String`);
  }
  return `CAST(${value.sql} AS ${typeOf(scope, to)})`;
}

/** Compiles expressions in one scope. */
export class ExprCompiler {
  /** @param scope where the expressions are read. */
  constructor(readonly scope: ExprScope) {}

  /**
   * Compiles an expression (already expanded).
   *
   * @param expr the expression's JSON.
   * @returns its SQL, dtype and kind.
   */
  compile(expr: unknown): SqlExpr {
    const [name, value] = variant(expr);
    switch (name) {
      case "Column":
        return this.#column(value as string);
      case "Alias":
        return this.compile((value as [unknown, string])[0]);
      case "KeepName":
        return this.compile(value);
      case "RenameAlias":
        return this.compile((value as { expr: unknown }).expr);
      case "Literal":
        return this.#literal(expr, value);
      case "BinaryExpr":
        return this.#binary(expr, value as { left: unknown; op: string; right: unknown });
      case "Cast":
        return this.#cast(value as { expr: unknown; options: string }, expr);
      case "Ternary":
        return this.#ternary(
          expr,
          value as { predicate: unknown; truthy: unknown; falsy: unknown },
        );
      case "Function":
        return this.#function(expr, value as { input: unknown[]; function: unknown });
      case "Agg":
        return this.#agg(expr, value);
      case "Len":
        return this.#aggregate(expr, "COUNT(1)", { row: "COUNT(1) OVER ()" });
      case "Over":
        return this.#over(
          expr,
          value as { function: unknown; partition_by: unknown[]; order_by: unknown },
        );
      case "Window":
        return refuse(this.scope, "over");
      case "Explode":
        return refuse(this.scope, "explode");
      case "Sort":
        return refuse(this.scope, "sort (of an expression)");
      case "SortBy":
        return refuse(this.scope, "sort_by");
      case "Gather":
        return refuse(this.scope, "gather");
      case "Slice":
        return refuse(this.scope, "head/tail/slice (of an expression)");
      case "Filter":
        return refuse(this.scope, "filter (of an expression outside an aggregation)");
      case "AnonymousFunction":
        return refuse(this.scope, "map_batches");
      case "Eval":
        return refuse(this.scope, "list.eval");
      case "Field":
        return refuse(this.scope, "struct.field");
      default:
        return refuse(this.scope, snake(name));
    }
  }

  #dtype(expr: unknown): pl.DataType {
    return this.scope.oracle.dtypeOf(this.scope.input, expr);
  }

  #column(name: string): SqlExpr {
    if (this.scope.mode === "agg") {
      refuse(
        this.scope,
        `implode (column '${name}' without an aggregation in group_by().agg, a list per group)`,
      );
    }
    const dtype = this.scope.columns.get(name);
    if (dtype === undefined) refuse(this.scope, `a column '${name}' the plan does not have`);
    typeOf(this.scope, dtype);
    return { sql: this.scope.ref(name), dtype, kind: "row", window: false };
  }

  /** A sub-compiler over the same rows in row mode (the inputs of an aggregation). */
  #rows(): ExprCompiler {
    return this.scope.mode === "row" ? this : new ExprCompiler({ ...this.scope, mode: "row" });
  }

  #literal(expr: unknown, value: unknown): SqlExpr {
    const dtype = this.#dtype(expr);
    const [kind, payload] = variant(value);
    const lit = (sql: string): SqlExpr => ({ sql, dtype, kind: "lit", window: false });
    if (kind === "Dyn") {
      const [, number] = variant(payload);
      return lit(this.#typedNumber(number, dtype));
    }
    if (kind !== "Scalar") refuse(this.scope, `lit(${snake(kind)})`);
    const [type, v] = variant(payload);
    switch (type) {
      case "Null":
        return lit(
          family(dtype) === "null" ? "NULL" : `CAST(NULL AS ${typeOf(this.scope, dtype)})`,
        );
      case "Boolean":
        return lit(v ? "TRUE" : "FALSE");
      case "String":
      case "StringOwned":
        return lit(stringLiteral(v as string));
      case "Float64":
      case "Float32":
      case "Int8":
      case "Int16":
      case "Int32":
      case "Int64":
      case "UInt8":
      case "UInt16":
      case "UInt32":
      case "UInt64":
        return lit(this.#typedNumber(v, dtype));
      case "Date":
        return lit(`DATE_FROM_UNIX_DATE(${v})`);
      case "Datetime": {
        const [raw, unit, zone] = v as [number | bigint, string, string | null];
        const micros = toMicros(BigInt(raw), unit);
        return lit(zone ? `TIMESTAMP_MICROS(${micros})` : timestampNtzLiteral(micros));
      }
      default:
        return refuse(this.scope, `lit (of dtype ${type})`);
    }
  }

  #typedNumber(value: unknown, dtype: pl.DataType): string {
    const type = typeOf(this.scope, dtype);
    if (family(dtype) === "float") return floatLiteral(Number(value), type as "DOUBLE" | "FLOAT");
    if (isInteger(dtype)) return `CAST(${String(value)} AS ${type})`;
    if (family(dtype) === "string") return stringLiteral(String(value));
    return `CAST(${String(value)} AS ${type})`;
  }

  #binary(expr: unknown, node: { left: unknown; op: string; right: unknown }): SqlExpr {
    const left = this.compile(node.left);
    const right = this.compile(node.right);
    const kind = combine(left, right);
    const window = left.window || right.window;
    const result = (sql: string, dtype: pl.DataType): SqlExpr => ({ sql, dtype, kind, window });
    const op = node.op;
    const comparisons: Record<string, string> = {
      Eq: "=",
      NotEq: "!=",
      Lt: "<",
      LtEq: "<=",
      Gt: ">",
      GtEq: ">=",
      EqValidity: "<=>",
    };
    if (op in comparisons || op === "NotEqValidity") {
      const common = this.#supertype(node.left, node.right);
      const l = coerce(this.scope, left, common);
      const r = coerce(this.scope, right, common);
      const dtype = this.#dtype(expr);
      return op === "NotEqValidity"
        ? result(`(NOT (${l} <=> ${r}))`, dtype)
        : result(`(${l} ${comparisons[op]} ${r})`, dtype);
    }
    const dtype = this.#dtype(expr);
    const f = family(dtype);
    if (op === "And" || op === "Or" || op === "LogicalAnd" || op === "LogicalOr" || op === "Xor") {
      const l = coerce(this.scope, left, dtype);
      const r = coerce(this.scope, right, dtype);
      if (f === "bool") {
        if (op === "Xor") return result(`((${l} AND NOT ${r}) OR (NOT ${l} AND ${r}))`, dtype);
        return result(`(${l} ${op.endsWith("And") ? "AND" : "OR"} ${r})`, dtype);
      }
      if (isInteger(dtype)) {
        const symbol = op === "Xor" ? "^" : op.endsWith("And") ? "&" : "|";
        return result(`(${l} ${symbol} ${r})`, dtype);
      }
      return refuse(this.scope, `${snake(op)} on ${dtypeName(dtype)}`);
    }
    if (f === "string" && op === "Plus") {
      return result(
        `concat(${coerce(this.scope, left, dtype)}, ${coerce(this.scope, right, dtype)})`,
        dtype,
      );
    }
    if (!(isInteger(dtype) || f === "float")) {
      refuse(this.scope, `${snake(op)} on ${dtypeName(left.dtype)} and ${dtypeName(right.dtype)}`);
    }
    // The operands in the dtype polars computes in: the result's, except that true division and
    // the float results of integer operands divide as floats.
    const l = coerce(this.scope, left, dtype);
    const r = coerce(this.scope, right, dtype);
    const type = typeOf(this.scope, dtype);
    switch (op) {
      case "Plus":
        return result(`(${l} + ${r})`, dtype);
      case "Minus":
        return result(`(${l} - ${r})`, dtype);
      case "Multiply":
        return result(`(${l} * ${r})`, dtype);
      case "TrueDivide":
      case "RustDivide":
      case "Divide":
        return result(
          f === "float" ? floatDivide(l, r, type) : floorDivide(l, r),
          dtype,
        );
      case "FloorDivide":
        return result(
          f === "float" ? floatFloor(floatDivide(l, r, type), type) : floorDivide(l, r),
          dtype,
        );
      case "Modulus":
        return result(f === "float" ? floatModulo(l, r, type) : floorModulo(l, r), dtype);
      default:
        return refuse(this.scope, snake(op));
    }
  }

  /** The dtype polars compares two expressions in. */
  #supertype(left: unknown, right: unknown): pl.DataType {
    const probe = {
      Ternary: {
        predicate: { Literal: { Scalar: { Boolean: true } } },
        truthy: left,
        falsy: right,
      },
    };
    return this.#dtype(probe);
  }

  #cast(node: { expr: unknown; options: string }, expr: unknown): SqlExpr {
    const marker = opaqueMarker(node.expr);
    if (marker?.name === "lengths") {
      const value = this.compile(marker.input);
      return {
        sql: `CAST(char_length(${value.sql}) AS BIGINT)`,
        dtype: this.#dtype(expr),
        kind: value.kind,
        window: value.window,
      };
    }
    const value = this.compile(node.expr);
    const to = this.#dtype(expr);
    if (node.options === "Overflowing") refuse(this.scope, "cast(wrap_numerical=True)");
    const sql = castSql(this.scope, value, to, node.options === "Strict");
    return { sql, dtype: to, kind: value.kind, window: value.window };
  }

  #ternary(
    expr: unknown,
    node: { predicate: unknown; truthy: unknown; falsy: unknown },
  ): SqlExpr {
    const predicate = this.compile(node.predicate);
    const truthy = this.compile(node.truthy);
    const falsy = this.compile(node.falsy);
    const dtype = this.#dtype(expr);
    return {
      sql: `CASE WHEN ${predicate.sql} THEN ${coerce(this.scope, truthy, dtype)} ELSE ${
        coerce(this.scope, falsy, dtype)
      } END`,
      dtype,
      kind: combine(predicate, truthy, falsy),
      window: predicate.window || truthy.window || falsy.window,
    };
  }

  #function(expr: unknown, node: { input: unknown[]; function: unknown }): SqlExpr {
    const key = functionKey(node.function);
    const [, options] = variant(node.function);
    const marker = opaqueMarker(expr);
    if (marker !== undefined) return this.#opaque(expr, marker);
    const args = () => node.input.map((e) => this.compile(e));
    const dtype = () => this.#dtype(expr);
    const make = (sql: string, parts: SqlExpr[], type = dtype()): SqlExpr => ({
      sql,
      dtype: type,
      kind: combine(...parts),
      window: parts.some((p) => p.window),
    });
    switch (key) {
      case "Boolean.IsNull":
      case "Boolean.IsNotNull": {
        const [x] = args();
        return make(`(${x.sql} IS ${key.endsWith("NotNull") ? "NOT " : ""}NULL)`, [x]);
      }
      case "Boolean.Not": {
        const [x] = args();
        if (family(x.dtype) === "bool") return make(`(NOT ${x.sql})`, [x]);
        if (isInteger(x.dtype)) return make(`(~${x.sql})`, [x]);
        return refuse(this.scope, `not_ on ${dtypeName(x.dtype)}`);
      }
      case "Boolean.IsNan":
      case "Boolean.IsNotNan":
      case "Boolean.IsFinite":
      case "Boolean.IsInfinite": {
        const [x] = args();
        if (family(x.dtype) !== "float") {
          refuse(this.scope, `${functionName(node.function)} on ${dtypeName(x.dtype)}`);
        }
        const inf = floatLiteral(Infinity, sparkType(x.dtype) as "DOUBLE");
        const sql = {
          "Boolean.IsNan": `isnan(${x.sql})`,
          "Boolean.IsNotNan": `(NOT isnan(${x.sql}))`,
          "Boolean.IsFinite": `(NOT isnan(${x.sql}) AND abs(${x.sql}) != ${inf})`,
          "Boolean.IsInfinite": `(abs(${x.sql}) = ${inf})`,
        }[key];
        return make(sql, [x]);
      }
      case "Boolean.AllHorizontal":
      case "Boolean.AnyHorizontal": {
        const parts = args();
        const joiner = key.endsWith("AllHorizontal") ? " AND " : " OR ";
        const bools = parts.map((p) => coerce(this.scope, p, dtype()));
        return make(`(${bools.join(joiner)})`, parts);
      }
      case "Boolean.IsIn":
        return this.#isIn(node);
      case "FillNull": {
        const parts = args();
        const type = dtype();
        return make(
          `coalesce(${parts.map((p) => coerce(this.scope, p, type)).join(", ")})`,
          parts,
          type,
        );
      }
      case "Abs": {
        const [x] = args();
        return make(`abs(${coerce(this.scope, x, dtype())})`, [x]);
      }
      case "Negate": {
        const [x] = args();
        return make(`(-${coerce(this.scope, x, dtype())})`, [x]);
      }
      case "Round": {
        const [x] = args();
        const { decimals, mode } = options as { decimals: number; mode?: string };
        if (family(x.dtype) !== "float") return make(coerce(this.scope, x, dtype()), [x]);
        const fn = mode === "HalfAwayFromZero" ? "round" : "bround";
        return make(`${fn}(${x.sql}, ${decimals})`, [x]);
      }
      case "Floor":
      case "Ceil": {
        const [x] = args();
        if (family(x.dtype) !== "float") return make(coerce(this.scope, x, dtype()), [x]);
        return make(
          (key === "Floor" ? floatFloor : floatCeil)(x.sql, sparkType(x.dtype)),
          [x],
        );
      }
      case "Pow.Generic":
      case "Pow.Sqrt":
      case "Pow.Cbrt": {
        const parts = args();
        const type = typeOf(this.scope, dtype());
        const d = parts.map((p) => `CAST(${p.sql} AS DOUBLE)`);
        const sql = key === "Pow.Generic"
          ? `power(${d[0]}, ${d[1]})`
          : `${key === "Pow.Sqrt" ? "sqrt" : "cbrt"}(${d[0]})`;
        return make(`CAST(${sql} AS ${type})`, parts);
      }
      case "Clip": {
        const parts = args();
        const type = dtype();
        const { has_min, has_max } = options as { has_min: boolean; has_max: boolean };
        const [x, ...bounds] = parts.map((p) => coerce(this.scope, p, type));
        const lo = has_min ? bounds.shift() : undefined;
        const hi = has_max ? bounds.shift() : undefined;
        const cases = [
          lo === undefined ? "" : ` WHEN ${x} < ${lo} THEN ${lo}`,
          hi === undefined ? "" : ` WHEN ${x} > ${hi} THEN ${hi}`,
        ].join("");
        return make(`CASE${cases} ELSE ${x} END`, parts, type);
      }
      case "StringExpr.Contains": {
        const [s, pattern] = args();
        const { literal } = (options as { Contains: { literal: boolean } }).Contains;
        return make(
          literal ? `(instr(${s.sql}, ${pattern.sql}) > 0)` : `(${s.sql} RLIKE ${pattern.sql})`,
          [s, pattern],
        );
      }
      case "StringExpr.StartsWith":
      case "StringExpr.EndsWith": {
        const [s, affix] = args();
        const fn = key.endsWith("StartsWith") ? "startswith" : "endswith";
        return make(`${fn}(${s.sql}, ${affix.sql})`, [s, affix]);
      }
      case "StringExpr.StripChars":
      case "StringExpr.StripCharsStart":
      case "StringExpr.StripCharsEnd": {
        const [s, chars] = args();
        const side = key.endsWith("Start") ? "LEADING" : key.endsWith("End") ? "TRAILING" : "BOTH";
        if (family(chars.dtype) === "null") return make(stripWhitespace(s.sql, side), [s]);
        return make(`trim(${side} ${chars.sql} FROM ${s.sql})`, [s, chars]);
      }
      case "StringExpr.Uppercase":
      case "StringExpr.Lowercase": {
        const [s] = args();
        return make(`${key.endsWith("Uppercase") ? "upper" : "lower"}(${s.sql})`, [s]);
      }
      case "StringExpr.LenChars":
      case "StringExpr.LenBytes": {
        const [s] = args();
        const fn = key.endsWith("LenChars") ? "char_length" : "octet_length";
        return make(`CAST(${fn}(${s.sql}) AS BIGINT)`, [s]);
      }
      case "StringExpr.Slice":
        return this.#slice(node, make);
      case "StringExpr.Replace":
        return this.#replace(node, options as { Replace: { n: number; literal: boolean } }, make);
      case "StringExpr.ConcatHorizontal": {
        const parts = args();
        const { delimiter, ignore_nulls } =
          (options as { ConcatHorizontal: { delimiter: string; ignore_nulls: boolean } })
            .ConcatHorizontal;
        const strings = parts.map((p) => castSql(this.scope, p, dtype(), false));
        if (ignore_nulls) {
          return make(`concat_ws(${stringLiteral(delimiter)}, ${strings.join(", ")})`, parts);
        }
        const joined = strings.flatMap((s, i) => i === 0 ? [s] : [stringLiteral(delimiter), s]);
        return make(`concat(${joined.join(", ")})`, parts);
      }
      case "StringExpr.PadStart":
      case "StringExpr.PadEnd": {
        const [s, width] = args();
        const n = literalNumber(node.input[1]);
        if (n === undefined) {
          refuse(this.scope, `${functionName(node.function)} with an expression`);
        }
        const fill = Object.values(options as Record<string, { fill_char: string }>)[0].fill_char;
        const fn = key.endsWith("PadStart") ? "lpad" : "rpad";
        return make(
          `CASE WHEN char_length(${s.sql}) >= ${n} THEN ${s.sql} ELSE ${fn}(${s.sql}, ${n}, ${
            stringLiteral(fill)
          }) END`,
          [s, width],
        );
      }
      case "TemporalExpr.Year":
      case "TemporalExpr.Month":
      case "TemporalExpr.Day":
      case "TemporalExpr.Hour":
      case "TemporalExpr.Minute":
      case "TemporalExpr.Second":
      case "TemporalExpr.Quarter":
      case "TemporalExpr.OrdinalDay":
      case "TemporalExpr.WeekDay": {
        const [x] = args();
        const zoned = x.dtype.variant === "Datetime" &&
          (x.dtype as unknown as { inner: unknown[] }).inner[1];
        if (zoned || !["date", "datetime"].includes(family(x.dtype))) {
          refuse(this.scope, `${functionName(node.function)} on ${dtypeName(x.dtype)}`);
        }
        const part = key.slice("TemporalExpr.".length);
        const sql = part === "WeekDay"
          ? `(weekday(${x.sql}) + 1)`
          : `${part === "OrdinalDay" ? "dayofyear" : part.toLowerCase()}(${x.sql})`;
        return make(`CAST(${sql} AS ${typeOf(this.scope, dtype())})`, [x]);
      }
      case "TemporalExpr.ToString": {
        const [x] = args();
        const zoned = x.dtype.variant === "Datetime" &&
          (x.dtype as unknown as { inner: unknown[] }).inner[1];
        if (zoned || !["date", "datetime"].includes(family(x.dtype))) {
          refuse(this.scope, `dt.strftime on ${dtypeName(x.dtype)}`);
        }
        const format = (options as Record<string, string>).ToString;
        const mapped = sparkPattern(format);
        if ("unsupported" in mapped) {
          refuse(this.scope, `dt.strftime('${format}') (directive '${mapped.unsupported}')`);
        }
        return make(`date_format(${x.sql}, ${stringLiteral(mapped.pattern)})`, [x]);
      }
      case "CumSum":
      case "CumCount":
      case "CumMin":
      case "CumMax": {
        const [x] = args();
        const running = (options as { reverse?: boolean }).reverse
          ? `${this.#rowOrder()} ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING`
          : `${this.#rowOrder()} ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW`;
        const type = typeOf(this.scope, dtype());
        const sql = {
          CumSum:
            `CASE WHEN ${x.sql} IS NULL THEN NULL ELSE CAST(coalesce(SUM(${x.sql}) OVER (${running}), 0) AS ${type}) END`,
          // polars counts the non-null values so far, null rows included in the output.
          CumCount: `CAST(COUNT(${x.sql}) OVER (${running}) AS ${type})`,
          CumMin:
            `CASE WHEN ${x.sql} IS NULL THEN NULL ELSE CAST(MIN(${x.sql}) OVER (${running}) AS ${type}) END`,
          CumMax:
            `CASE WHEN ${x.sql} IS NULL THEN NULL ELSE CAST(MAX(${x.sql}) OVER (${running}) AS ${type}) END`,
        }[key]!;
        if (["CumMin", "CumMax"].includes(key) && family(x.dtype) === "float") {
          refuse(this.scope, `${functionName(node.function)} on ${dtypeName(x.dtype)}`);
        }
        return { ...make(sql, [x]), window: true };
      }
      case "Shift": {
        const x = this.compile(node.input[0]);
        const n = literalNumber(node.input[1]);
        if (n === undefined || !Number.isInteger(n)) {
          refuse(this.scope, "shift (by an expression)");
        }
        const sql = n === 0
          ? x.sql
          : `${n > 0 ? "lag" : "lead"}(${x.sql}, ${Math.abs(n)}) OVER (${this.#rowOrder()})`;
        return { ...make(sql, [x]), window: n !== 0 };
      }
      case "Rank": {
        const [x] = args();
        const { method, descending } = (options as {
          options: { method: string; descending: boolean };
        }).options;
        const key = `${x.sql} ${descending ? "DESC" : "ASC"} NULLS LAST`;
        const counted = `COUNT(${x.sql}) OVER (ORDER BY ${key} ` +
          "RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)";
        const ranks: Record<string, string> = {
          Min: `rank() OVER (ORDER BY ${key})`,
          Max: counted,
          Dense: `dense_rank() OVER (ORDER BY ${key})`,
          Ordinal: `row_number() OVER (ORDER BY ${key}, ${orderList(this.#requireOrder())})`,
          Average: `(rank() OVER (ORDER BY ${key}) + ${counted}) / 2.0D`,
        };
        const rank = ranks[method];
        if (rank === undefined) refuse(this.scope, `rank(method='${snake(method)}')`);
        const type = typeOf(this.scope, dtype());
        return {
          ...make(`CASE WHEN ${x.sql} IS NULL THEN NULL ELSE CAST(${rank} AS ${type}) END`, [x]),
          window: true,
        };
      }
      case "StringExpr.Strptime":
        return this.#strptime(node, options, make);
      case "StringExpr.ConcatVertical":
        return this.#concat(
          expr,
          node,
          (options as { ConcatVertical: { delimiter: string; ignore_nulls: boolean } })
            .ConcatVertical,
        );
      case "RollingExpr":
        return this.#rolling(
          expr,
          node,
          options as { function: string; options: RollingOptions },
        );
      case "Quantile":
        return this.#quantile(expr, node, (options as { method: string }).method);
      case "TemporalExpr.Truncate":
        return this.#truncate(node, make);
      case "StringExpr.ZFill":
        return this.#zfill(node, make);
      case "StringExpr.Extract":
        return this.#extract(node, (options as { Extract: number }).Extract, make);
      case "Diff.Ignore":
      case "Diff.Drop": {
        const x = this.compile(node.input[0]);
        const n = literalNumber(node.input[1]);
        if (n === undefined || n < 0 || key === "Diff.Drop") {
          refuse(
            this.scope,
            n === undefined ? "diff (by an expression)" : "diff (n < 0 or null_behavior='drop')",
          );
        }
        if (!(isInteger(x.dtype) || family(x.dtype) === "float")) {
          refuse(this.scope, `diff on ${dtypeName(x.dtype)}`);
        }
        this.#plainRows(x, "diff");
        const type = dtype();
        const previous = `lag(${x.sql}, ${n}) OVER (${this.#rowOrder()})`;
        return {
          ...make(
            `(${coerce(this.scope, x, type)} - ${
              coerce(this.scope, { ...x, sql: previous }, type)
            })`,
            [x],
          ),
          window: true,
        };
      }
      case "FillNullWithStrategy.Forward":
      case "FillNullWithStrategy.Backward": {
        const [strategy, limit] = variant(options);
        if (limit !== null && limit !== undefined) {
          refuse(this.scope, `${functionName(node.function)} with a limit`);
        }
        if (strategy !== "Forward" && strategy !== "Backward") {
          refuse(this.scope, functionName(node.function));
        }
        const [x] = args();
        this.#plainRows(x, functionName(node.function));
        const frame = strategy === "Forward"
          ? "ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW"
          : "ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING";
        const fn = strategy === "Forward" ? "last_value" : "first_value";
        return {
          ...make(`${fn}(${x.sql}, TRUE) OVER (${this.#rowOrder()} ${frame})`, [x]),
          window: true,
        };
      }
      default:
        return refuse(this.scope, functionName(node.function));
    }
  }

  /** Refuses a window along the rows of a value that is itself a window or an aggregate. */
  #plainRows(x: SqlExpr, operation: string): void {
    if (x.window || x.kind === "agg") {
      refuse(this.scope, `${operation} (of a window or an aggregation)`);
    }
  }

  /**
   * `rolling_*` by row count: an aggregate window over the frame polars gives, null where the
   * frame holds fewer non-null values than `min_periods`.
   */
  #rolling(
    expr: unknown,
    node: { input: unknown[]; function: unknown },
    rolling: { function: string; options: RollingOptions },
  ): SqlExpr {
    const name = functionName(node.function);
    const { window_size: size, min_periods: minPeriods, weights, center, fn_params: params } =
      rolling.options;
    if (weights !== null && weights !== undefined) refuse(this.scope, `${name}(weights=...)`);
    if (minPeriods < 1) refuse(this.scope, `${name}(min_periods=${minPeriods})`);
    const x = this.compile(node.input[0]);
    this.#plainRows(x, name);
    const numeric = isInteger(x.dtype) || family(x.dtype) === "float";
    const fn = rolling.function;
    if (!(numeric || (fn === "Sum" && family(x.dtype) === "bool"))) {
      refuse(this.scope, `${name} on ${dtypeName(x.dtype)}`);
    }
    const dtype = this.#dtype(expr);
    const type = typeOf(this.scope, dtype);
    const over = `OVER (${this.#rowOrder()} ${rowsBetween(rollingFrame(size, center))})`;
    const double = `CAST(${x.sql} AS DOUBLE)`;
    const isFloat = family(x.dtype) === "float";
    let value: string;
    switch (fn) {
      case "Sum":
        value = `SUM(${coerceNumeric(x, type)}) ${over}`;
        break;
      case "Mean":
        value = `AVG(${double}) ${over}`;
        break;
      case "Min":
        // polars' rolling min is NaN when the window holds a NaN; Spark's min skips it.
        value = isFloat
          ? `CASE WHEN MAX(CASE WHEN isnan(${x.sql}) THEN 1 ELSE 0 END) ${over} = 1 THEN ${
            floatLiteral(NaN, type as "DOUBLE")
          } ELSE MIN(${x.sql}) ${over} END`
          : `MIN(${x.sql}) ${over}`;
        break;
      case "Max":
        value = `MAX(${x.sql}) ${over}`;
        break;
      case "Std":
      case "Var": {
        const ddof = (params as { Var?: { ddof: number } } | null)?.Var?.ddof ?? 1;
        if (ddof !== 0 && ddof !== 1) refuse(this.scope, `${name}(ddof=${ddof})`);
        const stat = `${fn === "Std" ? "stddev" : "var"}_${ddof === 0 ? "pop" : "samp"}`;
        value = `${stat}(${double}) ${over}`;
        break;
      }
      case "Quantile": {
        const { prob, method } = (params as { Quantile: { prob: number; method: string } })
          .Quantile;
        this.#quantileMethod(name, method, dtype);
        const sorted = `sort_array(collect_list(${double}) ${over})`;
        return {
          sql: `CAST(${quantileSql(sorted, prob, method, minPeriods)} AS ${type})`,
          dtype,
          kind: x.kind,
          window: true,
        };
      }
      default:
        return refuse(this.scope, name);
    }
    return {
      sql: `CASE WHEN COUNT(${x.sql}) ${over} >= ${minPeriods} THEN CAST(${value} AS ${type}) END`,
      dtype,
      kind: x.kind,
      window: true,
    };
  }

  /** Refuses an interpolation Spark cannot reproduce exactly. */
  #quantileMethod(name: string, method: string, dtype: pl.DataType): void {
    if (!QUANTILE_METHODS.has(method)) {
      refuse(this.scope, `${name}(interpolation='${snake(method)}')`);
    }
    // Spark interpolates in doubles; the rounding of a Float32 result is not reproduced.
    if ((method === "Linear" || method === "Midpoint") && dtype.variant === "Float32") {
      refuse(
        this.scope,
        `${name}(interpolation='${snake(method)}') on Float32 (cast to Float64 first)`,
      );
    }
  }

  /** `quantile(q, interpolation)`: an aggregate over the sorted non-null values. */
  #quantile(expr: unknown, node: { input: unknown[]; function: unknown }, method: string): SqlExpr {
    const q = literalFloat(node.input[1]);
    if (q === undefined) refuse(this.scope, "quantile (with an expression as the quantile)");
    const x = this.#rows().#nested(node.input[0]);
    if (!(isInteger(x.dtype) || family(x.dtype) === "float")) {
      refuse(this.scope, `quantile on ${dtypeName(x.dtype)}`);
    }
    const dtype = this.#dtype(expr);
    this.#quantileMethod("quantile", method, dtype);
    const type = typeOf(this.scope, dtype);
    const values = `collect_list(CAST(${x.sql} AS DOUBLE))`;
    const pick = (list: string) =>
      `CAST(${quantileSql(`sort_array(${list})`, q, method)} AS ${type})`;
    return this.#aggregate(expr, pick(values), { row: pick(`${values} OVER ()`) });
  }

  #truncate(
    node: { input: unknown[]; function: unknown },
    make: (sql: string, parts: SqlExpr[]) => SqlExpr,
  ): SqlExpr {
    const x = this.compile(node.input[0]);
    const every = literalString(node.input[1]);
    if (every === undefined) refuse(this.scope, "dt.truncate (with an expression as every)");
    const kind = family(x.dtype);
    if (!(kind === "date" || kind === "datetime")) {
      refuse(this.scope, `dt.truncate on ${dtypeName(x.dtype)}`);
    }
    const zone = kind === "datetime"
      ? (x.dtype as unknown as { inner: [string, string | null] }).inner[1]
      : null;
    const result = zone
      ? zonedTruncateSql(x.sql, zone, every)
      : truncateSql(x.sql, kind as "date" | "datetime", every);
    if ("unsupported" in result) refuse(this.scope, `dt.truncate(${result.unsupported})`);
    return make(result.sql, [x]);
  }

  /** `str.strptime(dtype, format)`: see `_strptime.ts`. */
  #strptime(
    node: { input: unknown[]; function: unknown },
    options: unknown,
    make: (sql: string, parts: SqlExpr[]) => SqlExpr,
  ): SqlExpr {
    const s = this.compile(node.input[0]);
    const [, { format, strict, exact }] = (options as {
      Strptime: [unknown, { format: string | null; strict: boolean; exact: boolean }];
    }).Strptime;
    if (format === null) refuse(this.scope, "str.strptime (without a format)");
    if (strict || exact) refuse(this.scope, "str.strptime (strict or exact)");
    const dtype = this.#dtype({ Function: node });
    const [unit, zone] = dtype.variant === "Date"
      ? ["date"]
      : (dtype as unknown as { inner: [string, string | null] }).inner ?? [];
    const target = ["date", "ms", "us"].includes(unit) && !zone
      ? unit as "date" | "ms" | "us"
      : undefined;
    const result = strptimeSql(s.sql, format, target ?? "us");
    if ("unsupported" in result) {
      refuse(this.scope, `str.strptime('${format}') (${result.unsupported})`);
    }
    if (target === undefined) {
      refuse(this.scope, `str.strptime('${format}') (to ${dtypeName(dtype)})`);
    }
    return make(result.sql, [s]);
  }

  /**
   * `str.concat(delimiter)`: the values joined in row order into one string; nulls are skipped,
   * or with `ignore_nulls: false` make the result null; no rows give `''`.
   */
  #concat(
    expr: unknown,
    node: { input: unknown[]; function: unknown },
    options: { delimiter: string; ignore_nulls: boolean },
  ): SqlExpr {
    const rows = this.#rows();
    const [kind, filter] = variant(node.input[0]);
    const { input, by } = kind === "Filter"
      ? filter as { input: unknown; by: unknown }
      : { input: node.input[0], by: undefined };
    const x = rows.#nested(input);
    const mask = by === undefined ? undefined : rows.#nested(by);
    this.#plainRows(x, "str.concat");
    if (mask) this.#plainRows(mask, "str.concat");
    const string = castSql(this.scope, x, { variant: "String" } as pl.DataType, false);
    const value = mask ? `CASE WHEN ${mask.sql} THEN ${string} END` : string;
    const counted = mask ? `CASE WHEN ${mask.sql} THEN 1 END` : "1";
    const order = this.scope.order;
    const keys = order.map((o, i) => `'k${i}', ${ident(o.col)}`);
    const item = `CASE WHEN ${value} IS NOT NULL THEN named_struct(${
      [...keys, `'v', ${value}`].join(", ")
    }) END`;
    const compare = order.reduceRight((rest, o, i) => {
      const [l, r] = [`l.k${i}`, `r.k${i}`];
      const before = o.desc ? 1 : -1;
      return `CASE WHEN ${l} IS NULL AND ${r} IS NULL THEN ${rest} WHEN ${l} IS NULL THEN ${
        o.nullsLast ? 1 : -1
      } WHEN ${r} IS NULL THEN ${o.nullsLast ? -1 : 1} WHEN ${l} < ${r} THEN ${before} ` +
        `WHEN ${l} > ${r} THEN ${-before} ELSE ${rest} END`;
    }, "0");
    const joined = (list: string) => {
      const sorted = order.length > 0 ? `array_sort(${list}, (l, r) -> ${compare})` : list;
      return `array_join(transform(${sorted}, e -> e.v), ${stringLiteral(options.delimiter)})`;
    };
    const strict = (count: string, all: string) =>
      options.ignore_nulls ? "" : `CASE WHEN ${all} > ${count} THEN NULL ELSE `;
    const end = options.ignore_nulls ? "" : " END";
    return this.#aggregate(
      expr,
      `${strict(`count(${value})`, `count(${counted})`)}${joined(`collect_list(${item})`)}${end}`,
      {
        row: `${strict(`count(${value}) OVER ()`, `count(${counted}) OVER ()`)}${
          joined(`collect_list(${item}) OVER ()`)
        }${end}`,
      },
    );
  }

  /**
   * `str.zfill(n)`: zeros after a leading sign up to `n` bytes, as polars counts the length
   * (UTF-8 bytes, not characters).
   */
  #zfill(
    node: { input: unknown[]; function: unknown },
    make: (sql: string, parts: SqlExpr[]) => SqlExpr,
  ): SqlExpr {
    const s = this.compile(node.input[0]);
    const n = literalNumber(node.input[1]);
    if (n === undefined) refuse(this.scope, "str.zfill (with an expression as the length)");
    const zeros = `repeat('0', ${n} - octet_length(${s.sql}))`;
    return make(
      `CASE WHEN octet_length(${s.sql}) >= ${n} THEN ${s.sql} WHEN left(${s.sql}, 1) IN ('-', '+') ` +
        `THEN concat(left(${s.sql}, 1), ${zeros}, substring(${s.sql}, 2)) ELSE concat(${zeros}, ${s.sql}) END`,
      [s],
    );
  }

  /**
   * `str.extract(pattern, group)`: null where the pattern does not match. Spark gives `''` for a
   * group that takes no part in the match where polars gives null, so a group that may stay out
   * (optional, or in an alternation) is accepted only when it cannot match the empty string.
   */
  #extract(
    node: { input: unknown[]; function: unknown },
    group: number,
    make: (sql: string, parts: SqlExpr[]) => SqlExpr,
  ): SqlExpr {
    const s = this.compile(node.input[0]);
    const pattern = literalString(node.input[1]);
    if (pattern === undefined) refuse(this.scope, "str.extract (with an expression as pattern)");
    const shape = groupShape(pattern, group);
    if (shape === undefined) {
      refuse(this.scope, `str.extract (of group ${group}, which the pattern does not have)`);
    }
    const p = stringLiteral(pattern);
    let value = `regexp_extract(${s.sql}, ${p}, ${group})`;
    if (shape.optional) {
      if (shape.mayBeEmpty) {
        refuse(
          this.scope,
          `str.extract (of group ${group}, which may stay out of the match or match nothing: ` +
            "Spark cannot tell the two apart)",
        );
      }
      value = `nullif(${value}, '')`;
    }
    return make(`CASE WHEN ${s.sql} RLIKE ${p} THEN ${value} END`, [s]);
  }

  /** `ORDER BY` the input's row order, for windows that run along the rows. */
  #rowOrder(): string {
    return `ORDER BY ${orderList(this.#requireOrder())}`;
  }

  #requireOrder(): readonly OrderItem[] {
    if (this.scope.order.length === 0) {
      refuse(this.scope, "a window along rows without a row order");
    }
    return this.scope.order;
  }

  /**
   * `expr.over(keys)`: every window of the expression is computed per group of the keys (nulls
   * form one group, as in polars), and an aggregate gives each row its group's value.
   */
  #over(
    expr: unknown,
    node: { function: unknown; partition_by: unknown[]; order_by: unknown },
  ): SqlExpr {
    if (node.order_by !== null && node.order_by !== undefined) {
      refuse(this.scope, "over(order_by=...)");
    }
    const [mapping] = variant((node as { mapping?: unknown }).mapping ?? "GroupsToRows");
    if (mapping !== "GroupsToRows") {
      refuse(this.scope, `over(mapping_strategy='${snake(mapping)}')`);
    }
    const keys = node.partition_by.map((key) => this.compile(key));
    if (keys.some((k) => k.window || k.kind !== "row")) {
      refuse(this.scope, "over (by a window or an aggregate)");
    }
    const inner = this.compile(node.function);
    if (!inner.window) return { ...inner, dtype: this.#dtype(expr) };
    const partition = `OVER (PARTITION BY ${keys.map((k) => k.sql).join(", ")} `;
    return { ...inner, sql: inner.sql.replaceAll("OVER (", partition), dtype: this.#dtype(expr) };
  }

  #opaque(expr: unknown, marker: { name: string; input: unknown }): SqlExpr {
    const s = this.compile(marker.input);
    const sql = {
      upper: `upper(${s.sql})`,
      lower: `lower(${s.sql})`,
      strip: stripWhitespace(s.sql, "BOTH"),
      lstrip: stripWhitespace(s.sql, "LEADING"),
      rstrip: stripWhitespace(s.sql, "TRAILING"),
      lengths: `CAST(char_length(${s.sql}) AS BIGINT)`,
    }[marker.name];
    if (sql === undefined) refuse(this.scope, marker.name);
    return { sql, dtype: this.#dtype(expr), kind: s.kind, window: s.window };
  }

  #isIn(node: { input: unknown[]; function: unknown }): SqlExpr {
    const x = this.compile(node.input[0]);
    const [kind] = variant(node.input[1]);
    if (kind !== "Literal") refuse(this.scope, "is_in (with an expression, not a list of values)");
    const { value, dtype } = this.scope.oracle.literalValue(node.input[1]);
    const values = toArray(value);
    if (values === undefined) refuse(this.scope, "is_in (with a value that is not a list)");
    const itemType = dtype.variant === "List"
      ? (dtype as unknown as { inner: pl.DataType[] }).inner[0]
      : dtype;
    // A null in the list never matches (polars drops it; SQL would turn misses into NULL).
    const items = values.filter((v) => v !== null && v !== undefined).flatMap((v) =>
      this.#valueLiteral(v, itemType, x.dtype) ?? []
    );
    const make = (sql: string): SqlExpr => ({
      sql,
      dtype: { variant: "Bool" } as pl.DataType,
      kind: x.kind,
      window: x.window,
    });
    const inList = items.length === 0 ? "FALSE" : `${x.sql} IN (${items.join(", ")})`;
    // What a missing value gives is polars' to say: null, or false for some pairs of dtypes.
    const onNull = this.scope.oracle.valueOnNull(x.dtype, {
      Function: { ...node, input: [{ Column: "c" }, node.input[1]] },
    });
    const missing = onNull === null || onNull === undefined ? "NULL" : onNull ? "TRUE" : "FALSE";
    return make(`CASE WHEN ${x.sql} IS NULL THEN ${missing} ELSE ${inList} END`);
  }

  /** A literal for one value of an `is_in` list, in the dtype of the tested expression. */
  #valueLiteral(value: unknown, itemType: pl.DataType, target: pl.DataType): string | undefined {
    const f = family(itemType);
    const type = typeOf(this.scope, target);
    if (f === "string" && family(target) === "string") return stringLiteral(String(value));
    if (
      (f === "float" || isInteger(itemType)) && (family(target) === "float" || isInteger(target))
    ) {
      const number = typeof value === "bigint" ? value : Number(value);
      if (isInteger(target) && typeof number === "number" && !Number.isInteger(number)) {
        return undefined; // a fraction never equals an integer; polars finds no match either
      }
      return family(target) === "float"
        ? floatLiteral(Number(number), type as "DOUBLE")
        : `CAST(${String(number)} AS ${type})`;
    }
    if (f === "bool" && family(target) === "bool") return value ? "TRUE" : "FALSE";
    return refuse(
      this.scope,
      `is_in (of ${dtypeName(target)} in a list of ${dtypeName(itemType)})`,
    );
  }

  #slice(
    node: { input: unknown[]; function: unknown },
    make: (sql: string, parts: SqlExpr[]) => SqlExpr,
  ): SqlExpr {
    const s = this.compile(node.input[0]);
    const offset = literalNumber(node.input[1]);
    const length = node.input[2] === undefined ? null : literalNumber(node.input[2], true);
    if (offset === undefined || length === undefined) {
      refuse(this.scope, "str.slice (with an expression as offset or length)");
    }
    // polars and Spark agree on negative offsets (counted from the end, clipped at the start).
    const position = offset >= 0 ? offset + 1 : offset;
    if (length === null) return make(`substring(${s.sql}, ${position})`, [s]);
    if (length < 0) refuse(this.scope, "str.slice (with a negative length)");
    return make(`substring(${s.sql}, ${position}, ${length})`, [s]);
  }

  #replace(
    node: { input: unknown[]; function: unknown },
    options: { Replace: { n: number; literal: boolean } },
    make: (sql: string, parts: SqlExpr[]) => SqlExpr,
  ): SqlExpr {
    const s = this.compile(node.input[0]);
    const pattern = literalString(node.input[1]);
    const value = literalString(node.input[2]);
    if (pattern === undefined || value === undefined) {
      refuse(this.scope, "str.replace (with an expression as pattern or value)");
    }
    const { n, literal } = options.Replace;
    if (n !== 1 && n !== -1) refuse(this.scope, `str.replace (n=${n})`);
    if (literal) {
      if (n === -1) {
        return make(`replace(${s.sql}, ${stringLiteral(pattern)}, ${stringLiteral(value)})`, [s]);
      }
      return make(
        `regexp_replace(${s.sql}, ${stringLiteral(`(?s)^(.*?)${quoteRegex(pattern)}`)}, ${
          stringLiteral("$1" + quoteReplacement(value))
        })`,
        [s],
      );
    }
    const replacement = javaReplacement(value, n === 1 ? 1 : 0);
    if (replacement === undefined) {
      refuse(this.scope, `str.replace (with the replacement '${value}')`);
    }
    if (n === -1) {
      return make(
        `regexp_replace(${s.sql}, ${stringLiteral(pattern)}, ${stringLiteral(replacement)})`,
        [s],
      );
    }
    return make(
      `regexp_replace(${s.sql}, ${stringLiteral(`(?s)^(.*?)(?:${pattern})`)}, ${
        stringLiteral("$1" + replacement)
      })`,
      [s],
    );
  }

  #agg(expr: unknown, node: unknown): SqlExpr {
    const [name, value] = variant(node);
    const rows = this.#rows();
    const inner = (e: unknown): { value: SqlExpr; mask?: SqlExpr } => {
      const [kind, filter] = variant(e);
      if (kind === "Filter") {
        const f = filter as { input: unknown; by: unknown };
        return { value: rows.#nested(f.input), mask: rows.#nested(f.by) };
      }
      return { value: rows.#nested(e) };
    };
    const masked = (x: { value: SqlExpr; mask?: SqlExpr }, sql = x.value.sql): string =>
      x.mask ? `CASE WHEN ${x.mask.sql} THEN ${sql} END` : sql;
    const dtype = this.#dtype(expr);
    const type = typeOf(this.scope, dtype);
    switch (name) {
      case "Sum": {
        const x = inner(value);
        const sum = `SUM(${masked(x, coerceNumeric(x.value, type))})`;
        return this.#aggregate(expr, `CAST(coalesce(${sum}, 0) AS ${type})`, {
          row: `CAST(coalesce(${sum} OVER (), 0) AS ${type})`,
        });
      }
      case "Mean": {
        const x = inner(value);
        if (!(isInteger(x.value.dtype) || ["float", "bool"].includes(family(x.value.dtype)))) {
          refuse(this.scope, `mean of ${dtypeName(x.value.dtype)}`);
        }
        const avg = `avg(${masked(x, `CAST(${x.value.sql} AS DOUBLE)`)})`;
        return this.#aggregate(expr, `CAST(${avg} AS ${type})`, {
          row: `CAST(${avg} OVER () AS ${type})`,
        });
      }
      case "Min":
      case "Max": {
        const { input, propagate_nans } = value as { input: unknown; propagate_nans: boolean };
        const x = inner(input);
        const fn = name === "Min" ? "min" : "max";
        if (family(x.value.dtype) === "float" && !propagate_nans) {
          // polars skips NaN unless every value is NaN; Spark orders NaN above every number.
          const skip = masked(
            x,
            `CASE WHEN isnan(${x.value.sql}) THEN NULL ELSE ${x.value.sql} END`,
          );
          const all = masked(x);
          return this.#aggregate(expr, `coalesce(${fn}(${skip}), ${fn}(${all}))`, {
            row: `coalesce(${fn}(${skip}) OVER (), ${fn}(${all}) OVER ())`,
          });
        }
        if (propagate_nans && family(x.value.dtype) === "float") {
          refuse(this.scope, name === "Min" ? "nan_min" : "nan_max");
        }
        return this.#aggregate(expr, `${fn}(${masked(x)})`, { row: `${fn}(${masked(x)}) OVER ()` });
      }
      case "Count": {
        const { input, include_nulls } = value as { input: unknown; include_nulls: boolean };
        const x = inner(input);
        const counted = include_nulls ? masked(x, "1") : masked(x);
        return this.#aggregate(expr, `CAST(count(${counted}) AS ${type})`, {
          row: `CAST(count(${counted}) OVER () AS ${type})`,
        });
      }
      case "NUnique": {
        const x = inner(value);
        if (x.mask) refuse(this.scope, "n_unique (of a filtered expression)");
        const nulls = `coalesce(max(CASE WHEN ${x.value.sql} IS NULL THEN 1 ELSE 0 END)`;
        return this.#aggregate(
          expr,
          `CAST(count(DISTINCT ${x.value.sql}) + ${nulls}, 0) AS ${type})`,
          {
            row:
              `CAST(size(collect_set(${x.value.sql}) OVER ()) + ${nulls} OVER (), 0) AS ${type})`,
          },
        );
      }
      case "First":
      case "Last": {
        const x = inner(value);
        if (x.mask) refuse(this.scope, `${snake(name)} (of a filtered expression)`);
        const which = name === "First" ? "first" : "last";
        if (this.scope.mode === "agg") {
          return { sql: this.scope.firstLast!(which, x.value), dtype, kind: "agg", window: false };
        }
        const order = this.scope.order.length > 0
          ? `ORDER BY ${orderList(this.scope.order)} ROWS BETWEEN UNBOUNDED PRECEDING AND ` +
            "UNBOUNDED FOLLOWING"
          : "";
        const fn = which === "first" ? "first_value" : "last_value";
        return { sql: `${fn}(${x.value.sql}) OVER (${order})`, dtype, kind: "agg", window: true };
      }
      case "Median": {
        const x = inner(value);
        if (!(isInteger(x.value.dtype) || family(x.value.dtype) === "float")) {
          refuse(this.scope, `median of ${dtypeName(x.value.dtype)}`);
        }
        const median = `median(${masked(x, `CAST(${x.value.sql} AS DOUBLE)`)})`;
        return this.#aggregate(expr, `CAST(${median} AS ${type})`, {
          row: `CAST(${median} OVER () AS ${type})`,
        });
      }
      case "Std":
      case "Var": {
        const [input, ddof] = value as [unknown, number];
        const x = inner(input);
        if (ddof !== 0 && ddof !== 1) refuse(this.scope, `${snake(name)}(ddof=${ddof})`);
        const fn = `${name === "Std" ? "stddev" : "var"}_${ddof === 0 ? "pop" : "samp"}`;
        const call = `${fn}(${masked(x, `CAST(${x.value.sql} AS DOUBLE)`)})`;
        return this.#aggregate(expr, `CAST(${call} AS ${type})`, {
          row: `CAST(${call} OVER () AS ${type})`,
        });
      }
      default:
        return refuse(this.scope, snake(name));
    }
  }

  /** The input of an aggregation: a row expression that holds no aggregation itself. */
  #nested(expr: unknown): SqlExpr {
    const value = this.compile(expr);
    if (value.kind === "agg") refuse(this.scope, "an aggregation inside another aggregation");
    return value;
  }

  /** An aggregate: as is in `agg` mode, as a window over all rows in `row` mode. */
  #aggregate(expr: unknown, agg: string, forms: { row: string }): SqlExpr {
    const dtype = this.#dtype(expr);
    return this.scope.mode === "agg"
      ? { sql: agg, dtype, kind: "agg", window: false }
      : { sql: forms.row, dtype, kind: "agg", window: true };
  }
}

/** A numeric value as the Spark type its sum is computed in. */
function coerceNumeric(value: SqlExpr, type: string): string {
  return family(value.dtype) === "bool" || sparkType(value.dtype) !== type
    ? `CAST(${value.sql} AS ${type})`
    : value.sql;
}

/** Microseconds from a polars datetime value in its unit. */
function toMicros(value: bigint, unit: string): bigint {
  if (unit === "Milliseconds" || unit === "ms") return value * 1000n;
  if (unit === "Nanoseconds" || unit === "ns") return value / 1000n;
  return value;
}

/** The stand-in for an opaque string function, if `expr` is one. */
function opaqueMarker(expr: unknown): { name: string; input: unknown } | undefined {
  const [kind, value] = variant(expr);
  if (kind !== "Function") return undefined;
  const fn = value as { input: unknown[]; function: unknown };
  if (functionKey(fn.function) !== "StringExpr.Replace") return undefined;
  const pattern = literalString(fn.input[1]);
  if (pattern === undefined || !pattern.startsWith(OPAQUE_MARKER)) return undefined;
  return { name: pattern.slice(OPAQUE_MARKER.length), input: fn.input[0] };
}

/** The string of a string literal expression. */
function literalString(expr: unknown): string | undefined {
  const [kind, value] = variant(expr);
  if (kind !== "Literal") return undefined;
  const [scalar, payload] = variant(value);
  if (scalar !== "Scalar") return undefined;
  const [type, v] = variant(payload);
  return type === "String" || type === "StringOwned" ? v as string : undefined;
}

/** The integer of a numeric literal expression (`null` for a null literal when allowed). */
function literalNumber(expr: unknown, allowNull: true): number | null | undefined;
function literalNumber(expr: unknown): number | undefined;
function literalNumber(expr: unknown, allowNull = false): number | null | undefined {
  const [kind, value] = variant(expr);
  if (kind !== "Literal") return undefined;
  const [scalar, payload] = variant(value);
  if (scalar !== "Scalar" && scalar !== "Dyn") return undefined;
  const [type, v] = variant(payload);
  if (type === "Null") return allowNull ? null : undefined;
  const n = Number(v);
  return typeof v === "number" || typeof v === "bigint"
    ? Number.isInteger(n) ? n : undefined
    : undefined;
}

/** The values of a polars list value (a Series or an array). */
function toArray(value: unknown): unknown[] | undefined {
  if (Array.isArray(value)) return value;
  if (value !== null && typeof value === "object" && "toArray" in value) {
    return (value as { toArray(): unknown[] }).toArray();
  }
  return undefined;
}

/** A regex that matches `text` literally (Java syntax). */
function quoteRegex(text: string): string {
  return text.replace(/[\\^$.|?*+()[\]{}]/g, "\\$&");
}

/** A Java replacement string that inserts `text` literally. */
function quoteReplacement(text: string): string {
  return text.replace(/[\\$]/g, "\\$&");
}

/**
 * A polars (Rust regex) replacement string in Java's syntax: `$n`, `${n}` and `${name}` refer to
 * groups, `$$` is a dollar; Java escapes dollars and backslashes with a backslash. Group numbers
 * move by `shift` (the first-match form adds a group in front). `undefined` when ambiguous.
 */
function javaReplacement(text: string, shift: number): string | undefined {
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === "\\") {
      out += "\\\\";
      continue;
    }
    if (ch !== "$") {
      out += ch;
      continue;
    }
    if (text[i + 1] === "$") {
      out += "\\$";
      i++;
      continue;
    }
    const braced = /^\{([A-Za-z0-9_]+)\}/.exec(text.slice(i + 1));
    const bare = /^[A-Za-z0-9_]+/.exec(text.slice(i + 1));
    const name = braced ? braced[1] : bare?.[0];
    if (name === undefined) {
      out += "\\$";
      continue;
    }
    if (/^\d+$/.test(name)) {
      // Java reads as many digits as make a group number: a digit after the reference is ambiguous.
      if (/^\d/.test(text.slice(i + 1 + (braced ? braced[0].length : name.length)))) {
        return undefined;
      }
      out += `$${Number(name) + shift}`;
    } else if (/^\d/.test(name)) return undefined;
    else out += `\${${name}}`;
    i += braced ? braced[0].length : name.length;
  }
  return out;
}

/** Strips Unicode whitespace as Rust's `str::trim` does (Java's `\s` only knows ASCII). */
function stripWhitespace(sql: string, side: "BOTH" | "LEADING" | "TRAILING"): string {
  const pattern = side === "BOTH"
    ? "(?U)^\\s+|\\s+$"
    : side === "LEADING"
    ? "(?U)^\\s+"
    : "(?U)\\s+$";
  return `regexp_replace(${sql}, ${stringLiteral(pattern)}, '')`;
}

/** IEEE division of floats: a zero divisor gives an infinity or NaN, as in polars. */
function floatDivide(a: string, b: string, type: string): string {
  const t = type as "DOUBLE" | "FLOAT";
  return `CASE WHEN ${b} = 0 THEN CASE WHEN isnan(${a}) OR ${a} = 0 THEN ${floatLiteral(NaN, t)} ` +
    `WHEN ${a} > 0 THEN ${floatLiteral(Infinity, t)} WHEN ${a} < 0 THEN ${
      floatLiteral(-Infinity, t)
    } END ELSE ${a} / ${b} END`;
}

/** Integer division rounding toward negative infinity; a zero divisor gives null. */
function floorDivide(a: string, b: string): string {
  return `CASE WHEN ${b} = 0 THEN NULL ELSE (${a} DIV ${b}) - CASE WHEN ${a} % ${b} != 0 AND ` +
    `((${a} < 0) != (${b} < 0)) THEN 1 ELSE 0 END END`;
}

/** Integer modulo with the divisor's sign (Python's); a zero divisor gives null. */
function floorModulo(a: string, b: string): string {
  return `CASE WHEN ${b} = 0 THEN NULL WHEN ${a} % ${b} != 0 AND ((${a} % ${b} < 0) != ` +
    `(${b} < 0)) THEN ${a} % ${b} + ${b} ELSE ${a} % ${b} END`;
}

/** Float modulo with the divisor's sign; a zero divisor gives NaN. */
function floatModulo(a: string, b: string, type: string): string {
  return `CASE WHEN ${b} = 0 THEN ${floatLiteral(NaN, type as "DOUBLE")} WHEN ${a} % ${b} != 0 ` +
    `AND ((${a} % ${b} < 0) != (${b} < 0)) THEN ${a} % ${b} + ${b} ELSE ${a} % ${b} END`;
}

/** `floor` of a float that stays a float (Spark's returns BIGINT); NaN, infinities kept. */
function floatFloor(x: string, type: string): string {
  return `CASE WHEN isnan(${x}) OR abs(${x}) >= 4503599627370496 THEN ${x} ELSE CAST(floor(${x}) ` +
    `AS ${type}) END`;
}

/** `ceil` of a float that stays a float. */
function floatCeil(x: string, type: string): string {
  return `CASE WHEN isnan(${x}) OR abs(${x}) >= 4503599627370496 THEN ${x} ELSE CAST(ceil(${x}) ` +
    `AS ${type}) END`;
}

const UNSIGNED_MAX: Record<string, string> = {
  UInt8: "255",
  UInt16: "65535",
  UInt32: "4294967295",
  UInt64: "18446744073709551615",
};

/**
 * A cast with polars' meaning: a non-strict cast gives null where the value does not fit or
 * parse (Spark's `CAST` would fail in ANSI mode or wrap), a strict one fails the job.
 *
 * @param scope the scope, for messages.
 * @param value the value.
 * @param to the target dtype.
 * @param strict whether a failed conversion is an error.
 * @returns the SQL.
 */
export function castSql(
  scope: ExprScope,
  value: SqlExpr,
  to: pl.DataType,
  strict: boolean,
): string {
  const from = value.dtype;
  if (sameDtype(from, to)) return value.sql;
  const target = typeOf(scope, to);
  const x = value.sql;
  const ff = family(from);
  const ft = family(to);
  const plain = `CAST(${x} AS ${target})`;
  let lenient: string | undefined;
  if (ff === "null") return `CAST(NULL AS ${target})`;
  const numeric = (f: string) => f === "int" || f === "uint" || f === "float";
  if ((numeric(ff) || ff === "bool") && (ft === "float")) lenient = plain;
  else if ((numeric(ff) || ff === "bool") && (ft === "int" || ft === "uint")) {
    if (ft === "uint") {
      if (to.variant === "UInt64" && ff === "float") {
        refuse(scope, `cast from ${dtypeName(from)} to UInt64`);
      }
      const wide = to.variant === "UInt64" ? "DECIMAL(20,0)" : "BIGINT";
      const t = ff === "bool" ? `CAST(${x} AS INT)` : `try_cast(${x} AS ${wide})`;
      lenient = `CASE WHEN ${t} BETWEEN 0 AND ${
        UNSIGNED_MAX[to.variant]
      } THEN CAST(${t} AS ${target}) END`;
    } else lenient = ff === "bool" ? plain : `try_cast(${x} AS ${target})`;
  } else if (numeric(ff) && ft === "bool") lenient = plain;
  else if ((ff === "int" || ff === "uint" || ff === "bool") && ft === "string") lenient = plain;
  else if (ff === "string" && (ft === "int" || ft === "uint")) {
    const wide = to.variant === "UInt64" ? "DECIMAL(20,0)" : ft === "uint" ? "BIGINT" : target;
    const parsed = `CASE WHEN ${x} RLIKE '^[+-]?[0-9]+$' THEN try_cast(${x} AS ${wide}) END`;
    lenient = ft === "uint"
      ? `CASE WHEN ${parsed} BETWEEN 0 AND ${
        UNSIGNED_MAX[to.variant]
      } THEN CAST(${parsed} AS ${target}) END`
      : parsed;
  } else if (ff === "string" && ft === "float") {
    lenient = `CASE WHEN ${x} RLIKE ${
      stringLiteral(
        "^[+-]?([0-9]+\\.?[0-9]*|\\.[0-9]+)([eE][+-]?[0-9]+)?$|(?i)^[+-]?(inf|infinity|nan)$",
      )
    } THEN try_cast(${x} AS ${target}) END`;
  } else if (ff === "string" && ft === "date") {
    lenient =
      `CASE WHEN ${x} RLIKE '^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}$' THEN try_cast(${x} AS DATE) END`;
  } else if (ff === "date" && ft === "string") lenient = plain;
  else if (ff === "date" && ft === "datetime" && target === "TIMESTAMP_NTZ") lenient = plain;
  else if (ff === "datetime" && ft === "date" && sparkType(from) === "TIMESTAMP_NTZ") {
    lenient = plain;
  } else if (ff === "datetime" && ft === "datetime" && sparkType(from) === target) lenient = x;
  else if (ff === "date" && (ft === "int" || ft === "float")) {
    lenient = `CAST(unix_date(${x}) AS ${target})`;
  } else if ((ff === "int" || ff === "uint") && ft === "date") {
    lenient = `date_from_unix_date(try_cast(${x} AS INT))`;
  }
  if (lenient === undefined) refuse(scope, `cast from ${dtypeName(from)} to ${dtypeName(to)}`);
  if (!strict || lenient === plain || lenient === x) return lenient;
  return `CASE WHEN ${x} IS NULL THEN NULL ELSE coalesce(${lenient}, raise_error(${
    stringLiteral(
      `task '${scope.task}': strict cast from ${dtypeName(from)} to ${dtypeName(to)} failed`,
    )
  })) END`;
}

/** The options of a `rolling_*` by row count, as polars serializes them. */
interface RollingOptions {
  readonly window_size: number;
  readonly min_periods: number;
  readonly weights: unknown;
  readonly center: boolean;
  readonly fn_params: unknown;
}

/** The number of a numeric literal expression, fractions included. */
function literalFloat(expr: unknown): number | undefined {
  const [kind, value] = variant(expr);
  if (kind !== "Literal") return undefined;
  const [scalar, payload] = variant(value);
  if (scalar !== "Scalar" && scalar !== "Dyn") return undefined;
  const [, v] = variant(payload);
  return typeof v === "number" || typeof v === "bigint" ? Number(v) : undefined;
}

/**
 * How capture group `group` of a regex sits in it: whether it may take no part in a match (it or
 * a group around it is optional, or an alternation surrounds it) and whether it may match the
 * empty string (judged conservatively). `undefined` when the pattern has no such group; group 0
 * is the whole match, which always takes part.
 */
function groupShape(
  pattern: string,
  group: number,
): { optional: boolean; mayBeEmpty: boolean } | undefined {
  interface Open {
    readonly index: number;
    readonly start: number;
    alternation: boolean;
  }
  const stack: Open[] = [{ index: -1, start: 0, alternation: false }];
  let count = 0;
  const closed: {
    index: number;
    start: number;
    end: number;
    optional: boolean;
    parents: Open[];
  }[] = [];
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i];
    if (ch === "\\") {
      i++;
      continue;
    }
    if (ch === "[") {
      i++;
      if (pattern[i] === "^") i++;
      if (pattern[i] === "]") i++;
      while (i < pattern.length && pattern[i] !== "]") i += pattern[i] === "\\" ? 2 : 1;
      continue;
    }
    if (ch === "(") {
      const rest = pattern.slice(i + 1);
      const capturing = !rest.startsWith("?") || /^\?P?<[A-Za-z]/.test(rest);
      stack.push({ index: capturing ? ++count : 0, start: i + 1, alternation: false });
      continue;
    }
    if (ch === "|") {
      stack[stack.length - 1].alternation = true;
      continue;
    }
    if (ch === ")" && stack.length > 1) {
      const open = stack.pop()!;
      const next = pattern.slice(i + 1);
      const optional = /^(\?|\*|\{0|\{,)/.test(next);
      closed.push({ ...open, end: i, optional, parents: [...stack] });
    }
  }
  if (group === 0) return { optional: false, mayBeEmpty: false };
  const found = closed.find((c) => c.index === group);
  if (found === undefined) return undefined;
  // A group takes part whenever the match does unless it or a group around it may be skipped.
  const around = closed.filter((c) => c.start <= found.start && c.end >= found.end);
  const optional = around.some((c) => c.optional) || found.parents.some((p) => p.alternation);
  const body = pattern.slice(found.start, found.end);
  const mayBeEmpty = body.length === 0 ||
    !/^(?:[^*?{}|()\\^$]|\\[dDwWsS.\\\-\[\](){}*+?|^$/])+$/.test(body);
  return { optional, mayBeEmpty };
}
