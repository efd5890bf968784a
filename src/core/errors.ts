/**
 * Error families. Each names the task, bucket, column or file it is about and says what to do.
 *
 * @module
 */
import type { CheckResult, RunReport } from "./reports.ts";

/**
 * The useful part of an error thrown by polars or the runtime.
 *
 * @param error anything thrown.
 * @returns its message's first line, trimmed.
 */
export function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split("\n").map((l) => l.trim()).find((l) => l.length > 0) ?? "unknown error";
}

/** Base class of every error Glacier raises on purpose. */
export class GlacierError extends Error {
  /** For a run that failed: what each step did, and why (status `failed`). */
  report?: RunReport;
  /**
   * An error that says what went wrong and what to do.
   *
   * @param message what went wrong, naming the thing it is about, and what to do.
   * @param options the underlying cause, if any.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A wiring mistake: a pipeline whose buckets and tasks do not fit together. */
export class WiringError extends GlacierError {}

/** Data whose schema differs from what a bucket or a task declares. */
export class SchemaMismatchError extends GlacierError {}

/** A storage problem: a missing object, a corrupt file, a failed write. */
export class StorageError extends GlacierError {}

/** A bucket that has no data yet: nothing was written to it and no run produced it. */
export class NoDataError extends StorageError {}

/** A task whose code threw, or whose plan polars could not run. */
export class TaskError extends GlacierError {}

/** A task ran longer than its timeout; the run failed and published nothing. */
export class TaskTimeoutError extends TaskError {}

/**
 * Deployed code built from another version of a task than the module's: a Lambda function or a
 * Spark artifact that must be redeployed before the run can use it.
 */
export class StaleDeploymentError extends GlacierError {}

/**
 * A quality check of severity `error` failed on a bucket's staged output (or on an input when it
 * was read): the run fails and publishes nothing. `results` holds every check run on that
 * bucket version, the failed ones and the others.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CheckFailedError } from "@glacier/glacier";
 * const error = CheckFailedError.of([{
 *   name: "not_null(model)",
 *   bucket: "lab/out/readings.parquet",
 *   severity: "error",
 *   passed: false,
 *   failingRows: 1,
 *   sample: [{ model: null, celsius: 21.5 }],
 * }]);
 * assert.ok(error?.message.startsWith(
 *   "check 'not_null(model)' failed on bucket 'lab/out/readings.parquet': 1 row fails",
 * ));
 * ```
 */
export class CheckFailedError extends GlacierError {
  /** Every check run on the bucket version, passed or not. */
  readonly results: readonly CheckResult[];

  /**
   * A failed check. Use {@linkcode CheckFailedError.of} to make one from results.
   *
   * @param message what failed, naming the check, the bucket and the rows.
   * @param options the results (default: the cause's, when it is a `CheckFailedError`).
   */
  constructor(
    message: string,
    options?: ErrorOptions & { readonly results?: readonly CheckResult[] },
  ) {
    super(message, options);
    const cause = options?.cause;
    this.results = options?.results ??
      (cause instanceof CheckFailedError ? cause.results : []);
  }

  /**
   * The error for a bucket version's results, when a check of severity `error` failed.
   *
   * @param results the results of every check run on one bucket version.
   * @returns the error, naming each failed check, the bucket, how many rows failed and up to five
   *   of them; `undefined` when every `error` check passed.
   */
  static of(results: readonly CheckResult[]): CheckFailedError | undefined {
    const failed = results.filter((r) => !r.passed && r.severity === "error");
    if (failed.length === 0) return undefined;
    return new CheckFailedError(failed.map(failureText).join("\n"), { results });
  }
}

function failureText(result: CheckResult): string {
  const head = `check '${result.name}' failed on bucket '${result.bucket}'`;
  if (result.sample.length === 0) {
    return result.name.startsWith("row_count(")
      ? `${head}: it has ${result.failingRows} row${result.failingRows === 1 ? "" : "s"}`
      : `${head}: ${result.failingRows} row${result.failingRows === 1 ? " fails" : "s fail"}`;
  }
  const n = result.failingRows;
  const shown = result.sample.length < n ? `the first ${result.sample.length}` : "they are";
  return `${head}: ${n} row${n === 1 ? " fails" : "s fail"}; ${n === 1 ? "it is" : shown}:\n` +
    result.sample.map((row) => `  ${JSON.stringify(row)}`).join("\n");
}

/** A feature that a mode or target does not support. */
export class UnsupportedError extends GlacierError {}

/**
 * A run whose outputs could not all be published. `changed` lists the buckets that now hold this
 * run's outputs (none, when everything placed was put back), `unchanged` the ones that do not.
 */
export class CommitError extends StorageError {
  /** Buckets (`bucket/path`) that hold this run's outputs now. */
  readonly changed: readonly string[];
  /** Buckets of this run that kept their previous data. */
  readonly unchanged: readonly string[];
  /** What failed, without the list of changes. */
  readonly reasonText: string;
  /** What completes the run later, when it left a journal to finish it. */
  readonly pending?: string;

  /**
   * A commit that failed, with exactly which buckets changed.
   *
   * @param reason what failed, naming the bucket and the file or object.
   * @param changed buckets that hold this run's outputs now.
   * @param unchanged buckets that kept their previous data.
   * @param pending what completes the run later, when the run left a journal to finish it.
   * @param options the underlying cause.
   */
  constructor(
    reason: string,
    changed: readonly string[],
    unchanged: readonly string[],
    pending?: string,
    options?: ErrorOptions,
  ) {
    super(commitMessage(reason, changed, unchanged, pending), options);
    this.reasonText = reason;
    this.pending = pending;
    this.changed = changed;
    this.unchanged = unchanged;
  }
}

function commitMessage(
  reason: string,
  changed: readonly string[],
  unchanged: readonly string[],
  pending: string | undefined,
): string {
  const list = (names: readonly string[]) => names.map((n) => `'${n}'`).join(", ");
  if (changed.length === 0) return `${reason}; no bucket was changed`;
  const kept = unchanged.length > 0 ? ` and ${list(unchanged)} kept its previous data` : "";
  return `${reason}; ${list(changed)} now hold this run's outputs${kept}` +
    (pending ? `; ${pending}` : "");
}

/** The families a task running elsewhere (a Lambda function, a Spark job) can report, by name. */
const REMOTE_FAMILIES: Readonly<Record<string, new (message: string) => GlacierError>> = {
  SchemaMismatchError,
  NoDataError,
  StorageError,
  StaleDeploymentError,
  UnsupportedError,
  WiringError,
};

/**
 * The error family a remote task reported by name, so that a failure on Lambda or Spark is the
 * same kind of error it would be in this process; anything else is a task failure.
 *
 * @param name the family's name as the remote side reported it, such as `SchemaMismatchError`.
 * @returns the family.
 */
export function remoteErrorFamily(name: string | undefined): new (message: string) => GlacierError {
  return REMOTE_FAMILIES[name ?? ""] ?? TaskError;
}
