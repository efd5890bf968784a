/**
 * The provider: one per project, it makes buckets and execution resources.
 *
 * @module
 */
import { join, resolve } from "node:path";
import type { Schema } from "../schema/schema.ts";
import { dtypeName } from "../schema/dtypes.ts";
import { type Bucket, BucketImpl } from "../core/bucket.ts";
import type { CsvOptions, ProviderSettings } from "../core/lineage.ts";
import { AwsConfig, LambdaConfig, SparkConfig } from "./config.ts";
import { type ExecutionResource, ExecutionResourceImpl } from "./resource.ts";
import { formatOf } from "../io/file_format.ts";
import { csvOptions } from "./csv.ts";
import { MODES } from "./modes.ts";

/** Declaration of a bucket. */
export interface BucketSpec<B extends string, P extends string, S extends Schema> {
  /** The storage bucket: an S3 bucket in cloud mode, a directory under `localRoot` locally. */
  readonly bucket: B;
  /** The object path; the extension picks the format (.parquet, .csv, .ndjson/.jsonl, .arrow/.ipc). */
  readonly path: P;
  /** The columns. */
  readonly schema: S;
  /** Expected size in bytes before any data exists, for cost estimates. */
  readonly sizeHint?: number;
  /**
   * How a `.csv` bucket's files are laid out: separator, quote, null values, date and datetime
   * formats (polars' strftime syntax) and whether there is a header. Applied on every read and
   * write, in every mode.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { Provider, schema, t } from "@glacier/glacier";
   * const provider = new Provider();
   * const sales = provider.bucket({
   *   bucket: "shop",
   *   path: "raw/sales.csv",
   *   schema: schema({ day: t.date, amount: t.float64 }),
   *   csv: { separator: ";", nullValues: ["NA"], dateFormat: "%m/%d/%Y" },
   * });
   * assert.equal(sales.location, "shop/raw/sales.csv");
   * ```
   */
  readonly csv?: CsvOptions;
}

const S3_BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/**
 * Makes buckets and execution resources that share one configuration.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { AwsConfig, Provider, schema, t } from "@glacier/glacier";
 * const provider = new Provider({ config: new AwsConfig({ region: "eu-west-1" }) });
 * const raw = provider.bucket({ bucket: "shop", path: "raw/orders.parquet", schema: schema({ id: t.int64 }) });
 * assert.equal(raw.location, "shop/raw/orders.parquet");
 * ```
 */
export class Provider {
  /** The AWS configuration. */
  readonly config: AwsConfig;
  /** Absolute root directory of local-mode storage. */
  readonly localRoot: string;
  readonly #settings: ProviderSettings;

  /**
   * A provider with one AWS configuration and one local storage root.
   *
   * @param options the AWS configuration and the local storage root (default `.glacier/data`
   * under the current directory).
   */
  constructor(options: { config?: AwsConfig; localRoot?: string } = {}) {
    this.config = options.config ?? new AwsConfig();
    this.localRoot = resolve(options.localRoot ?? join(Deno.cwd(), ".glacier", "data"));
    this.#settings = Object.freeze({
      localRoot: this.localRoot,
      region: this.config.region,
      ...(this.config.stateBucket ? { stateBucket: this.config.stateBucket } : {}),
    });
    Object.freeze(this);
  }

  /**
   * Declares a bucket.
   *
   * @param spec the storage bucket, the path and the schema.
   * @returns a bucket with no lineage.
   * @throws {TypeError} for a bucket name S3 would refuse, an unsafe path, an unknown extension or
   * wrong CSV options.
   */
  bucket<const B extends string, const P extends string, const S extends Schema>(
    spec: BucketSpec<B, P, S>,
  ): Bucket<S, `${B}/${P}`> {
    const { bucket, path, schema } = spec;
    if (typeof bucket !== "string" || !S3_BUCKET.test(bucket) || bucket.includes("..")) {
      throw new TypeError(
        `bucket name ${
          JSON.stringify(bucket)
        } is not valid: use 3-63 lowercase letters, digits, '.' or '-'`,
      );
    }
    if (
      typeof path !== "string" || path.length === 0 || path.startsWith("/") ||
      path.split("/").some((part) => part === "" || part === "." || part === "..")
    ) {
      throw new TypeError(
        `bucket '${bucket}' path ${
          JSON.stringify(path)
        } is not valid: use a relative path such as raw/orders.parquet`,
      );
    }
    if (schema === null || typeof schema !== "object" || Object.keys(schema).length === 0) {
      throw new TypeError(`bucket '${bucket}/${path}' needs a schema with at least one column`);
    }
    if (formatOf(path) === "csv") {
      for (const [column, dtype] of Object.entries(schema)) {
        if (dtype.variant === "List" || dtype.variant === "Struct") {
          throw new TypeError(
            `bucket '${bucket}/${path}' is CSV, which cannot hold column '${column}' ` +
              `(${dtypeName(dtype)}); use .parquet, .arrow or .ndjson`,
          );
        }
      }
    }
    return new BucketImpl({
      ref: Object.freeze({
        bucket,
        path,
        location: `${bucket}/${path}`,
        schema,
        sizeHint: spec.sizeHint,
        settings: this.#settings,
        ...(spec.csv === undefined
          ? {}
          : { csv: csvOptions(`${bucket}/${path}`, formatOf(path) === "csv", spec.csv) }),
      }),
      lineage: Object.freeze([]),
      modes: MODES,
    }) as unknown as Bucket<S, `${B}/${P}`>;
  }

  /**
   * An in-process execution resource.
   *
   * @returns the resource.
   */
  local(): ExecutionResource {
    return new ExecutionResourceImpl({ kind: "local", label: "local", settings: {} });
  }

  /**
   * An AWS Lambda execution resource.
   *
   * @param options the Lambda configuration.
   * @returns the resource.
   */
  serverless(options: { config?: LambdaConfig } = {}): ExecutionResource {
    const config = options.config ?? new LambdaConfig();
    return new ExecutionResourceImpl({
      kind: "serverless",
      label: `lambda ${config.memoryMb} MB`,
      settings: { memoryMb: config.memoryMb, timeoutSeconds: config.timeoutSeconds },
      maxTimeoutSeconds: config.timeoutSeconds,
    });
  }

  /**
   * An Apache Spark execution resource (self-managed Spark or EMR Serverless).
   *
   * @param options the Spark configuration.
   * @returns the resource.
   */
  spark(options: { config?: SparkConfig } = {}): ExecutionResource {
    const config = options.config ?? new SparkConfig();
    return new ExecutionResourceImpl({
      kind: "spark",
      label: `spark x${config.executors}`,
      settings: {
        executors: config.executors,
        executorMemory: config.executorMemory,
        ...(config.master ? { master: config.master } : {}),
        ...(config.remote ? { remote: config.remote } : {}),
      },
      ...(config.timeoutSeconds === undefined ? {} : { timeoutSeconds: config.timeoutSeconds }),
    });
  }
}
