/**
 * The examples, run as a new user runs them: `deno run -A examples/X.ts MODE`, each in a fresh
 * working directory, locally and, for the one whose tasks all run in-process, on S3.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { GetObjectCommand } from "../../src/io/s3/_sdk.ts";
import { pl } from "../../mod.ts";
import { s3Client, withS3Server } from "./_s3_server.ts";

const repo = new URL("../..", import.meta.url).pathname;

async function example(
  name: string,
  args: string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): Promise<{ code: number; out: string; err: string; cwd: string }> {
  const cwd = options.cwd ?? await Deno.makeTempDir({ prefix: "glacier-example-" });
  const result = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(repo, "examples", `${name}.ts`), ...args],
    cwd,
    env: { NO_COLOR: "1", ...options.env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: result.code, out: decode(result.stdout), err: decode(result.stderr), cwd };
}

Deno.test("every example runs locally on its own sample data and prints its results", async () => {
  const simple = await example("simple", ["run"]);
  assert.equal(simple.code, 0, simple.err);
  assert.match(simple.out, /wrote sample input .*glacier-demo\/raw\/sales.csv: 200 rows/);
  assert.match(simple.out, /glacier-demo\/out\/store_metrics.parquet:\nshape: \(3, 5\)/);
  assert.match(
    simple.err,
    /pipeline 'store_metrics' \(local\) succeeded in [0-9.]+ s: 2 ran, 0 skipped/,
  );

  const join_ = await example("multi_source_join", ["run"]);
  assert.equal(join_.code, 0, join_.err);
  assert.match(join_.out, /sales_by_country_category.parquet:\nshape: \(16, 4\)/);

  const complete = await example("complete", ["run"]);
  assert.equal(complete.code, 0, complete.err);
  assert.match(
    complete.err,
    /pipeline 'complete' \(local\) succeeded in [0-9.]+ s: 6 ran, 0 skipped/,
  );
  assert.match(complete.out, /regional_sales.parquet:\nshape: \(3, 3\)/);

  // A second run finds its inputs and does not write them again.
  const again = await example("simple", ["run"], { cwd: simple.cwd });
  assert.equal(again.code, 0, again.err);
  assert.doesNotMatch(again.out, /wrote sample input/);
});

Deno.test("the partitioned example backfills its days, reruns nothing, and runs a selection", async () => {
  const first = await example("partitioned", ["run"]);
  assert.equal(first.code, 0, first.err);
  assert.match(first.out, /wrote sample input .*partitioned\/orders\/\{date\}.csv: 10 partitions/);
  assert.match(
    first.out,
    /wrote sample input .*partitioned\/sales\/\{region\}\/\{date\}.parquet: 20 partitions/,
  );
  assert.match(first.err, /succeeded in .* over 31 partitions/);
  assert.match(first.out, /daily_revenue.parquet:\nshape: \(10, 3\)/);
  assert.match(first.out, /trailing_week\/\{region\}\/\{date\}.parquet:\nshape: \(20, 5\)/);

  const again = await example("partitioned", ["run"], { cwd: first.cwd });
  assert.equal(again.code, 0, again.err);
  assert.doesNotMatch(again.out, /wrote sample input/);
  assert.doesNotMatch(again.err, /\(runs: /);

  const some = await example("partitioned", [
    "run",
    "--force",
    "--partition",
    "date=2026-01-03..2026-01-04",
    "--partition",
    "region=north",
  ], { cwd: first.cwd });
  assert.equal(some.code, 0, some.err);
  // Two days of clean_orders (its only key is the date), the revenue over them, and two north
  // days of each regional step.
  assert.equal(some.err.match(/\(runs: forced\)/g)?.length, 7, some.err);
  assert.doesNotMatch(some.err, /region=south/);
});

Deno.test("the complete example checks, draws itself, and says what is not built yet", async () => {
  const check = await example("complete", ["check"]);
  assert.equal(check.code, 0, check.err);
  assert.match(check.out, /6 tasks checked, all match their buckets/);
  const draw = await example("complete", ["visualize", "--format", "dot"]);
  assert.equal(draw.code, 0, draw.err);
  assert.equal(draw.out.match(/^digraph /gm)?.length, 1, "one drawing of the whole module");
  assert.equal(draw.out.match(/^ {2}t_enrich_orders \[/gm)?.length, 1, "the shared step once");
  const analyze = await example("complete", ["analyze"]);
  assert.equal(analyze.code, 0, analyze.err);
  assert.deepEqual(
    [...analyze.out.matchAll(/^pipeline '(\w+)': \$0\.\d{6} per run/gm)].map((m) => m[1]),
    ["complete"],
    "one estimate for the module",
  );
  assert.deepEqual(
    [...analyze.out.matchAll(/^ {2}(\w+) +\$0\.\d{6}$/gm)].map((m) => m[1]),
    ["category_sales", "customer_value", "regional_sales"],
    "each analytics branch's share",
  );
  for (const task of ["clean_orders", "normalize_customers", "enrich_orders", "customer_value"]) {
    assert.match(analyze.out, new RegExp(`^  ${task} `, "m"));
  }
  assert.match(
    analyze.out,
    /input 'glacier-demo\/raw\/orders.csv': no data and no sizeHint, assumed 100 MiB/,
  );
  const generate = await example("complete", ["generate"]);
  assert.equal(generate.code, 0, generate.err);
  assert.match(
    generate.out,
    /pipeline 'category_sales', 'customer_value', 'regional_sales': wrote \d+ files to terraform\/complete/,
  );
  const tf = JSON.parse(
    await Deno.readTextFile(join(generate.cwd, "terraform", "complete", "cdk.tf.json")),
  );
  assert.equal(tf.terraform.required_providers.aws.source, "hashicorp/aws");
  assert.ok(tf.resource.aws_sfn_state_machine.pipeline, "one state machine for the whole module");
  const functions = Object.values(tf.resource.aws_lambda_function) as { function_name: string }[];
  assert.deepEqual(
    functions.map((f) => f.function_name).sort(),
    [
      "glacier-category_sales",
      "glacier-clean_orders",
      "glacier-complete-run",
      "glacier-normalize_customers",
      "glacier-regional_sales",
    ],
    "each serverless and local task once (a runnable step for every task), and the run's own " +
      "function (begin, commit, abort), although three " +
      "pipelines share them",
  );
  // Spark tasks run as EMR Serverless jobs: with the functions, every task has a runnable step.
  const states = JSON.stringify(JSON.parse(tf.resource.aws_sfn_state_machine.pipeline.definition));
  for (const task of ["clean_orders", "regional_sales"]) {
    assert.match(
      states,
      new RegExp(
        `"Resource":"arn:[^"]*:states:::lambda:invoke"[^}]*"FunctionName":"\\$\\{aws_lambda_function\\.task_${task}\\.arn\\}"`,
      ),
    );
  }
  assert.match(generate.err, /packaging .*complete.ts for AWS Lambda/);
  for (const task of ["enrich_orders", "customer_value"]) {
    const entry = join(generate.cwd, "terraform", "complete", "artifacts", `${task}.py`);
    assert.ok((await Deno.stat(entry)).size > 0, `the EMR Serverless entry point of '${task}'`);
    assert.doesNotMatch(generate.err, new RegExp(`warning: task '${task}'`));
  }
  assert.match(generate.err, /warning: task 'clean_orders' runs on provider\.local\(\)/);
});

Deno.test("the simple example gives the same rows on S3 as locally", async () => {
  const local = await example("simple", ["run"]);
  assert.equal(local.code, 0, local.err);
  const localRows = pl.readParquet(
    join(local.cwd, ".glacier/data/glacier-demo/out/store_metrics.parquet"),
  );
  await withS3Server(async (server) => {
    const cloud = await example("simple", ["run", "--mode", "cloud"], { env: server.env() });
    assert.equal(cloud.code, 0, cloud.err);
    assert.match(cloud.out, /wrote sample input s3:\/\/glacier-demo\/raw\/sales.csv: 200 rows/);
    assert.match(
      cloud.err,
      /pipeline 'store_metrics' \(cloud\) succeeded in [0-9.]+ s: 2 ran, 0 skipped/,
    );
    const object = await s3Client(server).send(
      new GetObjectCommand({ Bucket: "glacier-demo", Key: "out/store_metrics.parquet" }),
    );
    const cloudRows = pl.readParquet(Buffer.from(await object.Body!.transformToByteArray()));
    assert.deepEqual(cloudRows.toRecords(), localRows.toRecords());
  });
});
