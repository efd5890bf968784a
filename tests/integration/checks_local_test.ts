/**
 * Write, audit, publish in local mode, as a user sees it: a failing `error` check stops the run
 * with a message that shows the bad rows, and the bucket keeps what it had; a `warn` check
 * publishes.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  type CheckBuilder,
  CheckFailedError,
  daily,
  type GlacierError,
  NoDataError,
  pl,
  Provider,
  schema,
  type Severity,
  t,
} from "../../mod.ts";

const Raw = schema({ sensor_id: t.int64, model: t.string, celsius: t.float64 });

/** raw readings → `clean` (drops impossible temperatures) → readings, with a not-null check. */
async function lab(severity: Severity) {
  const root = await Deno.makeTempDir({ prefix: "glacier-checks-" });
  const provider = new Provider({ localRoot: root });
  const raw = provider.bucket({ bucket: "lab", path: "raw/readings.csv", schema: Raw });
  const readings = provider.bucket({
    bucket: "lab",
    path: "out/readings.parquet",
    schema: Raw,
    checks: (c) => [c.notNull("model", { severity }), c.rowCount({ min: 1 })],
  });
  const clean = provider.local().task(
    { name: "clean", input: Raw, output: Raw },
    (df) => df.filter(pl.col("celsius").ltEq(100)),
  );
  const pipeline = raw.transform(clean).to(readings).withName("lab");
  const write = (models: (string | null)[]) =>
    raw.write(pl.DataFrame({
      sensor_id: pl.Series("sensor_id", models.map((_, i) => i + 1), pl.Int64),
      model: pl.Series("model", models, pl.String),
      celsius: models.map((_, i) => 20 + i),
    }));
  return { root, readings, pipeline, write };
}

Deno.test("checks: a failing error check stops the run, shows the rows and publishes nothing", async () => {
  const { root, readings, pipeline, write } = await lab("error");
  try {
    await write(["a", null, "c"]);
    await assert.rejects(() => pipeline.run({ mode: "local", quiet: true }), (error: unknown) => {
      assert.ok(error instanceof CheckFailedError, String(error));
      assert.match(
        error.message,
        /check 'not_null\(model\)' failed on bucket 'lab\/out\/readings\.parquet': 1 row fails; it is:\n {2}\{"sensor_id":2,"model":null,"celsius":21\}/,
      );
      assert.deepEqual(
        error.results.map((r) => [r.name, r.passed, r.failingRows]),
        [["not_null(model)", false, 1], ["row_count(min 1)", true, 0]],
      );
      return true;
    });
    await assert.rejects(() => readings.read(), NoDataError);

    await write(["a", "b"]);
    await pipeline.run({ mode: "local", quiet: true });
    await write([null]);
    await assert.rejects(() => pipeline.run({ mode: "local", quiet: true }), CheckFailedError);
    assert.deepEqual((await readings.read()).getColumn("model").toArray(), ["a", "b"]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("checks: a failing warn check publishes", async () => {
  const { root, readings, pipeline, write } = await lab("warn");
  try {
    await write(["a", null]);
    const report = await pipeline.run({ mode: "local", quiet: true });
    assert.equal(report.status, "succeeded");
    assert.deepEqual((await readings.read()).getColumn("model").toArray(), ["a", null]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("checks: a row count check fails an empty output", async () => {
  const { root, pipeline, write } = await lab("warn");
  try {
    await write([]);
    await assert.rejects(
      () => pipeline.run({ mode: "local", quiet: true }),
      /check 'row_count\(min 1\)' failed on bucket 'lab\/out\/readings\.parquet': it has 0 rows/,
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("checks: with partitions, a failing check fails only its own partition", async () => {
  const root = await Deno.makeTempDir({ prefix: "glacier-checks-" });
  try {
    const provider = new Provider({ localRoot: root });
    const Day = schema({ sensor_id: t.int64, model: t.string });
    const keys = { date: daily({ start: "2026-01-01", end: "2026-01-02" }) };
    const raw = provider.bucket({
      bucket: "lab",
      path: "raw/{date}.parquet",
      schema: Day,
      partitions: keys,
    });
    const clean = provider.bucket({
      bucket: "lab",
      path: "clean/{date}.parquet",
      schema: Day,
      partitions: keys,
      // A partitioned bucket's `c` is annotated: its overload infers the whole spec at once.
      checks: (c: CheckBuilder<typeof Day, "lab/clean/{date}.parquet">) => [c.notNull("model")],
    });
    const copy = provider.local().task({ name: "copy", input: Day, output: Day }, (df) => df);
    const pipeline = raw.transform(copy).to(clean).withName("days");
    const day = (model: string | null) =>
      pl.DataFrame({
        sensor_id: pl.Series("sensor_id", [1], pl.Int64),
        model: pl.Series("model", [model], pl.String),
      });
    await raw.write(day("a"), { partition: { date: "2026-01-01" } });
    await raw.write(day(null), { partition: { date: "2026-01-02" } });
    await assert.rejects(
      () => pipeline.run({ mode: "local", quiet: true }),
      (error: GlacierError) => {
        assert.match(error.message, /failed for 1 of 2 partitions, and published the others/);
        assert.match(error.message, /check 'not_null\(model\)' failed on bucket 'lab\/clean/);
        assert.deepEqual(
          error.report?.steps.map((s) => [s.partition?.date, s.status]).sort(),
          [["2026-01-01", "ran"], ["2026-01-02", "failed"]],
        );
        return true;
      },
    );
    assert.equal((await clean.read({ partition: { date: "2026-01-01" } })).height, 1);
    await assert.rejects(() => clean.read({ partition: { date: "2026-01-02" } }), NoDataError);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

/** The same pipeline with a raw input that has checks, and the output's checks given. */
function audited(root: string, outputChecks: (c: CheckBuilder<typeof Raw, string>) => unknown[]) {
  const provider = new Provider({ localRoot: root });
  const raw = provider.bucket({
    bucket: "lab",
    path: "raw/readings.csv",
    schema: Raw,
    checks: (c) => [c.between("celsius", -60, 60, { severity: "warn" })],
  });
  const readings = provider.bucket({
    bucket: "lab",
    path: "out/readings.parquet",
    schema: Raw,
    // deno-lint-ignore no-explicit-any
    checks: outputChecks as any,
  });
  const clean = provider.local().task(
    { name: "clean", input: Raw, output: Raw },
    (df) => df.filter(pl.col("celsius").ltEq(100)),
  );
  return { raw, pipeline: raw.transform(clean).to(readings).withName("lab") };
}

Deno.test("checks: results are in the step report, the summary and the ledger; a rerun reuses them, and an added check audits the kept version without recomputing it", async () => {
  const root = await Deno.makeTempDir({ prefix: "glacier-checks-" });
  try {
    const first = audited(root, (c) => [c.notNull("model")]);
    await first.raw.write(pl.DataFrame({
      sensor_id: pl.Series("sensor_id", [1, 2, 3], pl.Int64),
      model: ["a", "b", "b"],
      celsius: [20, 75, 99],
    }));
    const ran = await first.pipeline.run({ mode: "local", quiet: true });
    const names = (r: typeof ran) =>
      r.steps[0].checks!.map((c) => `${c.bucket} ${c.name} ${c.passed} ${c.failingRows}`);
    // The raw input's warn check (two readings above 60) is reported, and the run publishes.
    assert.deepEqual(names(ran), [
      "lab/raw/readings.csv between(celsius, -60, 60) false 2",
      "lab/out/readings.parquet not_null(model) true 0",
    ]);
    assert.equal(ran.status, "succeeded");

    // Nothing changed: the step is skipped, the results come from the ledger.
    const again = await first.pipeline.run({ mode: "local", quiet: true });
    assert.equal(again.steps[0].status, "skipped");
    assert.deepEqual(names(again), names(ran));
    const { DatabaseSync } = await import("node:sqlite");
    const db = new DatabaseSync(`${root}/.glacier/ledger.sqlite`);
    const audits = db.prepare("SELECT DISTINCT run_id FROM check_results").all();
    db.close();
    assert.deepEqual(audits.map((r) => r.run_id), [ran.runId], "the rerun audited nothing");

    // A check added to the output audits the version it holds: the step is not recomputed, and
    // the new check's failure fails the run.
    const stricter = audited(root, (c) => [c.notNull("model"), c.unique("model")]);
    await assert.rejects(
      () => stricter.pipeline.run({ mode: "local", quiet: true }),
      (error: GlacierError) => {
        assert.match(
          error.message,
          /check 'unique\(model\)' failed on bucket 'lab\/out\/readings\.parquet': 2 rows fail/,
        );
        const step = error.report!.steps[0];
        assert.equal(step.status, "failed");
        assert.deepEqual(step.checks!.map((c) => `${c.name} ${c.passed}`), [
          "between(celsius, -60, 60) false",
          "not_null(model) true",
          "unique(model) false",
        ]);
        return true;
      },
    );
    const relaxed = audited(
      root,
      (c) => [c.notNull("model"), c.unique("model", { severity: "warn" })],
    );
    const warned = await relaxed.pipeline.run({ mode: "local", quiet: true });
    assert.equal(warned.steps[0].status, "skipped");
    assert.deepEqual(warned.steps[0].checks!.map((c) => `${c.name} ${c.severity} ${c.passed}`), [
      "between(celsius, -60, 60) warn false",
      "not_null(model) error true",
      "unique(model) warn false",
    ]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
