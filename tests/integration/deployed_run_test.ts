/**
 * Deployed runs on the local stack: the generated state machine, run by an ASL interpreter
 * (`_state_machine.ts`), calls the run's handlers (`begin`, one `step` per step in the step's own
 * function, `commit`, or `abort`), each a separate invocation of the module's Lambda artifact
 * under the Lambda Runtime Interface Emulator, over a real S3 server. The run goes through the engine: locks, ledger,
 * skipping what is up to date, the journal's commit.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { InvokeCommand, LambdaClient } from "../../src/backends/lambda/_sdk.ts";
import { type Bucket, pl, type RunReport, type StepReport, StorageError } from "../../mod.ts";
import { S3Storage } from "../../src/io/s3/s3_storage.ts";
import { S3Ledger } from "../../src/engine/ledger/s3_ledger.ts";
import type { DeployedRunEvent } from "../../src/backends/lambda/protocol.ts";
import { withLambdaStack } from "./_lambda_stack.ts";
import { runExecution, type StateMachineStack } from "./_state_machine.ts";
import { planTerraform } from "../../src/generate/resource_plan.ts";
import { withS3Server } from "./_s3_server.ts";
import { withAwsEnv } from "../_env.ts";

const BUCKET = "deployed-runs";
const root = await Deno.makeTempDir({ prefix: "glacier-deployed-run-test-" });
globalThis.addEventListener("unload", () => {
  try {
    Deno.removeSync(root, { recursive: true });
  } catch {
    // Already gone.
  }
});
const module = join(root, "pipeline", "totals.ts");
await Deno.mkdir(join(root, "pipeline"));
await Deno.writeTextFile(
  module,
  `import { LambdaConfig, pl, Provider, schema, t } from "${
    new URL("../../mod.ts", import.meta.url).href
  }";
const provider = new Provider({ localRoot: "${join(root, "local")}" });
const fn = provider.serverless({ config: new LambdaConfig({ memoryMb: 512, timeoutSeconds: 60 }) });
const Nums = schema({ n: t.int64 });
const Doubled = schema({ n: t.int64, twice: t.int64 });
const Total = schema({ total: t.int64 });
export const nums = provider.bucket({ bucket: "${BUCKET}", path: "raw/nums.parquet", schema: Nums });
const doubled = provider.bucket({ bucket: "${BUCKET}", path: "stage/doubled.parquet", schema: Doubled });
const double = fn.task({ name: "double", input: Nums, output: Doubled }, (df) =>
  df.withColumns(pl.col("n").mul(2).cast(pl.Int64).alias("twice")));
const sum = fn.task({ name: "sum", input: Doubled, output: Total }, (df) =>
  df.select(pl.col("twice").sum().cast(pl.Int64).alias("total")));
const explode = fn.task({ name: "explode", input: Doubled, output: Doubled }, () => {
  throw new Error("no luck with these numbers");
});
export const totals = nums.transform(double).to(doubled).transform(sum)
  .to(provider.bucket({ bucket: "${BUCKET}", path: "out/total.parquet", schema: Total }))
  .withName("totals");
export const broken = nums.transform(double).to(doubled).transform(explode)
  .to(provider.bucket({ bucket: "${BUCKET}", path: "out/broken.parquet", schema: Doubled }))
  .withName("broken");
`,
);
const cacheDir = join(root, "state", "artifacts");

/** Calls one handler of a deployed run, as the state machine does, and returns its answer. */
async function handler(
  client: LambdaClient,
  fn: string,
  event: Omit<DeployedRunEvent, "glacier">,
): Promise<{ error?: string; body: Record<string, unknown> }> {
  const out = await client.send(
    new InvokeCommand({
      FunctionName: fn,
      Payload: new TextEncoder().encode(JSON.stringify({ glacier: 1, ...event })),
    }),
  );
  const body = JSON.parse(new TextDecoder().decode(out.Payload));
  return { ...(out.FunctionError ? { error: out.FunctionError } : {}), body };
}

/**
 * A whole execution of the state machine that generate plans for a pipeline, run by an ASL
 * interpreter: begin, each step in its task's function, commit, or abort; what it did is what
 * the ledger recorded of its run.
 */
async function execute(stack: StateMachineStack, pipeline: Bucket) {
  const definition = planTerraform(pipeline.graph(), new Map()).stateMachine.definition;
  const execution = await runExecution(definition, {}, stack);
  const begun = execution.states.find((s) => s.name === "begin run")?.output as {
    run: { runId: string };
  };
  const run = begun.run.runId;
  const report = await withAwsEnv(
    stack.env,
    () =>
      new S3Ledger(new S3Storage(stack.env.AWS_REGION), stack.env.GLACIER_STATE_BUCKET).run(run),
  );
  assert.ok(report, `run ${run} is not in the ledger`);
  return { run, steps: report.steps, report, execution };
}

Deno.test("deployed runs go through the engine: locks, ledger, skipping, the journal's commit", async (t) => {
  const m = await import(pathToFileURL(module).href);
  await withS3Server((s3) =>
    withLambdaStack({ module, s3, cacheDir }, async (lambdaStack) => {
      const env = lambdaStack.env();
      const state = env.GLACIER_STATE_BUCKET;
      const stack: StateMachineStack = {
        endpoint: lambdaStack.endpoint,
        env,
        functionOf: (id) => id === "run" ? "glacier-double" : `glacier-${id.slice("task_".length)}`,
      };
      const client = new LambdaClient({
        endpoint: lambdaStack.endpoint,
        region: env.AWS_REGION,
        credentials: {
          accessKeyId: env.AWS_ACCESS_KEY_ID,
          secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
        },
        maxAttempts: 1,
      });
      const frame = pl.DataFrame({ n: pl.Series("n", [1, 2, 3, 4], pl.Int64) });
      await m.nums.write(frame);
      await m.totals.run({ mode: "local", quiet: true });
      const local = (await m.totals.read()).toRecords();
      await withAwsEnv(env, () => m.nums.write(frame, { mode: "cloud" }));
      const storage = () => new S3Storage(env.AWS_REGION);
      const keys = (bucket: string, prefix: string) =>
        withAwsEnv(env, async () => (await storage().list(bucket, prefix)).map((o) => o.key));
      const ledgerRun = (run: string) =>
        withAwsEnv(env, () => new S3Ledger(storage(), state).run(run));

      try {
        await t.step(
          "begin, each step, commit: local mode's rows, the ledger's reasons",
          async () => {
            const { run, steps, report, execution } = await execute(stack, m.totals);
            assert.equal(execution.error, undefined, JSON.stringify(execution.error));
            assert.deepEqual(steps.map((s) => [s.task, s.status, s.reason, s.rows]), [
              ["double", "ran", "no previous run", 4],
              ["sum", "ran", "no previous run", 1],
            ]);
            assert.equal(report.status, "succeeded");
            assert.deepEqual(
              (await withAwsEnv(env, (): Promise<pl.DataFrame> => m.totals.read({ mode: "cloud" })))
                .toRecords(),
              local,
            );
            const recorded = await ledgerRun(run);
            assert.equal(recorded?.status, "succeeded");
            assert.deepEqual(recorded?.steps.map((s) => [s.task, s.status, s.reason]), [
              ["double", "ran", "no previous run"],
              ["sum", "ran", "no previous run"],
            ]);
            assert.deepEqual(await keys(state, "locks/"), [], "the locks are released");
            assert.deepEqual(await keys(state, "deployed/"), [], "the run's state is gone");
            assert.deepEqual(await keys(BUCKET, ".glacier/"), [], "nothing staged is left");
          },
        );

        await t.step("a second execution skips every step, up to date", async () => {
          const { run, steps, report } = await execute(stack, m.totals);
          assert.deepEqual(steps.map((s) => [s.task, s.status, s.reason]), [
            ["double", "skipped", "up to date"],
            ["sum", "skipped", "up to date"],
          ]);
          assert.equal(report.status, "succeeded");
          assert.deepEqual(
            (await ledgerRun(run))?.steps.map((s) => s.reason),
            ["up to date", "up to date"],
          );
        });

        await t.step(
          "a cloud-mode run is refused while a deployed run holds the locks",
          async () => {
            const begun = await handler(client, "glacier-double", {
              deployed: "begin",
              pipeline: "totals",
              execution: "arn:aws:states:test:execution:totals:held",
            });
            const run = String(begun.body.runId);
            await assert.rejects(
              withAwsEnv(env, () => m.totals.run({ mode: "cloud", quiet: true })),
              (e: Error) => {
                assert.ok(e instanceof StorageError, `${e}`);
                assert.match(e.message, new RegExp(`being written by deployed run ${run}`));
                assert.match(e.message, /execution arn:aws:states:test:execution:totals:held/);
                return true;
              },
            );
            const aborted = await handler(client, "glacier-double", {
              deployed: "abort",
              pipeline: "totals",
              run,
              error: { Error: "States.Aborted", Cause: "stopped by the test" },
            });
            assert.equal(aborted.body.status, "failed");
            assert.deepEqual(await keys(state, "locks/"), []);
            const report: RunReport = await withAwsEnv(
              env,
              () => m.totals.run({ mode: "cloud", quiet: true }),
            );
            assert.deepEqual(
              report.steps.map((s: StepReport) => s.reason),
              [
                "up to date",
                "up to date",
              ],
            );
          },
        );

        await t.step("a failing step aborts: nothing published, the locks released", async () => {
          const { run, report, execution } = await execute(stack, m.broken);
          assert.equal(execution.error?.name, "Glacier.TaskFailed");
          assert.match(execution.error!.cause, /pipeline 'broken' failed and published nothing/);
          assert.equal(report.status, "failed");
          assert.match(String(report.error), /no luck with these numbers/);
          assert.deepEqual(report.steps.map((s) => [s.task, s.status]), [
            ["double", "skipped"],
            ["explode", "failed"],
          ]);
          assert.match(report.steps[1].reason, /no luck with these numbers/);
          const recorded = await ledgerRun(run);
          assert.equal(recorded?.status, "failed");
          assert.equal(recorded?.steps[1].status, "failed");
          assert.deepEqual(await keys(BUCKET, "out/broken"), [], "nothing published");
          assert.deepEqual(await keys(BUCKET, ".glacier/"), [], "nothing staged is left");
          assert.deepEqual(await keys(state, "locks/"), [], "the locks are released");
          assert.deepEqual(await keys(state, "deployed/"), []);
        });
      } finally {
        client.destroy();
      }
    })
  );
});
