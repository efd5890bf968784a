import assert from "node:assert/strict";
import { pl, Provider, schema, t } from "../../../mod.ts";
import { localBackend } from "../local/backend.ts";
import { sparkBackend } from "./backend.ts";
import type { CheckReport } from "../../core/reports.ts";
import { sparkCheck } from "./check.ts";

const In = schema({ id: t.int64, amount: t.float64, region: t.string });
const Out = schema({ region: t.string, share: t.float64 });

/** A pipeline whose one task uses a window (`over`), on the given resource kind. */
function pipeline(kind: "local" | "spark") {
  const provider = new Provider();
  const resource = kind === "spark" ? provider.spark() : provider.local();
  const task = resource.task(
    { name: "share", input: In, output: Out },
    (df) =>
      df.select(
        pl.col("region"),
        pl.col("amount").divideBy(pl.col("amount").sum().over("region")).alias("share"),
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
      "task 'share' uses polars operation 'over', which Glacier cannot run on Spark; declare " +
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
