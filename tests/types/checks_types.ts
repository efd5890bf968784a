/**
 * Quality checks as `deno check` sees them: every check of DESIGN section 9 on columns of each
 * kind it reads type-checks; each mistake below carries `// @ts-expect-error`, so `deno check` of
 * this file passes only while every one of them is still a type error. The message texts are
 * checked by `messages_test.ts` (fixtures `check_*.ts`).
 *
 * Nothing here runs: the mistakes sit in a function that is never called.
 *
 * @module
 */
import { pl, Provider, type QualityCheck, schema, t } from "../../mod.ts";
import { assertType, type IsExact } from "./_assert.ts";

const provider = new Provider();

const Readings = schema({
  sensor_id: t.int64,
  ts: t.datetime,
  day: t.date,
  at: t.datetimeOf("us", "UTC"),
  site: t.string,
  celsius: t.float32,
  ok: t.bool,
  tags: t.list(t.string),
});

/** Every check, on every kind of column it reads. */
export const readings = provider.bucket({
  bucket: "lab",
  path: "raw/readings.parquet",
  schema: Readings,
  checks: (c) => [
    c.notNull("sensor_id"),
    c.notNull("tags", { severity: "warn" }),
    c.unique("sensor_id"),
    c.unique(["sensor_id", "ts"]),
    c.acceptedValues("site", ["north", "south"]),
    c.acceptedValues("sensor_id", [1, 2, 3]),
    c.acceptedValues("ok", [true]),
    c.between("celsius", -60, 60),
    c.between("celsius", null, 60, { severity: "warn" }),
    c.between("site", "a", null),
    c.between("day", new Date("2026-01-01"), null),
    c.between("ts", null, new Date()),
    c.rowCount({ min: 1 }),
    c.rowCount({ max: 10 }, { severity: "warn" }),
    c.expr("no_future_readings", pl.col("ts").lt(pl.lit(new Date())), { severity: "warn" }),
  ],
});

assertType<IsExact<typeof readings.checks, readonly QualityCheck[] | undefined>>();

/** The mistakes; never called. */
export function mistakes(): void {
  provider.bucket({
    bucket: "lab",
    path: "raw/readings.parquet",
    schema: Readings,
    checks: (c) => [
      // @ts-expect-error the bucket has no column 'sensor'.
      c.notNull("sensor"),
      // @ts-expect-error the key names a column the bucket lacks.
      c.unique(["sensor_id", "time"]),
      // @ts-expect-error a list has no order.
      c.between("tags", 0, 1),
      // @ts-expect-error a zoned datetime is not compared with a Date.
      c.between("at", new Date(), null),
      // @ts-expect-error a string bound for a number column.
      c.between("celsius", "0", null),
      // @ts-expect-error numbers for a string column.
      c.acceptedValues("site", [1, 2]),
      // @ts-expect-error dates are checked with between.
      c.acceptedValues("day", []),
      // @ts-expect-error severities are error and warn.
      c.notNull("ok", { severity: "fatal" }),
      // @ts-expect-error an expr check needs a polars expression.
      c.expr("bad", "celsius > 0"),
    ],
  });
}
