/**
 * Glacier: typed data pipelines over polars, where storage is the unit.
 *
 * A bucket is a typed storage location. A task is a function over polars lazy frames, declared on
 * an execution resource. `bucket.transform(task).to(bucket)` chains them, and the bucket that a
 * chain returns carries its lineage: that value is the pipeline, which runs locally, checks itself
 * without data and draws itself. Wiring mistakes fail `deno check`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { pl, Provider, schema, t } from "@glacier/glacier";
 *
 * const provider = new Provider({ localRoot: await Deno.makeTempDir() });
 * const local = provider.local();
 *
 * const Orders = schema({ order_id: t.int64, region: t.string, amount: t.float64 });
 * const Revenue = schema({ region: t.string, revenue: t.float64 });
 *
 * const orders = provider.bucket({ bucket: "shop", path: "raw/orders.parquet", schema: Orders });
 * const revenue = provider.bucket({ bucket: "shop", path: "out/revenue.parquet", schema: Revenue });
 *
 * const byRegion = local.task(
 *   { name: "revenue_by_region", input: Orders, output: Revenue },
 *   (df) => df.groupBy("region").agg(pl.col("amount").sum().alias("revenue")),
 * );
 *
 * const report = orders.transform(byRegion).to(revenue).withName("revenue");
 *
 * await orders.write(pl.DataFrame({
 *   order_id: pl.Series("order_id", [1, 2, 3], pl.Int64),
 *   region: ["eu", "us", "eu"],
 *   amount: [10, 20, 5],
 * }));
 * await report.run({ mode: "local", quiet: true });
 * assert.deepEqual((await revenue.read()).sort("region").toRecords(), [
 *   { region: "eu", revenue: 15 },
 *   { region: "us", revenue: 20 },
 * ]);
 * ```
 *
 * @module
 */
import pl from "./src/polars.ts";

/** The polars module Glacier itself uses (nodejs-polars 0.25.2). */
export { pl };
export { dtypeName, t } from "./src/schema/dtypes.ts";
export type {
  DataType,
  DatetimeOf,
  DtypeName,
  Dtypes,
  ListOf,
  StructOf,
  TimeUnit,
} from "./src/schema/dtypes.ts";
export { type Schema, schema } from "./src/schema/schema.ts";
export type {
  Bucket,
  BucketShape,
  FedColumns,
  IoOptions,
  MultiSourceCheck,
  NameOf,
  OutputOf,
  ReadOptions,
  SingleSourceCheck,
  SourceOf,
  TargetCheck,
  TimeKeysOf,
  Transform,
  VisualizeOptions,
  WriteOptions,
} from "./src/core/bucket.ts";
export {
  daily,
  hourly,
  monthly,
  partitionAt,
  partitionBounds,
  values,
  weekly,
} from "./src/core/partitions.ts";
export type {
  CalendarOptions,
  HourlyOptions,
  PartitionKey,
  PartitionKeys,
  PartitionKind,
  PartitionValues,
  TimeKind,
  TimePartitions,
  ValuePartitions,
} from "./src/core/partitions.ts";
export type {
  DeclarationErrors,
  MappingErrors,
  Placeholders,
} from "./src/core/partition_checks.ts";
export { Pipeline } from "./src/core/bucket.ts";
export type {
  InputFrames,
  MultiTask,
  MultiTaskSpec,
  SingleTask,
  SingleTaskSpec,
  Task,
  TaskBase,
  TaskInputs,
} from "./src/core/task.ts";
export { timeoutOf } from "./src/core/task.ts";
export type { PipelineGraph } from "./src/core/graph.ts";
export type {
  AcceptedValue,
  AcceptedValuesCheck,
  BetweenCheck,
  CheckBase,
  CheckBound,
  CheckBuilder,
  CheckIdentity,
  ChecksOf,
  ExprCheck,
  NotNullCheck,
  QualityCheck,
  RowCountCheck,
  Severity,
  SeverityOption,
  UniqueCheck,
} from "./src/core/checks.ts";
export type { BucketRef, CsvOptions, Lineage, ProviderSettings, Step } from "./src/core/lineage.ts";
export type {
  LambdaSettings,
  LocalSettings,
  ResourceBase,
  ResourceInfo,
  ResourceKind,
  SparkSettings,
} from "./src/core/resource.ts";
export type * from "./src/core/reports.ts";
export { STEP_REASONS } from "./src/core/reports.ts";
export {
  CheckFailedError,
  CommitError,
  GlacierError,
  NoDataError,
  SchemaMismatchError,
  StaleDeploymentError,
  StorageError,
  TaskError,
  TaskTimeoutError,
  UnsupportedError,
  WiringError,
} from "./src/core/errors.ts";
export { AwsConfig, LambdaConfig, SparkConfig } from "./src/provider/config.ts";
export {
  type BucketCheck,
  type BucketChecks,
  type BucketSpec,
  type KeysOf,
  Provider,
} from "./src/provider/provider.ts";
export type { ExecutionResource } from "./src/provider/resource.ts";
