/**
 * What each run mode returns. The targets fill these in; the types live here so that
 * `bucket.run()` is typed without the builder importing any target.
 *
 * @module
 */

/** The storage a run or a direct read/write uses. */
export type StorageMode = "local" | "cloud";

/**
 * Which partitions a run covers, by key: one value, several (an array), or a range whose `to` is
 * included. A key left out covers every partition from its start to the last complete one.
 */
export type PartitionSelection = Readonly<
  Record<string, string | readonly string[] | { readonly from: string; readonly to: string }>
>;

/** Options for `run({ mode: "local" })` and `run({ mode: "cloud" })`. */
export interface ExecuteOptions {
  /** `local`: in-process on the filesystem; `cloud`: each task on its resource, S3 storage. */
  readonly mode: StorageMode;
  /** How many independent steps (or partitions of steps) may run at once in-process (default: 2). */
  readonly concurrency?: number;
  /**
   * In cloud mode, how many invocations of serverless tasks (one per partition) may run at once,
   * beside the in-process steps (default: 8).
   */
  readonly invocations?: number;
  /** Print nothing (default: progress and a summary on stderr). */
  readonly quiet?: boolean;
  /**
   * Seconds to wait for another run that writes one of the same buckets (default 0: refuse at
   * once, naming that run).
   */
  readonly wait?: number;
  /**
   * Recompute instead of skipping what is up to date: `true` for every step, or the names of the
   * tasks to recompute (default: skip every step whose output is up to date).
   */
  readonly force?: boolean | readonly string[];
  /**
   * The partitions to compute, by key (CLI `--partition date=2026-01-01..2026-01-31`); default:
   * every partition from each key's start to the last complete one whose inputs exist.
   */
  readonly partitions?: PartitionSelection;
}

/** Options for the data-free check. */
export interface CheckOptions {
  /** Runs every task on empty frames of its input schema and compares its real output schema. */
  readonly mode: "check";
}

/** Options for Terraform generation. */
export interface GenerateOptions {
  /** Writes Terraform for the pipeline. */
  readonly mode: "generate";
  /** The directory to write to. */
  readonly outputDir: string;
  /**
   * When to run the pipeline on its own: an EventBridge Scheduler expression such as
   * `rate(1 day)`, `cron(0 6 * * ? *)` or `at(2030-01-01T06:00:00)`. Without it, runs start by
   * hand (`aws stepfunctions start-execution`).
   */
  readonly schedule?: string;
  /**
   * For a pipeline with partitioned steps: how many partitions its state machine's `Map` state
   * runs at once (default 8). A scheduled execution runs the partitions its time completes; an
   * execution started by hand with `{"partitions": {...}}` runs that selection, a range of days
   * among them.
   */
  readonly partitionConcurrency?: number;
  /** The pipeline module (a path or URL), for the artifacts built from its code. */
  readonly module?: string;
}

/** Options for cost analysis. */
export interface AnalyzeOptions {
  /** Estimates the pipeline's cost before it runs. */
  readonly mode: "analyze";
  /** Where to look for the real sizes of input buckets (default `local`). */
  readonly storage?: StorageMode;
  /**
   * Estimate each task as generated Terraform deploys it (a local task as a Lambda function with
   * LambdaConfig's defaults), so its warnings say whether it fits there (default `false`: as the
   * run in the provider's cloud mode runs it).
   */
  readonly asDeployed?: boolean;
  /**
   * The partitions to price, by key, as a run's `partitions` (CLI `--partition
   * date=2026-01-01..2026-01-31`). Default: every partition from each key's start to its end or
   * the last complete one. A partition whose input has no data yet is priced at the size of a
   * typical existing partition of that bucket, else its `sizeHint` (per partition), else the
   * model's default, and the assumptions say so.
   */
  readonly partitions?: PartitionSelection;
}

/** Options for `plan`: what a run would do, without running anything. */
export interface PlanOptions {
  /** Says which steps a run would compute and why, and what that would cost. */
  readonly mode: "plan";
  /** The storage and ledger of the run it predicts (default `local`). */
  readonly storage?: StorageMode;
  /** As the run's `force`. */
  readonly force?: boolean | readonly string[];
  /** As the run's `partitions`. */
  readonly partitions?: PartitionSelection;
}

/** What a run would do with one step. */
export interface PlannedStep {
  /** The task's name. */
  readonly task: string;
  /** The resource kind it runs on, and where. */
  readonly resource: string;
  /** The bucket it writes, as `bucket/path`. */
  readonly target: string;
  /** The partition it would compute, for a partitioned target. */
  readonly partition?: Readonly<Record<string, string>>;
  /**
   * `run` when the step would compute its output, `skip` when it is up to date, `fail` when it
   * cannot run (its input is missing, or a step upstream of it cannot run).
   */
  readonly action: "run" | "skip" | "fail";
  /** Why: one of the fixed reasons of a step report. */
  readonly reason: StepReason;
  /** The estimated cost of computing it, in US dollars (0 when skipped). */
  readonly usd: number;
}

/** What a run would do. */
export interface PlanReport {
  /** The pipeline's name. */
  readonly pipeline: string;
  /** The storage the run would use. */
  readonly mode: StorageMode;
  /** One entry per step, upstream first. */
  readonly steps: readonly PlannedStep[];
  /** The estimated cost of the steps that would run, in US dollars. */
  readonly estimatedUsd: number;
  /** For a partitioned pipeline: how many partitions have a step that would run. */
  readonly partitions?: number;
  /** What to know about the prediction (tasks whose fingerprint uses their source text). */
  readonly notes: readonly string[];
}

/** Any run options. */
export type RunOptions =
  | ExecuteOptions
  | CheckOptions
  | GenerateOptions
  | AnalyzeOptions
  | PlanOptions;

/**
 * Why a step ran, was skipped or failed: one of a closed list (see {@linkcode STEP_REASONS}), or
 * for a failed step the first line of its error.
 */
export type StepReason = string;

/**
 * The fixed reasons a step runs or is skipped; `NAME` stands for an input's name. A failed step's
 * reason is its error's first line.
 */
export const STEP_REASONS = [
  "no previous run",
  "input 'NAME' changed",
  "input changed",
  "task code changed",
  "settings changed",
  "output schema changed",
  "Glacier or polars version changed",
  "output changed outside Glacier",
  "output missing",
  "forced",
  "up to date",
  "upstream failed",
  "input missing",
] as const;

/** What a step did: computed its output, found it up to date, or failed. */
export type StepStatus = "ran" | "skipped" | "failed";

/** The result of one quality check on one bucket version. */
export interface CheckResult {
  /** The check's name: `not_null(model)`, `between(celsius, -60, 60)`, or the name given. */
  readonly name: string;
  /** The bucket checked, as `bucket/path`. */
  readonly bucket: string;
  /** `error` fails the run when the check fails; `warn` reports it. */
  readonly severity: "error" | "warn";
  /** Whether every row passed. */
  readonly passed: boolean;
  /** How many rows failed (for a row-count check: the row count when out of bounds, else 0). */
  readonly failingRows: number;
  /** Up to five failing rows. */
  readonly sample: readonly Record<string, unknown>[];
}

/** What one step of a run did. */
export interface StepReport {
  /** The task's name. */
  readonly task: string;
  /** The resource kind it ran on, and where. */
  readonly resource: string;
  /** The bucket it wrote, as `bucket/path`. */
  readonly target: string;
  /** Ran, skipped (up to date, or not run because an upstream step failed), or failed. */
  readonly status: StepStatus;
  /** Why: see {@linkcode STEP_REASONS}. */
  readonly reason: StepReason;
  /** The step's fingerprint: its task's code fingerprint and its input versions. */
  readonly fingerprint?: string;
  /** The partition it computed, for a partitioned target: `{ date: "2026-01-03" }`. */
  readonly partition?: Readonly<Record<string, string>>;
  /** Rows written (for a skipped step: rows of the version it kept). */
  readonly rows: number;
  /** Bytes written (for a skipped step: bytes of the version it kept). */
  readonly bytes: number;
  /** Wall time of the step in seconds. */
  readonly seconds: number;
  /** When it started, as an ISO 8601 time. */
  readonly startedAt?: string;
  /** The full error message of a failed step. */
  readonly error?: string;
  /** The quality checks run on its output. */
  readonly checks?: readonly CheckResult[];
}

/** What a run did. */
export interface RunReport {
  /** The run's id: in the ledger, in lock messages and in `glacier MODULE runs RUN_ID`. */
  readonly runId: string;
  /** The pipeline's name. */
  readonly pipeline: string;
  /** The mode it ran in. */
  readonly mode: StorageMode;
  /** `succeeded` when every step ran or was up to date and the outputs were published. */
  readonly status: "succeeded" | "failed";
  /** When it started, as an ISO 8601 time. */
  readonly startedAt: string;
  /** One entry per step, in the order they finished (steps that never started last). */
  readonly steps: readonly StepReport[];
  /** Wall time of the whole run in seconds. */
  readonly seconds: number;
  /** The error's message, for a failed run. */
  readonly error?: string;
  /** For a run over partitions: the partitions that failed (each once), with their errors. */
  readonly failedPartitions?: readonly FailedPartition[];
  /**
   * The `--partition` options that retry exactly the failed partitions: `glacier MODULE run`
   * followed by them (the published partitions are then up to date, and skipped).
   */
  readonly retry?: string;
}

/** A partition a run could not publish. */
export interface FailedPartition {
  /** The partition. */
  readonly partition: Readonly<Record<string, string>>;
  /** The task that failed. */
  readonly task: string;
  /** Its error. */
  readonly error: string;
}

/** The data-free check of one task. */
export interface TaskCheck {
  /** The task's name. */
  readonly task: string;
  /** Problems found; empty when the task's real output matches its declaration. */
  readonly issues: readonly string[];
}

/** The result of the data-free check. */
export interface CheckReport {
  /** The pipeline's name. */
  readonly pipeline: string;
  /** `true` when no task has an issue. */
  readonly ok: boolean;
  /** One entry per task, in dependency order. */
  readonly tasks: readonly TaskCheck[];
}

/** The files Terraform generation wrote. */
export interface GenerateReport {
  /** The pipeline's name. */
  readonly pipeline: string;
  /** The directory written to. */
  readonly outputDir: string;
  /** The files written, relative to `outputDir`. */
  readonly files: readonly string[];
  /** What the generated Terraform still needs before it can be applied, such as artifacts. */
  readonly warnings: readonly string[];
}

/** A cost estimate. */
export interface CostEstimate {
  /** Total estimated cost of one run, in US dollars. */
  readonly totalUsd: number;
  /** Estimated cost per task, in US dollars. */
  readonly byTask: Readonly<Record<string, number>>;
  /** The assumptions behind the numbers. */
  readonly assumptions: readonly string[];
}

/** What an estimate says of a piece of work: what it reads and writes, its time and cost. */
export interface EstimateFigures {
  /**
   * Estimated bytes read; for a partition, its own data, its window, every partition or a whole
   * input.
   */
  readonly inputBytes: number;
  /** Estimated rows read. */
  readonly inputRows: number;
  /** Estimated bytes written. */
  readonly outputBytes: number;
  /** Estimated rows written. */
  readonly outputRows: number;
  /** Estimated run time in seconds. */
  readonly seconds: number;
  /** Estimated cost in US dollars. */
  readonly usd: number;
}

/** The estimate of one step. */
export interface StepEstimate extends EstimateFigures {
  /** The task's name. */
  readonly task: string;
  /** The resource kind it runs on. */
  readonly resource: string;
  /**
   * For a step whose target is partitioned: how many partitions it computes in the range; the
   * figures are then their sums.
   */
  readonly partitions?: number;
  /** For a step whose target is partitioned: the estimate of each partition, in order. */
  readonly perPartition?: readonly PartitionEstimate[];
}

/** The estimate of one partition of a step. */
export interface PartitionEstimate extends EstimateFigures {
  /** The partition, `{ date: "2026-01-03" }`. */
  readonly partition: Readonly<Record<string, string>>;
}

/** The result of cost analysis. */
export interface Analysis {
  /** The pipeline's name. */
  readonly pipeline: string;
  /** One estimate per step, in dependency order. */
  readonly steps: readonly StepEstimate[];
  /** For a partitioned pipeline: how many partitions the estimate covers. */
  readonly partitions?: number;
  /** Problems found, such as a serverless task that will not fit Lambda's limits. */
  readonly warnings: readonly string[];
  /**
   * The estimated cost of one run.
   *
   * @returns total, per task, and the assumptions behind them.
   */
  estimatedCost(): CostEstimate;
}

/** The result of `run` for given options. */
export type RunResult<O extends RunOptions> = O extends PlanOptions ? PlanReport
  : O extends CheckOptions ? CheckReport
  : O extends GenerateOptions ? GenerateReport
  : O extends AnalyzeOptions ? Analysis
  : RunReport;

/** Graph renderings. */
export type VisualizeFormat = "mermaid" | "dot" | "ascii";

/** What a direct write stored. */
export interface WriteReport {
  /** Where the data went: a file path or an `s3://` URI. */
  readonly uri: string;
  /** Rows written. */
  readonly rows: number;
  /** Bytes written. */
  readonly bytes: number;
}
