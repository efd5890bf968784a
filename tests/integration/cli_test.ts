import assert from "node:assert/strict";
import { join } from "node:path";
import { main } from "../../cli.ts";

const modUrl = new URL("../../mod.ts", import.meta.url).href;
const repo = new URL("../..", import.meta.url).pathname;

async function glacier(...args: string[]): Promise<{ status: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const status = await main(args, {
    out: (t) => (out += t + "\n"),
    err: (t) => (err += t + "\n"),
  });
  return { status, out, err };
}

/** A module with two pipelines sharing a step, on its own local root. */
async function writeModule(body = ""): Promise<{ root: string; module: string }> {
  const root = await Deno.makeTempDir({ prefix: "glacier-cli-" });
  const module = join(root, "pipelines.ts");
  await Deno.writeTextFile(
    module,
    `
import { pl, Provider, schema, t } from "${modUrl}";
const provider = new Provider({ localRoot: ${JSON.stringify(join(root, "data"))} });
const local = provider.local();
const Raw = schema({ id: t.int64, v: t.float64 });
const Out = schema({ id: t.int64, v: t.float64 });
const Sum = schema({ total: t.float64 });
export const raw = provider.bucket({ bucket: "cli-test", path: "raw.parquet", schema: Raw });
const doubled = provider.bucket({ bucket: "cli-test", path: "doubled.parquet", schema: Out });
const total = provider.bucket({ bucket: "cli-test", path: "total.csv", schema: Sum });
const double = local.task({ name: "double", input: Raw, output: Out }, (df) => df.withColumns(pl.col("v").mul(2)));
const sum = local.task({ name: "sum", input: Out, output: Sum }, (df) => df.select(pl.col("v").sum().alias("total")));
export const doubling = raw.transform(double).to(doubled).withName("doubling");
export const totals = doubling.transform(sum).to(total);
await raw.write(pl.DataFrame({ id: pl.Series("id", [1, 2, 3], pl.Int64), v: [1, 2, 3.5] }));
${body}
`,
  );
  return { root, module };
}

Deno.test("glacier MODULE run runs every exported pipeline once and leaves its outputs", async () => {
  const { root, module } = await writeModule();
  const r = await glacier(module, "run", "--quiet");
  assert.equal(r.status, 0, r.err);
  assert.equal(
    (await Deno.readTextFile(join(root, "data", "cli-test", "total.csv"))).trim(),
    "total\n13.0",
  );
});

Deno.test("glacier MODULE check passes a correct module and names the task of a wrong one", async () => {
  const good = await writeModule();
  const ok = await glacier(good.module, "check");
  assert.equal(ok.status, 0, ok.err);
  assert.match(ok.out, /2 tasks checked, all match their buckets/);

  const bad = await writeModule(`
const Wrong = schema({ id: t.int64, n: t.int64 });
const counted = provider.bucket({ bucket: "cli-test", path: "counted.parquet", schema: Wrong });
const count = local.task({ name: "count_rows", input: Raw, output: Wrong }, (df) => df.select("id", pl.len().alias("n")));
export const counting = raw.transform(count).to(counted);
`);
  const failed = await glacier(bad.module, "check", "--pipeline", "counting");
  assert.equal(failed.status, 1);
  assert.match(
    failed.out,
    /FAIL {2}count_rows\n.*column 'n' is UInt32 in the output of task 'count_rows' but Int64 in bucket 'cli-test\/counted.parquet'/,
  );
});

Deno.test("glacier visualize draws the outermost pipeline unless --pipeline names another", async () => {
  const { module } = await writeModule();
  const all = await glacier(module, "visualize", "--format", "ascii");
  assert.equal(all.status, 0, all.err);
  assert.match(all.out, /sum/);
  const one = await glacier(module, "visualize", "--pipeline", "doubling", "--format", "dot");
  assert.equal(one.status, 0, one.err);
  assert.match(one.out, /digraph/);
  assert.doesNotMatch(one.out, /total\.csv/);
});

Deno.test("glacier reports usage mistakes with status 2 and missing features with status 1", async () => {
  const { module } = await writeModule();
  assert.equal((await glacier("--help")).status, 0);
  assert.match((await glacier("--help")).out, /Usage:/);
  const unknown = await glacier(module, "deploy");
  assert.equal(unknown.status, 2);
  assert.match(
    unknown.err,
    /unknown command 'deploy'; use one of run, plan, runs, check, generate, analyze, visualize, ui, report/,
  );
  const noSuch = await glacier(module, "run", "--pipeline", "nope");
  assert.equal(noSuch.status, 2);
  assert.match(noSuch.err, /no pipeline named 'nope' in .*; it has: doubling, totals/);
  const out = join(await Deno.makeTempDir({ prefix: "glacier-cli-tf-" }), "tf");
  const generate = await glacier(module, "generate", "--out", out);
  assert.equal(generate.status, 0, generate.err);
  assert.equal(generate.out.trim(), `pipeline 'totals': wrote 2 files to ${join(out, "totals")}`);
  assert.match(generate.err, /warning: task 'double' runs on provider\.local\(\)/);
  assert.match(generate.err, /warning: task 'sum' runs on provider\.local\(\)/);
  const tf = JSON.parse(await Deno.readTextFile(join(out, "totals", "cdk.tf.json")));
  // Each task's function, and the run's (begin, commit and abort of a deployed run).
  assert.deepEqual(Object.keys(tf.resource.aws_lambda_function).sort(), [
    "run",
    "task_double",
    "task_sum",
  ]);
  assert.equal(tf.resource.aws_scheduler_schedule, undefined, "no schedule unless asked");
  const scheduled = await glacier(module, "generate", "--out", out, "--schedule", "rate(1 day)");
  assert.equal(scheduled.status, 0, scheduled.err);
  const withSchedule = JSON.parse(await Deno.readTextFile(join(out, "totals", "cdk.tf.json")));
  const [schedule] = Object.values(withSchedule.resource.aws_scheduler_schedule) as {
    schedule_expression: string;
    target: { input: string };
  }[];
  assert.equal(schedule.schedule_expression, "rate(1 day)");
  assert.deepEqual(JSON.parse(schedule.target.input), {
    scheduledTime: "<aws.scheduler.scheduled-time>",
  });
  const badSchedule = await glacier(module, "generate", "--out", out, "--schedule", "daily");
  assert.equal(badSchedule.status, 1);
  assert.match(badSchedule.err, /schedule "daily" is not an EventBridge Scheduler expression/);
  const badConcurrency = await glacier(
    module,
    "generate",
    "--out",
    out,
    "--partition-concurrency",
    "0",
  );
  assert.equal(badConcurrency.status, 2);
  assert.match(
    badConcurrency.err,
    /--partition-concurrency must be a positive whole number, got '0'/,
  );
});

Deno.test("glacier analyze estimates the outermost pipeline from its real data", async () => {
  const { root, module } = await writeModule();
  const r = await glacier(module, "analyze");
  assert.equal(r.status, 0, r.err);
  assert.equal(r.out.match(/^pipeline '/gm)?.length, 1, "doubling is part of totals");
  assert.match(r.out, /^pipeline 'totals': \$0\.\d{6} per run/, "named as the CLI names it");
  assert.match(r.out, /^ {2}double +local +/m);
  assert.match(r.out, /^ {2}sum +local +/m);
  assert.ok(r.out.includes(`measured at ${join(root, "data", "cli-test", "raw.parquet")}`));
  const bad = await glacier(module, "analyze", "--max-usd", "lots");
  assert.equal(bad.status, 2);
  assert.match(bad.err, /--max-usd must be a number of dollars, got 'lots'/);
});

Deno.test("a module without pipelines, or one that cannot be imported, is a clear error", async () => {
  const dir = await Deno.makeTempDir();
  const empty = join(dir, "empty.ts");
  await Deno.writeTextFile(empty, "export const x = 1;\n");
  const none = await glacier(empty, "run");
  assert.equal(none.status, 1);
  assert.match(none.err, /exports no pipeline; export the bucket a chain returns/);
  const missing = await glacier(join(dir, "nope.ts"), "run");
  assert.equal(missing.status, 1);
  assert.match(missing.err, /cannot import module '.*nope.ts'/);
});

Deno.test("deno task glacier runs the command from the repository", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["task", "-q", "glacier", "examples/simple.ts", "check"],
    cwd: repo,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  assert.match(text, /pipeline 'store_metrics': 2 tasks checked, all match their buckets/);
});

Deno.test("visualize and analyze take a module as one graph: shared steps once, a module total", async () => {
  const module = join(repo, "examples", "complete.ts");
  const drawn = await glacier(module, "visualize");
  assert.equal(drawn.status, 0, drawn.err);
  assert.equal(drawn.out.match(/^---\n/gm)?.length, 2, "one diagram with one front matter");
  for (const task of ["clean_orders", "enrich_orders", "category_sales", "regional_sales"]) {
    assert.equal(
      drawn.out.match(new RegExp(`^  t_${task}\\(`, "gm"))?.length,
      1,
      `task '${task}' is drawn once`,
    );
  }
  const analyzed = await glacier(module, "analyze");
  assert.equal(analyzed.status, 0, analyzed.err);
  assert.equal(analyzed.out.match(/^pipeline '/gm)?.length, 1, "one table for the module");
  assert.equal(analyzed.out.match(/^ {2}enrich_orders /gm)?.length, 1, "the shared step once");
  const total = Number(/^pipeline 'complete': \$(\S+) per run/m.exec(analyzed.out)![1]);
  const shares = [...analyzed.out.matchAll(/^ {2}(\w+) +\$(\S+)$/gm)]
    .filter((m) => ["category_sales", "customer_value", "regional_sales"].includes(m[1]))
    .map((m) => Number(m[2]));
  assert.equal(shares.length, 3, analyzed.out);
  // Each pipeline pays for the shared steps, so their sum is above the module's total.
  assert.ok(shares.every((usd) => usd > 0 && usd < total));
  assert.ok(shares.reduce((a, b) => a + b, 0) > total);
});

Deno.test("glacier stack is the local stack's own command line, where a module would stand", async () => {
  const dir = await Deno.makeTempDir();
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(repo, "cli.ts"), "stack", "status", "--state-dir", dir],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  assert.match(
    new TextDecoder().decode(out.stdout),
    /^the stack is not running \(no services recorded in /,
  );
  const help = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(repo, "cli.ts"), "stack", "--help"],
    stdout: "piped",
  }).output();
  assert.match(
    new TextDecoder().decode(help.stdout),
    /^Usage: glacier stack <command> \[options\]/,
  );
});

Deno.test("glacier generate says when a local task will not fit the Lambda function it becomes", async () => {
  const { module } = await writeModule(`
const Big = schema({ id: t.int64, v: t.float64 });
const huge = provider.bucket({ bucket: "cli-test", path: "huge.parquet", schema: Big, sizeHint: 40_000_000_000 });
const copied = provider.bucket({ bucket: "cli-test", path: "copied.parquet", schema: Big });
export const copying = huge.transform(local.task({ name: "copy_huge", input: Big, output: Big }, (df) => df)).to(copied);
`);
  const out = join(await Deno.makeTempDir({ prefix: "glacier-cli-tf-" }), "tf");
  const r = await glacier(module, "generate", "--out", out, "--pipeline", "copying");
  assert.equal(r.status, 0, r.err);
  assert.match(
    r.err,
    /warning: task 'copy_huge' runs on provider\.local\(\): in AWS it runs as Lambda function 'glacier-copy_huge' with the default 1024 MB/,
  );
  assert.match(r.err, /warning: task 'copy_huge' needs about [\d,]+ MB of memory/);
});

Deno.test("glacier MODULE lineage BUCKET --column NAME traces a column back to the module's inputs, without running", async () => {
  const complete = join(repo, "examples", "complete.ts");
  const r = await glacier(
    complete,
    "lineage",
    "out/customer_value.arrow",
    "--column",
    "lifetime_value",
  );
  assert.equal(r.status, 0, r.err);
  const lines = r.out.trim().split("\n").map((l) => l.trim());
  assert.equal(lines[0], "glacier-demo/out/customer_value.arrow : lifetime_value");
  for (
    const hop of [
      "<- glacier-demo/stage/enriched.parquet : amount  (task 'customer_value', DIRECT AGGREGATION)",
      "<- glacier-demo/clean/orders.parquet : amount  (task 'enrich_orders', DIRECT IDENTITY)",
      "<- glacier-demo/raw/orders.csv : quantity  (task 'clean_orders', DIRECT TRANSFORMATION)",
      "<- glacier-demo/raw/orders.csv : unit_price  (task 'clean_orders', DIRECT TRANSFORMATION)",
    ]
  ) assert.ok(lines.includes(hop), `missing '${hop}' in:\n${r.out}`);
  assert.match(r.out, /rows decided in task 'customer_value' by: .*customer_id \(GROUP_BY\)/);

  const json = await glacier(
    complete,
    "lineage",
    "out/customer_value.arrow",
    "--column",
    "lifetime_value",
    "--json",
  );
  assert.equal(JSON.parse(json.out).step.task, "customer_value");

  const wrong = await glacier(complete, "lineage", "out/customer_value.arrow", "--column", "nope");
  assert.equal(wrong.status, 1);
  assert.match(
    wrong.err,
    /bucket 'glacier-demo\/out\/customer_value.arrow' has no column 'nope'; it has: /,
  );
  const missing = await glacier(complete, "lineage", "out/customer_value.arrow");
  assert.equal(missing.status, 2);
  assert.match(missing.err, /lineage takes a BUCKET \(bucket\/path\) and --column NAME/);
});
