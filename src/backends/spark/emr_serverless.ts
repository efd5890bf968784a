/**
 * Spark jobs on AWS EMR Serverless: the runner (`runner.py`) and the job file go to the artifacts
 * location in S3, `StartJobRun` starts the runner with the job, `GetJobRun` is polled until the
 * run ends, and the runner's answer (written next to the job) gives the rows and bytes, or Spark's
 * own error.
 *
 * The application, the role and the artifacts location come from the environment, as the
 * generated Terraform's outputs give them:
 *
 * - `GLACIER_EMR_APPLICATION_ID`: the EMR Serverless application (`spark_application_id`);
 * - `GLACIER_EMR_EXECUTION_ROLE_ARN`: the role the job runs as; it reads the inputs and the
 *   artifacts, and writes the run's staging keys and `.glacier/scratch/` in the output's bucket;
 * - `GLACIER_EMR_ARTIFACTS`: `s3://bucket/prefix` for the runner, jobs and answers
 *   (`artifacts_bucket`).
 *
 * The endpoint is the standard one: `AWS_ENDPOINT_URL_EMR_SERVERLESS`, else `AWS_ENDPOINT_URL`,
 * else AWS itself.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { UnsupportedError } from "../../core/errors.ts";
import type { SparkBatch, SparkJob } from "./job.ts";
import {
  resultOf,
  type SparkJobFailure,
  type SparkJobResult,
  type SubmitOutcome,
} from "./_submit.ts";
import { env } from "../../core/env.ts";

/** Where and as whom jobs run on EMR Serverless. */
export interface EmrServerlessConfig {
  /** The application id. */
  readonly applicationId: string;
  /** The execution role's ARN. */
  readonly executionRoleArn: string;
  /** `s3://bucket/prefix` where the runner, the jobs and their answers are written. */
  readonly artifacts: string;
  /** The region. */
  readonly region: string;
  /** The endpoint URL, or the AWS regional endpoint. */
  readonly endpoint: string;
}

/** The variables that configure EMR Serverless, for messages. */
export const EMR_VARIABLES: readonly string[] = [
  "GLACIER_EMR_APPLICATION_ID",
  "GLACIER_EMR_EXECUTION_ROLE_ARN",
  "GLACIER_EMR_ARTIFACTS",
];

/**
 * Whether the environment asks for EMR Serverless: its application id or its endpoint is set.
 *
 * @returns `true` when `GLACIER_EMR_APPLICATION_ID` or `AWS_ENDPOINT_URL_EMR_SERVERLESS` is set.
 */
export function emrServerlessRequested(): boolean {
  return env("GLACIER_EMR_APPLICATION_ID") !== undefined ||
    env("AWS_ENDPOINT_URL_EMR_SERVERLESS") !== undefined;
}

/**
 * The EMR Serverless configuration from the environment.
 *
 * @param region the provider's region; `AWS_REGION` wins when set.
 * @param task the task that needs it, for messages.
 * @returns the configuration.
 * @throws {UnsupportedError} naming every variable that is missing or malformed.
 */
export function emrServerlessConfig(region: string, task: string): EmrServerlessConfig {
  const missing = EMR_VARIABLES.filter((name) => env(name) === undefined);
  if (missing.length > 0) {
    throw new UnsupportedError(
      `task '${task}' runs on EMR Serverless, which needs ${missing.join(", ")}: set them from ` +
        "the generated Terraform's outputs (spark_application_id, a role that can run the job, " +
        "and s3://<artifacts_bucket>/glacier), or name a self-managed Spark with " +
        "SparkConfig({ master }) or SPARK_MASTER",
    );
  }
  const artifacts = env("GLACIER_EMR_ARTIFACTS")!.replace(/\/+$/, "");
  if (!/^s3:\/\/[^/]+/.test(artifacts)) {
    throw new UnsupportedError(
      `GLACIER_EMR_ARTIFACTS must be an s3://bucket/prefix URI, got '${artifacts}'`,
    );
  }
  const resolved = env("AWS_REGION") ?? env("AWS_DEFAULT_REGION") ?? region;
  return {
    applicationId: env("GLACIER_EMR_APPLICATION_ID")!,
    executionRoleArn: env("GLACIER_EMR_EXECUTION_ROLE_ARN")!,
    artifacts,
    region: resolved,
    endpoint: env("AWS_ENDPOINT_URL_EMR_SERVERLESS") ?? env("AWS_ENDPOINT_URL") ??
      `https://emr-serverless.${resolved}.amazonaws.com`,
  };
}

/** Where one job run's files are in S3. */
export interface JobFiles {
  /** The runner: `<artifacts>/spark/runner-<sha256 prefix>.py`, shared by every job. */
  readonly runner: string;
  /** The job: `<artifacts>/spark/jobs/<run>/<task>.json`. */
  readonly job: string;
  /** The runner's answer: `<artifacts>/spark/jobs/<run>/<task>.result.json`. */
  readonly result: string;
}

/**
 * Where a run's job files go.
 *
 * @param artifacts the artifacts location, `s3://bucket/prefix`.
 * @param runId the run's id.
 * @param task the task's name.
 * @param runnerSha256 the runner's SHA-256, hex.
 * @returns the three URIs.
 */
export function jobFiles(
  artifacts: string,
  runId: string,
  task: string,
  runnerSha256: string,
): JobFiles {
  const base = `${artifacts}/spark`;
  const name = encodeURIComponent(task);
  return {
    runner: `${base}/runner-${runnerSha256.slice(0, 16)}.py`,
    job: `${base}/jobs/${runId}/${name}.json`,
    result: `${base}/jobs/${runId}/${name}.result.json`,
  };
}

/** The resources a task's `SparkConfig` asks for. */
export interface SparkResources {
  /** Executors. */
  readonly executors: number;
  /** Memory per executor, such as `4g`. */
  readonly executorMemory: string;
  /** The task's timeout in seconds, after which EMR Serverless cancels the run itself. */
  readonly timeoutSeconds?: number;
}

/** The `StartJobRun` request, in the SDK's shape. */
export interface StartJobRunRequest {
  /** The application. */
  readonly applicationId: string;
  /** The role. */
  readonly executionRoleArn: string;
  /** The run's name. */
  readonly name: string;
  /** Makes a retried request start one run only. */
  readonly clientToken: string;
  /** The runner and its arguments. */
  readonly jobDriver: {
    readonly sparkSubmit: {
      readonly entryPoint: string;
      readonly entryPointArguments: string[];
      readonly sparkSubmitParameters: string;
    };
  };
  /** Tags that say what the run is. */
  readonly tags: Record<string, string>;
  /** The longest the run may take, in whole minutes, before EMR Serverless cancels it. */
  readonly executionTimeoutMinutes?: number;
}

/**
 * The `StartJobRun` request for a job (or a batch of jobs), as the generated Terraform's state
 * machine starts it.
 *
 * @param job the job or batch.
 * @param runId the run's id.
 * @param config the application and role.
 * @param resources executors and their memory.
 * @param files where the runner, the job and its answer are.
 * @returns the request.
 */
export function startJobRunRequest(
  job: SparkJob | SparkBatch,
  runId: string,
  config: EmrServerlessConfig,
  resources: SparkResources,
  files: JobFiles,
): StartJobRunRequest {
  return {
    applicationId: config.applicationId,
    executionRoleArn: config.executionRoleArn,
    name: `glacier:${job.task}`.slice(0, 256),
    clientToken: clientToken(runId, job.task),
    jobDriver: {
      sparkSubmit: {
        entryPoint: files.runner,
        entryPointArguments: [files.job, "--result", files.result],
        sparkSubmitParameters: [
          "--conf spark.dynamicAllocation.enabled=false",
          `--conf spark.executor.instances=${resources.executors}`,
          `--conf spark.executor.memory=${resources.executorMemory}`,
        ].join(" "),
      },
    },
    tags: { "glacier:task": job.task.slice(0, 256), "glacier:run": runId.slice(0, 256) },
    ...(resources.timeoutSeconds === undefined
      ? {}
      : { executionTimeoutMinutes: Math.max(1, Math.ceil(resources.timeoutSeconds / 60)) }),
  };
}

/**
 * The idempotency token of a run's job: `RUN:TASK`, or, when that is longer than the 64
 * characters EMR Serverless takes, the run and a hash of the name (two jobs of one run must never
 * share one: the second would be answered with the first's job run).
 */
function clientToken(runId: string, task: string): string {
  const token = `${runId}:${task}`;
  if (token.length <= 64) return token;
  const hash = createHash("sha256").update(task).digest("hex");
  return `${runId.slice(0, 40)}:${hash}`.slice(0, 64);
}

/** The end of a job run, or that it still runs. */
export type JobRunProgress =
  | { readonly done: false; readonly state: string }
  | {
    readonly done: true;
    readonly succeeded: boolean;
    readonly state: string;
    readonly details: string;
  };

/**
 * What a `GetJobRun` answer says: still running, or ended, how, and why.
 *
 * @param jobRun the answer's `jobRun`.
 * @returns the progress.
 */
export function jobRunProgress(
  jobRun: { state?: string; stateDetails?: string } | undefined,
): JobRunProgress {
  const state = jobRun?.state ?? "UNKNOWN";
  const details = jobRun?.stateDetails ?? "";
  switch (state) {
    case "SUCCESS":
      return { done: true, succeeded: true, state, details };
    case "FAILED":
    case "CANCELLED":
      return { done: true, succeeded: false, state, details };
    default:
      return { done: false, state };
  }
}

/** The calls a run makes, so that tests can stand in for AWS where no real server exists. */
export interface EmrServerlessDeps {
  /** Sends `StartJobRun`; answers the job run's id. */
  startJobRun(request: StartJobRunRequest): Promise<string>;
  /** Sends `CancelJobRun`. */
  cancelJobRun(applicationId: string, jobRunId: string): Promise<void>;
  /** Sends `GetJobRun`; answers its `jobRun`. */
  getJobRun(
    applicationId: string,
    jobRunId: string,
  ): Promise<{ state?: string; stateDetails?: string } | undefined>;
  /** Writes text to an `s3://` URI, unless `onlyIfMissing` and it exists. */
  put(uri: string, text: string, onlyIfMissing?: boolean): Promise<void>;
  /** Reads an `s3://` URI's text, or `undefined` when it does not exist. */
  get(uri: string): Promise<string | undefined>;
  /** Waits. */
  sleep(ms: number): Promise<void>;
}

/** How {@linkcode runJobOnEmrServerless} reports a run's states. */
export interface EmrRunOptions {
  /** Called with the job run's id once it started, and with each new state. */
  readonly onState?: (jobRunId: string, state: string) => void;
  /** The first wait between polls, in milliseconds (2000 by default); it grows to 30 s. */
  readonly pollMs?: number;
  /** When aborted (the task's timeout passed), the run is cancelled and polling stops. */
  readonly signal?: AbortSignal;
}

/** A finished job run: the runner's outcome and the run's id. */
export type EmrRunOutcome = SubmitOutcome & { readonly jobRunId: string };

/**
 * Runs a job (or a batch of jobs, in one job run) on EMR Serverless and waits for it: uploads the
 * runner (once per version) and the job, starts the run, polls it with a growing interval, and
 * reads the runner's answer.
 *
 * @param job the job or batch.
 * @param runId the run's id.
 * @param config the application, role and artifacts location.
 * @param resources executors and their memory.
 * @param runner the runner's source.
 * @param deps the AWS calls; {@linkcode awsDeps} for the real ones.
 * @param options progress reporting and polling.
 * @returns the runner's result or failure, with the job run's id.
 */
export async function runJobOnEmrServerless(
  job: SparkJob | SparkBatch,
  runId: string,
  config: EmrServerlessConfig,
  resources: SparkResources,
  runner: string,
  deps: EmrServerlessDeps,
  options: EmrRunOptions = {},
): Promise<EmrRunOutcome> {
  const sha = createHash("sha256").update(runner).digest("hex");
  const files = jobFiles(config.artifacts, runId, job.task, sha);
  await deps.put(files.runner, runner, true);
  await deps.put(files.job, JSON.stringify(job));
  const jobRunId = await deps.startJobRun(
    startJobRunRequest(job, runId, config, resources, files),
  );
  options.onState?.(jobRunId, "SUBMITTED");
  let wait = options.pollMs ?? 2000;
  let last = "SUBMITTED";
  for (;;) {
    await deps.sleep(wait);
    if (options.signal?.aborted) {
      await deps.cancelJobRun(config.applicationId, jobRunId);
      options.onState?.(jobRunId, "CANCELLING");
      return {
        ok: false,
        failure: {
          error: `job run ${jobRunId} was cancelled: the task's timeout passed`,
          type: "TaskError",
        },
        jobRunId,
      };
    }
    wait = Math.min(wait * 1.5, 30_000);
    const progress = jobRunProgress(await deps.getJobRun(config.applicationId, jobRunId));
    if (progress.state !== last) {
      last = progress.state;
      options.onState?.(jobRunId, progress.state);
    }
    if (!progress.done) continue;
    const text = await deps.get(files.result);
    const answer = text === undefined
      ? undefined
      : JSON.parse(text) as Partial<SparkJobResult & SparkJobFailure>;
    if (answer?.error !== undefined) {
      return {
        ok: false,
        failure: { error: answer.error, type: answer.type ?? "TaskError" },
        jobRunId,
      };
    }
    const result = resultOf(
      typeof answer?.rows === "number" ? { ...answer, bytes: answer.bytes ?? 0 } : undefined,
    );
    if (progress.succeeded && result) return { ok: true, result, jobRunId };
    const why = progress.details ? `: ${progress.details}` : "";
    return {
      ok: false,
      failure: {
        error: progress.succeeded
          ? `the job run succeeded but the runner left no answer at ${files.result}`
          : `the job run ended ${progress.state}${why} (the runner left no answer at ` +
            `${files.result}; see the run's logs in EMR Studio)`,
        type: "TaskError",
      },
      jobRunId,
    };
  }
}

/**
 * The real AWS calls: EMR Serverless through `@aws-sdk/client-emr-serverless`, S3 through
 * Glacier's S3 client.
 *
 * @param config the endpoint and region.
 * @returns the calls.
 */
export async function awsDeps(config: EmrServerlessConfig): Promise<EmrServerlessDeps> {
  const { CancelJobRunCommand, EMRServerlessClient, GetJobRunCommand, StartJobRunCommand } =
    await import("./_sdk.ts");
  const { S3Storage } = await import("../../io/s3/s3_storage.ts");
  const client = new EMRServerlessClient({
    region: config.region,
    endpoint: config.endpoint,
    maxAttempts: 5,
  });
  const storage = new S3Storage(config.region);
  const split = (uri: string) => {
    const rest = uri.slice("s3://".length);
    const at = rest.indexOf("/");
    return { bucket: rest.slice(0, at), key: rest.slice(at + 1) };
  };
  return {
    async startJobRun(request) {
      const out = await client.send(new StartJobRunCommand(request));
      return out.jobRunId!;
    },
    async cancelJobRun(applicationId, jobRunId) {
      await client.send(new CancelJobRunCommand({ applicationId, jobRunId }));
    },
    async getJobRun(applicationId, jobRunId) {
      const out = await client.send(new GetJobRunCommand({ applicationId, jobRunId }));
      return out.jobRun;
    },
    async put(uri, text, onlyIfMissing = false) {
      const { bucket, key } = split(uri);
      if (onlyIfMissing && await storage.head(bucket, key)) return;
      const dir = await Deno.makeTempDir({ prefix: "glacier-emr-" });
      try {
        const file = join(dir, "object");
        await Deno.writeTextFile(file, text);
        await storage.upload(file, bucket, key);
      } finally {
        await Deno.remove(dir, { recursive: true }).catch(() => {});
      }
    },
    async get(uri) {
      const { bucket, key } = split(uri);
      if (!(await storage.head(bucket, key))) return undefined;
      const dir = await Deno.makeTempDir({ prefix: "glacier-emr-" });
      try {
        const file = join(dir, "object");
        await storage.download(bucket, key, file);
        return await Deno.readTextFile(file);
      } finally {
        await Deno.remove(dir, { recursive: true }).catch(() => {});
      }
    },
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  };
}
