import assert from "node:assert/strict";
import { CheckFailedError, pl, Provider, schema, t, WiringError } from "../../mod.ts";
import { checkIdentity } from "../../src/core/checks.ts";
import { auditFrame, enforceChecks } from "../../src/core/checks_audit.ts";
import { checkCases, Readings, readings } from "../_check_corpus.ts";

const provider = new Provider({ localRoot: "/nonexistent/glacier-checks-test" });

for (const c of checkCases()) {
  Deno.test(`checks on polars: ${c.name}`, async () => {
    const results = await auditFrame(c.bucket, c.frame.lazy());
    assert.deepEqual(
      results.map(({ name, passed, failingRows }) => ({ name, passed, failingRows })),
      c.expect,
    );
    for (const result of results) {
      assert.equal(result.bucket, `corpus/${c.name}.parquet`);
      const rowCheck = !result.name.startsWith("row_count(");
      const shown = result.passed || !rowCheck ? 0 : Math.min(result.failingRows, 5);
      assert.equal(result.sample.length, shown, `${result.name}: sample size`);
    }
  });
}

Deno.test("checks: failing rows are shown as plain JSON, in the data's order", async () => {
  const bucket = provider.bucket({
    bucket: "lab",
    path: "readings.parquet",
    schema: Readings,
    checks: (c) => [c.notNull("model"), c.between("celsius", -60, 60)],
  });
  const [notNull, between] = await auditFrame(bucket, readings().lazy());
  assert.deepEqual(notNull.sample.map((r) => [r.sensor_id, r.day, r.ts]), [
    [3, "2026-01-02", "2026-01-01T02:00:00.000Z"],
    [5, "2026-01-04", "2026-01-01T05:00:00.000Z"],
  ]);
  assert.deepEqual(between.sample.map((r) => r.celsius), [-70, -70, "NaN", 61]);
});

Deno.test("checks: an error check that fails throws, naming the check, bucket, count and rows", async () => {
  const bucket = provider.bucket({
    bucket: "lab",
    path: "readings.parquet",
    schema: schema({ id: t.int64, model: t.string }),
    checks: (c) => [c.notNull("model"), c.unique("id", { severity: "warn" })],
  });
  const frame = pl.DataFrame({
    id: pl.Series("id", [1, 1, 2, 3, 4, 5, 6, 7], pl.Int64),
    model: [null, null, "x", null, null, null, null, "y"],
  });
  const results = await auditFrame(bucket, frame.lazy());
  assert.throws(() => enforceChecks(results), (error: unknown) => {
    assert.ok(error instanceof CheckFailedError);
    const lines = error.message.split("\n");
    assert.equal(
      lines[0],
      "check 'not_null(model)' failed on bucket 'lab/readings.parquet': 6 rows fail; the first 5:",
    );
    assert.deepEqual(lines.slice(1), [1, 1, 3, 4, 5].map((id) => `  {"id":${id},"model":null}`));
    assert.equal(error.results.length, 2, "it carries every result, the warn one too");
    return true;
  });
  enforceChecks(results.filter((r) => r.severity === "warn"));
});

Deno.test("checks: a row count out of bounds says how many rows there are", () => {
  const error = CheckFailedError.of([{
    name: "row_count(min 1)",
    bucket: "lab/out.parquet",
    severity: "error",
    passed: false,
    failingRows: 0,
    sample: [],
  }]);
  assert.equal(
    error?.message,
    "check 'row_count(min 1)' failed on bucket 'lab/out.parquet': it has 0 rows",
  );
});

Deno.test("checks: a rewrapped CheckFailedError keeps the results", () => {
  const first = CheckFailedError.of([{
    name: "unique(id)",
    bucket: "lab/out.parquet",
    severity: "error",
    passed: false,
    failingRows: 2,
    sample: [{ id: 1 }, { id: 1 }],
  }])!;
  const wrapped = new CheckFailedError(`pipeline 'p' failed: ${first.message}`, { cause: first });
  assert.equal(wrapped.results, first.results);
});

Deno.test("checks: mistakes are refused when the bucket is declared, naming bucket, check and column", () => {
  /** The builder without its types: the mistakes `deno check` would refuse, made at run time. */
  type Untyped = Record<string, (...args: unknown[]) => unknown>;
  const declare = (checks: (c: Untyped) => unknown[]) => () =>
    provider.bucket({
      bucket: "lab",
      path: "r.parquet",
      schema: Readings,
      checks: checks as never,
    });
  const refused: [(c: Untyped) => unknown[], string][] = [
    [
      (c) => [c.notNull("nope")],
      "bucket 'lab/r.parquet' lacks column 'nope' that check 'not_null' reads",
    ],
    [(c) => [c.unique(["sensor_id", "nope"])], "lacks column 'nope' that check 'unique' reads"],
    [
      (c) => [c.between("ok", 0, 1)],
      "column 'ok' of bucket 'lab/r.parquet' is Bool, which check 'between' cannot compare",
    ],
    [
      (c) => [c.acceptedValues("day", [])],
      "column 'day' of bucket 'lab/r.parquet' is Date, which check 'accepted_values' cannot compare",
    ],
    [
      (c) => [c.acceptedValues("site", [1])],
      "needs an array of strings for column 'site' (String)",
    ],
    [
      (c) => [c.between("celsius", null, null)],
      "check 'between(celsius, null, null)' of bucket 'lab/r.parquet' needs bounds",
    ],
    [(c) => [c.rowCount({})], "check 'row_count()' of bucket 'lab/r.parquet' needs { min, max }"],
    [
      (c) => [c.notNull("n"), c.notNull("n")],
      "bucket 'lab/r.parquet' has two checks named 'not_null(n)'",
    ],
    [
      (c) => [c.expr("bad", pl.col("nope").gt(1))],
      "check 'bad' of bucket 'lab/r.parquet' cannot be evaluated on its columns",
    ],
    [
      (c) => [c.expr("sum", pl.col("n").add(1))],
      "check 'sum' of bucket 'lab/r.parquet' must give one boolean per row; its expression gives Float64",
    ],
    [(c) => [c.notNull("n", { severity: "fatal" })], "has severity 'fatal'; use 'error' or 'warn'"],
  ];
  for (const [checks, message] of refused) {
    assert.throws(declare(checks), (error: unknown) => {
      assert.ok(error instanceof WiringError, String(error));
      assert.ok(error.message.includes(message), `${error.message}\ndoes not include\n${message}`);
      return true;
    });
  }
});

Deno.test("checks: the identity changes with the definition, not with the severity", () => {
  const [a, b, c, d, e] = provider.bucket({
    bucket: "lab",
    path: "r.parquet",
    schema: Readings,
    checks: (c) => [
      c.between("celsius", -60, 60),
      c.between("celsius", -60, 61),
      c.expr("cool", pl.col("celsius").lt(30)),
      c.expr("warm", pl.col("celsius").lt(30), { severity: "warn" }),
      c.expr("hot", pl.col("celsius").lt(31)),
    ],
  }).checks!;
  const again = provider.bucket({
    bucket: "lab",
    path: "r.parquet",
    schema: Readings,
    checks: (c) => [c.between("celsius", -60, 60, { severity: "warn" })],
  }).checks![0];
  assert.deepEqual(checkIdentity(again), checkIdentity(a));
  const hashes = new Set([a, b, c, d, e].map((x) => checkIdentity(x).hash));
  assert.equal(hashes.size, 5);
});
