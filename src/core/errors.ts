/**
 * Error families. Each names the task, bucket, column or file it is about and says what to do.
 *
 * @module
 */

/** Base class of every error Glacier raises on purpose. */
export class GlacierError extends Error {
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

/** A feature that a mode or target does not support. */
export class UnsupportedError extends GlacierError {}
