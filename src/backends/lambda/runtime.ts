/**
 * The Lambda runtime of a Glacier function: implements the Lambda Runtime API loop (next
 * invocation, response, error, init error), resolves each event's task by name in the packaged
 * pipeline module, reads its inputs from S3, runs it, validates its output, audits it with the
 * target bucket's quality checks, writes it to the key the event names (unless a check of
 * severity `error` failed), and answers rows, bytes, seconds, the SHA-256 of the bytes it uploaded
 * and the checks' results.
 *
 * @module
 */
import { join } from "node:path";
import pl from "../../polars.ts";
import { discoverPipelines, type FoundPipeline } from "../../core/discover.ts";
import {
  firstLine,
  GlacierError,
  StaleDeploymentError,
  StorageError,
  UnsupportedError,
  WiringError,
} from "../../core/errors.ts";
import { codeFingerprint } from "../../engine/fingerprint.ts";
import type { Step } from "../../core/lineage.ts";
import type { Written } from "../../core/session.ts";
import { formatOf } from "../../io/file_format.ts";
import { applyTask } from "../../core/apply_task.ts";
import { auditFrame, enforceChecks } from "../../core/checks_audit.ts";
import { countRows, scanValidated, sinkFile } from "../../io/formats.ts";
import { hashFile } from "../../io/file_identity.ts";
import { DeployedRun, type StepDecision } from "../../engine/deployed_run.ts";
import { S3Storage } from "../../io/s3/s3_storage.ts";
import { locateParseError } from "../../io/text_input.ts";
import { emptyFrame } from "../../schema/schema.ts";
import type {
  BeginResult,
  CommitResult,
  DeployedRunEvent,
  ObjectLocation,
  TaskEvent,
  TaskFailure,
  TaskResult,
} from "./protocol.ts";

/** The longest a Lambda invocation may take, in seconds: what a `step` handler leases locks for. */
const LAMBDA_MAX_SECONDS = 900;

/**
 * The steps of every pipeline a module exports, by task name.
 *
 * @param module the pipeline module's path or URL.
 * @returns the steps.
 */
export async function stepsOf(module: string): Promise<Map<string, Step>> {
  const steps = new Map<string, Step>();
  for (const pipeline of await discoverPipelines(module)) {
    for (const step of pipeline.bucket.lineage) steps.set(step.task.name, step);
  }
  return steps;
}

/**
 * Runs one task event: inputs from S3, the task, the target's checks, its output to S3.
 *
 * @param steps the module's steps, by task name.
 * @param event the invocation.
 * @returns rows, bytes, seconds, the SHA-256 of the file it uploaded (`sha256:HEX`, as cloud mode
 *   hashes what it uploads) and the checks' results (a failed check is a result, not an error:
 *   the executor decides).
 * @throws {GlacierError} naming the task, bucket or column when anything fails.
 */
export async function runTaskEvent(
  steps: Map<string, Step>,
  event: TaskEvent,
): Promise<TaskResult> {
  const started = performance.now();
  const step = steps.get(event.task);
  if (step === undefined) {
    throw new WiringError(
      `this function's module has no task named '${event.task}'; it has: ${
        [...steps.keys()].join(", ")
      }. ` +
        "Rebuild and redeploy the function from the current pipeline module",
    );
  }
  const mine = codeFingerprint(step).value;
  if (event.fingerprint !== undefined && event.fingerprint !== mine) {
    throw new StaleDeploymentError(
      `built from another version of task '${event.task}' (code fingerprint ` +
        `${mine.slice(0, 12)}, the module's ${event.fingerprint.slice(0, 12)}); nothing was read ` +
        "or written. Redeploy: on the local stack, glacier stack up --module MODULE; on AWS, " +
        "glacier MODULE generate, then terraform apply",
    );
  }
  const storage = new S3Storage(step.target.settings.region);
  const dir = await Deno.makeTempDir({ prefix: "glacier-task-" });
  try {
    const frames: Record<string, ReturnType<typeof scanValidated>> = {};
    const read = async (ref: Step["target"], at: ObjectLocation, file: string) => {
      await storage.download(at.bucket, at.key, file, {
        location: ref.location,
        missing: `bucket '${ref.location}' has no data at s3://${at.bucket}/${at.key}`,
      });
      return scanValidated(ref, file, `s3://${at.bucket}/${at.key}`);
    };
    for (const [name, ref] of Object.entries(step.sources)) {
      // A partition of a partitioned input carries its keys as String columns, as in local mode.
      const withKeys = (frame: pl.LazyDataFrame, partition: Readonly<Record<string, string>>) => {
        const keys = Object.keys(ref.partitions ?? {}).filter((k) => partition[k] !== undefined);
        return keys.length === 0
          ? frame
          : frame.withColumns(...keys.map((k) => pl.lit(partition[k]).cast(pl.Utf8).alias(k)));
      };
      const parts = event.parts?.[name];
      if (parts !== undefined) {
        const partFrames: pl.LazyDataFrame[] = [];
        for (const [i, part] of parts.entries()) {
          partFrames.push(
            withKeys(await read(ref, part, join(dir, `in-${name}-${i}`)), part.partition),
          );
        }
        const keys = Object.keys(ref.partitions ?? {});
        frames[name] = partFrames.length === 0
          ? emptyFrame(ref.schema).lazy()
            .withColumns(...keys.map((k) => pl.lit(null).cast(pl.Utf8).alias(k)))
          : partFrames.length === 1
          ? partFrames[0]
          : pl.concat(partFrames, { how: "vertical" });
        continue;
      }
      const at = event.inputs[name];
      if (at === undefined) {
        throw new WiringError(`the event for task '${event.task}' gives no input '${name}'`);
      }
      frames[name] = withKeys(await read(ref, at, join(dir, `in-${name}`)), event.partition ?? {});
    }
    const plan = applyTask(step, frames, event.partition ?? {});
    const out = join(dir, "out");
    const format = formatOf(step.target.path);
    try {
      await sinkFile(plan, out, format, step.target.csv);
    } catch (error) {
      const where = locateParseError(Object.values(frames), error);
      if (where === undefined) throw error;
      throw new StorageError(`${firstLine(error)}; ${where}`, { cause: error });
    }
    const bytes = (await Deno.stat(out)).size;
    const [rows, content] = await Promise.all([
      countRows(out, format, step.target.schema, step.target.csv),
      hashFile(out),
    ]);
    const uri = `s3://${event.output.bucket}/${event.output.key}`;
    const checks = step.target.checks?.length
      ? await auditFrame(step.target, scanValidated(step.target, out, uri))
      : undefined;
    if (!checks?.some((c) => !c.passed && c.severity === "error")) {
      await storage.upload(out, event.output.bucket, event.output.key, {
        location: step.target.location,
      });
    }
    const seconds = (performance.now() - started) / 1000;
    return { rows, bytes, seconds, content, ...(checks ? { checks } : {}) };
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/**
 * Serves a handler of a deployed run (see `src/engine/deployed_run.ts`): the state machine calls
 * `begin`, then `step` for each step (in the step's own function, which runs its task in the same
 * invocation) or `decide` and `record` around a job that runs elsewhere, then `commit`, or
 * `abort` when anything failed.
 *
 * @param pipelines the module's pipelines.
 * @param event the handler and its run.
 * @returns what the handler answers: the run's id, a step's decision or report, the run's report.
 * @throws {GlacierError} naming the pipeline, the task and the run when the handler fails; a step
 *   that fails is recorded as failed first.
 */
export async function runDeployedEvent(
  pipelines: readonly FoundPipeline[],
  event: DeployedRunEvent,
): Promise<unknown> {
  const found = pipelines.find((p) => p.name === event.pipeline);
  if (found === undefined) {
    throw new WiringError(
      `this function's module has no pipeline named '${event.pipeline}'; it has: ${
        pipelines.map((p) => p.name).join(", ")
      }. Rebuild and redeploy the function from the current pipeline module`,
    );
  }
  // The function serves one deployment, whose state bucket the state machine names.
  if (event.stateBucket) Deno.env.set("GLACIER_STATE_BUCKET", event.stateBucket);
  const graph = found.bucket.graph();
  if (event.deployed === "begin") {
    const run = await DeployedRun.begin(graph, {
      ...(event.execution === undefined ? {} : { holder: `execution ${event.execution}` }),
      ...(event.force === undefined ? {} : { force: event.force }),
      input: event.input,
      ...(event.startTime === undefined ? {} : { startTime: event.startTime }),
    });
    return { runId: run.runId, partitions: run.partitions } satisfies BeginResult;
  }
  const runId = event.run;
  if (typeof runId !== "string" || runId === "") {
    throw new WiringError(
      `the '${event.deployed}' event of pipeline '${event.pipeline}' names no run; the state ` +
        "machine passes the run id that 'begin' answered",
    );
  }
  const run = await DeployedRun.open(graph, runId);
  if (event.deployed === "commit") {
    const report = await run.commit();
    return {
      ...report,
      failedPartitions: report.failedPartitions ?? [],
      error: report.error ?? "",
    } satisfies CommitResult;
  }
  if (event.deployed === "abort") return await run.abort(caughtError(event.error));
  if (event.deployed === "fail") {
    await run.failPartition(event.partition ?? {}, caughtError(event.error));
    return { partition: event.partition, error: caughtError(event.error) };
  }
  const task = event.task ?? "";
  const partition = event.partition;
  try {
    if (event.deployed === "decide") {
      const decision = await run.decide(task, { ...(partition ? { partition } : {}) });
      return { ...decision, bind: bindingOf(graph.steps, decision) };
    }
    if (event.deployed === "record") {
      const decision = event.decision as StepDecision;
      return await run.record(decision, await stagedSize(graph.steps, decision));
    }
    const decision = await run.decide(task, {
      holdFor: LAMBDA_MAX_SECONDS,
      ...(partition ? { partition } : {}),
    });
    if (decision.action === "skip") return decision.report ?? decision;
    const steps = new Map(graph.steps.map((s) => [s.task.name, s]));
    const result = await runTaskEvent(steps, {
      glacier: 1,
      task,
      run: runId,
      inputs: decision.inputs,
      ...(decision.parts ? { parts: decision.parts } : {}),
      output: decision.output,
      ...(decision.partition ? { partition: decision.partition } : {}),
      fingerprint: decision.code,
    });
    if (result.checks) enforceChecks(result.checks);
    return await run.record(decision, result);
  } catch (error) {
    await run.fail(task, error, partition).catch(() => {});
    throw error;
  }
}

/**
 * Where a job that runs elsewhere reads and writes, as JSON text for its command line: one
 * object per input and the output; a job is not given a partition's keys or several partitions.
 */
function bindingOf(steps: readonly Step[], decision: StepDecision): string {
  if (decision.action === "run" && (decision.partition || decision.parts)) {
    const step = steps.find((s) => s.task.name === decision.task)!;
    const read = Object.entries(step.sources).find(([, ref]) => ref.partitions !== undefined);
    throw new UnsupportedError(
      `task '${decision.task}' runs as a job outside the run's functions, and deployed runs do ` +
        `not give such a job partitions yet (bucket '${
          (read?.[1] ?? step.target).location
        }' is partitioned); declare the task on provider.serverless() or provider.local(), or ` +
        "run the pipeline in cloud mode from a machine",
    );
  }
  const uri = (at: { bucket: string; key: string }) => `s3://${at.bucket}/${at.key}`;
  return JSON.stringify({
    inputs: Object.fromEntries(Object.entries(decision.inputs).map(([n, at]) => [n, uri(at)])),
    output: uri(decision.output),
  });
}

/** Rows and bytes of an output that a job staged elsewhere: its object, read back and counted. */
async function stagedSize(
  steps: readonly Step[],
  decision: StepDecision,
): Promise<Written> {
  const step = steps.find((s) => s.task.name === decision.task);
  if (!step || decision.action !== "run") return { rows: 0, bytes: 0 };
  const storage = new S3Storage(step.target.settings.region);
  const dir = await Deno.makeTempDir({ prefix: "glacier-record-" });
  try {
    const file = join(dir, "staged");
    await storage.download(decision.output.bucket, decision.output.key, file, {
      location: step.target.location,
      missing: `task '${decision.task}' reported success but staged nothing at ` +
        `s3://${decision.output.bucket}/${decision.output.key}`,
    });
    const format = formatOf(step.target.path);
    const [rows, content] = await Promise.all([
      countRows(file, format, step.target.schema, step.target.csv),
      hashFile(file),
    ]);
    return { rows, bytes: (await Deno.stat(file)).size, content };
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** The message of an error the state machine caught: a function's own message when it has one. */
function caughtError(error: unknown): string {
  const caught = error as { Error?: string; Cause?: string } | undefined;
  try {
    const cause = JSON.parse(caught?.Cause ?? "") as Partial<TaskFailure>;
    if (typeof cause.errorMessage === "string") return cause.errorMessage;
  } catch {
    // not a function's error
  }
  return caught?.Cause || caught?.Error || "the state machine stopped the run";
}

/**
 * An error as the runtime API reports it.
 *
 * @param error anything thrown.
 * @returns its type and message.
 */
export function failureOf(error: unknown): TaskFailure {
  if (error instanceof GlacierError) return { errorType: error.name, errorMessage: error.message };
  if (error instanceof Error) return { errorType: error.name, errorMessage: error.message };
  return { errorType: "Error", errorMessage: String(error) };
}

/**
 * Serves invocations until the process ends, as a Lambda custom runtime.
 *
 * @param module the pipeline module to serve.
 * @param api the runtime API address (`AWS_LAMBDA_RUNTIME_API`).
 */
export async function serveLambda(module: string, api: string): Promise<void> {
  const base = `http://${api}/2018-06-01/runtime`;
  let steps: Map<string, Step>;
  let pipelines: FoundPipeline[];
  try {
    pipelines = await discoverPipelines(module);
    steps = new Map(
      pipelines.flatMap((p) => p.bucket.lineage.map((s) => [s.task.name, s] as const)),
    );
  } catch (error) {
    const failure = failureOf(error);
    await fetch(`${base}/init/error`, {
      method: "POST",
      headers: { "Lambda-Runtime-Function-Error-Type": `Runtime.${failure.errorType}` },
      body: JSON.stringify(failure),
    });
    throw error;
  }
  while (true) {
    const next = await fetch(`${base}/invocation/next`);
    const id = next.headers.get("lambda-runtime-aws-request-id");
    let body: string;
    let outcome: "response" | "error";
    try {
      const event = (await next.json()) as TaskEvent | DeployedRunEvent;
      const result = "deployed" in event
        ? await runDeployedEvent(pipelines, event)
        : await runTaskEvent(steps, event);
      body = JSON.stringify(result);
      outcome = "response";
    } catch (error) {
      body = JSON.stringify(failureOf(error));
      outcome = "error";
      console.error(`glacier: ${(error as Error)?.message ?? error}`);
    }
    await fetch(`${base}/invocation/${id}/${outcome}`, {
      method: "POST",
      headers: outcome === "error" ? { "Lambda-Runtime-Function-Error-Type": "Unhandled" } : {},
      body,
    });
  }
}
