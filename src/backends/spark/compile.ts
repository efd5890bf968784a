/**
 * The Spark SQL compiler: a spark task's polars plan as one Spark SQL query over a temporary view
 * per input.
 *
 * The task runs on empty frames of its declared inputs, each marked with a column
 * `__glacier_input__<name>` so that inputs with equal schemas stay apart; polars serializes the
 * lazy plan (`serialize("json")`), and the compiler walks it. Polars stays the authority on types:
 * every expression's dtype and output name is read back from polars, and every operand is cast to
 * the dtype polars computes in, so Spark's own coercion rules never apply. Anything outside the
 * supported subset is refused with an {@linkcode UnsupportedError} naming the task and the polars
 * operation, never compiled to a different answer.
 *
 * ## Where Spark and polars differ, and what the compiler does
 *
 * - **Sum of nothing**: polars' `sum` of an empty or all-null group is 0, Spark's `SUM` is NULL:
 *   `coalesce(SUM(x), 0)`.
 * - **Integer division and modulo**: polars' `/` on two integers is floor division (`-7 / 2` is
 *   -4) and `%` takes the divisor's sign (Python's); Spark's `DIV` and `%` truncate. Both are
 *   rebuilt from `DIV`/`%` with a correction; a zero divisor gives null as in polars (Spark in
 *   ANSI mode would fail).
 * - **Float division by zero**: polars gives ±inf or NaN (IEEE), Spark NULL or an error: a `CASE`
 *   returns the IEEE value. A negative zero divisor counts as a positive one.
 * - **Nulls sort first** in polars by default, whatever the direction (`nulls_last=false`); Spark
 *   puts them first ascending and last descending: every key says `NULLS FIRST`/`LAST`.
 * - **Row order**: polars keeps the input's row order through filters and projections, puts
 *   groups in the order of their first row (nodejs-polars' `groupBy` maintains order), and
 *   `head`, `slice`, `first`, `last` and `unique(keep=...)` depend on it; Spark has no row order.
 *   The compiler carries it in hidden columns: the row position in the input file
 *   (`monotonically_increasing_id()`, increasing in file order for one file), sort keys, and a
 *   group's first row. The query ends with `ORDER BY` only when the task sorts. The runner must
 *   register each view straight from its one file (no repartition) for the row position to hold;
 *   Spark prunes the hidden columns, and the windows behind them, when nothing reads them.
 * - **Slices are 0-based** (`str.slice(1, 2)` is `substring(s, 2, 2)`); negative offsets count
 *   from the end in both, and both clip a start before the beginning the same way.
 * - **`str.contains` is a regex** (`RLIKE`, a search, not a full match); `literal: true` uses
 *   `instr`. Patterns are Rust regex in polars and Java regex in Spark: the common syntax agrees;
 *   look-around and backreferences exist only in Java, and Unicode classes may differ.
 * - **`str.replace`** replaces the first match in polars (`n=1`); Spark only has
 *   `regexp_replace` (all matches), so the first match is found by a lazy prefix
 *   (`(?s)^(.*?)(?:pat)` → `$1rep`). Replacement references (`$1`, `${name}`, `$$`) are rewritten
 *   to Java's syntax; backslashes are escaped.
 * - **`str.strip`** trims Unicode whitespace in polars and only spaces in Spark's `trim`: a
 *   `(?U)\s` regex. `str.lengths` counts characters (`char_length`). Upper and lower case follow
 *   Java's rules in Spark and Rust's in polars (they agree on the corpus, including `ß` → `SS`).
 * - **`concat_str`**: nodejs-polars ignores nulls by default (`concat_ws`); with
 *   `ignore_nulls: false` any null makes null (`concat`). String `+` propagates nulls (`concat`).
 * - **Full joins keep both key columns** in nodejs-polars 0.25.2 (`coalesce` defaults to
 *   `KeepColumns` for `how: "full"`; the right key gets the suffix, which is `right` without an
 *   underscore by default in nodejs-polars); with `coalesce: true` the key is
 *   `coalesce(l.k, r.k)`. Inner and left joins keep the left key. Null keys never match, unless
 *   `nulls_equal` (`<=>`).
 * - **Literals keep polars' dtype**: a JS number is a Float64 (`1D`, a DOUBLE literal), a bigint
 *   a UInt64 (so `Int64 / lit(2n)` divides as floats, as in polars), `lit(3).cast(pl.Int32)` an
 *   INT; an integer column compared with a JS number is compared as doubles, as polars does.
 * - **ANSI mode** (Spark 4's default) is assumed on or off alike: every cast that may fail is a
 *   `try_cast` or guarded, and divisions by zero never reach Spark's operators.
 * - **`n_unique` counts null** as a value, Spark's `COUNT(DISTINCT)` does not: one is added when
 *   the group has a null.
 * - **`min`/`max` skip NaN** in polars unless every value is NaN; Spark orders NaN above every
 *   number: `coalesce(max(CASE WHEN isnan(x) THEN NULL ELSE x END), max(x))`.
 * - **`is_in`** with a null in the list: polars ignores the null (a missing value never matches),
 *   SQL `IN` would turn misses into NULL: nulls are dropped from the list. An empty list is false.
 *   What a null *input* gives depends on the dtypes in polars (null for an Int64 column, false for
 *   an Int32 column against a list of JS numbers), so the compiler asks polars, on one null row.
 *   Fractions in a list tested against an integer column never match and are dropped.
 * - **`first`/`last`** take the group's first or last row in order, nulls included (Spark's
 *   `first` has no order): `min_by`/`max_by` over the row position, or `first_value`/
 *   `last_value` windows when the order comes from a sort.
 * - **Casts**: polars' default (non-strict) cast gives null where a value does not fit or parse;
 *   Spark's `CAST` fails in ANSI mode (the default in Spark 4) or wraps. Casts use `try_cast` with
 *   range checks for unsigned targets, and strings are only parsed when they look like what polars
 *   parses (`' 4'` and `'3.5'` are not integers in polars, though Spark reads them; `'2021-2-3'`
 *   is a date in both). A strict cast that fails calls `raise_error`. Float to string is refused:
 *   Java and Rust print floats differently (`1.0E20` against `1e20`).
 * - **`floor`/`ceil`** of a float stay floats (Spark's return BIGINT); `round` uses `bround`
 *   (half to even), as polars does by default.
 * - **Overflow**: polars wraps integer overflow; Spark in ANSI mode fails the job (never a wrong
 *   answer; with ANSI off Spark wraps too).
 * - **`std`/`var`** of one value: null in both (`stddev_samp`).
 * - **Windows**: `expr.over(keys)` partitions every window of `expr` by the keys (null keys form
 *   one group in both); an aggregate gives each row its group's value. `cum_sum`, `cum_min`,
 *   `cum_max` run along the row order and keep null where the input is null (Spark's running
 *   `SUM` would carry the last value); `cum_count` counts the non-null values so far; `shift` is
 *   `lag`/`lead` along the row order. `rank` leaves nulls null and ranks the rest (Spark would
 *   rank nulls too): `min` is `rank()`, `dense` `dense_rank()`, `max` the count of values up to
 *   the row's, `average` their mean, `ordinal` breaks ties by row order. Reverse cumulative
 *   functions run from the row to the end; `diff` is the value less its `lag`; `fill_null` with
 *   `forward`/`backward` is `last_value`/`first_value` ignoring nulls. `over(order_by=...)` (which
 *   nodejs-polars 0.25.2 cannot write) and `rank(method='random')` are refused by name.
 * - **`rolling_*` by row count**: the frame is the row and the `window - 1` before it, or
 *   centred as polars centres it (`window / 2` rows before, the rest after); null where the
 *   frame holds fewer non-null values than `min_periods`. `rolling_min` is NaN when the frame
 *   holds a NaN (Spark's `MIN` skips NaN). Weights are refused.
 * - **Quantiles** (`quantile`, `rolling_median`, `rolling_quantile`): the sorted non-null values
 *   (`sort_array(collect_list(x))`, NaN last as in polars) are read at `(n - 1) * q` by polars'
 *   rules: `nearest` rounds half away from zero, `lower`/`higher` floor and ceil, `midpoint`
 *   averages those two, `linear` interpolates. `linear` and `midpoint` on Float32 are refused
 *   (cast to Float64 first: the rounding of a Float32 result is not reproduced).
 * - **`dt.truncate`** rounds down to multiples counted from the epoch, as polars does: months
 *   from January 1970 (`q` is 3 months, `y` 12), weeks from Monday 1970-01-05, fixed durations in
 *   microseconds of a `TIMESTAMP_NTZ`. A zoned datetime is truncated in its zone's wall-clock
 *   time; a result that occurs twice keeps the input's offset, one that never occurs moves
 *   forward by the gap (`_truncate.ts`). Units under a day on a Date are refused.
 * - **`str.zfill`** counts UTF-8 bytes, as polars does; **`str.extract`** gives null where the
 *   pattern does not match (Spark: `''`); a group that may both stay out of the match and match
 *   the empty string is refused, since Spark gives `''` for both.
 * - **`str.strptime`** (`strict=false, exact=false` in nodejs-polars) parses the first place in
 *   the text where chrono's parser reads a valid date: the format becomes a regex of chrono's
 *   grammar, matched at every place by a lookahead, and each match is checked as chrono checks it
 *   (`_strptime.ts`). Directives other than the numeric ones are refused, naming them.
 * - **`str.concat`** joins the values in row order (sorted by the hidden order columns); nulls
 *   are skipped or, with `ignore_nulls: false`, make null; no rows give `''`.
 * - **`dt.strftime`** is `date_format` with the format translated to a Spark pattern; a
 *   directive Spark cannot express is refused, naming it.
 * - **Types**: `UInt8`→`SMALLINT`, `UInt16`→`INT`, `UInt32`→`BIGINT` and `UInt64`→
 *   `DECIMAL(20,0)` widen, since Spark has no unsigned types; a naive `Datetime` is
 *   `TIMESTAMP_NTZ` (a wall-clock time, as polars means it; parquet written by polars reads as
 *   such), a zoned one `TIMESTAMP` (an instant). Spark keeps microseconds: nanosecond datetimes
 *   lose precision. `Time`, `Duration` and `Object` have no Spark type and are refused.
 *
 * @module
 */
import { sparkCsvOptions } from "./_csv.ts";
import type pl from "../../polars.ts";
import { GlacierError, SchemaMismatchError, UnsupportedError } from "../../core/errors.ts";
import type { BucketRef, Step } from "../../core/lineage.ts";
import type { TaskInputs } from "../../core/task.ts";
import { exactIssues, type Schema } from "../../schema/schema.ts";
import { dtypeName } from "../../schema/dtypes.ts";
import { captureSparkPlan } from "./_capture.ts";
import { PlanOracle } from "../../core/plan_oracle.ts";
import { PlanCompiler } from "./_plan_compiler.ts";
import { arrowType, sparkType, UnsupportedDtype } from "./_types.ts";
import type { SparkColumn, SparkInput, SparkJob, SparkTable } from "./job.ts";
import { compileChecks, type SparkChecks } from "./checks_sql.ts";

/** A task compiled to Spark SQL, before it is bound to storage. */
export interface CompiledSparkSql {
  /** The task's name. */
  readonly task: string;
  /** The query: reads the views, yields the output columns in order, cast to their Spark types. */
  readonly sql: string;
  /** The temporary view the query reads each input as, by the task's input name. */
  readonly views: Readonly<Record<string, string>>;
  /** The output columns and their Spark types, in the target bucket's order. */
  readonly columns: readonly SparkColumn[];
  /** Whether the query orders its rows (the task sorts); the output must keep that order. */
  readonly sorted: boolean;
  /** The target bucket's quality checks, compiled, when it has any. */
  readonly checks?: SparkChecks;
}

/** Where a job's inputs and output live. */
export interface SparkBindings {
  /** Each input's object and format, by the task's input name (`input` for one input). */
  readonly inputs: Readonly<
    Record<string, Pick<SparkTable, "uri" | "format"> & Pick<SparkInput, "parts" | "keys">>
  >;
  /** The output's object and format. */
  readonly output: Pick<SparkTable, "uri" | "format">;
}

/**
 * Compiles spark tasks to Spark SQL and assembles their jobs.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { pl, Provider, schema, t } from "@glacier/glacier";
 * import { SparkSqlCompiler } from "./compile.ts";
 *
 * const provider = new Provider();
 * const Orders = schema({ id: t.int64, amount: t.float64 });
 * const Big = schema({ id: t.int64, amount: t.float64 });
 * const task = provider.spark().task(
 *   { name: "big", input: Orders, output: Big },
 *   (df) => df.filter(pl.col("amount").gt(100)),
 * );
 * const orders = provider.bucket({ bucket: "shop", path: "orders.parquet", schema: Orders });
 * const big = provider.bucket({ bucket: "shop", path: "big.parquet", schema: Big });
 * const step = orders.transform(task).to(big).lineage[0];
 * const compiled = new SparkSqlCompiler().compile(step);
 * assert.ok(compiled.sql.includes("> 100D"));
 * ```
 */
export class SparkSqlCompiler {
  /**
   * Compiles a step's task.
   *
   * @param step the step: its task, the buckets it reads and the one it writes.
   * @returns the SQL, the view of each input and the output columns.
   * @throws {UnsupportedError} naming the task and the polars operation Glacier cannot compile.
   * @throws {SchemaMismatchError} when the task's output differs from the target bucket.
   */
  compile(step: Step): CompiledSparkSql {
    return compileStep(step);
  }

  /**
   * Compiles a step's task and binds it to storage.
   *
   * @param step the step.
   * @param bindings where each input and the output live.
   * @returns the job.
   */
  job(step: Step, bindings: SparkBindings): SparkJob {
    return sparkJob(step, bindings);
  }
}

/**
 * Compiles a step's task to Spark SQL.
 *
 * @param step the step: its task, the buckets it reads and the one it writes.
 * @returns the SQL, the view of each input and the output columns.
 * @throws {UnsupportedError} naming the task and the polars operation Glacier cannot compile.
 * @throws {SchemaMismatchError} when the task's output differs from the target bucket.
 * @example
 * ```ts ignore
 * const { sql, views, columns } = compileStep(step);
 * ```
 */
export function compileStep(step: Step): CompiledSparkSql {
  // A task over the same buckets compiles to the same query whatever partition it computes (a
  // partition's ref changes the path and shares the bucket's schema, CSV options and checks):
  // the preflight's compilation serves the whole run.
  const buckets = [
    bucketKey(step.target),
    ...Object.entries(step.sources).map(([name, ref]) => `${name}=${bucketKey(ref)}`),
  ].join("\n");
  const mine = compiled.get(step.task) ?? new Map<string, CompiledSparkSql>();
  compiled.set(step.task, mine);
  let result = mine.get(buckets);
  if (result === undefined) {
    result = compileOnce(step);
    mine.set(buckets, result);
  }
  return result;
}

const compiled = new WeakMap<Step["task"], Map<string, CompiledSparkSql>>();

/** What of a bucket a compilation depends on, by identity: the same for each of its partitions. */
function bucketKey(ref: BucketRef): string {
  return [ref.location, ref.schema, ref.csv, ref.checks].map((part) =>
    typeof part === "object" && part !== null ? identity(part) : String(part)
  ).join(" ");
}

const identities = new WeakMap<object, number>();
let identified = 0;

/** A number for an object, the same for as long as it lives. */
function identity(value: object): number {
  const found = identities.get(value);
  if (found !== undefined) return found;
  identities.set(value, ++identified);
  return identified;
}

function compileOnce(step: Step): CompiledSparkSql {
  const task = step.task;
  const captured = captureSparkPlan(step);
  const issues = exactIssues(captured.schema, step.target.schema, {
    task: task.name,
    bucket: step.target.location,
  });
  if (issues.length > 0) throw new SchemaMismatchError(issues.join("; "));
  for (const ref of [...Object.values(step.sources), step.target]) sparkCsvOptions(task.name, ref);
  const inputs = task.kind === "single" ? ["input"] : Object.keys(task.inputs as TaskInputs);
  const views = viewNames(task.name, inputs);
  const output = Object.entries(step.target.schema) as [string, pl.DataType][];
  try {
    const columns = output.map(([name, dtype]) => [name, typeFor(task.name, name, dtype)] as const);
    const compiler = new PlanCompiler(task.name, new PlanOracle(), views);
    const { sql, sorted } = compiler.query(captured.plan, output);
    const checks = compileChecks(step.target, auditView(task.name), task.name);
    return { task: task.name, sql, views, columns, sorted, ...(checks ? { checks } : {}) };
  } catch (error) {
    if (error instanceof GlacierError) throw error;
    throw new UnsupportedError(
      `task '${task.name}' could not be compiled to Spark SQL (${
        error instanceof Error ? error.message.split("\n")[0] : String(error)
      }); declare the task on provider.local() or provider.serverless()`,
      { cause: error },
    );
  }
}

/**
 * Compiles a step's task and binds it to storage: the job that `spark-submit` or EMR Serverless
 * runs.
 *
 * @param step the step.
 * @param bindings where each input and the output live.
 * @returns the job; each input's columns are its source bucket's.
 * @throws {UnsupportedError} as {@linkcode compileStep} does, or when a binding is missing.
 * @example
 * ```ts ignore
 * const job = sparkJob(step, {
 *   inputs: { input: { uri: "s3://shop/raw/orders.parquet", format: "parquet" } },
 *   output: { uri: "s3://shop/out/big.parquet", format: "parquet" },
 * });
 * ```
 */
export function sparkJob(step: Step, bindings: SparkBindings): SparkJob {
  const compiled = compileStep(step);
  const inputs = Object.fromEntries(
    Object.entries(compiled.views).map(([name, view]) => {
      const binding = bindings.inputs[name];
      const source = step.sources[name];
      if (binding === undefined || source === undefined) {
        throw new UnsupportedError(
          `task '${step.task.name}' has no binding for input '${name}'; pass its uri and format`,
        );
      }
      const csv = sparkCsvOptions(step.task.name, source);
      const keys = binding.keys ?? [];
      const columns: SparkColumn[] = [
        ...columnsOf(step.task.name, source.schema).filter(([column]) => !keys.includes(column)),
        ...keys.map((key) => [key, "STRING"] as const),
      ];
      return [name, { ...binding, view, columns, ...(csv ? { csv } : {}) }];
    }),
  );
  return {
    glacier: 1,
    task: compiled.task,
    sql: compiled.sql,
    inputs,
    output: {
      ...bindings.output,
      columns: compiled.columns,
      ...(step.target.csv ? { csv: sparkCsvOptions(step.task.name, step.target) } : {}),
      ...(bindings.output.format === "parquet" || bindings.output.format === "ipc"
        ? {
          arrow: Object.entries(step.target.schema).map(([name, dtype]) =>
            [name, arrowType(dtype)] as const
          ),
        }
        : {}),
    },
    ...(compiled.checks ? { checks: compiled.checks } : {}),
  };
}

/** The Spark columns of a schema. */
function columnsOf(task: string, schema: Schema): SparkColumn[] {
  return Object.entries(schema).map(([name, dtype]) => [name, typeFor(task, name, dtype)]);
}

/** A column's Spark type, or the error naming the task, the column and its dtype. */
function typeFor(task: string, column: string, dtype: pl.DataType): string {
  try {
    return sparkType(dtype);
  } catch (error) {
    if (!(error instanceof UnsupportedDtype)) throw error;
    throw new UnsupportedError(
      `task '${task}' reads or writes column '${column}' of dtype ${
        dtypeName(dtype)
      }, which Spark cannot hold; declare the task on provider.local() or provider.serverless()`,
    );
  }
}

/**
 * The view a job's output is read back as for its checks: one per task, since the jobs of one
 * Spark Connect session share its views, and apart from the input views (`glacier_<task>_<input>`).
 */
function auditView(task: string): string {
  return `glacier__audit_${task.replace(/[^A-Za-z0-9_]/g, "_")}`;
}

/** A distinct, valid temporary view name per input. */
function viewNames(task: string, inputs: string[]): Record<string, string> {
  const used = new Set<string>();
  const base = task.replace(/[^A-Za-z0-9_]/g, "_");
  return Object.fromEntries(inputs.map((input) => {
    let view = `glacier_${base}_${input.replace(/[^A-Za-z0-9_]/g, "_")}`;
    while (used.has(view)) view += "_";
    used.add(view);
    return [input, view];
  }));
}
