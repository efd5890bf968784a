import assert from "node:assert/strict";
import { Pipeline, Provider, schema, t, WiringError } from "../../mod.ts";
import { schedule } from "../../src/engine/schedule.ts";

const S = schema({ id: t.int64 });
const provider = new Provider({ localRoot: "/nonexistent-glacier-root" });
const local = provider.local();
const b = (path: string) =>
  provider.bucket({ bucket: "graph", path: `${path}.parquet`, schema: S });
const copy = (name: string) => local.task({ name, input: S, output: S }, (df) => df);

Deno.test("lineage holds each upstream step once; levels group independent steps", () => {
  const a = b("a");
  const mid = a.transform(copy("t1")).to(b("mid"));
  const left = mid.transform(copy("t2")).to(b("left"));
  const right = mid.transform(copy("t3")).to(b("right"));
  const both = local.task({ name: "t4", inputs: { l: S, r: S }, output: S }, ({ l }) => l);
  const end = new Pipeline({ l: left, r: right }).transform(both).to(b("end"));
  const graph = end.graph();
  assert.deepEqual(graph.steps.map((s) => s.task.name), ["t1", "t2", "t3", "t4"]);
  assert.deepEqual(graph.levels.map((l) => l.map((s) => s.task.name)), [["t1"], ["t2", "t3"], [
    "t4",
  ]]);
  assert.deepEqual(graph.sources.map((x) => x.location), ["graph/a.parquet"]);
  assert.deepEqual(graph.sinks.map((x) => x.location), ["graph/end.parquet"]);
  assert.equal(a.lineage.length, 0);
});

Deno.test("the graph refuses two producers of one bucket, cycles, twin task names and twin schemas", () => {
  const x = b("x");
  const y = b("y");
  const first = x.transform(copy("p1")).to(y);
  const second = b("z").transform(copy("p2")).to(b("y"));
  const both = local.task({ name: "join2", inputs: { a: S, c: S }, output: S }, ({ a }) => a);
  assert.throws(
    () => new Pipeline({ a: first, c: second }).transform(both).to(b("w")).graph(),
    /bucket 'graph\/y.parquet' is written by two steps, tasks 'p1' and 'p2'/,
  );
  const back = first.transform(copy("p3")).to(b("x"));
  assert.throws(
    () => back.graph(),
    (e: Error) => e instanceof WiringError && /has a cycle: p1 -> p3 -> p1/.test(e.message),
  );
  const twin = x.transform(copy("same")).to(b("q")).transform(copy("same")).to(b("r"));
  assert.throws(() => twin.graph(), /two different tasks are named 'same'/);
  const other = provider.bucket({
    bucket: "graph",
    path: "x.parquet",
    schema: schema({ id: t.string }),
  });
  const mixed = local.task({
    name: "mix",
    inputs: { a: S, c: schema({ id: t.string }) },
    output: S,
  }, ({ a }) => a);
  assert.throws(
    () => new Pipeline({ a: x, c: other }).transform(mixed).to(b("m")).graph(),
    /bucket 'graph\/x.parquet' is declared twice with different schemas: \{ id: Int64 \} and \{ id: String \}/,
  );
});

Deno.test("run() of a bucket without lineage says there is nothing to run", async () => {
  await assert.rejects(
    b("alone").run({ mode: "local" }),
    /bucket 'graph\/alone.parquet' has no lineage/,
  );
});

Deno.test("the scheduler runs independent steps together, never before their inputs, and after a failure runs only what does not depend on it", async () => {
  const mid = b("s0").transform(copy("s1")).to(b("s1"));
  const a2 = mid.transform(copy("s2")).to(b("s2"));
  const a3 = mid.transform(copy("s3")).to(b("s3"));
  const a4 = a2.transform(copy("s4")).to(b("s4"));
  const graph = new Pipeline({ l: a4, r: a3 })
    .transform(local.task({ name: "s5", inputs: { l: S, r: S }, output: S }, ({ l }) => l))
    .to(b("s5")).graph();
  const events: string[] = [];
  let running = 0;
  let peak = 0;
  await schedule(graph, 2, async (step) => {
    running++;
    peak = Math.max(peak, running);
    events.push(`start ${step.task.name}`);
    await new Promise((r) => setTimeout(r, 20));
    events.push(`end ${step.task.name}`);
    running--;
  });
  assert.equal(peak, 2);
  const at = (e: string) => events.indexOf(e);
  assert.ok(at("end s1") < at("start s2") && at("end s1") < at("start s3"));
  assert.ok(at("end s2") < at("start s4"));
  assert.ok(at("end s4") < at("start s5") && at("end s3") < at("start s5"));

  const started: string[] = [];
  const outcome = await schedule(graph, 1, (step) => {
    started.push(step.task.name);
    return step.task.name === "s2" ? Promise.reject(new Error("s2 broke")) : Promise.resolve();
  });
  assert.deepEqual(started, ["s1", "s2", "s3"]);
  assert.deepEqual(outcome.failures.map((f) => [f.step.task.name, (f.error as Error).message]), [
    ["s2", "s2 broke"],
  ]);
  assert.deepEqual(outcome.blocked.map((s) => s.task.name), ["s4", "s5"]);
});

Deno.test("the provider refuses bucket names S3 would refuse and paths that escape the root", () => {
  assert.throws(
    () => provider.bucket({ bucket: "Shop_Data", path: "a.parquet", schema: S }),
    /bucket name "Shop_Data" is not valid/,
  );
  assert.throws(
    () => provider.bucket({ bucket: "shop", path: "../a.parquet", schema: S }),
    /path "..\/a.parquet" is not valid/,
  );
  assert.throws(
    () => provider.bucket({ bucket: "shop", path: "a.xlsx", schema: S }),
    /has no known file extension/,
  );
  assert.throws(
    () => local.task({ name: "has space", input: S, output: S }, (df) => df),
    /task name "has space" is not valid/,
  );
});

Deno.test("an unknown run mode is refused, naming the modes there are", async () => {
  const pipeline = b("u1").transform(copy("u")).to(b("u2"));
  await assert.rejects(
    pipeline.run({ mode: "nope" } as never),
    /run mode 'nope' is not known; use one of: local, cloud, plan, check, generate, analyze/,
  );
});
