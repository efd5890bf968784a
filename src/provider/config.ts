/**
 * Configuration values for the provider and its execution resources.
 *
 * @module
 */
import { env } from "../core/env.ts";
import { DEFAULT_LAMBDA_SETTINGS } from "../core/resource.ts";

/** AWS settings shared by every resource of a provider. */
export class AwsConfig {
  /** The AWS region, such as `us-east-1`. */
  readonly region: string;
  /**
   * The S3 bucket that holds cloud runs' locks and journals (default: `GLACIER_STATE_BUCKET`
   * when cloud mode starts). Cloud mode refuses to write without one.
   */
  readonly stateBucket?: string;

  /**
   * AWS settings for one region.
   *
   * @param options the region (default: `AWS_REGION`, else `us-east-1`) and the state bucket.
   * @example
   * ```ts
   * import { AwsConfig } from "@glacier/glacier";
   * const config = new AwsConfig({ region: "eu-west-1", stateBucket: "acme-glacier-state" });
   * console.assert(config.stateBucket === "acme-glacier-state");
   * ```
   */
  constructor(options: { region?: string; stateBucket?: string } = {}) {
    this.region = options.region ?? env("AWS_REGION") ?? "us-east-1";
    this.stateBucket = options.stateBucket;
    Object.freeze(this);
  }
}

/** Settings of an AWS Lambda execution resource. */
export class LambdaConfig {
  /** Memory in MB (128 to 10240). */
  readonly memoryMb: number;
  /** Timeout in seconds (1 to 900). */
  readonly timeoutSeconds: number;

  /**
   * Lambda settings, checked against Lambda's limits.
   *
   * @param options memory (default 1024 MB) and timeout (default 300 s), within Lambda's limits.
   * @throws {RangeError} outside Lambda's limits.
   */
  constructor(options: { memoryMb?: number; timeoutSeconds?: number } = {}) {
    this.memoryMb = options.memoryMb ?? DEFAULT_LAMBDA_SETTINGS.memoryMb;
    this.timeoutSeconds = options.timeoutSeconds ?? DEFAULT_LAMBDA_SETTINGS.timeoutSeconds;
    if (!Number.isInteger(this.memoryMb) || this.memoryMb < 128 || this.memoryMb > 10240) {
      throw new RangeError(
        `LambdaConfig memoryMb must be an integer from 128 to 10240, got ${this.memoryMb}`,
      );
    }
    if (
      !Number.isInteger(this.timeoutSeconds) || this.timeoutSeconds < 1 || this.timeoutSeconds > 900
    ) {
      throw new RangeError(
        `LambdaConfig timeoutSeconds must be an integer from 1 to 900 (Lambda's 15 minutes), got ${this.timeoutSeconds}`,
      );
    }
    Object.freeze(this);
  }
}

/** Settings of an Apache Spark execution resource. */
export class SparkConfig {
  /** Number of executors. */
  readonly executors: number;
  /** Memory per executor, such as `4g`. */
  readonly executorMemory: string;
  /** Spark master URL for self-managed Spark (`local[2]`, `spark://host:7077`); else `SPARK_MASTER`. */
  readonly master?: string;
  /**
   * Spark Connect server of a self-managed Spark (`sc://host:15002`), which every spark step of
   * a run reaches through one session; it comes before `master`. Else `SPARK_REMOTE`.
   */
  readonly remote?: string;
  /**
   * The longest a task on this resource may run, in seconds, before the run fails and its job is
   * stopped; a task's own `timeoutSeconds` may lower it. Default: no limit. Spark stops the job's
   * running tasks when they next check for it, which generated code may not do for hours; a
   * Spark Connect server that `glacier stack up` starts kills an executor whose task goes on
   * 10 s after that (Spark's task reaper), other servers only when they are set up so.
   */
  readonly timeoutSeconds?: number;

  /**
   * Spark settings.
   *
   * @param options executors (default 2), memory per executor (default `4g`), the Spark Connect
   * server or the master, and a timeout per task in seconds (default none).
   * @throws {RangeError} when `executors` is not a positive integer or `timeoutSeconds` not a
   * positive number.
   */
  constructor(
    options: {
      executors?: number;
      executorMemory?: string;
      master?: string;
      remote?: string;
      timeoutSeconds?: number;
    } = {},
  ) {
    this.executors = options.executors ?? 2;
    this.executorMemory = options.executorMemory ?? "4g";
    this.master = options.master;
    this.remote = options.remote;
    if (this.remote !== undefined && !/^sc:\/\/[^/]+/.test(this.remote)) {
      throw new RangeError(
        `SparkConfig remote must be a Spark Connect URL such as sc://127.0.0.1:15002, got '${this.remote}'`,
      );
    }
    this.timeoutSeconds = options.timeoutSeconds;
    if (
      this.timeoutSeconds !== undefined &&
      (typeof this.timeoutSeconds !== "number" || !(this.timeoutSeconds > 0) ||
        !Number.isFinite(this.timeoutSeconds))
    ) {
      throw new RangeError(
        `SparkConfig timeoutSeconds must be a positive number of seconds, got ${this.timeoutSeconds}`,
      );
    }
    if (!Number.isInteger(this.executors) || this.executors < 1) {
      throw new RangeError(
        `SparkConfig executors must be a positive integer, got ${this.executors}`,
      );
    }
    Object.freeze(this);
  }
}
