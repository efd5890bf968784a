import assert from "node:assert/strict";
import { type Bucket, Pipeline, pl, Provider, type Schema, schema, t } from "../../../mod.ts";
import { UnsupportedError } from "../../core/errors.ts";
import type { Step } from "../../core/lineage.ts";
import { compileStep, sparkJob, SparkSqlCompiler } from "./compile.ts";
import { sparkType } from "./_types.ts";

const provider = new Provider();
const spark = provider.spark();
const Orders = schema({ id: t.int64, amount: t.float64, region: t.string });

function bucket<S extends Schema>(path: string, s: S): Bucket<S> {
  return provider.bucket({ bucket: "unit", path, schema: s });
}

/** A single-source spark step whose output schema is whatever the body yields. */
function step(
  name: string,
  body: (df: pl.LazyDataFrame<typeof Orders>) => pl.LazyDataFrame,
  input: Schema = Orders,
): Step {
  const empty = pl.DataFrame({ _: [0] }).select(
    ...Object.entries(input).map(([c, d]) => pl.lit(null).cast(d).alias(c)),
  ).head(0).lazy() as unknown as pl.LazyDataFrame<typeof Orders>;
  const out = body(empty).collectSync();
  const Out = schema(Object.fromEntries(out.columns.map((c, i) => [c, out.dtypes[i]])));
  const task = spark.task({ name, input: Orders, output: Out }, body);
  // The input may be wider than the task reads; the types check that only in a pipeline's code.
  const source = bucket(`${name}/in.parquet`, input) as Bucket;
  return source.transform(task).to(bucket(`${name}/out.parquet`, Out)).lineage[0];
}

Deno.test("compiles a filter to a query over the input's view, typed as polars types it", () => {
  const compiled = compileStep(step("big", (df) => df.filter(pl.col("amount").gt(100))));
  assert.deepEqual(compiled.views, { input: "glacier_big_input" });
  assert.match(compiled.sql, /FROM `glacier_big_input`/);
  assert.match(compiled.sql, /\(`amount` > 100D\)/);
  assert.deepEqual(compiled.columns, [["id", "BIGINT"], ["amount", "DOUBLE"], [
    "region",
    "STRING",
  ]]);
  assert.equal(compiled.sorted, false);
  assert.doesNotMatch(compiled.sql, /ORDER BY/);
});

Deno.test("a sorting task's query ends with its order, nulls first by default", () => {
  const compiled = new SparkSqlCompiler().compile(
    step("sorted", (df) => df.sort("amount", true)),
  );
  assert.equal(compiled.sorted, true);
  assert.match(compiled.sql, /ORDER BY `__glacier_\d+` DESC NULLS FIRST$/);
});

Deno.test("integer division floors and a JS number literal stays a double", () => {
  const Ints = schema({ id: t.int64, amount: t.float64, region: t.string });
  const compiled = compileStep(step(
    "ints",
    (df) =>
      df.select(
        pl.col("id").div(pl.lit(2).cast(pl.Int64)).alias("half"),
        pl.col("id").div(pl.lit(2n)).alias("by_uint64"),
        pl.col("id").plus(1).alias("plus_one"),
      ),
    Ints,
  ));
  assert.match(compiled.sql, /DIV/);
  assert.match(compiled.sql, /CAST\(`id` AS DOUBLE\) \+ 1D/);
  // polars divides Int64 by a bigint literal (UInt64) as floats, and so does the query.
  assert.deepEqual(compiled.columns, [["half", "BIGINT"], ["by_uint64", "DOUBLE"], [
    "plus_one",
    "DOUBLE",
  ]]);
});

Deno.test("inputs with equal schemas stay apart", () => {
  const A = schema({ k: t.int64, v: t.string });
  const task = spark.task(
    { name: "pair", inputs: { left: A, right: A }, output: A },
    ({ left, right }) => pl.concat([left, right.filter(pl.col("k").gt(1))]),
  );
  const s = new Pipeline({ left: bucket("pair/a.parquet", A), right: bucket("pair/b.parquet", A) })
    .transform(task).to(bucket("pair/out.parquet", A)).lineage[0];
  const compiled = compileStep(s);
  assert.deepEqual(compiled.views, { left: "glacier_pair_left", right: "glacier_pair_right" });
  assert.match(compiled.sql, /FROM `glacier_pair_left`/);
  assert.match(compiled.sql, /FROM `glacier_pair_right`/);
  assert.match(compiled.sql, /UNION ALL/);
});

Deno.test("operations outside the subset are refused by name, naming the task", () => {
  const cases: [string, (df: pl.LazyDataFrame<typeof Orders>) => pl.LazyDataFrame][] = [
    [
      "quantile(interpolation='linear') on Float32 (cast to Float64 first)",
      (df) => df.select(pl.col("amount").cast(pl.Float32).quantile(0.5, "linear")),
    ],
    [
      "rolling_mean(weights=...)",
      (df) => df.select(pl.col("amount").rollingMean({ windowSize: 2, weights: [0.5, 0.5] })),
    ],
    [
      "rolling_sum(min_periods=0)",
      (df) => df.select(pl.col("amount").rollingSum({ windowSize: 2, minPeriods: 0 })),
    ],
    [
      "dt.truncate('1h' on a Date)",
      (df) => df.select(pl.col("id").cast(pl.Date).dt.truncate("1h")),
    ],
    [
      "str.strptime('%d %b %Y') (directive '%b')",
      (df) => df.select(pl.col("region").str.strptime(pl.Date, "%d %b %Y")),
    ],
    [
      "str.strptime('%Y-%m-%d %H:%M %z') (directive '%z')",
      (df) => df.select(pl.col("region").str.strptime(pl.Datetime("ms"), "%Y-%m-%d %H:%M %z")),
    ],
    [
      "str.strptime('%Y-%m-%dT%H:%M:%S%.9f') (directive '%.9f')",
      (df) => df.select(pl.col("region").str.strptime(pl.Datetime("ms"), "%Y-%m-%dT%H:%M:%S%.9f")),
    ],
    [
      "str.strptime('%F %Y') (the year given twice)",
      (df) => df.select(pl.col("region").str.strptime(pl.Date, "%F %Y")),
    ],
    [
      "str.strptime('%H:%M %d.%m') (a format without a year, a month and a day (polars gives null))",
      (df) => df.select(pl.col("region").str.strptime(pl.Date, "%H:%M %d.%m")),
    ],
    ["str.split", (df) => df.select(pl.col("region").str.split(","))],
    ["cast from Float64 to String", (df) => df.select(pl.col("amount").cast(pl.String))],
    ["hash", (df) => df.select(pl.col("id").hash().cast(pl.Int64))],
    [
      "an in-memory DataFrame (pl.DataFrame(...).lazy() inside the task)",
      () => pl.DataFrame({ id: [1] }).lazy(),
    ],
  ];
  for (const [operation, body] of cases) {
    const s = step(`refused_${operation.length}`, body);
    assert.throws(
      () => compileStep(s),
      (error: unknown) =>
        error instanceof UnsupportedError &&
        error.message === `task '${s.task.name}' uses polars operation '${operation}', which ` +
            "Glacier cannot run on Spark; declare the task on provider.local() or " +
            "provider.serverless(), or rewrite it with supported operations",
      operation,
    );
  }
});

Deno.test("a rolling window is the frame polars gives it, null below min_periods", () => {
  const { sql } = compileStep(step("rolling", (df) =>
    df.select(
      pl.col("amount").rollingSum({ windowSize: 4, minPeriods: 2, center: true }).alias("c"),
      pl.col("amount").rollingMax(3).alias("t"),
    )));
  assert.match(sql, /ROWS BETWEEN 2 PRECEDING AND 1 FOLLOWING\) >= 2 THEN/);
  assert.match(sql, /ROWS BETWEEN 2 PRECEDING AND CURRENT ROW\) >= 3 THEN/);
});

Deno.test("compiling leaves polars' own string functions working", () => {
  compileStep(step("upper", (df) => df.select(pl.col("region").str.toUpperCase())));
  const frame = pl.DataFrame({ s: ["straße", " x "] }).select(
    pl.col("s").str.toUpperCase().alias("up"),
    pl.col("s").str.strip().alias("strip"),
    pl.col("s").str.lengths().alias("len"),
  );
  assert.deepEqual(frame.toRecords(), [
    { up: "STRASSE", strip: "straße", len: 6 },
    { up: " X ", strip: "x", len: 3 },
  ]);
});

Deno.test("a job binds each input with its bucket's columns and the output with the task's", () => {
  const Wide = schema({ id: t.int64, amount: t.float64, region: t.string, extra: t.uint32 });
  const s = step("bound", (df) => df.select("id"), Wide);
  const job = sparkJob(s, {
    inputs: { input: { uri: "s3://unit/in.parquet", format: "parquet" } },
    output: { uri: "s3://unit/out.parquet", format: "parquet" },
  });
  assert.equal(job.glacier, 1);
  assert.equal(job.task, "bound");
  assert.deepEqual(job.inputs.input, {
    uri: "s3://unit/in.parquet",
    format: "parquet",
    view: "glacier_bound_input",
    columns: [["id", "BIGINT"], ["amount", "DOUBLE"], ["region", "STRING"], ["extra", "BIGINT"]],
  });
  assert.deepEqual(job.output.columns, [["id", "BIGINT"]]);
  assert.throws(
    () => sparkJob(s, { inputs: {}, output: { uri: "s3://unit/out.parquet", format: "parquet" } }),
    /task 'bound' has no binding for input 'input'/,
  );
});

Deno.test("dtypes map to Spark SQL types, unsigned integers widened", () => {
  const cases: [pl.DataType, string][] = [
    [t.int8, "TINYINT"],
    [t.int16, "SMALLINT"],
    [t.int32, "INT"],
    [t.int64, "BIGINT"],
    [t.uint8, "SMALLINT"],
    [t.uint16, "INT"],
    [t.uint32, "BIGINT"],
    [t.uint64, "DECIMAL(20,0)"],
    [t.float32, "FLOAT"],
    [t.float64, "DOUBLE"],
    [t.bool, "BOOLEAN"],
    [t.string, "STRING"],
    [t.date, "DATE"],
    [t.datetime, "TIMESTAMP_NTZ"],
    [t.datetimeOf("us", "UTC"), "TIMESTAMP"],
    [t.list(t.string), "ARRAY<STRING>"],
    [t.struct({ a: t.int32, "b c": t.list(t.float64) }), "STRUCT<`a`: INT, `b c`: ARRAY<DOUBLE>>"],
  ];
  for (const [dtype, type] of cases) assert.equal(sparkType(dtype), type);
  assert.throws(() => sparkType(pl.Duration("ms")), /dtype 'Duration' has no Spark SQL type/);
});

Deno.test("a step is compiled once: the check before a run and the run share the compilation", () => {
  let calls = 0;
  const counted = step("counted", (df) => {
    calls++;
    return df.filter(pl.col("amount").gt(1));
  });
  const before = calls;
  const first = compileStep(counted);
  const second = compileStep(counted);
  assert.equal(second, first);
  assert.equal(calls - before, 1, "the task's body ran once, for one capture");
});
