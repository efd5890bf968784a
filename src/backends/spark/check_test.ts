import assert from "node:assert/strict";
import { pl, Provider, schema, t } from "../../../mod.ts";
import { localBackend } from "../local/backend.ts";
import { sparkBackend } from "./backend.ts";
import type { CheckReport } from "../../core/reports.ts";
import { sparkCheck } from "./check.ts";

const In = schema({ id: t.int64, amount: t.float64, region: t.string });
const Out = schema({ region: t.string, share: t.float64 });

/** A pipeline whose one task uses `rolling_skew` (no Spark SQL), on the given resource kind. */
function pipeline(kind: "local" | "spark") {
  const provider = new Provider();
  const resource = kind === "spark" ? provider.spark() : provider.local();
  const task = resource.task(
    { name: "share", input: In, output: Out },
    (df) =>
      df.select(
        pl.col("region"),
        pl.col("amount").rollingSkew(3).alias("share"),
      ),
  );
  return provider.bucket({ bucket: "unit", path: "in.parquet", schema: In }).transform(task)
    .to(provider.bucket({ bucket: "unit", path: "out.parquet", schema: Out }));
}

Deno.test("the spark backend checks a step by compiling it; the local backend finds nothing", async () => {
  const [step] = pipeline("spark").graph().steps;
  assert.deepEqual(await sparkBackend.check(step), sparkCheck(step));
  assert.ok((await sparkBackend.check(step)).length > 0);
  assert.deepEqual(await localBackend.check(pipeline("local").graph().steps[0]), []);
});

Deno.test("glacier check refuses a spark task's unsupported operation by name", async () => {
  const report = await pipeline("spark").run({ mode: "check" }) as CheckReport;
  assert.equal(report.ok, false);
  assert.deepEqual(report.tasks, [{
    task: "share",
    issues: [
      "task 'share' uses polars operation 'rolling_skew', which Glacier cannot run on Spark; declare " +
      "the task on provider.local() or provider.serverless(), or rewrite it with supported " +
      "operations",
    ],
  }]);
});

Deno.test("the same task on a local resource passes the check", async () => {
  const report = await pipeline("local").run({ mode: "check" }) as CheckReport;
  assert.equal(report.ok, true);
  assert.deepEqual(report.tasks, [{ task: "share", issues: [] }]);
});

Deno.test("a spark task that compiles passes the check", () => {
  const provider = new Provider();
  const task = provider.spark().task(
    { name: "total", input: In, output: schema({ region: t.string, total: t.float64 }) },
    (df) => df.groupBy("region").agg(pl.col("amount").sum().alias("total")),
  );
  const bucket = provider.bucket({ bucket: "unit", path: "in.parquet", schema: In }).transform(task)
    .to(provider.bucket({
      bucket: "unit",
      path: "total.parquet",
      schema: schema({ region: t.string, total: t.float64 }),
    }));
  assert.deepEqual(sparkCheck(bucket.lineage[0]), []);
});

Deno.test("glacier check refuses a CSV date format Spark's patterns cannot express, by name", async () => {
  const provider = new Provider();
  const S = schema({ day: t.date, n: t.int64 });
  const copy = provider.spark().task({ name: "copy_days", input: S, output: S }, (df) => df);
  const days = (path: string, dateFormat: string) =>
    provider.bucket({ bucket: "unit", path, schema: S, csv: { dateFormat } });
  const ok = await days("in.csv", "%m/%d/%Y").transform(copy).to(days("out.csv", "%d.%m.%Y"))
    .run({ mode: "check" }) as CheckReport;
  assert.equal(ok.ok, true, JSON.stringify(ok));
  const refused = await days("in.csv", "%e %b %Y").transform(copy).to(days("out.csv", "%F"))
    .run({ mode: "check" }) as CheckReport;
  assert.deepEqual(refused.tasks[0].issues, [
    "task 'copy_days' runs on Spark, but bucket 'unit/in.csv' csv option 'dateFormat' " +
    "'%e %b %Y' has directive '%e', which Spark's datetime patterns cannot express; change the " +
    "option or declare the task on provider.local() or provider.serverless()",
  ]);
});

Deno.test("polars strftime formats become Spark datetime patterns, literals quoted", async () => {
  const { sparkPattern } = await import("./_csv.ts");
  assert.deepEqual(sparkPattern("%m/%d/%Y %H:%M"), { pattern: "MM/dd/yyyy HH:mm" });
  assert.deepEqual(sparkPattern("%Y-%m-%dT%H:%M:%S%.6f%:z"), {
    pattern: "yyyy-MM-dd'T'HH:mm:ss.SSSSSSxxx",
  });
  assert.deepEqual(sparkPattern("%d of %B, %Y"), { pattern: "dd' of 'MMMM, yyyy" });
  assert.deepEqual(sparkPattern("%.f"), { unsupported: "%.f" });
});
