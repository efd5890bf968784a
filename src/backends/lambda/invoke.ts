/**
 * Cloud mode's executor for serverless tasks: each step is one synchronous invocation of the
 * task's Lambda function, which reads its inputs from S3 and writes its output to the run's
 * staging key; the run commits it with every other output.
 *
 * The Lambda endpoint comes from the standard AWS configuration (`AWS_ENDPOINT_URL_LAMBDA`, else
 * `AWS_ENDPOINT_URL`, else AWS itself), so the same code reaches AWS or the local stack.
 *
 * @module
 */
import {
  type GlacierError,
  remoteErrorFamily,
  StorageError,
  TaskError,
  UnsupportedError,
  WiringError,
} from "../../core/errors.ts";
import type { PipelineGraph } from "../../core/graph.ts";
import type { Step } from "../../core/lineage.ts";
import { settingsOf } from "../../core/resource.ts";
import { lambdaFunctionName } from "../../core/naming.ts";
import {
  contentHash,
  isRemoteSession,
  type RemoteExecutor,
  type RunSession,
  type StepContext,
  type Written,
} from "../../core/session.ts";
import { InvokeCommand, LambdaClient } from "./_sdk.ts";
import type { TaskEvent, TaskFailure, TaskResult } from "./protocol.ts";
import { codeFingerprint } from "../../engine/fingerprint.ts";
import { env } from "../../core/env.ts";
import { enforceChecks } from "../../core/checks_audit.ts";
import { taskReads } from "../../core/read_addresses.ts";

/** How many times a throttled invocation is tried, and the first backoff. */
const THROTTLE_ATTEMPTS = 6;
const THROTTLE_BASE_MS = 200;

/** The Lambda client, and where it points, for messages. */
export function lambdaConnection(region: string): { client: LambdaClient; endpoint: string } {
  const endpoint = env("AWS_ENDPOINT_URL_LAMBDA") ?? env("AWS_ENDPOINT_URL");
  const resolved = env("AWS_REGION") ?? env("AWS_DEFAULT_REGION") ?? region;
  return {
    client: new LambdaClient({
      region: resolved,
      ...(endpoint ? { endpoint } : {}),
      maxAttempts: 1,
    }),
    endpoint: endpoint ?? `https://lambda.${resolved}.amazonaws.com`,
  };
}

/**
 * Runs a serverless step (one partition of it) as an invocation of its Lambda function.
 *
 * @param step the step, its sources and target at the partition it computes.
 * @param session the run's storage; it must be S3 (cloud mode).
 * @param context the run around the step: the partition, sent with the event.
 * @returns rows and bytes the function wrote, and the results of the checks it ran on them.
 * @throws {GlacierError} naming the task and the function when the invocation fails.
 * @throws {CheckFailedError} when a check of severity `error` failed inside the function (which
 *   then uploaded nothing).
 */
export async function runOnLambda(
  step: Step,
  session: RunSession,
  context: StepContext,
): Promise<Written> {
  if (!isRemoteSession(session)) {
    throw new WiringError(
      `task '${step.task.name}' runs on Lambda, which reads and writes S3: run it in cloud mode`,
    );
  }
  const task = step.task.name;
  const name = lambdaFunctionName(step.task);
  const reads = context.inputs
    ? taskReads(
      Object.fromEntries(
        Object.entries(context.inputs).map(([input, { mapping, parts }]) => [input, {
          mapping,
          parts: parts.map((part) => ({ ...session.locate(part.ref), partition: part.partition })),
        }]),
      ),
    )
    : {
      inputs: Object.fromEntries(
        Object.entries(step.sources).map(([input, ref]) => [input, session.locate(ref)]),
      ),
    };
  const event: TaskEvent = {
    glacier: 1,
    task,
    run: session.runId,
    ...reads,
    output: session.stagingFor(step.target),
    fingerprint: codeFingerprint(step).value,
    ...(context.partition && Object.keys(context.partition).length > 0
      ? { partition: context.partition }
      : {}),
  };
  const { client, endpoint } = lambdaConnection(step.target.settings.region);
  const payload = new TextEncoder().encode(JSON.stringify(event));
  let answer: { FunctionError?: string; Payload?: Uint8Array } | undefined;
  for (let attempt = 1; answer === undefined; attempt++) {
    try {
      answer = await client.send(new InvokeCommand({ FunctionName: name, Payload: payload }));
    } catch (error) {
      const e = error as {
        name?: string;
        message?: string;
        $metadata?: { httpStatusCode?: number };
      };
      const throttled = e.name === "TooManyRequestsException" ||
        e.$metadata?.httpStatusCode === 429;
      if (throttled && attempt < THROTTLE_ATTEMPTS) {
        await new Promise((r) => setTimeout(r, THROTTLE_BASE_MS * 2 ** (attempt - 1)));
        continue;
      }
      throw invokeFailure(error, { task, name, endpoint, attempts: attempt });
    }
  }
  const text = new TextDecoder().decode(answer.Payload ?? new Uint8Array());
  if (answer.FunctionError) {
    throw functionFailure(text, {
      task,
      name,
      timeoutSeconds: settingsOf(step.task.resource, "serverless").timeoutSeconds,
    });
  }
  let result: TaskResult;
  try {
    result = JSON.parse(text) as TaskResult;
  } catch {
    throw new TaskError(
      `Lambda function '${name}' for task '${task}' answered something that is not a Glacier ` +
        `result: ${text.slice(0, 200)}; is the function built from this pipeline module?`,
    );
  }
  if (result.checks) enforceChecks(result.checks);
  await session.stagedRemotely(step.target);
  const content = contentHash(result.content);
  return {
    rows: result.rows,
    bytes: result.bytes,
    ...(content ? { content } : {}),
    ...(result.checks ? { checks: result.checks } : {}),
  };
}

function functionFailure(
  text: string,
  names: { task: string; name: string; timeoutSeconds: unknown },
): GlacierError {
  let failure: Partial<TaskFailure> = {};
  try {
    failure = JSON.parse(text) as TaskFailure;
  } catch {
    failure = { errorMessage: text };
  }
  const message = failure.errorMessage ?? text;
  if (failure.errorType === "Sandbox.Timedout" || /Task timed out after/.test(message)) {
    return new TaskError(
      `task '${names.task}' timed out on Lambda function '${names.name}' after ` +
        `${names.timeoutSeconds} s (its LambdaConfig timeoutSeconds): raise timeoutSeconds (up to ` +
        "900), or declare the task on provider.spark() for work that takes longer",
    );
  }
  const family = remoteErrorFamily(failure.errorType);
  return new family(`task '${names.task}' failed on Lambda function '${names.name}': ${message}`);
}

function invokeFailure(
  error: unknown,
  names: { task: string; name: string; endpoint: string; attempts: number },
): GlacierError {
  const e = error as { name?: string; message?: string; code?: string };
  const text = `${e.message ?? ""} ${e.code ?? ""}`;
  if (e.name === "ResourceNotFoundException") {
    return new StorageError(
      `Lambda function '${names.name}' for task '${names.task}' does not exist at ` +
        `${names.endpoint}: deploy it (glacier MODULE generate, then terraform apply), or start ` +
        "the local stack with glacier stack up --module MODULE and source .glacier/stack.env",
    );
  }
  if (e.name === "TooManyRequestsException") {
    return new TaskError(
      `Lambda throttled task '${names.task}' (function '${names.name}') ${names.attempts} times; ` +
        "raise the function's concurrency limit or run fewer steps at once (concurrency option)",
    );
  }
  if (
    /ECONNREFUSED|ENOTFOUND|ETIMEDOUT|ECONNRESET|error sending request|Connection refused/i.test(
      text,
    )
  ) {
    return new StorageError(
      `cannot reach Lambda at ${names.endpoint} to run task '${names.task}' (function ` +
        `'${names.name}'); is AWS_ENDPOINT_URL_LAMBDA right? For the local stack: glacier ` +
        "stack up --module MODULE, then source .glacier/stack.env",
    );
  }
  return new TaskError(
    `invoking Lambda function '${names.name}' for task '${names.task}' failed: ${
      e.name ?? "Error"
    }: ${(e.message ?? "").split("\n")[0]}`,
  );
}

/** Bytes of memory a function needs before any data: the Deno runtime, polars and the SDK. */
const BASE_MEMORY_BYTES = 200 * 1024 * 1024;
/** How much larger than its file an input grows in memory, by format. */
const EXPANSION: Readonly<Record<string, number>> = {
  parquet: 4,
  ipc: 1.5,
  arrow: 1.5,
  csv: 1.5,
  ndjson: 1.5,
  jsonl: 1.5,
};

/**
 * Refuses, before the run, serverless steps whose inputs that already exist in S3 clearly exceed
 * their function's memory.
 *
 * @param graph the pipeline about to run.
 * @throws {UnsupportedError} naming the task, the sizes and what to do.
 */
export async function preflightLambda(graph: PipelineGraph): Promise<void> {
  const produced = new Set(graph.steps.map((s) => s.target.location));
  const { S3Storage } = await import("../../io/s3/s3_storage.ts");
  for (const step of graph.steps) {
    if (step.task.resource.kind !== "serverless") continue;
    const memoryMb = settingsOf(step.task.resource, "serverless").memoryMb;
    let needed = BASE_MEMORY_BYTES;
    let read = 0;
    for (const ref of Object.values(step.sources)) {
      if (produced.has(ref.location)) continue;
      const head = await new S3Storage(ref.settings.region).head(ref.bucket, ref.path);
      if (!head) continue;
      read += head.size;
      const ext = ref.path.slice(ref.path.lastIndexOf(".") + 1).toLowerCase();
      needed += head.size * (EXPANSION[ext] ?? 2);
    }
    if (needed > memoryMb * 1024 * 1024) {
      const mb = (n: number) => Math.ceil(n / (1024 * 1024));
      throw new UnsupportedError(
        `task '${step.task.name}' reads ${mb(read)} MB, which needs about ${mb(needed)} MB of ` +
          `memory, more than its Lambda function's ${memoryMb} MB. Nothing was read or written. ` +
          "Raise LambdaConfig memoryMb (up to 10240), or declare the task on provider.spark()",
      );
    }
  }
}

/**
 * Cloud mode's executor for serverless tasks: one invocation per partition, up to the run's
 * `invocations` at once; each task gets its partition's key values, and reads every partition of
 * an input, or a window of them, as the event's `parts`.
 */
export const lambdaExecutor: RemoteExecutor = {
  run: runOnLambda,
  preflight: preflightLambda,
  reads: { all: true, lookback: true },
  partitionKeys: true,
  invocations: true,
};
