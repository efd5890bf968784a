/**
 * Terraform generation, end to end: golden files, structure (every reference resolves, every task
 * has its role, every role touches only its task's objects), determinism, a pipeline module the
 * generator has never seen, and checkov over everything generated.
 *
 * Golden files live in `tests/golden/`; after an intended change, regenerate them with
 *
 * ```sh
 * UPDATE_GOLDEN=1 deno test -A tests/integration/generate_test.ts
 * ```
 *
 * and review the diff. checkov comes from PyPI: the first run installs the pinned version into
 * `.glacier/venv` (a Python virtual environment), later runs reuse it.
 */
import assert from "node:assert/strict";
import { join, relative } from "node:path";
import type { Bucket, GenerateReport, PipelineGraph } from "../../mod.ts";
import {
  AwsConfig,
  daily,
  LambdaConfig,
  pl,
  Provider,
  schema,
  SparkConfig,
  t,
  UnsupportedError,
  values,
} from "../../mod.ts";
import { main } from "../../cli.ts";
import { createHash } from "node:crypto";
import type { ArtifactBuilder, Backends } from "../../src/core/backend.ts";
import { BACKENDS } from "../../src/backends/mod.ts";
import { generateTerraform } from "../../src/generate/mod.ts";
import { planTerraform } from "../../src/generate/resource_plan.ts";
import { categoryReport, customerReport, regionalReport } from "../../examples/complete.ts";

const repo = new URL("../..", import.meta.url).pathname;
const modUrl = new URL("../../mod.ts", import.meta.url).href;
const goldenRoot = join(repo, "tests", "golden");
const updateGolden = Deno.env.get("UPDATE_GOLDEN") === "1";
const CHECKOV_VERSION = "3.3.30";
const SCHEDULE = "cron(0 6 * * ? *)";

// deno-lint-ignore no-explicit-any
type Json = any;

// Generation with backends that build no artifact: goldens must not depend on the bytes of a built
// Lambda package. (Builders are exercised in their own test below.)
const NO_BUILDERS: Backends = Object.freeze({
  local: { ...BACKENDS.local, artifactBuilder: () => Promise.resolve(undefined) },
  serverless: { ...BACKENDS.serverless, artifactBuilder: () => Promise.resolve(undefined) },
  spark: { ...BACKENDS.spark, artifactBuilder: () => Promise.resolve(undefined) },
});

/** `pipeline.run({ mode: "generate", ... })` with the given backends. */
function generate(
  pipeline: Bucket,
  options: { outputDir: string; schedule?: string; partitionConcurrency?: number },
  backends: Backends = NO_BUILDERS,
): Promise<GenerateReport> {
  return generateTerraform(pipeline.graph(), { mode: "generate", ...options }, backends);
}

// ---------------------------------------------------------------------------------------------
// The pipeline module the generator has never seen: written here, imported from a temporary file.

const UNSEEN_MODULE = `
import { AwsConfig, LambdaConfig, Pipeline, pl, Provider, schema, SparkConfig, t } from "${modUrl}";

const provider = new Provider({ config: new AwsConfig({ region: "eu-west-1" }) });
const local = provider.local();
const lambda = provider.serverless({ config: new LambdaConfig({ memoryMb: 2048, timeoutSeconds: 600 }) });
const spark = provider.spark({ config: new SparkConfig({ executors: 4, executorMemory: "8g" }) });

const RawEvents = schema({ event_id: t.int64, user_id: t.int64, kind: t.string, ms: t.int64 });
const Events = schema({ event_id: t.int64, user_id: t.int64, kind: t.string, ms: t.int64 });
const Users = schema({ user_id: t.int64, country: t.string });
const Devices = schema({ user_id: t.int64, device: t.string });
const Profiles = schema({ user_id: t.int64, country: t.string, device: t.string });
const Sessions = schema({ user_id: t.int64, country: t.string, events: t.int64 });
const Hourly = schema({ hour: t.int64, events: t.int64 });
const Countries = schema({ country: t.string, users: t.int64 });
const Report = schema({ country: t.string, users: t.int64, events: t.int64, peak_hour: t.int64 });

const rawEvents = provider.bucket({ bucket: "telemetry-raw", path: "events/2026.ndjson", schema: RawEvents });
const users = provider.bucket({ bucket: "telemetry-raw", path: "users.csv", schema: Users });
const devices = provider.bucket({ bucket: "telemetry-raw", path: "devices.csv", schema: Devices });
const events = provider.bucket({ bucket: "telemetry.curated", path: "events.parquet", schema: Events });
const profiles = provider.bucket({ bucket: "telemetry.curated", path: "profiles.parquet", schema: Profiles });
const sessions = provider.bucket({ bucket: "telemetry.curated", path: "sessions.parquet", schema: Sessions });
const hourly = provider.bucket({ bucket: "telemetry-reports", path: "hourly.arrow", schema: Hourly });
const countries = provider.bucket({ bucket: "telemetry-reports", path: "countries.csv", schema: Countries });
const report = provider.bucket({ bucket: "telemetry-reports", path: "report.parquet", schema: Report });

const dedupe = lambda.task({ name: "dedupe_events", input: RawEvents, output: Events },
  (df) => df.unique());
const profile = local.task(
  { name: "build-profiles", inputs: { users_df: Users, devices_df: Devices }, output: Profiles },
  ({ users_df, devices_df }) => users_df.join(devices_df, { on: "user_id" }));
const sessionize = spark.task(
  { name: "sessionize", inputs: { events_df: Events, profiles_df: Profiles }, output: Sessions },
  ({ events_df, profiles_df }) =>
    events_df.join(profiles_df, { on: "user_id" }).groupBy(["user_id", "country"])
      .agg(pl.len().cast(pl.Int64).alias("events")));
const perHour = spark.task({ name: "per_hour", input: Events, output: Hourly },
  (df) => df.select(pl.col("ms").div(3600000).floor().cast(pl.Int64).alias("hour"))
    .groupBy("hour").agg(pl.len().cast(pl.Int64).alias("events")));
const perCountry = local.task({ name: "per_country", input: Profiles, output: Countries },
  (df) => df.groupBy("country").agg(pl.len().cast(pl.Int64).alias("users")));
const summarize = lambda.task(
  {
    name: "summarize",
    inputs: { sessions_df: Sessions, hourly_df: Hourly, countries_df: Countries },
    output: Report,
  },
  ({ sessions_df, hourly_df, countries_df }) =>
    sessions_df.groupBy("country").agg(pl.col("events").sum().alias("events"))
      .join(countries_df, { on: "country" })
      .join(hourly_df.sort("events", true).head(1).select(pl.col("hour").alias("peak_hour")), { how: "cross" })
      .select("country", "users", "events", "peak_hour"));

const cleaned = rawEvents.transform(dedupe).to(events);
const profiled = new Pipeline({ users_df: users, devices_df: devices }).transform(profile).to(profiles);
const sessionized = new Pipeline({ events_df: cleaned, profiles_df: profiled }).transform(sessionize).to(sessions);
const hours = cleaned.transform(perHour).to(hourly);
const byCountry = profiled.transform(perCountry).to(countries);

/** Every task, all three resources, single- and multi-source steps. */
export const telemetry = new Pipeline({ sessions_df: sessionized, hourly_df: hours, countries_df: byCountry })
  .transform(summarize).to(report).withName("telemetry report", "Daily telemetry per country");
`;

/**
 * A partitioned pipeline: daily readings per site are cleaned and summarized partition by
 * partition (a serverless task that uses its partition's date, a local one), then every
 * partition is totalled into one unpartitioned report.
 */
function labPipeline(): Bucket {
  const provider = new Provider({ config: new AwsConfig({ region: "eu-west-1" }) });
  const keys = {
    date: daily({ start: "2026-01-01", timezone: "Europe/Paris" }),
    site: values(["north", "south"]),
  };
  const Readings = schema({ sensor: t.string, value: t.float64 });
  const Clean = schema({ sensor: t.string, value: t.float64, day: t.string });
  const Daily = schema({ sensor: t.string, mean: t.float64 });
  const Totals = schema({ site: t.string, mean: t.float64, days: t.uint32 });
  const lambda = provider.serverless({
    config: new LambdaConfig({ memoryMb: 1024, timeoutSeconds: 120 }),
  });
  const raw = provider.bucket({
    bucket: "lab-raw",
    path: "readings/{site}/{date}.csv",
    schema: Readings,
    partitions: keys,
  });
  const clean = provider.bucket({
    bucket: "lab-curated",
    path: "clean/{site}/{date}.parquet",
    schema: Clean,
    partitions: keys,
  });
  const daily_ = provider.bucket({
    bucket: "lab-curated",
    path: "daily/{site}/{date}.parquet",
    schema: Daily,
    partitions: keys,
  });
  const totals = provider.bucket({ bucket: "lab-reports", path: "totals.parquet", schema: Totals });
  const cleanTask = lambda.task(
    { name: "clean_readings", input: Readings, output: Clean },
    (df, { date }) => df.filter(pl.col("value").isNotNull()).withColumns(pl.lit(date).alias("day")),
  );
  const meanTask = provider.local().task(
    { name: "daily_mean", input: Clean, output: Daily },
    (df) => df.groupBy("sensor").agg(pl.col("value").mean().alias("mean")),
  );
  const totalTask = provider.local().task(
    {
      name: "site_totals",
      input: schema({ mean: t.float64, site: t.string, date: t.string }),
      output: Totals,
    },
    (df) =>
      df.groupBy("site").agg(
        pl.col("mean").mean().alias("mean"),
        pl.col("date").nUnique().cast(pl.UInt32).alias("days"),
      ),
  );
  return raw.transform(cleanTask).to(clean).transform(meanTask).to(daily_).transform(totalTask)
    .to(totals).withName("lab", "Daily readings per site, and their totals");
}

let unseen: Promise<{ file: string; pipeline: Bucket }> | undefined;

/** The unseen module, written once to a temporary file, and the pipeline it exports. */
function unseenModule(): Promise<{ file: string; pipeline: Bucket }> {
  unseen ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "glacier-unseen-" });
    const file = join(dir, "telemetry.ts");
    await Deno.writeTextFile(file, UNSEEN_MODULE);
    const pipeline = (await import(new URL(`file://${file}`).href)).telemetry as Bucket;
    return { file, pipeline };
  })();
  return unseen;
}

async function unseenPipeline(): Promise<Bucket> {
  return (await unseenModule()).pipeline;
}

// ---------------------------------------------------------------------------------------------
// Everything generated, once: the complete example's pipelines, the unseen one, and the unseen
// one on a schedule. checkov runs over all of it in one go.

interface Generated {
  readonly name: string;
  readonly pipeline: Bucket;
  readonly report: GenerateReport;
  readonly text: string;
  readonly tf: Json;
}

let generated: Promise<{ root: string; all: Generated[] }> | undefined;

function generateAll(): Promise<{ root: string; all: Generated[] }> {
  generated ??= (async () => {
    const root = await Deno.makeTempDir({ prefix: "glacier-tf-" });
    const telemetry = await unseenPipeline();
    const cases: [string, Bucket, string?, number?][] = [
      ["complete/regional_sales", regionalReport],
      ["complete/category_sales", categoryReport],
      ["complete/customer_value", customerReport],
      ["telemetry", telemetry],
      ["telemetry_scheduled", telemetry, SCHEDULE],
      ["lab", labPipeline(), SCHEDULE, 4],
    ];
    const all: Generated[] = [];
    for (const [name, pipeline, schedule, partitionConcurrency] of cases) {
      const report = await generate(pipeline, {
        outputDir: join(root, name),
        ...(schedule ? { schedule } : {}),
        ...(partitionConcurrency ? { partitionConcurrency } : {}),
      });
      const text = await Deno.readTextFile(join(root, name, "cdk.tf.json"));
      all.push({ name, pipeline, report, text, tf: JSON.parse(text) });
    }
    return { root, all };
  })();
  return generated;
}

async function one(name: string): Promise<Generated> {
  return (await generateAll()).all.find((g) => g.name === name)!;
}

// ---------------------------------------------------------------------------------------------
// Structural checks, written against the pipeline, not against the generator's code.

/** Every `${...}` expression in a string, outer ones only, `$${` escapes skipped. */
function interpolations(text: string): string[] {
  const found: string[] = [];
  for (let i = 0; i < text.length; i++) {
    if (text[i] === "$" && text[i + 1] === "$") {
      i++;
      continue;
    }
    if (text[i] !== "$" || text[i + 1] !== "{") continue;
    let depth = 0;
    let j = i + 1;
    for (; j < text.length; j++) {
      if (text[j] === "{") depth++;
      else if (text[j] === "}" && --depth === 0) break;
    }
    found.push(text.slice(i + 2, j));
    i = j;
  }
  return found;
}

function strings(value: Json, out: string[] = []): string[] {
  if (typeof value === "string") out.push(value);
  else if (Array.isArray(value)) value.forEach((v) => strings(v, out));
  else if (value && typeof value === "object") Object.values(value).forEach((v) => strings(v, out));
  return out;
}

/** The resources and data sources an expression refers to, inside its quoted strings too. */
function references(expression: string): string[] {
  const inner: string[] = [];
  const outer = expression.replace(/"(?:[^"\\]|\\.)*"/g, (quoted) => {
    for (const nested of interpolations(quoted)) inner.push(...references(nested));
    return '""';
  });
  const own = outer.match(/(?:data\.)?[a-z_][a-z0-9_]*\.[A-Za-z_][A-Za-z0-9_-]*/g) ?? [];
  return [...own, ...inner];
}

/** Every resource and data source reference resolves; nothing else is referenced. */
function assertReferencesResolve(tf: Json, name: string): void {
  const declared = new Set<string>(["path.module"]);
  for (const [type, byName] of Object.entries(tf.resource ?? {})) {
    for (const id of Object.keys(byName as object)) declared.add(`${type}.${id}`);
  }
  for (const [type, byName] of Object.entries(tf.data ?? {})) {
    for (const id of Object.keys(byName as object)) declared.add(`data.${type}.${id}`);
  }
  const expressions = strings(tf).flatMap(interpolations);
  assert.ok(expressions.length > 20, `${name}: expected references, found ${expressions.length}`);
  for (const expression of expressions) {
    const refs = references(expression);
    assert.ok(refs.length > 0, `${name}: '\${${expression}}' refers to nothing`);
    for (const r of refs) {
      assert.ok(
        declared.has(r),
        `${name}: '\${${expression}}' refers to ${r}, which is not declared`,
      );
    }
  }
  for (const [type, byName] of Object.entries(tf.resource)) {
    for (const [id, body] of Object.entries(byName as Record<string, Json>)) {
      for (const dep of body.depends_on ?? []) {
        assert.ok(declared.has(dep), `${name}: ${type}.${id} depends on undeclared ${dep}`);
      }
    }
  }
}

/** The Terraform identifier of the `aws_s3_bucket` that declares an S3 bucket. */
function bucketResource(tf: Json, bucket: string): string {
  const found = Object.entries(tf.resource.aws_s3_bucket as Record<string, Json>)
    .filter(([, b]) => b.bucket === bucket);
  assert.equal(found.length, 1, `S3 bucket '${bucket}' is declared ${found.length} times`);
  return found[0][0];
}

/** The `aws_s3_object` a Lambda function's package is uploaded as. */
function packageOf(tf: Json, functionId: string): Json {
  const key: string = tf.resource.aws_lambda_function[functionId].s3_key;
  return tf.resource.aws_s3_object[key.match(/^\$\{aws_s3_object\.([^.]+)\.key\}$/)![1]];
}

/**
 * The task states of a definition, including those inside `Parallel` branches and the partitions'
 * `Map` state, with their wave (in the order they run), where a failure goes, and whether they
 * run once per partition.
 */
function taskStates(
  definition: Json,
): Map<string, { state: Json; wave: number; fail: Json; catch: Json; partitioned: boolean }> {
  const out = new Map<
    string,
    { state: Json; wave: number; fail: Json; catch: Json; partitioned: boolean }
  >();
  assert.equal(definition.StartAt, "begin run", "a run begins through the engine");
  let wave = 0;
  const walk = (states: Json, start: string | undefined, partitioned: boolean) => {
    let name = start;
    while (name !== undefined && name !== "commit run") {
      const state = states[name];
      assert.ok(state, `state '${name}' is not defined`);
      if (state.Type === "Map") {
        assert.equal(partitioned, false, "one Map state, not nested");
        walk(state.ItemProcessor.States, state.ItemProcessor.StartAt, true);
        name = state.Next;
        continue;
      }
      assert.equal(state.Type, "Parallel");
      for (const branch of state.Branches) {
        // A job that runs outside the engine is bracketed: decide, skip when up to date, record.
        const begin: string = branch.StartAt.replace(/^decide /, "");
        const task = branch.States[begin];
        assert.equal(task.Type, "Task");
        assert.ok(!out.has(begin), `task '${begin}' runs twice`);
        const caught = states[state.Catch[0].Next] ?? definition.States[state.Catch[0].Next];
        out.set(begin, {
          state: task,
          wave,
          catch: state.Catch,
          fail: caught.Next ? definition.States[caught.Next] : caught,
          partitioned,
        });
      }
      name = state.Next;
      wave++;
    }
  };
  walk(definition.States, definition.States["begin run"].Next, false);
  assert.equal(definition.States["commit run"]?.Catch[0].Next, "abort run");
  return out;
}

/** A bucket path as IAM policies name it: each partition key's placeholder a wildcard. */
function keyPattern(path: string): string {
  return path.replace(/\{[^{}]*\}/g, "*");
}

interface PolicyStatement {
  Sid: string;
  Effect: string;
  Action: string[];
  Resource: string[];
  Principal?: Record<string, string>;
  Condition?: Record<string, Record<string, string[]>>;
}

/** A policy's statements, written as JSON or through an `aws_iam_policy_document`. */
function statementsOf(tf: Json, policy: string): PolicyStatement[] {
  const id = policy.match(/^\$\{data\.aws_iam_policy_document\.([^.]+)\.json\}$/)?.[1];
  if (id === undefined) return JSON.parse(policy).Statement;
  const document = tf.data.aws_iam_policy_document[id];
  assert.ok(document, `policy document ${id} is not declared`);
  return document.statement.map((s: Json) => {
    const condition: Record<string, Record<string, string[]>> = {};
    for (const c of s.condition ?? []) (condition[c.test] ??= {})[c.variable] = c.values;
    return {
      Sid: s.sid,
      Effect: s.effect,
      Action: s.actions,
      Resource: s.resources ?? [],
      ...(s.principals
        ? {
          Principal: Object.fromEntries(s.principals.map((p: Json) => [p.type, p.identifiers[0]])),
        }
        : {}),
      ...(s.condition ? { Condition: condition } : {}),
    };
  });
}

/** Actions AWS allows on `*` only: no resource to name. */
const UNRESTRICTABLE =
  /^(xray:(PutTraceSegments|PutTelemetryRecords|GetSamplingRules|GetSamplingTargets)|states:SendTask(Success|Failure|Heartbeat)|logs:(CreateLogDelivery|GetLogDelivery|UpdateLogDelivery|DeleteLogDelivery|ListLogDeliveries|PutResourcePolicy|DescribeResourcePolicies|DescribeLogGroups))$/;

function assertPolicyShape(policy: PolicyStatement[], where: string): void {
  for (const s of policy) {
    assert.equal(s.Effect, "Allow", `${where}: ${s.Sid} is not an Allow`);
    for (const action of s.Action) {
      assert.ok(!action.includes("*"), `${where}: ${s.Sid} has wildcard action ${action}`);
    }
    if (s.Resource.includes("*")) {
      for (const action of s.Action) {
        assert.ok(!action.startsWith("s3:"), `${where}: ${s.Sid} allows ${action} on '*'`);
        assert.match(action, UNRESTRICTABLE, `${where}: ${s.Sid} allows ${action} on '*'`);
      }
    }
  }
}

/** The structure every generated stack must have, checked against the pipeline's own graph. */
function assertStructure(g: Generated): void {
  const { tf, name } = g;
  const graph: PipelineGraph = g.pipeline.graph();
  const r = tf.resource;
  assertReferencesResolve(tf, name);

  assert.deepEqual(tf.terraform.required_providers.aws.source, "hashicorp/aws");
  assert.match(tf.terraform.required_providers.aws.version, /^\d+\.\d+\.\d+$/, "pinned provider");
  assert.equal(tf.terraform.backend, undefined, "no backend with a machine's path");
  assert.equal(tf.provider.aws[0].region, graph.buckets[0].settings.region);

  // Buckets: every S3 bucket, public access blocked, KMS encryption, versioning.
  const s3Buckets = [...new Set(graph.buckets.map((b) => b.bucket))];
  for (const bucket of s3Buckets) {
    const id = bucketResource(tf, bucket);
    const block = r.aws_s3_bucket_public_access_block[id];
    assert.ok(block, `${name}: bucket '${bucket}' has no public access block`);
    for (const k of ["block_public_acls", "block_public_policy", "ignore_public_acls"]) {
      assert.equal(block[k], true, `${name}: bucket '${bucket}' ${k}`);
    }
    assert.equal(block.restrict_public_buckets, true);
    assert.equal(block.bucket, `\${aws_s3_bucket.${id}.id}`);
    const sse = r.aws_s3_bucket_server_side_encryption_configuration[id];
    assert.equal(sse.rule[0].apply_server_side_encryption_by_default.sse_algorithm, "aws:kms");
    assert.equal(r.aws_s3_bucket_versioning[id].versioning_configuration.status, "Enabled");
    assert.ok(
      Object.values(tf.output).some((o: Json) => o.value === `\${aws_s3_bucket.${id}.bucket}`),
      `${name}: no output names bucket '${bucket}'`,
    );
  }
  assert.equal(
    Object.keys(r.aws_s3_bucket).length,
    s3Buckets.length + 1 + (graph.steps.some((s) => s.task.resource.kind !== "local") ? 1 : 0),
    `${name}: the data buckets, the state bucket and one artifacts bucket`,
  );
  assert.equal(r.aws_s3_bucket.state.tags["glacier:purpose"], "state");
  assert.equal(tf.output.state_bucket.value, "${aws_s3_bucket.state.bucket}");
  const staging = r.aws_s3_bucket_lifecycle_configuration[bucketResource(tf, s3Buckets[0])].rule;
  assert.deepEqual(
    staging.filter((rule: Json) => rule.filter[0].prefix.startsWith(".glacier/"))
      .map((rule: Json) => [rule.filter[0].prefix, rule.expiration[0].days]),
    [[".glacier/staging/", 7], [".glacier/previous/", 14]],
    `${name}: what a killed run leaves expires`,
  );
  assert.equal(tf.output.state_machine_arn.value, "${aws_sfn_state_machine.pipeline.arn}");

  // The state machine runs every task once, each after the tasks it depends on.
  const machines = Object.values(r.aws_sfn_state_machine) as Json[];
  assert.equal(machines.length, 1);
  const definition = JSON.parse(machines[0].definition);
  const states = taskStates(definition);
  assert.deepEqual(
    [...states.keys()].sort(),
    graph.steps.map((s) => s.task.name).sort(),
    `${name}: one task state per task`,
  );
  const producer = new Map(graph.steps.map((s) => [s.target.location, s.task.name]));
  for (const step of graph.steps) {
    const mine = states.get(step.task.name)!;
    for (const source of Object.values(step.sources)) {
      const up = producer.get(source.location);
      if (up) {
        assert.ok(
          states.get(up)!.wave < mine.wave,
          `${name}: '${step.task.name}' must start after '${up}'`,
        );
      }
    }
    assert.ok(mine.state.Retry.length > 0, `${name}: '${step.task.name}' retries`);
    for (const retry of mine.state.Retry) assert.ok(retry.BackoffRate > 1, "backoff");
    assert.deepEqual(mine.catch[0].ErrorEquals, ["States.ALL"]);
    const lastPartitionWave = Math.max(
      -1,
      ...[...states.values()].filter((s) => s.partitioned).map((s) => s.wave),
    );
    if (mine.partitioned) {
      // A failed partition is recorded, and the other partitions go on.
      assert.equal(mine.catch[0].Next, "partition failed", `${name}: a partition fails alone`);
      assert.equal(mine.state.Parameters.Payload["partition.$"], "$.partition");
    } else if (lastPartitionWave >= 0 && mine.wave > lastPartitionWave) {
      // After the partitions, a failure still publishes the partitions that succeeded.
      assert.equal(mine.catch[0].Next, "commit run", `${name}: the partitions still publish`);
    } else {
      assert.equal(mine.catch[0].Next, "abort run", `${name}: a failure aborts the run`);
      assert.equal(mine.fail.Type, "Fail");
      assert.match(mine.fail.Cause, /failed and published nothing/);
    }
  }
  const waves = new Set([...states.values()].map((s) => s.wave)).size;
  assert.equal(waves, graph.levels.length, `${name}: one wave per level, parallel inside`);

  // Every task has its role, used by what runs the task, allowed only the task's objects.
  const artifactsArn = "${aws_s3_bucket.artifacts.arn}";
  for (const step of graph.steps) {
    const task = step.task.name;
    const roleId = `task_${task}`;
    const role = r.aws_iam_role[roleId];
    assert.ok(role, `${name}: task '${task}' has no role`);
    const attached = Object.values(r.aws_iam_role_policy as Record<string, Json>)
      .filter((p) => p.role === `\${aws_iam_role.${roleId}.name}`);
    assert.equal(attached.length, 1, `${name}: task '${task}' has one policy`);
    const policy = statementsOf(tf, attached[0].policy);
    assertPolicyShape(policy, `${name}: role of '${task}'`);
    assert.equal(role.managed_policy_arns, undefined);

    const arnOf = (b: string) => `\${aws_s3_bucket.${bucketResource(tf, b)}.arn}`;
    const out = step.target;
    const lockOf = (b: { bucket: string; path: string }) =>
      `\${aws_s3_bucket.state.arn}/locks/${b.bucket}/${b.path}.lock`;
    const allowed = new Set([
      ...Object.values(step.sources).map((s) => `${arnOf(s.bucket)}/${keyPattern(s.path)}`),
      // A deployed run's step reads what this run's earlier steps staged, renews the run's
      // locks, reads the ledger and records itself.
      ...Object.values(step.sources).map((s) =>
        `${arnOf(s.bucket)}/.glacier/staging/*/${keyPattern(s.path)}`
      ),
      ...graph.steps.map((s) => lockOf(s.target)),
      "${aws_s3_bucket.state.arn}/deployed/*",
      "${aws_s3_bucket.state.arn}/ledger/head.json",
      `${arnOf(out.bucket)}/${keyPattern(out.path)}`,
      `${arnOf(out.bucket)}/.glacier/staging/*/${keyPattern(out.path)}`,
      `${arnOf(out.bucket)}/.glacier/previous/*/${keyPattern(out.path)}`,
      `\${aws_s3_bucket.state.arn}/locks/${out.bucket}/${out.path}.lock`,
      "${aws_s3_bucket.state.arn}/journal/*",
      "${aws_s3_bucket.state.arn}/runs/*",
      // A Spark job that reads and writes S3 itself writes its parts here first.
      ...(step.task.resource.kind === "spark" ? [`${arnOf(out.bucket)}/.glacier/scratch/*`] : []),
    ]);
    const myBuckets = new Set([
      ...[...Object.values(step.sources).map((s) => s.bucket), out.bucket].map(arnOf),
      "${aws_s3_bucket.state.arn}",
    ]);
    const state = states.get(task)!.state;
    const kind = step.task.resource.kind;
    for (const s of policy) {
      for (const action of s.Action.filter((a) => a.startsWith("s3:"))) {
        for (const resource of s.Resource) {
          if (action === "s3:ListBucket") {
            assert.ok(myBuckets.has(resource), `${name}: '${task}' lists ${resource}`);
            const prefixes = resource === "${aws_s3_bucket.state.arn}"
              ? [["deployed/*", "journal/*", "runs/*"]]
              : step.task.resource.kind === "spark"
              ? [[".glacier/previous/*", ".glacier/staging/*"], [".glacier/scratch/*"]]
              : [[".glacier/previous/*", ".glacier/staging/*"]];
            assert.ok(
              prefixes.some((p) =>
                JSON.stringify(s.Condition) === JSON.stringify({ StringLike: { "s3:prefix": p } })
              ),
              `${name}: '${task}' lists ${resource} beyond its prefixes: ${
                JSON.stringify(s.Condition)
              }`,
            );
          } else if (resource.startsWith(`${artifactsArn}/`)) {
            assert.equal(kind, "spark", `${name}: only Spark roles read artifacts`);
            assert.equal(action, "s3:GetObject");
            const job = state.Parameters.JobDriver.SparkSubmit;
            const used = [job.EntryPoint, ...(job.SparkSubmitParameters.match(/s3:\/\/\S+/g) ?? [])]
              .map((uri: string) => uri.replace("s3://${aws_s3_bucket.artifacts.bucket}/", ""));
            const key = resource.slice(artifactsArn.length + 1);
            assert.ok(used.includes(key), `${name}: '${task}' reads ${key}, which it does not run`);
            assert.ok(
              Object.values(r.aws_s3_object).some((o: Json) => o.key === key),
              `${name}: ${key} is not uploaded`,
            );
          } else {
            assert.ok(allowed.has(resource), `${name}: '${task}' may ${action} ${resource}`);
          }
        }
      }
      const writes = s.Action.some((a) => a === "s3:PutObject" || a === "s3:DeleteObject");
      if (writes) {
        for (const resource of s.Resource) {
          const stateKeys = [
            ...graph.steps.map((s) => lockOf(s.target)),
            "${aws_s3_bucket.state.arn}/deployed/*",
            "${aws_s3_bucket.state.arn}/journal/*",
            "${aws_s3_bucket.state.arn}/runs/*",
          ];
          assert.ok(
            stateKeys.includes(resource) ||
              resource.startsWith(`${arnOf(out.bucket)}/`) &&
                (resource.endsWith(keyPattern(out.path)) ||
                  (step.task.resource.kind === "spark" &&
                    resource.endsWith("/.glacier/scratch/*"))),
            `${name}: '${task}' may write ${resource}, which is not its output`,
          );
        }
      }
      for (const resource of s.Resource) {
        if (resource.startsWith("${aws_cloudwatch_log_group.")) {
          assert.equal(resource, `\${aws_cloudwatch_log_group.${roleId}.arn}:*`);
        }
      }
    }
    for (const source of Object.values(step.sources)) {
      assert.ok(
        policy.some((s) =>
          s.Action.includes("s3:GetObject") &&
          s.Resource.includes(`${arnOf(source.bucket)}/${keyPattern(source.path)}`)
        ),
        `${name}: '${task}' cannot read its input ${source.location}`,
      );
    }
    const roleArn = `\${aws_iam_role.${roleId}.arn}`;
    if (kind === "serverless" || kind === "local") {
      // A local task runs in AWS as a Lambda function with LambdaConfig's defaults.
      const settings = kind === "local"
        ? { memoryMb: 1024, timeoutSeconds: 300 }
        : step.task.resource.settings as { memoryMb: number; timeoutSeconds: number };
      const fn = Object.entries(r.aws_lambda_function as Record<string, Json>)
        .find(([, f]) => f.role === roleArn);
      assert.ok(fn, `${name}: no function runs '${task}' with its role`);
      assert.equal(fn[1].memory_size, settings.memoryMb);
      assert.equal(fn[1].timeout, settings.timeoutSeconds);
      assert.match(state.Resource, /:states:::lambda:invoke$/);
      assert.equal(state.Parameters.FunctionName, `\${aws_lambda_function.${fn[0]}.arn}`);
      const logGroup = r.aws_cloudwatch_log_group[fn[0]];
      assert.equal(logGroup.name, `/aws/lambda/${fn[1].function_name}`);
      assert.ok(logGroup.retention_in_days >= 1);
      const objectId = fn[1].s3_key.match(/^\$\{aws_s3_object\.([^.]+)\.key\}$/)?.[1];
      assert.ok(objectId, `${name}: the function of '${task}' has no uploaded package`);
      assert.equal(r.aws_s3_object[objectId].bucket, "${aws_s3_bucket.artifacts.id}");
      assert.equal(fn[1].s3_object_version, `\${aws_s3_object.${objectId}.version_id}`);
      assert.equal(
        statementsOf(tf, role.assume_role_policy)[0].Principal?.Service,
        "lambda.amazonaws.com",
      );
    } else if (kind === "spark") {
      assert.match(state.Resource, /:states:::emr-serverless:startJobRun\.sync$/);
      assert.equal(state.Parameters.ExecutionRoleArn, roleArn);
      assert.equal(state.Parameters.ApplicationId, "${aws_emrserverless_application.spark.id}");
      const settings = step.task.resource.settings as { executors: number; executorMemory: string };
      assert.match(
        state.Parameters.JobDriver.SparkSubmit.SparkSubmitParameters,
        new RegExp(
          `spark\\.executor\\.instances=${settings.executors} .*spark\\.executor\\.memory=${settings.executorMemory}`,
        ),
      );
      assert.equal(
        statementsOf(tf, role.assume_role_policy)[0].Principal?.Service,
        "emr-serverless.amazonaws.com",
      );
    }
  }
  const sparkTasks = graph.steps.filter((s) => s.task.resource.kind === "spark").length;
  if (sparkTasks > 0) {
    assert.equal(r.aws_emrserverless_application.spark.release_label, "emr-spark-8.0.0");
  } else {
    assert.equal(r.aws_emrserverless_application, undefined);
  }

  // The roles that are not a task's: the state machine's and the schedule's.
  for (const [id, role] of Object.entries(r.aws_iam_role_policy as Record<string, Json>)) {
    assertPolicyShape(statementsOf(tf, role.policy), `${name}: policy ${id}`);
  }
}

// ---------------------------------------------------------------------------------------------

async function assertGolden(path: string, actual: string): Promise<void> {
  const file = join(goldenRoot, path);
  if (updateGolden) {
    await Deno.mkdir(join(file, ".."), { recursive: true });
    await Deno.writeTextFile(file, actual);
    return;
  }
  let expected: string;
  try {
    expected = await Deno.readTextFile(file);
  } catch {
    assert.fail(`golden file ${relative(repo, file)} is missing; create it with UPDATE_GOLDEN=1`);
  }
  assert.equal(
    actual,
    expected,
    `${relative(repo, file)} differs from what generation writes now; if the change is ` +
      "intended, regenerate with UPDATE_GOLDEN=1 deno test -A tests/integration/generate_test.ts",
  );
}

Deno.test("the complete example's Terraform matches its golden files", async () => {
  for (const g of (await generateAll()).all.filter((g) => g.name.startsWith("complete/"))) {
    assert.deepEqual(g.report.files, ["cdk.tf.json"]);
    await assertGolden(`${g.name}/cdk.tf.json`, g.text);
  }
});

Deno.test("every generated stack resolves its references, gives each task its own role and no more", async () => {
  for (const g of (await generateAll()).all) assertStructure(g);
});

Deno.test("a pipeline the generator has never seen: all three resources, single and multi-source", async () => {
  const g = await one("telemetry");
  const r = g.tf.resource;
  assert.equal(g.tf.provider.aws[0].region, "eu-west-1");
  // Every task can run in AWS: the local ones as functions with LambdaConfig's defaults.
  assert.deepEqual(Object.keys(r.aws_lambda_function).sort(), [
    "run",
    "task_build-profiles",
    "task_dedupe_events",
    "task_per_country",
    "task_summarize",
  ]);
  assert.equal(r.aws_lambda_function.task_summarize.memory_size, 2048);
  assert.equal(r.aws_lambda_function.task_summarize.timeout, 600);
  assert.equal(r.aws_lambda_function["task_build-profiles"].memory_size, 1024);
  assert.equal(r.aws_lambda_function["task_build-profiles"].timeout, 300);
  assert.equal(r.aws_sfn_activity, undefined);
  assert.equal(bucketResource(g.tf, "telemetry.curated"), "bucket_telemetry_curated");
  // Waves: dedupe and profiles, then the three that read them, then the summary.
  const states = taskStates(JSON.parse(r.aws_sfn_state_machine.pipeline.definition));
  const wave = (task: string) => states.get(task)!.wave;
  assert.deepEqual(
    ["dedupe_events", "build-profiles", "sessionize", "per_hour", "per_country", "summarize"].map(
      wave,
    ),
    [0, 0, 1, 1, 1, 2],
  );
  assert.equal(r.aws_scheduler_schedule, undefined);
  // Warnings say what is missing, task by task.
  const warnings = g.report.warnings.join("\n");
  for (const task of ["dedupe_events", "summarize"]) {
    assert.match(
      warnings,
      new RegExp(
        `task '${task}' \\(Lambda\\): this version of Glacier cannot build Lambda packages yet, so the Terraform expects artifacts/${task}\\.zip`,
      ),
    );
  }
  for (const task of ["sessionize", "per_hour"]) {
    assert.match(
      warnings,
      new RegExp(`task '${task}' \\(EMR Serverless\\): .*artifacts/${task}\\.py`),
    );
  }
  for (const task of ["build-profiles", "per_country"]) {
    assert.match(
      warnings,
      new RegExp(
        `task '${task}' runs on provider\\.local\\(\\): in AWS it runs as Lambda function ` +
          `'glacier-${task}' with the default 1024 MB and 300 s`,
      ),
    );
    assert.match(
      warnings,
      new RegExp(
        `task '${task}' \\(Lambda\\): this version of Glacier cannot build Lambda packages`,
      ),
    );
  }
  assert.equal(g.report.warnings.length, 8);
  assert.equal(
    packageOf(g.tf, "task_dedupe_events").source,
    "${path.module}/artifacts/dedupe_events.zip",
  );
});

Deno.test("a schedule starts the state machine through EventBridge Scheduler with its own role", async () => {
  const g = await one("telemetry_scheduled");
  const schedule = g.tf.resource.aws_scheduler_schedule.schedule;
  assert.equal(schedule.schedule_expression, SCHEDULE);
  assert.equal(schedule.target.arn, "${aws_sfn_state_machine.pipeline.arn}");
  assert.equal(schedule.target.role_arn, "${aws_iam_role.schedule.arn}");
  const policy = statementsOf(g.tf, g.tf.resource.aws_iam_role_policy.schedule.policy);
  assert.deepEqual(policy[0].Action, ["states:StartExecution"]);
  assert.deepEqual(policy[0].Resource, ["${aws_sfn_state_machine.pipeline.arn}"]);
  const telemetry = await one("telemetry");
  assert.notEqual(g.text, telemetry.text);

  const bad = generate(await unseenPipeline(), {
    outputDir: await Deno.makeTempDir(),
    schedule: "every day at six",
  });
  await assert.rejects(bad, (e: Error) => {
    assert.ok(e instanceof UnsupportedError);
    assert.match(
      e.message,
      /schedule "every day at six" is not an EventBridge Scheduler expression/,
    );
    return true;
  });
});

Deno.test("a partitioned pipeline: the schedule passes its time, the partitions run in a Map state, IAM names their keys", async () => {
  const g = await one("lab");
  const r = g.tf.resource;
  // The schedule gives each execution the time it was scheduled for; begin selects from it.
  assert.deepEqual(JSON.parse(r.aws_scheduler_schedule.schedule.target.input), {
    scheduledTime: "<aws.scheduler.scheduled-time>",
  });
  const definition = JSON.parse(r.aws_sfn_state_machine.pipeline.definition);
  const begin = definition.States["begin run"];
  assert.equal(begin.Parameters.Payload["input.$"], "$");
  assert.equal(begin.Parameters.Payload["startTime.$"], "$$.Execution.StartTime");
  assert.equal(begin.ResultSelector["partitions.$"], "$.Payload.partitions");
  assert.equal(begin.Next, "each partition");
  const map = definition.States["each partition"];
  assert.equal(map.Type, "Map");
  assert.equal(map.MaxConcurrency, 4, "generate's partitionConcurrency");
  assert.equal(map.ItemsPath, "$.run.partitions");
  assert.equal(map.ItemSelector["partition.$"], "$$.Map.Item.Value");
  assert.equal(map.Catch[0].Next, "abort run");
  assert.deepEqual(Object.keys(map.ItemProcessor.States), [
    "partition wave 1",
    "partition wave 2",
    "partition failed",
  ]);
  assert.equal(map.ItemProcessor.States["partition failed"].Parameters.Payload.deployed, "fail");
  const states = taskStates(definition);
  assert.deepEqual(
    [...states.entries()].map(([task, s]) => [task, s.wave, s.partitioned]),
    [["clean_readings", 0, true], ["daily_mean", 1, true], ["site_totals", 2, false]],
  );
  // The execution fails, with the run's error, when some partitions did not publish.
  assert.equal(definition.States["commit run"].Next, "published every partition?");
  assert.equal(definition.States["partitions failed"].Error, "Glacier.PartitionsFailed");
  assert.equal(definition.States["partitions failed"].CausePath, "$.report.error");
  // Each role names the partitions' keys under the bucket's path, no more.
  const policy = statementsOf(g.tf, r.aws_iam_role_policy.task_clean_readings.policy);
  assert.deepEqual(policy.find((s) => s.Sid === "WriteOutput")?.Resource, [
    "${aws_s3_bucket.bucket_lab-curated.arn}/clean/*/*.parquet",
  ]);
  assert.deepEqual(policy.find((s) => s.Sid === "ReadInputs")?.Resource, [
    "${aws_s3_bucket.bucket_lab-raw.arn}/readings/*/*.csv",
    "${aws_s3_bucket.bucket_lab-raw.arn}/.glacier/staging/*/readings/*/*.csv",
  ]);
  await assert.rejects(
    generate(labPipeline(), { outputDir: await Deno.makeTempDir(), partitionConcurrency: 0 }),
    /partitionConcurrency 0 is not a whole number of partitions at once/,
  );
});

Deno.test("partitioned shapes a deployed run cannot run yet are refused at generate time, naming the task and bucket", async () => {
  const provider = new Provider({ localRoot: await Deno.makeTempDir() });
  const S = schema({ n: t.int64 });
  const keys = { date: daily({ start: "2026-01-01" }) };
  const partitions = keys;
  const raw = provider.bucket({
    bucket: "refused",
    path: "days/{date}.parquet",
    schema: S,
    partitions,
  });
  const a = provider.bucket({ bucket: "refused", path: "a/{date}.parquet", schema: S, partitions });
  const b = provider.bucket({ bucket: "refused", path: "b/{date}.parquet", schema: S, partitions });
  const c = provider.bucket({ bucket: "refused", path: "c/{date}.parquet", schema: S, partitions });
  const d = provider.bucket({ bucket: "refused", path: "d/{date}.parquet", schema: S, partitions });
  const copy = (name: string) => provider.local().task({ name, input: S, output: S }, (df) => df);
  const days = raw.transform(copy("to_days")).to(a);
  const window = days.lookback({ date: 2 }).transform(copy("windowed")).to(b);
  const whole = days.transform(copy("gather")).to(
    provider.bucket({ bucket: "refused", path: "all.parquet", schema: S }),
  );
  const again = whole.transform(copy("spread")).to(c);
  const spark = raw.transform(
    provider.spark().task({ name: "on_spark", input: S, output: S }, (df) => df),
  ).to(d);
  const cases: [Bucket, RegExp][] = [
    [
      window,
      /task 'windowed' of pipeline .* \(bucket 'refused\/b\/\{date\}\.parquet'\) reads a window of partitions \(lookback\) of bucket 'refused\/a\/\{date\}\.parquet', which the same run writes/,
    ],
    [
      again,
      /task 'spread' .* writes partitions from bucket 'refused\/all\.parquet', which a step writes after reading every partition/,
    ],
    [
      spark,
      /task 'on_spark' runs on Spark and reads or writes partitioned bucket 'refused\/d\/\{date\}\.parquet', and deployed runs do not give a Spark job partitions yet/,
    ],
  ];
  for (const [pipeline, message] of cases) {
    await assert.rejects(
      generate(pipeline, { outputDir: await Deno.makeTempDir() }),
      (e: Error) => {
        assert.ok(e instanceof UnsupportedError, `${e}`);
        assert.match(e.message, message);
        return true;
      },
    );
  }
});

Deno.test("generation is deterministic: same pipeline, same bytes, wherever it is written", async () => {
  const telemetry = await unseenPipeline();
  const { root, all } = await generateAll();
  const first = all.find((g) => g.name === "telemetry")!;
  const elsewhere = relative(Deno.cwd(), await Deno.makeTempDir({ prefix: "glacier-tf-again-" }));
  const report = await generate(telemetry, { outputDir: join(elsewhere, "out") });
  assert.equal(report.outputDir, join(elsewhere, "out"));
  assert.equal(await Deno.readTextFile(join(elsewhere, "out", "cdk.tf.json")), first.text);
  for (const g of all) {
    assert.ok(!g.text.includes(repo) && !g.text.includes(root), `${g.name} names a local path`);
    assert.doesNotMatch(g.text, /"\/\/"|\d{4}-\d\d-\d\dT\d\d:/, "no cdktf metadata, no times");
  }
});

Deno.test("the backends' artifact builders replace the placeholders; a failing one leaves a placeholder and says why", async () => {
  const out = await Deno.makeTempDir({ prefix: "glacier-tf-built-" });
  const telemetry = await unseenPipeline();
  const build =
    (ext: string, extra: Record<string, string>): ArtifactBuilder =>
    async (_graph, step, outputDir) => {
      if (step.task.name === "per_hour") throw new Error("no Spark job for per_hour");
      const file = `build/${step.task.name}${ext}`;
      const bytes = new TextEncoder().encode(`artifact of ${step.task.name}`);
      await Deno.mkdir(join(outputDir, "build"), { recursive: true });
      await Deno.writeFile(join(outputDir, file), bytes);
      return { file, sha256: createHash("sha256").update(bytes).digest("hex"), ...extra };
    };
  const report = await generate(telemetry, { outputDir: out }, {
    ...NO_BUILDERS,
    serverless: {
      ...NO_BUILDERS.serverless,
      artifactBuilder: () =>
        Promise.resolve(build(".zip", { runtime: "nodejs22.x", handler: "index.handler" })),
    },
    spark: { ...NO_BUILDERS.spark, artifactBuilder: () => Promise.resolve(build(".py", {})) },
  });
  assert.deepEqual(report.files, [
    "build/build-profiles.zip",
    "build/dedupe_events.zip",
    "build/per_country.zip",
    "build/sessionize.py",
    "build/summarize.zip",
    "cdk.tf.json",
  ]);
  assert.equal(report.warnings.length, 3, "the two local tasks and the failed build warn");
  assert.match(
    report.warnings.join("\n"),
    /task 'per_hour' \(EMR Serverless\): its EMR Serverless artifact could not be built \(no Spark job for per_hour\), so the Terraform expects artifacts\/per_hour\.py/,
  );
  const tf = JSON.parse(await Deno.readTextFile(join(out, "cdk.tf.json")));
  const fn = tf.resource.aws_lambda_function.task_summarize;
  assert.equal(fn.runtime, "nodejs22.x");
  assert.equal(fn.handler, "index.handler");
  const object = packageOf(tf, "task_summarize");
  assert.equal(object.source, "${path.module}/build/summarize.zip");
  assert.match(object.source_hash, /^[0-9a-f]{64}$/);
  const job = JSON.parse(tf.resource.aws_sfn_state_machine.pipeline.definition);
  const sessionize = job.States["wave 2"].Branches.find((b: Json) =>
    b.StartAt === "decide sessionize"
  );
  assert.equal(
    sessionize.States.sessionize.Parameters.JobDriver.SparkSubmit.EntryPoint,
    "s3://${aws_s3_bucket.artifacts.bucket}/build/sessionize.py",
  );
});

Deno.test("generate refuses what Terraform cannot express, and writes nothing", async () => {
  const telemetry = await unseenPipeline();
  await assert.rejects(
    // deno-lint-ignore no-explicit-any
    telemetry.run({ mode: "generate" } as any),
    (e: Error) => {
      assert.ok(e instanceof UnsupportedError);
      assert.match(e.message, /generate needs an output directory/);
      return true;
    },
  );
  const dir = await Deno.makeTempDir();
  const module = join(dir, "wild.ts");
  await Deno.writeTextFile(
    module,
    `import { Provider, schema, t } from "${modUrl}";
const p = new Provider();
const S = schema({ id: t.int64 });
const a = p.bucket({ bucket: "wild-cards", path: "in/*.csv", schema: S });
const b = p.bucket({ bucket: "wild-cards", path: "out.csv", schema: S });
export const copy = a.transform(p.local().task({ name: "copy", input: S, output: S }, (df) => df)).to(b);
`,
  );
  const status = await main([module, "generate", "--out", join(dir, "tf")], {
    out: () => {},
    err: (t) => assert.match(t, /bucket 'wild-cards\/in\/\*\.csv' has '\*' or '\?' in its path/),
  });
  assert.equal(status, 1);
  await assert.rejects(Deno.stat(join(dir, "tf", "copy", "cdk.tf.json")), Deno.errors.NotFound);
});

Deno.test("only src/generate/cdktf_stack.ts imports cdktf, and nothing loads it before generate runs", async () => {
  const users: string[] = [];
  for await (const file of walk(join(repo, "src"))) {
    if (/npm:(cdktf|@cdktf\/|constructs)/.test(await Deno.readTextFile(file))) {
      users.push(relative(repo, file));
    }
  }
  assert.deepEqual(users, ["src/generate/cdktf_stack.ts"]);
  for (const entry of ["mod.ts", "src/generate/mod.ts"]) {
    const info = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", entry],
      cwd: repo,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(info.code, 0, new TextDecoder().decode(info.stderr));
    const graph = JSON.parse(new TextDecoder().decode(info.stdout));
    const modules = new Map<string, Json>(graph.modules.map((m: Json) => [m.specifier, m]));
    const seen = new Set<string>();
    const stack = [...graph.roots];
    while (stack.length > 0) {
      const specifier = stack.pop()!;
      if (seen.has(specifier)) continue;
      seen.add(specifier);
      for (const dep of modules.get(specifier)?.dependencies ?? []) {
        if (dep.isDynamic) continue;
        for (const to of [dep.code?.specifier, dep.type?.specifier]) if (to) stack.push(to);
      }
    }
    const cdktf = [...seen].filter((s) => /cdktf|constructs@/.test(s));
    assert.deepEqual(cdktf, [], `${entry} loads cdktf statically`);
  }
});

async function* walk(dir: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) yield* walk(path);
    else if (entry.name.endsWith(".ts")) yield path;
  }
}

// ---------------------------------------------------------------------------------------------
// checkov, installed from PyPI into .glacier/venv when missing.

async function command(
  cmd: string,
  args: string[],
): Promise<{ code: number; out: string; err: string }> {
  try {
    const r = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
    const decode = (b: Uint8Array) => new TextDecoder().decode(b);
    return { code: r.code, out: decode(r.stdout), err: decode(r.stderr) };
  } catch (error) {
    return { code: -1, out: "", err: String(error) };
  }
}

/** The checkov executable, installed first when this machine does not have the pinned version. */
async function checkov(): Promise<string> {
  const venv = join(repo, ".glacier", "venv");
  const bin = join(venv, "bin", "checkov");
  const marker = join(venv, `.checkov-${CHECKOV_VERSION}`);
  const exists = (p: string) => Deno.stat(p).then(() => true, () => false);
  if (await exists(bin) && await exists(marker)) return bin;
  console.error(
    `installing checkov ${CHECKOV_VERSION} from PyPI into ${relative(repo, venv)} (once)`,
  );
  if (!await exists(join(venv, "bin", "python"))) {
    const made = await command("python3", ["-m", "venv", venv]);
    assert.equal(
      made.code,
      0,
      `could not create a Python virtual environment at ${venv} with 'python3 -m venv' ` +
        `(checkov needs Python 3.9 or later):\n${made.err}`,
    );
  }
  const pip = await command(join(venv, "bin", "pip"), [
    "install",
    "--disable-pip-version-check",
    "--quiet",
    `checkov==${CHECKOV_VERSION}`,
  ]);
  assert.equal(
    pip.code,
    0,
    `could not install checkov ${CHECKOV_VERSION} from PyPI into ${venv}; the generated ` +
      `Terraform is not checked without it. pip said:\n${pip.err.slice(-3000)}`,
  );
  await Deno.writeTextFile(marker, `${CHECKOV_VERSION}\n`);
  return bin;
}

Deno.test("checkov finds no failed check in any generated stack", async () => {
  const bin = await checkov();
  const { root, all } = await generateAll();
  const r = await command(bin, [
    "--config-file",
    join(repo, ".checkov.yaml"),
    "--directory",
    root,
    "--output",
    "json",
  ]);
  let report: Json;
  try {
    report = JSON.parse(r.out);
  } catch {
    assert.fail(`checkov printed no JSON report (exit ${r.code}):\n${r.out}\n${r.err}`);
  }
  const failed = (report.results.failed_checks as Json[]).map((c) =>
    `${c.check_id} ${c.check_name}: ${c.resource} in ${c.file_path}`
  );
  assert.deepEqual(failed, [], `checkov failed checks:\n${failed.join("\n")}`);
  assert.equal(report.summary.parsing_errors, 0, JSON.stringify(report.results.parsing_errors));
  const scanned = new Set((report.results.passed_checks as Json[]).map((c) => c.file_path));
  for (const g of all) {
    assert.ok(scanned.has(`/${g.name}/cdk.tf.json`), `checkov did not scan ${g.name}`);
  }
  assert.ok(report.summary.passed > 100 * all.length / 2, `passed ${report.summary.passed}`);
});

Deno.test("task timeouts reach the state machine: each Task state's TimeoutSeconds, and EMR's own limit", async () => {
  const provider = new Provider({ localRoot: await Deno.makeTempDir() });
  const S = schema({ id: t.int64 });
  const bucket = (path: string) => provider.bucket({ bucket: "limits", path, schema: S });
  const lambda = provider.serverless({ config: new LambdaConfig({ timeoutSeconds: 600 }) });
  const spark = provider.spark({ config: new SparkConfig({ timeoutSeconds: 1800 }) });
  const fast = lambda.task({ name: "fast", input: S, output: S, timeoutSeconds: 120 }, (df) => df);
  const open = lambda.task({ name: "open", input: S, output: S }, (df) => df);
  const heavy = spark.task(
    { name: "heavy", input: S, output: S, timeoutSeconds: 90.5 },
    (df) => df,
  );
  const here = provider.local().task({ name: "here", input: S, output: S, timeoutSeconds: 30 }, (
    df,
  ) => df);
  const out = bucket("a.parquet").transform(fast).to(bucket("b.parquet")).transform(open)
    .to(bucket("c.parquet")).transform(heavy).to(bucket("d.parquet")).transform(here)
    .to(bucket("e.parquet"));
  const artifacts = new Map(
    [["fast", "serverless"], ["open", "serverless"], ["heavy", "spark"]].map(([task, kind]) => [
      task,
      { task, kind: kind as "serverless" | "spark", file: `artifacts/${task}`, built: false },
    ]),
  );
  const plan = planTerraform(out.graph(), artifacts);
  const states = taskStates(JSON.parse(JSON.stringify(plan.stateMachine.definition)));
  const state = (task: string) => states.get(task)!.state;
  assert.equal(state("fast").TimeoutSeconds, 120);
  assert.equal(state("open").TimeoutSeconds, 660, "the function's timeout and a minute");
  assert.equal(state("heavy").TimeoutSeconds, 91);
  assert.equal(state("heavy").Parameters.ExecutionTimeoutMinutes, 2);
  assert.equal(state("here").TimeoutSeconds, 30);
});
