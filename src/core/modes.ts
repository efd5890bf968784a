/**
 * The run modes, as a typed table that the provider hands to every bucket it makes, so that
 * `bucket.run({ mode })`, `read`, `write` and `visualize` dispatch without core importing any mode
 * and without a registry. Each mode is a plain function over the graph; the heavy ones are loaded
 * on first use by whoever builds the table.
 *
 * @module
 */
import type pl from "../polars.ts";
import type { PipelineGraph } from "./graph.ts";
import type { BucketRef } from "./lineage.ts";
import type { PartitionValues } from "./partitions.ts";
import type {
  Analysis,
  AnalyzeOptions,
  CheckOptions,
  CheckReport,
  ExecuteOptions,
  GenerateOptions,
  GenerateReport,
  PlanOptions,
  PlanReport,
  RunReport,
  StorageMode,
  VisualizeFormat,
  WriteReport,
} from "./reports.ts";

/** Reads and writes buckets directly in one storage mode. */
export interface BucketIo {
  /**
   * Reads a whole bucket, validated against its schema; for a partitioned bucket, every partition
   * (or those `partition` selects) with its keys as columns, or one partition given by every key.
   *
   * @param ref the bucket.
   * @param partition the partition, or some of its keys.
   * @returns its data.
   */
  read(ref: BucketRef, partition?: PartitionValues): Promise<pl.DataFrame>;
  /**
   * Writes a frame to a bucket (one partition of a partitioned bucket) atomically, validated
   * against its schema.
   *
   * @param ref the bucket.
   * @param frame the data.
   * @param partition the partition, for a partitioned bucket.
   * @returns where it went, rows and bytes.
   */
  write(ref: BucketRef, frame: pl.DataFrame, partition?: PartitionValues): Promise<WriteReport>;
}

/** Every mode a bucket dispatches to. */
export interface Modes {
  /** In-process, on local files. */
  local(graph: PipelineGraph, options: ExecuteOptions): Promise<RunReport>;
  /** Each task on its resource, S3 storage. */
  cloud(graph: PipelineGraph, options: ExecuteOptions): Promise<RunReport>;
  /** Every task on empty frames. */
  check(graph: PipelineGraph, options: CheckOptions): Promise<CheckReport>;
  /** Terraform. */
  generate(graph: PipelineGraph, options: GenerateOptions): Promise<GenerateReport>;
  /** A cost estimate. */
  analyze(graph: PipelineGraph, options: AnalyzeOptions): Promise<Analysis>;
  /** What a run would do, and what that would cost. */
  plan(graph: PipelineGraph, options: PlanOptions): Promise<PlanReport>;
  /** Direct reads and writes in a storage mode. */
  io(mode: StorageMode): Promise<BucketIo>;
  /** A drawing of the graph. */
  render(graph: PipelineGraph, format: VisualizeFormat): string;
}
