/**
 * Where a task runs, as the pipeline graph records it: the resource's kind and its settings as
 * plain data, one shape per kind.
 *
 * @module
 */

/** Settings of an in-process resource: none. */
export type LocalSettings = Readonly<Record<never, never>>;

/** Settings of an AWS Lambda resource (`LambdaConfig` as plain data). */
export interface LambdaSettings {
  /** Memory in MB. */
  readonly memoryMb: number;
  /** The function's timeout in seconds. */
  readonly timeoutSeconds: number;
}

/** What `new LambdaConfig()` gives: 1024 MB and 300 s. */
export const DEFAULT_LAMBDA_SETTINGS: LambdaSettings = Object.freeze({
  memoryMb: 1024,
  timeoutSeconds: 300,
});

/** Settings of an Apache Spark resource (`SparkConfig` as plain data). */
export interface SparkSettings {
  /** Number of executors. */
  readonly executors: number;
  /** Memory per executor, such as `4g`. */
  readonly executorMemory: string;
  /** The master URL of a self-managed Spark, when one is configured. */
  readonly master?: string;
  /** The URL of a Spark Connect server (`sc://host:15002`), when one is configured. */
  readonly remote?: string;
}

/** What every execution resource has, whatever its kind. */
export interface ResourceBase {
  /** A readable name, such as `lambda 1024 MB` or `spark x2`. */
  readonly label: string;
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

/** An execution resource as the graph sees it: its kind, a name and its settings. */
export type ResourceInfo =
  | ResourceBase & {
    /** In-process, on polars. */
    readonly kind: "local";
    /** No settings. */
    readonly settings: LocalSettings;
  }
  | ResourceBase & {
    /** AWS Lambda. */
    readonly kind: "serverless";
    /** Memory and timeout. */
    readonly settings: LambdaSettings;
  }
  | ResourceBase & {
    /** Apache Spark: self-managed, or EMR Serverless. */
    readonly kind: "spark";
    /** Executors, their memory, the master. */
    readonly settings: SparkSettings;
  };

/** The kinds of execution resource a task can be declared on. */
export type ResourceKind = ResourceInfo["kind"];

/** A resource of one kind. */
export type ResourceOf<K extends ResourceKind> = Extract<ResourceInfo, { readonly kind: K }>;

/**
 * A resource's settings, for the code of its own kind: narrows the union, and refuses a resource
 * of another kind (a bug in the caller, never a user's mistake).
 *
 * @param resource the task's resource.
 * @param kind the kind the caller handles.
 * @returns the settings of that kind.
 * @throws {TypeError} when the resource is of another kind.
 */
export function settingsOf<K extends ResourceKind>(
  resource: ResourceInfo,
  kind: K,
): ResourceOf<K>["settings"] {
  if (resource.kind !== kind) {
    throw new TypeError(`a ${resource.kind} resource was handed to the ${kind} backend`);
  }
  return resource.settings as ResourceOf<K>["settings"];
}
