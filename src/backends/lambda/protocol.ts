/**
 * What cloud mode sends a Glacier Lambda function and what it answers: plain JSON, shared by the
 * invoker and the runtime.
 *
 * @module
 */
import type { CheckResult, FailedPartition, RunReport } from "../../core/reports.ts";

/** An S3 object. */
export interface ObjectLocation {
  /** The S3 bucket. */
  readonly bucket: string;
  /** The key. */
  readonly key: string;
}

/** One partition of an input, where it is. */
export interface PartLocation extends ObjectLocation {
  /** The partition's values, which the task gets as String columns. */
  readonly partition: Readonly<Record<string, string>>;
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
  /**
   * For an input read as several partitions (every partition into an unpartitioned target, or a
   * window of them): each partition, read with its keys as String columns and concatenated, as
   * in local mode. An input named here is not in `inputs`.
   */
  readonly parts?: Readonly<Record<string, readonly PartLocation[]>>;
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
  /**
   * `sha256:HEX` of exactly the bytes the function uploaded to the output's key, so that an
   * output with the bytes its bucket holds keeps its version and the steps downstream are up to
   * date. A function that answers none is compared with the bucket's object instead.
   */
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
 * A handler of a deployed run, as the generated state machine calls it: `begin` takes the locks,
 * selects the partitions and records the run; `step` decides a step (at one partition), runs it
 * in this invocation unless it is up to date, and records it; `decide` and `record` bracket a
 * step whose job runs elsewhere (a Spark job); `fail` records a partition that failed, so the
 * others go on; `commit` publishes; `abort` drops what the run staged and records its failure.
 */
export interface DeployedRunEvent {
  /** The protocol version. */
  readonly glacier: 1;
  /** The handler. */
  readonly deployed: "begin" | "step" | "decide" | "record" | "fail" | "commit" | "abort";
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
  /**
   * `begin`: the execution's input. `{ "partitions": { ... } }` selects partitions, as
   * `run({ partitions })` does; `{ "scheduledTime": "..." }` (what the schedule sends) selects the
   * ones that time completes; anything else, the ones the execution's start completes.
   */
  readonly input?: unknown;
  /** `begin`: when the execution started, ISO 8601. */
  readonly startTime?: string;
  /** `step`, `decide`, `record`, `fail`: the partition, for a step that writes partitions. */
  readonly partition?: Readonly<Record<string, string>>;
  /** `begin`: recompute every step (`true`) or the named tasks'. */
  readonly force?: boolean | readonly string[];
  /** `record`: what `decide` answered. */
  readonly decision?: unknown;
  /** `abort`, `fail`: the error the state machine caught (`{ Error, Cause }`). */
  readonly error?: unknown;
}

/** What `begin` answers. */
export interface BeginResult {
  /** The run's id, which every later handler is given. */
  readonly runId: string;
  /** The partitions the run's partitioned steps compute: the `Map` state's items. */
  readonly partitions: readonly Readonly<Record<string, string>>[];
}

/** What `commit` answers: the run's report, with every field the state machine selects. */
export interface CommitResult extends RunReport {
  /** The partitions that failed, with their errors; empty when none did. */
  readonly failedPartitions: readonly FailedPartition[];
  /** What went wrong; empty when the run succeeded. */
  readonly error: string;
}
