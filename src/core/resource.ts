/**
 * Where a task runs, as the pipeline graph records it.
 *
 * @module
 */

/** The kinds of execution resource a task can be declared on. */
export type ResourceKind = "local" | "serverless" | "spark";

/** An execution resource as the graph sees it: its kind, a name and its settings as plain data. */
export interface ResourceInfo {
  /** `local` (in-process), `serverless` (AWS Lambda) or `spark` (Apache Spark, EMR Serverless). */
  readonly kind: ResourceKind;
  /** A readable name, such as `lambda(1024 MB, 300 s)`. */
  readonly label: string;
  /** The resource's configuration, as plain data. */
  readonly settings: Readonly<Record<string, unknown>>;
  /**
   * The longest, in seconds, a task on this resource may run before the run fails, in every mode
   * (`SparkConfig({ timeoutSeconds })`); a task's own `timeoutSeconds` may lower it.
   */
  readonly timeoutSeconds?: number;
  /**
   * The most a task's `timeoutSeconds` may be: Lambda's function timeout, which Lambda enforces
   * itself in cloud mode.
   */
  readonly maxTimeoutSeconds?: number;
}
