/**
 * The Spark semantics corpus: task shapes run on polars (as local mode runs them) and, compiled
 * to Spark SQL, on a real Apache Spark (PySpark 4.0.1 in `.glacier/venv-spark`, installed by the
 * test itself when missing), with the rows compared: in order where the task sorts, as multisets
 * otherwise, floats to 1e-9 relative. All shapes run in one session (one Python process,
 * `_spark_sql_harness.py`) of the Spark Connect server the Spark test files share.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Pipeline, pl, Provider, type Schema, schema } from "../../mod.ts";
import type { Step } from "../../src/core/lineage.ts";
import { applyTask } from "../../src/core/apply_task.ts";
import { compileStep } from "../../src/backends/spark/compile.ts";
import { sharedSparkConnect } from "./_spark_cluster.ts";

const HARNESS = fileURLToPath(new URL("./_spark_sql_harness.py", import.meta.url));
const REPO = fileURLToPath(new URL("../..", import.meta.url));

// ---------------------------------------------------------------------------------------------
// Data: small, deterministic, with nulls, negatives, zeros, duplicate keys, empty groups, unicode.

function dates(values: (string | null)[]): pl.Series {
  return pl.Series("d", values, pl.String).str.strptime(pl.Date, "%Y-%m-%d");
}

const orders = pl.DataFrame([
  pl.Series("id", [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], pl.Int64),
  pl.Series("customer", [1, 2, 2, null, 3, 4, 1, 5, null, 2, 3, 1], pl.Int64),
  pl.Series(
    "amount",
    [10.5, -3.25, null, 100, 0, 47.75, 12, null, -0.5, 250.125, 33.3, 8],
    pl.Float64,
  ),
  pl.Series("qty", [2, -1, 0, null, 5, 3, 7, -4, 1, null, 2, 6], pl.Int32),
  pl.Series(
    "region",
    [
      "north",
      "south",
      null,
      "Ostküste",
      "north",
      "süd",
      "",
      "ÅLAND",
      null,
      "south",
      "north",
      "東京",
    ],
    pl.String,
  ),
  pl.Series(
    "code",
    [" 4", "3.5", "+5", "007", "x", "12", "-3", null, "1e3", "inf", "\u00a0pad\u2003", "  tab\t"],
    pl.String,
  ),
  dates([
    "2024-01-31",
    "2024-02-29",
    "2023-12-31",
    null,
    "2024-03-01",
    "2024-03-02",
    "2024-03-03",
    "2024-06-15",
    "2021-02-03",
    "2024-03-01",
    null,
    "1999-12-31",
  ]).alias("day"),
  pl.Series(
    "flag",
    [true, false, null, true, true, false, null, false, true, true, false, true],
    pl.Bool,
  ),
]);

const customers = pl.DataFrame([
  pl.Series("customer", [1, 2, 2, 3, null, 6, 7], pl.Int64),
  pl.Series("name", ["Ann", "Bob", "Bob2", "Çelik", "ghost", "Zoë", null], pl.String),
  pl.Series("tier", [1, 2, 2, 3, null, -1, 1], pl.Int8),
  pl.Series("region", ["north", "south", "south", "Ostküste", null, "east", "east"], pl.String),
]);

const regions = pl.DataFrame([
  pl.Series("region", ["north", "south", "Ostküste", "東京", "west"], pl.String),
  pl.Series("zone", ["N", "S", "E", "JP", "W"], pl.String),
]);

const pairs = pl.DataFrame([
  pl.Series("a", [-7, 7, -7, 7, 5, null, 0, 9, -1, 6], pl.Int64),
  pl.Series("b", [2, 2, -2, -2, 0, 1, 3, null, 5, -4], pl.Int64),
  pl.Series("x", [-7.5, 7, -7, 0, 5, null, 0, 9.25, NaN, -1], pl.Float64),
  pl.Series("y", [2, 0, -2, 0, 0, 1, 3, null, 1, 0.5], pl.Float64),
]);

const dups = pl.DataFrame([
  pl.Series("k", [1, 1, 2, 2, 2, 3, null, null, 4], pl.Int64),
  pl.Series("v", ["a", "a", "b", "c", "b", null, "x", "x", "é"], pl.String),
  pl.Series("n", [10, 20, 30, 40, 50, 60, 70, 80, 90], pl.Int32),
]);

const events = pl.DataFrame([
  pl.Series("id", [1, 2, 3, 4], pl.Int64),
  pl.Series(
    "ts",
    [
      new Date("2024-03-01T10:15:30.250Z"),
      new Date("2024-02-29T23:59:59.999Z"),
      null,
      new Date("1970-01-01T00:00:00.000Z"),
    ],
    pl.Datetime("ms"),
  ),
]);

/** Text for `str.strptime`: where chrono finds a date, and where it finds none. */
const texts = pl.DataFrame([
  pl.Series("id", [...Array(30).keys()].map((i) => i + 1), pl.Int64),
  pl.Series("k", [
    1,
    2,
    1,
    null,
    2,
    3,
    1,
    2,
    3,
    1,
    2,
    1,
    3,
    2,
    1,
    null,
    2,
    3,
    1,
    2,
    3,
    1,
    2,
    1,
    3,
    2,
    1,
    3,
    2,
    1,
  ], pl.Int64),
  pl.Series(
    "s",
    [
      "2024-01-02",
      " 2024-01-02",
      "x2024-01-02",
      "2024-01-02x",
      "2024-1-2",
      "2024-01-02 10:00",
      "abc",
      "",
      "2024-02-30",
      "2024-02-29",
      "12024-01-02",
      "2024-13-01x2024-01-05",
      "+2024-01-02",
      "-0001-01-02",
      "99-01-02",
      "2024-01- 2",
      null,
      "２０２４-01-02",
      "+262143-01-01",
      "-262143-01-01",
      "2023-02-29",
      "311/12/2024",
      "1/2/3",
      "3/12/-2024",
      "20240102",
      "120240102",
      "ab31/12/2024x",
      "2024-01-02   10:05:59.123456789",
      "2024-01-02\t23:59:60.5",
      "2024-01-02 9:5",
    ],
    pl.String,
  ),
]);

/** The same instants in three zones; the Berlin ones cross both 2024 DST changes. */
const zoned = pl.DataFrame([
  pl.Series("id", [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], pl.Int64),
  pl.Series(
    "utc",
    [
      "2024-10-27T00:30:00Z",
      "2024-10-27T01:30:00Z",
      "2024-10-27T00:50:00Z",
      "2024-10-27T01:50:00Z",
      "2024-10-27T02:10:00Z",
      "2024-03-31T01:05:00Z",
      "2024-03-31T01:30:00Z",
      "2024-03-30T23:30:00Z",
      "2018-11-04T03:30:00Z",
      "2024-01-15T12:34:56.789Z",
      "1969-12-31T23:59:59Z",
      null,
    ].map((v) => v === null ? null : new Date(v)),
    pl.Datetime("us"),
  ),
]).select(
  pl.col("id"),
  ...[["berlin", "Europe/Berlin"], ["kolkata", "Asia/Kolkata"], ["sao_paulo", "America/Sao_Paulo"]]
    .map(([name, zone]) =>
      pl.col("utc").dt.replaceTimeZone("UTC").dt.convertTimeZone(zone).alias(name)
    ),
);

// ---------------------------------------------------------------------------------------------
// Shapes.

type Frames = Record<string, pl.LazyDataFrame>;

interface Shape {
  /** The task's name. */
  readonly name: string;
  /** The input frames, by input name; `input` alone makes a single-source task. */
  readonly inputs: Record<string, pl.DataFrame>;
  /** The task body. */
  readonly body: (frames: Frames) => pl.LazyDataFrame;
  /** Whether the task's rows come in a defined order (it sorts). */
  readonly ordered?: boolean;
}

const col = pl.col;
const lit = pl.lit;
const O = { input: orders };

/** `dt.truncate` of a column by each duration, one column per duration. */
function truncations(column: string, everys: string[]): pl.Expr[] {
  return everys.map((every) => col(column).dt.truncate(every).alias(`every_${every}`));
}

/** A rolling quantile of a column by row count. */
function quantileOf(
  column: string,
  quantile: number,
  interpolation: "nearest" | "lower" | "higher" | "midpoint" | "linear",
  windowSize: number,
  minPeriods: number,
  center = false,
): pl.Expr {
  return col(column).rollingQuantile({ quantile, interpolation, windowSize, minPeriods, center });
}

const shapes: Shape[] = [
  {
    name: "filter_float_gt_number",
    inputs: O,
    body: ({ input }) => input.filter(col("amount").gt(10)),
  },
  {
    name: "filter_int_column_vs_js_number",
    inputs: O,
    body: ({ input }) => input.filter(col("qty").gtEq(2)).select("id", "qty"),
  },
  {
    name: "boolean_logic_kleene",
    inputs: O,
    body: ({ input }) =>
      input.select(
        col("id"),
        col("flag").and(col("amount").gt(0)).alias("and"),
        col("flag").or(col("amount").lt(0)).alias("or"),
        col("flag").not().alias("not"),
      ),
  },
  {
    name: "filter_compound",
    inputs: O,
    body: ({ input }) =>
      input.filter(
        col("amount").gt(0).and(col("region").neq(lit("north"))).or(col("flag").not()),
      ),
  },
  {
    name: "arithmetic_and_literal_dtypes",
    inputs: O,
    body: ({ input }) =>
      input.select(
        col("id"),
        col("id").mul(2).plus(col("qty")).minus(1).alias("mixed"),
        col("qty").plus(lit(1).cast(pl.Int32)).alias("int32_plus"),
        col("qty").mul(col("qty")).alias("int_square"),
        col("amount").div(3).alias("third"),
        lit(7n).alias("big"),
        lit(2).alias("two"),
      ),
  },
  {
    name: "integer_floor_division_and_modulo",
    inputs: { input: pairs },
    body: ({ input }) =>
      input.select(
        col("a"),
        col("b"),
        col("a").div(col("b")).alias("div"),
        col("a").modulo(col("b")).alias("mod"),
        col("a").div(lit(3n)).alias("div_lit"),
        col("a").modulo(lit(-4n)).alias("mod_lit"),
      ),
  },
  {
    name: "float_division_by_zero_and_modulo",
    inputs: { input: pairs },
    body: ({ input }) =>
      input.select(
        col("x"),
        col("y"),
        col("x").div(col("y")).alias("div"),
        col("x").modulo(col("y")).alias("mod"),
        col("a").div(col("y")).alias("int_by_float"),
      ),
  },
  {
    name: "casts",
    inputs: O,
    body: ({ input }) =>
      input.select(
        col("id"),
        col("code").cast(pl.Int64).alias("code_int"),
        col("code").cast(pl.Float64).alias("code_float"),
        col("amount").cast(pl.Int32).alias("amount_int"),
        col("qty").cast(pl.UInt8).alias("qty_u8"),
        col("qty").cast(pl.Float64).alias("qty_float"),
        col("id").cast(pl.String).alias("id_str"),
        col("flag").cast(pl.String).alias("flag_str"),
        col("flag").cast(pl.Int32).alias("flag_int"),
        col("day").cast(pl.String).alias("day_str"),
        col("qty").cast(pl.Bool).alias("qty_bool"),
      ),
  },
  {
    name: "when_then_otherwise",
    inputs: O,
    body: ({ input }) =>
      input.select(
        col("id"),
        pl.when(col("amount").gt(50)).then(lit("big")).when(col("amount").gt(0)).then(
          lit("small"),
        ).otherwise(lit("none")).alias("size"),
        pl.when(col("flag")).then(col("qty")).otherwise(lit(0)).alias("qty_if"),
      ),
  },
  {
    name: "null_tests_and_fill_null",
    inputs: O,
    body: ({ input }) =>
      input.select(
        col("id"),
        col("amount").isNull().alias("amount_null"),
        col("region").isNotNull().alias("region_set"),
        col("amount").fillNull(0).alias("amount0"),
        col("region").fillNull(lit("?")).alias("region_q"),
        col("qty").fillNull(lit(-1).cast(pl.Int32)).alias("qty_m1"),
      ),
  },
  {
    name: "str_case_unicode",
    inputs: O,
    body: ({ input }) =>
      input.select(
        col("id"),
        col("region").str.toUpperCase().alias("up"),
        col("region").str.toLowerCase().alias("low"),
        lit("ß straße ǅ").str.toUpperCase().alias("lit_up"),
      ),
  },
  {
    name: "str_strip_unicode_whitespace",
    inputs: O,
    body: ({ input }) =>
      input.select(
        col("id"),
        col("code").str.strip().alias("both"),
        col("code").str.lstrip().alias("left"),
        col("code").str.rstrip().alias("right"),
        col("code").str.stripChars(" +").alias("chars"),
      ),
  },
  {
    name: "str_contains_regex_and_literal",
    inputs: O,
    body: ({ input }) =>
      input.select(
        col("id"),
        col("region").str.contains("^s").alias("starts_s"),
        col("region").str.contains("(?i)NORTH").alias("ci"),
        col("region").str.contains("ü|京").alias("alt"),
        col("code").str.contains(".", true).alias("dot_literal"),
        col("code").str.contains("[0-9]+").alias("digits"),
      ),
  },
  {
    name: "str_starts_ends_with",
    inputs: O,
    body: ({ input }) =>
      input.filter(col("region").str.startsWith("s").or(col("region").str.endsWith("ste"))),
  },
  {
    name: "str_lengths",
    inputs: O,
    body: ({ input }) =>
      // Cast: polars resolves the schema of str.lengths as String on empty data (a nodejs-polars
      // bug that the data-free check inherits), though it yields UInt32.
      input.select(col("id"), col("region").str.lengths().cast(pl.Int64).alias("len"))
        .filter(col("len").gt(3)),
  },
  {
    name: "str_slice",
    inputs: O,
    body: ({ input }) =>
      input.select(
        col("id"),
        col("region").str.slice(1, 3).alias("s13"),
        col("region").str.slice(0, 1).alias("s01"),
        col("region").str.slice(-3).alias("last3"),
        col("region").str.slice(-6, 2).alias("m62"),
        col("region").str.slice(20, 2).alias("past_end"),
      ),
  },
  {
    name: "str_replace",
    inputs: O,
    body: ({ input }) =>
      input.select(
        col("id"),
        col("region").str.replace("o", "0").alias("first"),
        col("region").str.replaceAll("o", "0").alias("all"),
        col("region").str.replace("(o)(r)", "$2$1").alias("groups"),
        col("code").str.replace(".", "!", true).alias("literal_first"),
        col("region").str.replaceAll("[aeiou]", "$$").alias("dollar"),
      ),
  },
  {
    name: "concat_str_and_string_plus",
    inputs: O,
    body: ({ input }) =>
      input.select(
        col("id"),
        pl.concatString([col("region"), col("code"), col("qty")], "|").alias("joined"),
        col("region").plus(lit("-")).plus(col("code")).alias("plus"),
      ),
  },
  {
    name: "is_in",
    inputs: O,
    body: ({ input }) =>
      input.select(
        col("id"),
        col("customer").isIn([1, 3, null]).alias("cust"),
        col("region").isIn(["north", "東京"]).alias("reg"),
        col("qty").isIn([2.5, 7]).alias("qty_frac"),
      ),
  },
  {
    name: "group_by_sum_mean_min_max",
    inputs: O,
    body: ({ input }) =>
      input.groupBy("customer").agg(
        col("amount").sum().alias("sum"),
        col("amount").mean().alias("mean"),
        col("amount").min().alias("min"),
        col("amount").max().alias("max"),
        col("qty").sum().alias("qty_sum"),
        col("region").min().alias("region_min"),
      ),
  },
  {
    name: "group_by_count_len_n_unique",
    inputs: O,
    body: ({ input }) =>
      input.groupBy("customer").agg(
        col("amount").count().alias("count"),
        pl.len().alias("len"),
        col("region").nUnique().alias("regions"),
      ),
  },
  {
    name: "group_by_first_last_in_row_order",
    inputs: O,
    body: ({ input }) =>
      input.groupBy("customer").agg(
        col("amount").first().alias("first_amount"),
        col("amount").last().alias("last_amount"),
        col("region").first().alias("first_region"),
      ),
  },
  {
    name: "sort_then_group_first_in_sorted_order",
    inputs: O,
    ordered: true,
    body: ({ input }) =>
      input.sort("amount", true, true).groupBy("customer", true).agg(
        col("id").first().alias("top_id"),
        col("id").last().alias("bottom_id"),
      ),
  },
  {
    name: "aggregate_all_rows",
    inputs: O,
    body: ({ input }) =>
      input.select(
        col("amount").sum().alias("sum"),
        pl.len().alias("len"),
        col("qty").min().alias("min"),
        col("region").nUnique().alias("n_regions"),
        col("id").first().alias("first_id"),
      ),
  },
  {
    name: "aggregate_empty_input",
    inputs: O,
    body: ({ input }) =>
      input.filter(col("id").gt(100)).select(
        col("amount").sum().alias("sum"),
        col("qty").sum().alias("qty_sum"),
        pl.len().alias("len"),
        col("amount").count().alias("count"),
        col("amount").mean().alias("mean"),
        col("qty").max().alias("max"),
      ),
  },
  {
    name: "group_by_two_keys_with_null",
    inputs: O,
    body: ({ input }) =>
      input.groupBy(["customer", "flag"]).agg(col("qty").sum().alias("qty"), pl.len().alias("n")),
  },
  {
    name: "group_by_expression_key",
    inputs: O,
    body: ({ input }) =>
      input.groupBy(col("region").str.toUpperCase().alias("REGION")).agg(
        col("amount").sum().alias("total"),
      ),
  },
  {
    name: "join_inner_duplicate_and_null_keys",
    inputs: { orders, customers },
    body: ({ orders, customers }) => orders.join(customers, { on: "customer" }),
  },
  {
    name: "join_left",
    inputs: { orders, customers },
    body: ({ orders, customers }) =>
      orders.join(customers.select("customer", "name"), { on: "customer", how: "left" }),
  },
  {
    name: "join_full_keeps_both_keys",
    inputs: { orders, customers },
    body: ({ orders, customers }) =>
      orders.select("id", "customer").join(customers.select("customer", "name"), {
        on: "customer",
        how: "full",
      }),
  },
  {
    name: "join_full_coalesced",
    inputs: { orders, customers },
    body: ({ orders, customers }) =>
      orders.select("id", "customer").join(customers.select("customer", "name"), {
        on: "customer",
        how: "full",
        coalesce: true,
      }),
  },
  {
    name: "join_semi",
    inputs: { orders, customers },
    body: ({ orders, customers }) => orders.join(customers, { on: "customer", how: "semi" }),
  },
  {
    name: "join_anti_keeps_null_keys",
    inputs: { orders, customers },
    body: ({ orders, customers }) => orders.join(customers, { on: "customer", how: "anti" }),
  },
  {
    name: "join_cross",
    inputs: { orders, customers },
    body: ({ orders, customers }) =>
      orders.select("id").head(3).join(customers.select("name").head(2), { how: "cross" }),
  },
  {
    name: "join_different_names_and_suffix",
    inputs: { orders, customers },
    body: ({ orders, customers }) =>
      orders.select("id", "customer", "region").join(
        customers.rename({ customer: "cust_id" }),
        { leftOn: "customer", rightOn: "cust_id", suffix: "_c" },
      ),
  },
  {
    name: "join_right",
    inputs: { orders, customers },
    body: ({ orders, customers }) =>
      orders.select("id", "customer").join(
        customers.select("customer", "name"),
        // nodejs-polars runs right joins but its types leave them out.
        { on: "customer", how: "right" } as unknown as { on: "customer" },
      ),
  },
  {
    name: "three_inputs",
    inputs: { orders, customers, regions },
    body: ({ orders, customers, regions }) =>
      orders.select("id", "customer").join(customers.select("customer", "region"), {
        on: "customer",
      }).join(regions, { on: "region", how: "left" }).groupBy("zone").agg(
        pl.len().alias("n"),
      ),
  },
  {
    name: "sort_default_nulls_first",
    inputs: O,
    ordered: true,
    body: ({ input }) => input.sort(["amount", "id"]),
  },
  {
    name: "sort_descending_nulls_last",
    inputs: O,
    ordered: true,
    body: ({ input }) => input.sort(["region", "id"], [true, false], true),
  },
  {
    name: "sort_descending_nulls_first",
    inputs: O,
    ordered: true,
    body: ({ input }) => input.sort({ by: ["customer", "id"], descending: [true, true] }),
  },
  {
    name: "sort_by_expression_then_head",
    inputs: O,
    ordered: true,
    body: ({ input }) => input.sort(col("amount").abs(), true, true).head(4).select("id", "amount"),
  },
  {
    name: "head_in_file_order",
    inputs: O,
    body: ({ input }) => input.head(5),
  },
  {
    name: "slice_and_tail_after_sort",
    inputs: O,
    ordered: true,
    body: ({ input }) => pl.concat([input.sort("id").slice(2, 3), input.sort("id").tail(2)]),
  },
  {
    name: "unique_rows",
    inputs: { input: dups },
    body: ({ input }) => input.select("k", "v").unique(),
  },
  {
    name: "unique_subset_keep_first",
    inputs: { input: dups },
    body: ({ input }) => input.unique({ subset: "k", keep: "first" }),
  },
  {
    name: "unique_subset_keep_last",
    inputs: { input: dups },
    body: ({ input }) => input.unique({ subset: ["k", "v"], keep: "last" }),
  },
  {
    name: "unique_keep_none",
    inputs: { input: dups },
    body: ({ input }) => input.unique({ subset: "k", keep: "none" }),
  },
  {
    name: "unique_maintain_order",
    inputs: { input: dups },
    ordered: true,
    body: ({ input }) =>
      input.sort("n").unique({ subset: "v", keep: "first", maintainOrder: true }),
  },
  {
    name: "rename_and_drop",
    inputs: O,
    body: ({ input }) =>
      input.rename({ amount: "value", region: "area" }).drop("code", "day").withColumnRenamed(
        "qty",
        "quantity",
      ),
  },
  {
    name: "with_columns_replace_and_append",
    inputs: O,
    body: ({ input }) =>
      input.withColumns(
        col("amount").mul(2).alias("amount"),
        col("qty").abs().alias("abs_qty"),
        lit("const").alias("tag"),
      ),
  },
  {
    name: "broadcast_aggregates",
    inputs: O,
    body: ({ input }) =>
      input.filter(col("amount").gt(col("amount").mean())).withColumns(
        col("amount").minus(col("amount").mean()).alias("centered"),
        col("amount").sum().alias("total"),
      ),
  },
  {
    name: "concat_inputs_with_equal_schemas",
    inputs: { left: dups, right: dups.filter(col("n").gt(50)) },
    body: ({ left, right }) => pl.concat([left, right]).filter(col("k").isNotNull()),
  },
  {
    name: "same_schema_inputs_stay_apart",
    inputs: { first: dups.filter(col("n").lt(40)), second: dups.filter(col("n").gt(40)) },
    body: ({ first, second }) =>
      first.join(second, { on: "k", how: "inner" }).select("k", "n", "nright"),
  },
  {
    name: "math_round_abs_clip_floor_pow",
    inputs: O,
    body: ({ input }) =>
      input.select(
        col("id"),
        col("amount").round(1).alias("round1"),
        col("amount").abs().alias("abs"),
        col("amount").clip(0, 50).alias("clip"),
        col("amount").floor().alias("floor"),
        col("amount").ceil().alias("ceil"),
        col("amount").pow(2).alias("pow"),
        col("qty").clip(-1, 3).alias("qty_clip"),
      ),
  },
  {
    name: "dates",
    inputs: O,
    body: ({ input }) =>
      input.filter(col("day").gtEq(lit(new Date("2024-02-01T00:00:00Z")))).select(
        col("id"),
        col("day"),
        col("day").dt.year().alias("year"),
        col("day").dt.month().alias("month"),
        col("day").dt.weekday().alias("weekday"),
      ),
  },
  {
    name: "datetimes_naive",
    inputs: { input: events },
    body: ({ input }) =>
      input.filter(col("ts").lt(lit(new Date("2024-03-01T00:00:00Z")))).select(
        col("id"),
        col("ts"),
        col("ts").dt.hour().alias("hour"),
        col("ts").cast(pl.Date).alias("day"),
      ),
  },
  {
    name: "unsigned_and_small_ints",
    inputs: { orders, customers },
    body: ({ customers }) =>
      customers.groupBy("region").agg(
        col("tier").sum().alias("tier_sum"),
        col("tier").cast(pl.UInt32).max().alias("tier_u32"),
        col("name").nUnique().alias("names"),
        col("customer").cast(pl.UInt64).min().alias("min_u64"),
      ),
  },
  {
    name: "bool_sum_and_mean",
    inputs: O,
    body: ({ input }) =>
      input.groupBy("customer").agg(
        col("flag").sum().alias("trues"),
        col("flag").mean().alias("share"),
      ),
  },
  {
    name: "std_var_median",
    inputs: O,
    body: ({ input }) =>
      input.groupBy("customer").agg(
        col("amount").std().alias("std"),
        col("amount").var().alias("var"),
        col("amount").median().alias("median"),
      ),
  },
  {
    name: "nan_in_min_max",
    inputs: { input: pairs },
    body: ({ input }) =>
      input.groupBy(col("a").gt(0).alias("positive")).agg(
        col("x").max().alias("max"),
        col("x").min().alias("min"),
        col("x").sum().alias("sum"),
      ),
  },
  {
    name: "selectors_and_frame_null_handling",
    inputs: O,
    body: ({ input }) =>
      input.select(pl.all().exclude("code", "day", "flag")).dropNulls().withColumns(
        pl.col(["id", "qty"]).mul(10),
      ),
  },
  {
    name: "frame_fill_null",
    inputs: O,
    body: ({ input }) => input.select("id", "region", "code").fillNull("missing"),
  },
  {
    name: "empty_input_file",
    inputs: { input: orders.head(0) },
    body: ({ input }) =>
      pl.concat([
        input.groupBy("region").agg(col("amount").sum().alias("total")),
        input.select(lit("all").alias("region"), col("amount").sum().alias("total")),
      ]),
  },
  {
    name: "pad_and_concat_keeping_nulls",
    inputs: O,
    body: ({ input }) =>
      input.select(
        col("id"),
        col("region").str.padStart(6, "*").alias("padded"),
        col("region").str.padEnd(4, ".").alias("right_padded"),
        pl.concatString([col("region"), col("code")], "/", false).alias("strict_concat"),
      ),
  },
  {
    name: "slice_negative_offset",
    inputs: O,
    ordered: true,
    body: ({ input }) => input.sort("id", true).slice(-5, 2).select("id", "region"),
  },
  {
    name: "aggregates_broadcast_over_rows",
    inputs: O,
    body: ({ input }) =>
      input.select(
        col("id"),
        col("region").nUnique().alias("regions"),
        col("amount").median().alias("median"),
        col("amount").first().alias("first"),
        col("amount").last().alias("last"),
        pl.len().alias("n_rows"),
        col("qty").std().alias("std"),
        pl.when(col("amount").gt(col("amount").mean())).then(lit("above")).otherwise(
          lit("below"),
        ).alias("side"),
      ),
  },
  {
    name: "top_groups",
    inputs: O,
    ordered: true,
    body: ({ input }) =>
      input.groupBy("region").agg(col("amount").sum().alias("total")).sort("total", true, true)
        .head(3),
  },
  {
    name: "over_aggregates_by_group",
    inputs: O,
    body: ({ input }) =>
      input.select(
        col("id"),
        col("amount").sum().over("region").alias("region_amount"),
        col("qty").max().over("customer").alias("customer_max_qty"),
        col("amount").mean().over("region", "flag").alias("mean_by_two"),
        pl.len().over("customer").alias("rows_of_customer"),
      ),
  },
  {
    name: "cumulative_along_rows",
    inputs: O,
    body: ({ input }) =>
      input.select(
        col("id"),
        col("qty").cumSum().alias("cum_sum"),
        col("amount").cumSum().alias("cum_sum_float"),
        col("qty").cumCount().alias("cum_count"),
        col("qty").cumMax().alias("cum_max"),
        col("qty").cumMin().alias("cum_min"),
      ),
  },
  {
    name: "cumulative_over_group_after_sort",
    inputs: O,
    ordered: true,
    body: ({ input }) =>
      input.sort("id").select(
        col("id"),
        col("amount").cumSum().over("customer").alias("running_amount"),
        col("qty").cumCount().over("region").alias("running_count"),
      ),
  },
  {
    name: "shift_lag_and_lead",
    inputs: O,
    body: ({ input }) =>
      input.select(
        col("id"),
        col("qty").shift(1).alias("previous"),
        col("qty").shift(-2).alias("after_next"),
        col("region").shift(1).over("flag").alias("previous_region_of_flag"),
      ),
  },
  {
    name: "rank_methods_ties_and_nulls",
    inputs: O,
    body: ({ input }) =>
      input.select(
        col("id"),
        col("qty").rank("min").alias("min"),
        col("qty").rank("max").alias("max"),
        col("qty").rank("dense").alias("dense"),
        col("qty").rank("ordinal").alias("ordinal"),
        col("qty").rank("average").alias("average"),
        col("amount").rank("dense", true).alias("dense_desc"),
        col("qty").rank("min").over("region").alias("min_in_region"),
      ),
  },
  {
    name: "strftime",
    inputs: O,
    body: ({ input }) =>
      input.select(
        col("id"),
        col("day").dt.strftime("%Y/%m/%d").alias("slashed"),
        col("day").dt.strftime("%d.%m.%y").alias("short"),
      ),
  },
  {
    name: "rolling_sum_trailing_and_min_periods",
    inputs: O,
    body: ({ input }) =>
      input.select(
        col("id"),
        col("qty").rollingSum(3).alias("qty3"),
        col("amount").rollingSum({ windowSize: 3, minPeriods: 1 }).alias("amount3"),
        col("id").rollingSum({ windowSize: 20, minPeriods: 1 }).alias("past_the_start"),
        col("flag").rollingSum({ windowSize: 3, minPeriods: 1 }).alias("trues3"),
      ),
  },
  {
    name: "rolling_mean_min_periods",
    inputs: O,
    body: ({ input }) =>
      input.select(
        col("id"),
        col("amount").rollingMean({ windowSize: 3, minPeriods: 2 }).alias("mean3"),
        col("qty").rollingMean(2).alias("qty_mean2"),
        col("id").cast(pl.UInt32).rollingMean(4).alias("u32_mean4"),
      ),
  },
  {
    name: "rolling_min_max_centered",
    inputs: O,
    body: ({ input }) =>
      input.select(
        col("id"),
        col("qty").rollingMin({ windowSize: 3, minPeriods: 1, center: true }).alias("min3c"),
        col("qty").rollingMax({ windowSize: 4, minPeriods: 1, center: true }).alias("max4c"),
        col("amount").rollingMax({ windowSize: 2, minPeriods: 2, center: true }).alias("max2c"),
        col("amount").rollingSum({ windowSize: 5, minPeriods: 3, center: true }).alias("sum5c"),
      ),
  },
  {
    name: "rolling_min_max_sum_with_nan",
    inputs: { input: pairs },
    body: ({ input }) =>
      input.select(
        col("x"),
        col("x").rollingMin({ windowSize: 2, minPeriods: 1 }).alias("min"),
        col("x").rollingMax({ windowSize: 2, minPeriods: 1 }).alias("max"),
        col("x").rollingSum({ windowSize: 3, minPeriods: 1 }).alias("sum"),
        col("x").rollingMean({ windowSize: 3, minPeriods: 1 }).alias("mean"),
      ),
  },
  {
    name: "rolling_std_var",
    inputs: O,
    body: ({ input }) =>
      input.select(
        col("id"),
        col("amount").rollingStd({ windowSize: 3, minPeriods: 1 }).alias("std3"),
        col("amount").rollingVar({ windowSize: 4, minPeriods: 2 }).alias("var4"),
        col("qty").rollingStd({ windowSize: 3, minPeriods: 2, center: true }).alias("qty_std3c"),
      ),
  },
  {
    name: "rolling_median_and_quantiles",
    inputs: O,
    body: ({ input }) =>
      input.select(
        col("id"),
        col("amount").rollingMedian({ windowSize: 3, minPeriods: 1 }).alias("median3"),
        col("amount").rollingQuantile({ quantile: 0.25, windowSize: 4, minPeriods: 1 })
          .alias("nearest"),
        quantileOf("qty", 0.75, "linear", 3, 2, true).alias("linear_c"),
        quantileOf("qty", 0.4, "lower", 4, 1).alias("lower"),
        quantileOf("qty", 0.4, "higher", 4, 1).alias("higher"),
        quantileOf("amount", 0.5, "midpoint", 4, 1).alias("midpoint"),
      ),
  },
  {
    name: "rolling_quantile_with_nan",
    inputs: { input: pairs },
    body: ({ input }) =>
      input.select(
        col("x"),
        quantileOf("x", 0.5, "lower", 2, 1).alias("lower"),
        col("x").rollingMedian({ windowSize: 3, minPeriods: 1 }).alias("median"),
      ),
  },
  {
    name: "rolling_over_group_after_sort",
    inputs: O,
    ordered: true,
    body: ({ input }) =>
      input.sort("id", true).select(
        col("id"),
        col("amount").rollingSum({ windowSize: 2, minPeriods: 1 }).over("customer").alias("sum2"),
        col("qty").rollingMean({ windowSize: 2, minPeriods: 1 }).over("region").alias("mean2"),
      ),
  },
  {
    name: "rolling_after_filter",
    inputs: O,
    body: ({ input }) =>
      input.filter(col("amount").isNotNull()).select(
        col("id"),
        col("amount").rollingMean(2).alias("mean2"),
      ),
  },
  {
    name: "quantile_methods_by_group",
    inputs: O,
    body: ({ input }) =>
      input.groupBy("customer").agg(
        col("amount").quantile(0.5).alias("nearest"),
        col("amount").quantile(0.5, "linear").alias("linear"),
        col("amount").quantile(0.25, "lower").alias("lower"),
        col("amount").quantile(0.25, "higher").alias("higher"),
        col("amount").quantile(0.5, "midpoint").alias("midpoint"),
        col("qty").quantile(0.9, "linear").alias("qty_linear"),
      ),
  },
  {
    name: "quantile_all_rows",
    inputs: O,
    body: ({ input }) =>
      input.select(
        col("amount").quantile(0.3).alias("nearest"),
        col("amount").quantile(0.3, "linear").alias("linear"),
        col("qty").quantile(0, "lower").alias("lowest"),
        col("qty").quantile(1, "higher").alias("highest"),
        col("id").quantile(0.125, "midpoint").alias("midpoint"),
      ),
  },
  {
    name: "quantile_broadcast_and_over",
    inputs: O,
    body: ({ input }) =>
      input.select(
        col("id"),
        col("amount").quantile(0.75, "linear").alias("p75"),
        col("amount").quantile(0.5, "linear").over("region").alias("median_of_region"),
        col("qty").gt(col("qty").quantile(0.5, "higher")).alias("above"),
      ),
  },
  {
    name: "quantile_with_nan_and_empty_groups",
    inputs: { input: pairs },
    body: ({ input }) =>
      input.groupBy(col("a").gt(0).alias("positive")).agg(
        col("x").quantile(0.5).alias("nearest"),
        col("x").quantile(0.9, "linear").alias("linear"),
        col("x").filter(col("x").gt(100)).count().alias("none"),
      ),
  },
  {
    name: "quantile_empty_input",
    inputs: O,
    body: ({ input }) =>
      input.filter(col("id").gt(100)).select(
        col("amount").quantile(0.5, "linear").alias("linear"),
        col("qty").quantile(0.5).alias("nearest"),
      ),
  },
  {
    name: "truncate_dates",
    inputs: O,
    body: ({ input }) =>
      input.select(
        col("id"),
        ...truncations("day", ["1mo", "1q", "1y", "2y", "3mo", "1w", "2w", "3d"]),
      ),
  },
  {
    name: "truncate_datetimes",
    inputs: { input: events },
    body: ({ input }) =>
      input.select(
        col("id"),
        ...truncations("ts", ["1h", "15m", "1d", "1w", "1mo", "250ms", "2h", "1s"]),
      ),
  },
  {
    name: "truncate_as_group_key",
    inputs: O,
    body: ({ input }) =>
      input.groupBy(col("day").dt.truncate("1mo").alias("month")).agg(
        col("amount").sum().alias("total"),
        pl.len().alias("n"),
      ),
  },
  {
    name: "truncate_in_filter",
    inputs: O,
    body: ({ input }) =>
      input.filter(col("day").dt.truncate("1y").eq(lit(new Date("2024-01-01T00:00:00Z")))).select(
        "id",
        "day",
      ),
  },
  {
    name: "cumulative_reverse",
    inputs: O,
    body: ({ input }) =>
      input.select(
        col("id"),
        col("qty").cumSum(true).alias("cum_sum"),
        col("qty").cumCount(true).alias("cum_count"),
        col("amount").cumSum(true).alias("cum_sum_float"),
      ),
  },
  {
    name: "diff_along_rows",
    inputs: O,
    body: ({ input }) =>
      input.select(
        col("id"),
        col("qty").diff(1, "ignore").alias("qty_diff"),
        col("amount").diff(2, "ignore").alias("amount_diff2"),
        col("customer").cast(pl.UInt32).diff(1, "ignore").alias("u32_diff"),
      ),
  },
  {
    name: "diff_over_group_after_sort",
    inputs: O,
    ordered: true,
    body: ({ input }) =>
      input.sort("id").select(
        col("id"),
        col("amount").diff(1, "ignore").over("customer").alias("change"),
      ),
  },
  {
    name: "fill_null_forward_backward",
    inputs: O,
    body: ({ input }) =>
      input.select(
        col("id"),
        col("amount").forwardFill().alias("forward"),
        col("region").backwardFill().alias("backward"),
        col("amount").fillNull("forward").over("flag").alias("forward_by_flag"),
      ),
  },
  {
    name: "str_zfill",
    inputs: O,
    body: ({ input }) =>
      input.select(
        col("id"),
        col("code").str.zFill(4).alias("code4"),
        col("region").str.zFill(7).alias("region7"),
        col("qty").cast(pl.String).str.zFill(3).alias("qty3"),
      ),
  },
  {
    name: "str_extract",
    inputs: O,
    body: ({ input }) =>
      input.select(
        col("id"),
        col("code").str.extract("([0-9]+)", 1).alias("digits"),
        col("region").str.extract("[a-z]+", 0).alias("word"),
        col("region").str.extract("(o)(r)?", 2).alias("optional_r"),
        col("region").str.extract("(?<first>[A-Za-zü])(.)", 2).alias("second"),
      ),
  },
  {
    name: "rolling_of_an_expression",
    inputs: O,
    body: ({ input }) =>
      input.select(
        col("id"),
        col("amount").mul(2).plus(col("qty")).rollingSum({ windowSize: 2, minPeriods: 1 })
          .alias("sum2"),
        col("qty").cast(pl.Int16).rollingMax({ windowSize: 3, minPeriods: 1 }).alias("i16_max"),
      ),
  },
  {
    name: "quantile_of_filtered_rows_by_group",
    inputs: O,
    body: ({ input }) =>
      input.filter(col("amount").gt(0)).groupBy("region").agg(
        col("amount").quantile(0.5, "midpoint").alias("midpoint"),
        col("qty").quantile(0.75).alias("nearest"),
      ),
  },
  {
    name: "truncate_then_strftime",
    inputs: O,
    body: ({ input }) =>
      input.select(
        col("id"),
        col("day").dt.truncate("1mo").dt.strftime("%Y-%m").alias("month"),
      ),
  },
  {
    name: "extract_then_cast",
    inputs: O,
    body: ({ input }) =>
      input.select(
        col("id"),
        col("code").str.extract("([0-9]+)", 1).cast(pl.Int64).alias("number"),
      ),
  },
  {
    name: "strptime_dates",
    inputs: { input: texts },
    body: ({ input }) =>
      input.select(
        col("id"),
        col("s").str.strptime(pl.Date, "%Y-%m-%d").alias("iso"),
        col("s").str.strptime(pl.Date, "%d/%m/%Y").alias("day_first"),
        col("s").str.strptime(pl.Date, "%Y%m%d").alias("compact"),
        col("s").str.strptime(pl.Date, "%y-%m-%d").alias("short_year"),
        col("s").str.strptime(pl.Date, "%F %H:%M").alias("with_time"),
        col("s").str.strptime(pl.Date, "%Y-%m-%d 10:00").alias("literal_tail"),
      ),
  },
  {
    name: "strptime_datetimes",
    inputs: { input: texts },
    body: ({ input }) =>
      input.select(
        col("id"),
        col("s").str.strptime(pl.Datetime("ms"), "%Y-%m-%d %H:%M").alias("minutes"),
        col("s").str.strptime(pl.Datetime("ms"), "%Y-%m-%d %H:%M:%S%.3f").alias("millis"),
        col("s").str.strptime(pl.Datetime("ms"), "%Y-%m-%d %T%.f").alias("fraction"),
        col("s").str.strptime(pl.Datetime("ms"), "%Y-%m-%d %H:%M:%S.%6f").alias("micros"),
        col("s").str.strptime(pl.Datetime("ms"), "%Y-%m-%d").alias("midnight"),
        col("s").str.strptime(pl.Datetime("ms"), "%Y-%m-%d %H").alias("hour_alone"),
      ),
  },
  {
    name: "strptime_then_truncate_and_group",
    inputs: { input: texts },
    body: ({ input }) =>
      input.groupBy(col("s").str.strptime(pl.Date, "%Y-%m-%d").dt.truncate("1mo").alias("month"))
        .agg(pl.len().alias("n"), col("id").sum().alias("ids")),
  },
  {
    name: "str_concat_select",
    inputs: { input: texts },
    body: ({ input }) =>
      input.sort("id", true).select(
        col("s").str.slice(0, 4).str.concat("|").alias("skip_nulls"),
        col("s").str.slice(0, 4).str.concat("|", false).alias("null_wins"),
        col("k").str.concat(",").alias("ints"),
      ),
  },
  {
    name: "str_concat_group_by",
    inputs: O,
    body: ({ input }) =>
      input.sort("amount", true).groupBy("customer").agg(
        col("region").str.concat(", ").alias("regions"),
        col("region").str.concat("/", false).alias("strict"),
        col("qty").str.concat("").alias("qtys"),
      ),
  },
  {
    name: "str_concat_over_and_empty",
    inputs: O,
    body: ({ input }) =>
      input.select(
        col("id"),
        col("region").str.concat("+").over("customer").alias("by_customer"),
        col("region").filter(col("id").gt(100)).str.concat("+").alias("none"),
      ),
  },
  {
    name: "str_concat_of_nothing",
    inputs: O,
    body: ({ input }) =>
      input.filter(col("id").gt(100)).select(
        col("region").str.concat("-").alias("skip"),
        col("region").str.concat("-", false).alias("strict"),
      ),
  },
  {
    name: "truncate_zoned",
    inputs: { input: zoned },
    body: ({ input }) =>
      input.select(
        col("id"),
        ...["1h", "2h", "3h", "30m", "37m", "50m", "70m", "1d", "1w", "1mo", "1s"].flatMap((
          every,
        ) =>
          ["berlin", "kolkata", "sao_paulo"].map((zone) =>
            col(zone).dt.truncate(every).alias(`${zone}_${every}`)
          )
        ),
      ),
  },
  {
    name: "str_extract_as_group_key",
    inputs: O,
    body: ({ input }) =>
      input.groupBy(col("code").str.extract("([0-9])", 1).alias("digit")).agg(
        pl.len().alias("n"),
      ),
  },
];

// ---------------------------------------------------------------------------------------------
// Running.

function schemaOf(frame: pl.DataFrame): Schema {
  return schema(Object.fromEntries(frame.columns.map((c, i) => [c, frame.dtypes[i]])));
}

/** A step for a shape: buckets from its inputs, its output schema from polars. */
function stepFor(provider: Provider, shape: Shape): Step {
  const empty = Object.fromEntries(
    Object.entries(shape.inputs).map(([name, frame]) => [name, frame.head(0).lazy()]),
  );
  const output = schemaOf(shape.body(empty).collectSync());
  const spark = provider.spark();
  const single = Object.keys(shape.inputs).length === 1 && "input" in shape.inputs;
  const bucket = (path: string, s: Schema) =>
    provider.bucket({ bucket: "corpus", path: `${shape.name}/${path}.parquet`, schema: s });
  const target = bucket("output", output);
  if (single) {
    const task = spark.task(
      { name: shape.name, input: schemaOf(shape.inputs.input), output },
      (df) => shape.body({ input: df }),
    );
    // deno-lint-ignore no-explicit-any
    return (bucket("input", schemaOf(shape.inputs.input)) as any).transform(task).to(target)
      .lineage[0];
  }
  const inputs = Object.fromEntries(
    Object.entries(shape.inputs).map(([name, frame]) => [name, schemaOf(frame)]),
  );
  const task = spark.task(
    { name: shape.name, inputs, output },
    (frames) => shape.body(frames as Frames),
  );
  const sources = Object.fromEntries(
    Object.entries(inputs).map(([name, s]) => [name, bucket(name, s)]),
  );
  // deno-lint-ignore no-explicit-any
  return (new Pipeline(sources as any) as any).transform(task).to(target).lineage[0];
}

/** A float equal within 1e-9 relative; NaN equals NaN. */
function close(a: number, b: number): boolean {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b);
  if (!Number.isFinite(a) || !Number.isFinite(b)) return a === b;
  return Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));
}

function same(a: unknown, b: unknown): boolean {
  if (typeof a === "number" && typeof b === "number") return close(a, b);
  if (typeof a === "bigint" || typeof b === "bigint") return String(a) === String(b);
  if (a instanceof Date && b instanceof Date) return a.getTime() === b.getTime();
  return a === b || (a == null && b == null);
}

/** A sort key for a row in which close floats agree. */
function key(row: unknown[]): string {
  return JSON.stringify(
    row.map((v) =>
      typeof v === "number"
        ? Number.isFinite(v) ? Number(v.toPrecision(8)) : String(v)
        : typeof v === "bigint"
        ? String(v)
        : v instanceof Date
        ? v.toISOString()
        : v ?? null
    ),
  );
}

function show(rows: unknown[][]): string {
  return rows.map((r) => key(r)).join("\n");
}

function compare(shape: Shape, expected: pl.DataFrame, actual: pl.DataFrame): void {
  assert.deepEqual(actual.columns, expected.columns, `${shape.name}: columns`);
  const cast = actual.select(
    ...expected.columns.map((c, i) => col(c).cast(expected.dtypes[i])),
  );
  let want = expected.rows() as unknown[][];
  let got = cast.rows() as unknown[][];
  if (!shape.ordered) {
    want = [...want].sort((x, y) => key(x) < key(y) ? -1 : key(x) > key(y) ? 1 : 0);
    got = [...got].sort((x, y) => key(x) < key(y) ? -1 : key(x) > key(y) ? 1 : 0);
  }
  const message = `${shape.name}: rows differ\npolars:\n${show(want)}\nspark:\n${show(got)}`;
  assert.equal(got.length, want.length, message);
  for (let i = 0; i < want.length; i++) {
    assert.ok(want[i].every((v, j) => same(v, got[i][j])), message);
  }
}

async function partFile(dir: string): Promise<string> {
  for await (const entry of Deno.readDir(dir)) {
    if (entry.name.startsWith("part-") && entry.name.endsWith(".parquet")) {
      return join(dir, entry.name);
    }
  }
  throw new Error(`Spark wrote no parquet part file to '${dir}'`);
}

Deno.test({
  name: "spark semantics: polars and Spark give the same rows",
  sanitizeResources: false,
  sanitizeOps: false,
}, async (t) => {
  assert.ok(shapes.length >= 100, `the corpus has ${shapes.length} shapes, fewer than 100`);
  assert.equal(new Set(shapes.map((s) => s.name)).size, shapes.length, "shape names repeat");
  const serverStarted = performance.now();
  const server = await sharedSparkConnect();
  const serverSeconds = (performance.now() - serverStarted) / 1000;
  const dir = await Deno.makeTempDir({ prefix: "glacier-spark-semantics-" });
  const provider = new Provider({ localRoot: dir });
  const expected = new Map<string, pl.DataFrame>();
  const queries: { name: string; sql: string; inputs: Record<string, string>; output: string }[] =
    [];
  const compileStarted = performance.now();
  for (const shape of shapes) {
    const step = stepFor(provider, shape);
    const frames = Object.fromEntries(
      Object.entries(shape.inputs).map(([name, frame]) => [name, frame.lazy()]),
    );
    expected.set(shape.name, applyTask(step, frames).collectSync());
    const compiled = compileStep(step);
    const inputs: Record<string, string> = {};
    for (const [name, view] of Object.entries(compiled.views)) {
      const path = join(dir, `${shape.name}__${name}.parquet`);
      shape.inputs[name].writeParquet(path);
      inputs[view] = path;
    }
    queries.push({
      name: shape.name,
      sql: compiled.sql,
      inputs,
      output: join(dir, `${shape.name}__out`),
    });
  }
  const compileSeconds = (performance.now() - compileStarted) / 1000;
  const specPath = join(dir, "spec.json");
  const resultsPath = join(dir, "results.json");
  await Deno.writeTextFile(specPath, JSON.stringify({ results: resultsPath, queries }));
  const sparkStarted = performance.now();
  const output = await new Deno.Command(server.venv.python, {
    args: [HARNESS, specPath, server.remote],
    cwd: REPO,
    stdin: "null",
  }).output();
  const sparkSeconds = (performance.now() - sparkStarted) / 1000;
  if (!output.success) {
    const text = new TextDecoder().decode(output.stderr).split("\n").slice(-40).join("\n");
    throw new Error(`the Spark harness failed (exit ${output.code}):\n${text}`);
  }
  const results = JSON.parse(await Deno.readTextFile(resultsPath)) as {
    name: string;
    ok: boolean;
    error?: string;
    seconds: number;
  }[];
  const querySeconds = results.reduce((sum, r) => sum + r.seconds, 0);
  console.log(
    `spark semantics: ${shapes.length} shapes; Spark Connect server ${
      serverSeconds.toFixed(1)
    } s, compile ${compileSeconds.toFixed(1)} s, Spark ${
      sparkSeconds.toFixed(1)
    } s (one Connect session; the queries' own times add up to ${
      querySeconds.toFixed(1)
    } s on 4 threads)`,
  );
  const byName = new Map(results.map((r) => [r.name, r]));
  for (const shape of shapes) {
    await t.step(shape.name, async () => {
      const result = byName.get(shape.name);
      assert.ok(result, `${shape.name}: the harness did not run it`);
      assert.ok(
        result.ok,
        `${shape.name}: Spark failed:\n${result.error}\n${
          queries.find((q) => q.name === shape.name)!.sql
        }`,
      );
      const actual = pl.readParquet(await partFile(join(dir, `${shape.name}__out`)));
      compare(shape, expected.get(shape.name)!, actual);
    });
  }
  await Deno.remove(dir, { recursive: true });
});

// ---------------------------------------------------------------------------------------------
// Unsupported operations are refused by `glacier check`, by name, before any job starts.

const refused: { operation: string; body: (df: pl.LazyDataFrame) => pl.LazyDataFrame }[] = [
  { operation: "rolling_skew", body: (df) => df.select(col("amount").rollingSkew(3)) },
  {
    operation: "quantile(interpolation='linear') on Float32 (cast to Float64 first)",
    body: (df) => df.select(col("amount").cast(pl.Float32).quantile(0.5, "linear")),
  },
  {
    operation: "dt.truncate('1h' on a Date)",
    body: (df) => df.select(col("id").cast(pl.Date).dt.truncate("1h")),
  },
  { operation: "explode", body: (df) => df.select(col("region").str.split(",")).explode("region") },
  {
    operation:
      "str.extract (of group 1, which may stay out of the match or match nothing: Spark cannot " +
      "tell the two apart)",
    body: (df) => df.select(col("region").str.extract("(o*)?x", 1)),
  },
  {
    operation: "str.strptime('%d %b %Y') (directive '%b')",
    body: (df) => df.select(col("region").str.strptime(pl.Date, "%d %b %Y")),
  },
  {
    operation: "str.strptime('%m/%d') (a format without a year, a month and a day",
    body: (df) => df.select(col("region").str.strptime(pl.Date, "%m/%d")),
  },
  { operation: "unpivot", body: (df) => df.unpivot(["id"], ["qty"]) },
  { operation: "hash", body: (df) => df.select(col("id").hash().cast(pl.Int64)) },
  {
    operation: "cast from Float64 to String",
    body: (df) => df.select(col("amount").cast(pl.String)),
  },
  { operation: "rank(method='random')", body: (df) => df.select(col("amount").rank("random")) },
  {
    operation: "diff (n < 0 or null_behavior='drop')",
    body: (df) => df.select(col("amount").diff(1, "drop")),
  },
];

Deno.test("spark semantics: glacier check refuses unsupported operations by name", async () => {
  const dir = await Deno.makeTempDir({ prefix: "glacier-spark-refused-" });
  const module = join(dir, "refused.ts");
  const mod = new URL("../../mod.ts", import.meta.url).href;
  const lines = [
    `import { pl, Provider, schema, t } from ${JSON.stringify(mod)};`,
    "const col = pl.col;",
    "const provider = new Provider();",
    "const spark = provider.spark();",
    "const In = schema({ id: t.int64, amount: t.float64, qty: t.int32, region: t.string });",
    "const source = provider.bucket({ bucket: 'corpus', path: 'in.parquet', schema: In });",
    "function out(body: (df: pl.LazyDataFrame<typeof In>) => pl.LazyDataFrame) {",
    "  const empty = pl.DataFrame({ id: [1] }).head(0);",
    "  const frame = empty.select(...Object.entries(In).map(([c, d]) => pl.lit(null).cast(d).alias(c)));",
    "  const s = body(frame.lazy() as never).collectSync();",
    "  return schema(Object.fromEntries(s.columns.map((c, i) => [c, s.dtypes[i]])));",
    "}",
    ...refused.map((r, i) => {
      const body = r.body.toString();
      return [
        `const body${i} = ${body};`,
        `export const pipeline${i} = source.transform(spark.task(`,
        `  { name: "refused_${i}", input: In, output: out(body${i}) }, body${i},`,
        `)).to(provider.bucket({ bucket: 'corpus', path: 'out${i}.parquet', schema: out(body${i}) }));`,
      ].join("\n");
    }),
  ];
  await Deno.writeTextFile(module, lines.join("\n") + "\n");
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(REPO, "cli.ts"), module, "check"],
    cwd: REPO,
    stdin: "null",
  }).output();
  const text = new TextDecoder().decode(output.stdout) + new TextDecoder().decode(output.stderr);
  assert.equal(output.code, 1, text);
  for (const r of refused) {
    assert.ok(
      text.includes(`polars operation '${r.operation}`),
      `'${r.operation}' is not named:\n${text}`,
    );
  }
  assert.ok(text.includes("which Glacier cannot run on Spark"), text);
  await Deno.remove(dir, { recursive: true });
});
