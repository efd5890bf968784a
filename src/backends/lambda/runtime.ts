/**
 * The Lambda runtime of a Glacier function: implements the Lambda Runtime API loop (next
 * invocation, response, error, init error), resolves each event's task by name in the packaged
 * pipeline module, reads its inputs from S3, runs it, validates its output and writes it to the
 * key the event names, and answers rows, bytes and seconds.
 *
 * @module
 */
import { join } from "node:path";
import pl from "../../polars.ts";
import { discoverPipelines } from "../../core/discover.ts";
import {
  firstLine,
  GlacierError,
  StaleDeploymentError,
  StorageError,
  WiringError,
} from "../../core/errors.ts";
import { codeFingerprint } from "../../engine/fingerprint.ts";
import type { Step } from "../../core/lineage.ts";
import { formatOf } from "../../io/file_format.ts";
import { applyTask } from "../../core/apply_task.ts";
import { countRows, scanValidated, sinkFile } from "../../io/formats.ts";
import { S3Storage } from "../../io/s3/s3_storage.ts";
import { locateParseError } from "../../io/text_input.ts";
import type { ProbeEvent, ProbeResult, TaskEvent, TaskFailure, TaskResult } from "./protocol.ts";

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
 * Runs one task event: inputs from S3, the task, its output to S3.
 *
 * @param steps the module's steps, by task name.
 * @param event the invocation.
 * @returns rows, bytes and seconds.
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
      `this function was built from another version of task '${event.task}' (code fingerprint ` +
        `${mine.slice(0, 12)}, the run's ${event.fingerprint.slice(0, 12)}); nothing was read ` +
        "or written. Redeploy it from the current pipeline module",
    );
  }
  const storage = new S3Storage(step.target.settings.region);
  const dir = await Deno.makeTempDir({ prefix: "glacier-task-" });
  try {
    const frames: Record<string, ReturnType<typeof scanValidated>> = {};
    for (const [name, ref] of Object.entries(step.sources)) {
      const at = event.inputs[name];
      if (at === undefined) {
        throw new WiringError(`the event for task '${event.task}' gives no input '${name}'`);
      }
      const file = join(dir, `in-${name}`);
      await storage.download(at.bucket, at.key, file, {
        location: ref.location,
        missing: `bucket '${ref.location}' has no data at s3://${at.bucket}/${at.key}`,
      });
      const frame = scanValidated(ref, file, `s3://${at.bucket}/${at.key}`);
      // A partition of a partitioned input carries its keys as String columns, as in local mode.
      const keys = Object.keys(ref.partitions ?? {}).filter((k) =>
        event.partition?.[k] !== undefined
      );
      frames[name] = keys.length === 0
        ? frame
        : frame.withColumns(...keys.map((k) => pl.lit(event.partition![k]).cast(pl.Utf8).alias(k)));
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
    const rows = await countRows(out, format, step.target.schema, step.target.csv);
    await storage.upload(out, event.output.bucket, event.output.key, {
      location: step.target.location,
    });
    return { rows, bytes, seconds: (performance.now() - started) / 1000 };
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/**
 * Answers a probe: the code fingerprint of every task this function can run.
 *
 * @param steps the module's steps, by task name.
 * @returns the fingerprints.
 */
export function probeAnswer(steps: Map<string, Step>): ProbeResult {
  return {
    fingerprints: Object.fromEntries(
      [...steps].map(([task, step]) => [task, codeFingerprint(step).value]),
    ),
  };
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
  try {
    steps = await stepsOf(module);
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
      const event = (await next.json()) as TaskEvent | ProbeEvent;
      const result = "probe" in event ? probeAnswer(steps) : await runTaskEvent(steps, event);
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
