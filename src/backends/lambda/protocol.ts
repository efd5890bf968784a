/**
 * What cloud mode sends a Glacier Lambda function and what it answers: plain JSON, shared by the
 * invoker and the runtime.
 *
 * @module
 */

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
}

/** What a successful invocation returns. */
export interface TaskResult {
  /** Rows written. */
  readonly rows: number;
  /** Bytes written. */
  readonly bytes: number;
  /** Seconds the task took inside the function. */
  readonly seconds: number;
}

/** What a failed invocation returns, as the Lambda runtime API reports errors. */
export interface TaskFailure {
  /** The error's class, such as `TaskError` or `SchemaMismatchError`. */
  readonly errorType: string;
  /** The error's message. */
  readonly errorMessage: string;
}
