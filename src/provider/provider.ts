/**
 * The provider: one per project, it makes buckets and execution resources.
 *
 * @module
 */
import { join, resolve } from "node:path";
import type { Schema } from "../schema/schema.ts";
import { dtypeName } from "../schema/dtypes.ts";
import { type Bucket, BucketImpl } from "../core/bucket.ts";
import type { DeclarationErrors } from "../core/partition_checks.ts";
import { declarationIssues } from "../core/partition_map.ts";
import type { PartitionKey, PartitionKeys } from "../core/partitions.ts";
import { WiringError } from "../core/errors.ts";
import type { CsvOptions, ProviderSettings } from "../core/lineage.ts";
import { type ChecksOf, declareChecks } from "../core/checks.ts";
import { AwsConfig, LambdaConfig, SparkConfig } from "./config.ts";
import { type ExecutionResource, ExecutionResourceImpl } from "./resource.ts";
import { formatOf } from "../io/file_format.ts";
import { csvOptions } from "./csv.ts";
// The modes are typed by their table's type alone: see _modes_types.ts.
// @ts-types="./_modes_types.ts"
import { MODES } from "./modes.ts";

/** Declaration of a bucket. */
export interface BucketSpec<
  B extends string = string,
  P extends string = string,
  S extends Schema = Schema,
> {
  /** The storage bucket: an S3 bucket in cloud mode, a directory under `localRoot` locally. */
  readonly bucket: B;
  /** The object path; the extension picks the format (.parquet, .csv, .ndjson/.jsonl, .arrow/.ipc). */
  readonly path: P;
  /** The columns. */
  readonly schema: S;
  /**
   * Expected size in bytes before any data exists, for cost estimates; for a partitioned bucket, the
   * size of one partition.
   */
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
  /**
   * Its partition keys, by name: `hourly`, `daily`, `weekly`, `monthly` or `values`. The path
   * has a `{key}` placeholder for each, and no schema column has a key's name.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { daily, Provider, schema, t, values } from "@glacier/glacier";
   * const provider = new Provider();
   * const readings = provider.bucket({
   *   bucket: "lab",
   *   path: "raw/{site}/{date}.parquet",
   *   schema: schema({ sensor: t.string, celsius: t.float64 }),
   *   partitions: { date: daily({ start: "2026-01-01" }), site: values(["north", "south"]) },
   * });
   * assert.deepEqual(Object.keys(readings.partitions), ["date", "site"]);
   * ```
   */
  readonly partitions?: PartitionKeys;
}

/**
 * The quality checks of an unpartitioned bucket's declaration, apart from {@linkcode BucketSpec}
 * so that only `provider.bucket` calls pay for their column checks.
 *
 * @typeParam S the bucket's schema.
 * @typeParam L its location `bucket/path`, for messages.
 */
export interface BucketChecks<S extends Schema, L extends string> {
  /**
   * Quality checks, run on every version of the bucket before it is published (a bucket no task
   * writes: when a run reads it). A failing check of severity `error` (the default) fails the run
   * and publishes nothing; `warn` publishes and reports. Column names are checked by `deno check`.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { pl, Provider, schema, t } from "@glacier/glacier";
   * const provider = new Provider();
   * const readings = provider.bucket({
   *   bucket: "lab",
   *   path: "raw/readings.parquet",
   *   schema: schema({ sensor_id: t.int64, site: t.string, celsius: t.float64 }),
   *   checks: (c) => [
   *     c.notNull("sensor_id"),
   *     c.unique("sensor_id"),
   *     c.acceptedValues("site", ["north", "south"]),
   *     c.between("celsius", -60, 60),
   *     c.rowCount({ min: 1 }),
   *     c.expr("warm_enough", pl.col("celsius").gt(-40), { severity: "warn" }),
   *   ],
   * });
   * assert.deepEqual(readings.checks?.map((c) => c.name), [
   *   "not_null(sensor_id)",
   *   "unique(sensor_id)",
   *   "accepted_values(site)",
   *   "between(celsius, -60, 60)",
   *   "row_count(min 1)",
   *   "warm_enough",
   * ]);
   * ```
   */
  readonly checks?: ChecksOf<S, L>;
}

/** A bucket's keys as its spec declares them; `{}` without `partitions`. */
export type KeysOf<Spec> = Spec extends { readonly partitions: infer K extends PartitionKeys } ? K
  // deno-lint-ignore ban-types
  : {};

/**
 * What `provider.bucket(spec)` accepts: the spec when its path's placeholders and its keys match,
 * else the messages saying why not (on its `partitions`).
 */
export type BucketCheck<Spec extends BucketSpec> = [
  DeclarationErrors<
    `${Spec["bucket"]}/${Spec["path"]}`,
    Spec["path"],
    Spec["schema"],
    KeysOf<Spec>
  >,
] extends [never] ? unknown
  : {
    readonly partitions: DeclarationErrors<
      `${Spec["bucket"]}/${Spec["path"]}`,
      Spec["path"],
      Spec["schema"],
      KeysOf<Spec>
    >;
  };

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
    spec: BucketSpec<B, P, S> & BucketChecks<S, `${B}/${P}`> & { readonly partitions?: undefined },
    // deno-lint-ignore ban-types
  ): Bucket<S, `${B}/${P}`, {}>;
  /**
   * Declares a partitioned bucket: its path has a `{key}` placeholder for each partition key.
   *
   * @param spec the storage bucket, the path, the schema and the partition keys.
   * @returns a bucket with no lineage.
   * @throws {WiringError} when the placeholders and the keys differ, or a key names a column.
   */
  bucket<const Spec extends BucketSpec & { readonly partitions: PartitionKeys }>(
    spec: Spec & NoInfer<BucketCheck<Spec>>,
  ): Bucket<Spec["schema"], `${Spec["bucket"]}/${Spec["path"]}`, KeysOf<Spec>>;
  bucket(spec: BucketSpec & { readonly checks?: unknown }): Bucket {
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
      path.split("/").some((part) => part === "" || part === "." || part === "..") ||
      /\{[^}]*\{|\}[^{]*\}|\{\}/.test(path)
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
    const keys = partitionKeys(`${bucket}/${path}`, spec.partitions);
    const issues = declarationIssues(`${bucket}/${path}`, path, Object.keys(schema), keys ?? {});
    if (issues.length > 0) throw new WiringError(issues.join("; "));
    const checks = spec.checks === undefined ? undefined : declareChecks<Schema, string>(
      `${bucket}/${path}`,
      schema,
      spec.checks as ChecksOf<Schema, string>,
    );
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
        ...(keys === undefined ? {} : { partitions: keys }),
        ...(checks === undefined || checks.length === 0 ? {} : { checks }),
      }),
      lineage: Object.freeze([]),
      modes: MODES,
    });
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

const KINDS = new Set(["hourly", "daily", "weekly", "monthly", "values"]);

/** A spec's partition keys, checked to be definitions made by `daily()`, `values()` and the rest. */
function partitionKeys(location: string, keys: unknown): PartitionKeys | undefined {
  if (keys === undefined) return undefined;
  if (keys === null || typeof keys !== "object" || Array.isArray(keys)) {
    throw new TypeError(
      `bucket '${location}' partitions must be an object of keys, such as ` +
        "{ date: daily({ start: '2026-01-01' }) }",
    );
  }
  for (const [key, def] of Object.entries(keys)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
      throw new TypeError(
        `bucket '${location}' partition key '${key}' is not valid: use letters, digits and '_'`,
      );
    }
    if (!KINDS.has((def as PartitionKey | null)?.kind ?? "")) {
      throw new TypeError(
        `bucket '${location}' partition key '${key}' needs a definition made by hourly(), ` +
          "daily(), weekly(), monthly() or values([...])",
      );
    }
  }
  return Object.keys(keys).length === 0 ? undefined : Object.freeze({ ...keys }) as PartitionKeys;
}
