/**
 * The run UI's one place for partitions: how many partitions of a bucket the last run left up to
 * date, read from the partition each step report names. The graph prints it under the bucket.
 *
 * @module
 */
import type { StepReport } from "../core/reports.ts";

/** How many partitions of a bucket are up to date. */
export interface PartitionCount {
  /** Partitions whose step ran or was up to date. */
  readonly upToDate: number;
  /** Partitions the run had a step for. */
  readonly total: number;
}

/**
 * Counts a bucket's partitions in a run's steps.
 *
 * @param location the bucket, as `bucket/path`.
 * @param steps the steps of a run.
 * @returns the count, or `undefined` when no step names a partition of the bucket.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { partitionCount } from "./partitions.ts";
 *
 * const step = { task: "t", resource: "local", rows: 1, bytes: 1, seconds: 0, reason: "" };
 * assert.deepEqual(
 *   partitionCount("lab/raw/{date}.parquet", [
 *     { ...step, target: "lab/raw/{date}.parquet", status: "ran", partition: { date: "2026-01-01" } },
 *     { ...step, target: "lab/raw/{date}.parquet", status: "failed", partition: { date: "2026-01-02" } },
 *   ]),
 *   { upToDate: 1, total: 2 },
 * );
 * ```
 */
export function partitionCount(
  location: string,
  steps: readonly StepReport[],
): PartitionCount | undefined {
  const mine = steps.filter((s) => s.target === location && s.partition !== undefined);
  if (mine.length === 0) return undefined;
  return { upToDate: mine.filter((s) => s.status !== "failed").length, total: mine.length };
}
