/**
 * The quality-check corpus: buckets with checks over small frames (nulls, NaN, repeated keys,
 * bounds hit exactly, dates and datetimes, an empty frame), each with the outcome a person would
 * expect. `tests/unit/checks_test.ts` runs it on polars; `tests/integration/spark_checks_test.ts`
 * runs the same checks, compiled to Spark SQL, on a real Spark: both must give these outcomes,
 * and the same failing rows.
 *
 * @module
 */
import { type Bucket, type ChecksOf, pl, Provider, schema, t } from "../mod.ts";

/** The columns of every case. */
export const Readings = schema({
  sensor_id: t.int64,
  ts: t.datetime,
  day: t.date,
  site: t.string,
  celsius: t.float64,
  model: t.string,
  ok: t.bool,
  n: t.int32,
});

const at = (iso: string | null) => iso === null ? null : new Date(iso);

/** Eight readings: a repeated sensor, a null sensor, NaN, bounds hit exactly, unknown sites. */
export function readings(): pl.DataFrame {
  return pl.DataFrame({
    sensor_id: pl.Series("sensor_id", [1, 2, 2, 3, 4, null, 5, 6], pl.Int64),
    ts: pl.Series("ts", [
      at("2026-01-01T00:00:00Z"),
      at("2026-01-01T01:00:00Z"),
      at("2026-01-01T01:00:00Z"),
      at("2026-01-01T02:00:00Z"),
      at("2026-01-01T03:00:00Z"),
      null,
      at("2026-01-01T05:00:00Z"),
      at("2026-01-01T06:00:00Z"),
    ], pl.Datetime("ms")),
    day: pl.Series("day", [
      at("2026-01-01"),
      at("2026-01-01"),
      at("2026-01-02"),
      at("2026-01-02"),
      at("2026-01-03"),
      null,
      at("2026-01-04"),
      at("2026-01-05"),
    ], pl.Date),
    site: pl.Series("site", ["north", "south", "south", "east", null, "north", "north", "west"]),
    celsius: pl.Series("celsius", [20.5, -70, -70, 60, NaN, null, -60, 61], pl.Float64),
    model: pl.Series("model", ["a", "b", "b", null, "c", "d", null, "e"]),
    ok: pl.Series("ok", [true, false, false, null, true, true, false, true], pl.Bool),
    n: pl.Series("n", [1, 2, 3, 4, 5, 6, 7, 8], pl.Int32),
  });
}

/** What one check should give. */
export interface ExpectedResult {
  /** The check's name. */
  readonly name: string;
  /** Whether it passes. */
  readonly passed: boolean;
  /** How many rows fail (for `row_count`: the row count when out of bounds). */
  readonly failingRows: number;
}

/** One bucket of the corpus: its checks, its data and what the checks give. */
export interface CheckCase {
  /** The case's name, also its file name. */
  readonly name: string;
  /** The bucket, declared with its checks. */
  readonly bucket: Bucket;
  /** The data. */
  readonly frame: pl.DataFrame;
  /** One outcome per check, in order. */
  readonly expect: readonly ExpectedResult[];
}

/**
 * The corpus, on buckets of a provider that touches no storage.
 *
 * @returns the cases.
 */
export function checkCases(): CheckCase[] {
  const provider = new Provider({ localRoot: "/nonexistent/glacier-check-corpus" });
  const bucket = (name: string, checks: ChecksOf<typeof Readings, string>) =>
    provider.bucket({ bucket: "corpus", path: `${name}.parquet`, schema: Readings, checks });
  const data = readings();
  const cases: CheckCase[] = [];
  const add = (
    name: string,
    frame: pl.DataFrame,
    checks: Parameters<typeof bucket>[1],
    expect: [string, boolean, number][],
  ) =>
    cases.push({
      name,
      bucket: bucket(name, checks),
      frame,
      expect: expect.map(([name, passed, failingRows]) => ({ name, passed, failingRows })),
    });

  add("not_null", data, (c) => [c.notNull("model"), c.notNull("sensor_id"), c.notNull("n")], [
    ["not_null(model)", false, 2],
    ["not_null(sensor_id)", false, 1],
    ["not_null(n)", true, 0],
  ]);
  add("unique", data, (c) => [
    c.unique("sensor_id"),
    c.unique(["sensor_id", "ts"]),
    c.unique("site"),
    c.unique(["n"]),
    c.unique(["site", "day"]),
  ], [
    ["unique(sensor_id)", false, 2],
    ["unique(sensor_id, ts)", false, 2],
    ["unique(site)", false, 5],
    ["unique(n)", true, 0],
    ["unique(site, day)", true, 0],
  ]);
  add("accepted_values", data, (c) => [
    c.acceptedValues("site", ["north", "south"]),
    c.acceptedValues("n", [1, 2, 3]),
    c.acceptedValues("ok", [true]),
    c.acceptedValues("celsius", [20.5, -70, 60, -60, 61]),
    c.acceptedValues("model", []),
  ], [
    ["accepted_values(site)", false, 2],
    ["accepted_values(n)", false, 5],
    ["accepted_values(ok)", false, 3],
    ["accepted_values(celsius)", false, 1],
    ["accepted_values(model)", false, 6],
  ]);
  add("between", data, (c) => [
    c.between("celsius", -60, 60),
    c.between("celsius", null, 60),
    c.between("n", 2.5, 7),
    c.between("site", "a", "m"),
    c.between("day", new Date("2026-01-02"), null),
    c.between("ts", null, new Date("2026-01-01T02:00:00Z")),
  ], [
    ["between(celsius, -60, 60)", false, 4],
    ["between(celsius, null, 60)", false, 2],
    ["between(n, 2.5, 7)", false, 3],
    ["between(site, 'a', 'm')", false, 6],
    ["between(day, 2026-01-02, null)", false, 2],
    ["between(ts, null, 2026-01-01T02:00:00.000Z)", false, 3],
  ]);
  add("row_count", data, (c) => [
    c.rowCount({ min: 1 }),
    c.rowCount({ max: 5 }),
    c.rowCount({ min: 8, max: 8 }),
    c.rowCount({ min: 10 }, { severity: "warn" }),
  ], [
    ["row_count(min 1)", true, 0],
    ["row_count(max 5)", false, 8],
    ["row_count(min 8, max 8)", true, 0],
    ["row_count(min 10)", false, 8],
  ]);
  add("expr", data, (c) => [
    c.expr("cool", pl.col("celsius").lt(30)),
    c.expr("known_model", pl.col("model").isIn(["a", "b", "c"])),
    c.expr("id_below_n", pl.col("sensor_id").lt(pl.col("n")), { severity: "warn" }),
    c.expr("all_good", pl.col("n").gt(0)),
  ], [
    ["cool", false, 3],
    ["known_model", false, 2],
    ["id_below_n", false, 2],
    ["all_good", true, 0],
  ]);
  add("empty", data.head(0), (c) => [
    c.notNull("model"),
    c.unique(["sensor_id", "ts"]),
    c.between("celsius", -60, 60),
    c.expr("cool", pl.col("celsius").lt(30)),
    c.rowCount({ min: 1 }),
  ], [
    ["not_null(model)", true, 0],
    ["unique(sensor_id, ts)", true, 0],
    ["between(celsius, -60, 60)", true, 0],
    ["cool", true, 0],
    ["row_count(min 1)", false, 0],
  ]);
  return cases;
}
