/**
 * What a run will write, known before it begins: each step's target, or the partitions of it
 * that the run's work covers. A run's storage session claims exactly that, so that runs over
 * disjoint partitions of one bucket both proceed.
 *
 * @module
 */
import type { PipelineGraph } from "../core/graph.ts";
import type { BucketRef } from "../core/lineage.ts";
import type { PartitionValues } from "../core/partitions.ts";
import type { PartitionSelection } from "../core/reports.ts";
import { expandWork } from "./partition_work.ts";

/**
 * The buckets and partitions a run writes: the target of each item of its work (a partition, or
 * a whole bucket).
 *
 * @param graph the pipeline.
 * @param selection the run's selection, if any.
 * @param now the time that decides which partitions are complete.
 * @param partitions the partitions of a bucket that have data.
 * @returns the targets; `undefined` when the work cannot be known yet (a selection the run will
 *   refuse with its own error, or storage that does not answer), so the run claims every target
 *   whole.
 */
export async function writeScope(
  graph: PipelineGraph,
  selection: PartitionSelection | undefined,
  now: Date,
  partitions: (ref: BucketRef) => Promise<PartitionValues[]>,
): Promise<BucketRef[] | undefined> {
  try {
    const work = await expandWork(graph, { ...(selection ? { selection } : {}), now, partitions });
    return work.map((item) => item.target);
  } catch {
    return undefined;
  }
}
