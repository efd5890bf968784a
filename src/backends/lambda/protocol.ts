/**
 * What cloud mode sends a Glacier Lambda function and what it answers: plain JSON, shared by the
 * invoker and the runtime.
 *
 * @module
 */
import type { CheckResult } from "../../core/reports.ts";

/** An S3 object. */
export interface ObjectLocation {
  /** The S3 bucket. */
  readonly bucket: string;
  /** The key. */
  readonly key: string;
}

/** One task invocation. */
export interface TaskEvent {
  /** The protocol version. */
  readonly glacier: 1;
  /** The task to run, by name. */
  readonly task: string;
  /** The run it belongs to. */
  readonly run: string;
  /** Where each input is, by input name (`input` for single-source tasks). */
  readonly inputs: Readonly<Record<string, ObjectLocation>>;
  /** Where to write the output (the run's staging key for the target bucket). */
  readonly output: ObjectLocation;
  /**
   * The partition the task computes, `{ date: "2026-01-03" }`, for a partitioned target: the task
   * gets it as its key values, and each partitioned input (that partition of it) its keys as
   * String columns. Absent for an unpartitioned target.
   */
  readonly partition?: Readonly<Record<string, string>>;
  /**
   * The task's code fingerprint in the module the run uses: a function built from another version
   * of the task refuses the event before it reads anything.
   */
  readonly fingerprint?: string;
}

/** What a successful invocation returns. */
export interface TaskResult {
  /** Rows written. */
  readonly rows: number;
  /** Bytes written. */
  readonly bytes: number;
  /** Seconds the task took inside the function. */
  readonly seconds: number;
  /** `sha256:HEX` of the output as written. */
  readonly content?: string;
  /**
   * The target bucket's quality checks, run inside the function on the output it wrote: present
   * when the bucket has checks. When a check of severity `error` failed, the function uploaded
   * nothing.
   */
  readonly checks?: readonly CheckResult[];
}

/** What a failed invocation returns, as the Lambda runtime API reports errors. */
export interface TaskFailure {
  /** The error's class, such as `TaskError` or `SchemaMismatchError`. */
  readonly errorType: string;
  /** The error's message. */
  readonly errorMessage: string;
}

/**
 * A handler of a deployed run, as the generated state machine calls it: `begin` takes the locks
 * and records the run; `step` decides a step, runs it in this invocation unless it is up to date,
 * and records it; `decide` and `record` bracket a step whose job runs elsewhere (a Spark job);
 * `commit` publishes; `abort` drops what the run staged and records its failure.
 */
export interface DeployedRunEvent {
  /** The protocol version. */
  readonly glacier: 1;
  /** The handler. */
  readonly deployed: "begin" | "step" | "decide" | "record" | "commit" | "abort";
  /** The pipeline, by name. */
  readonly pipeline: string;
  /**
   * The state bucket of the deployment (generated Terraform's), when the pipeline's `AwsConfig`
   * names none: it stands for `GLACIER_STATE_BUCKET`.
   */
  readonly stateBucket?: string;
  /** The run, as `begin` answered it (every handler but `begin`). */
  readonly run?: string;
  /** The step's task (`step`, `decide`, `record`). */
  readonly task?: string;
  /** `begin`: what holds the run's locks, for messages (the state machine execution). */
  readonly execution?: string;
  /** `begin`: recompute every step (`true`) or the named tasks'. */
  readonly force?: boolean | readonly string[];
  /** `record`: what `decide` answered. */
  readonly decision?: unknown;
  /** `abort`: the error the state machine caught (`{ Error, Cause }`). */
  readonly error?: unknown;
}

/** What `begin` answers. */
export interface BeginResult {
  /** The run's id, which every later handler is given. */
  readonly runId: string;
}
