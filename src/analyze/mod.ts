/**
 * Cost analysis: `run({ mode: "analyze" })`. Measures the buckets that already hold data (local
 * files, or S3 objects with `storage: "cloud"`), then estimates each step's rows, bytes, time and
 * cost with the {@link CostModel} and the price table in `prices.ts`.
 *
 * @module
 */
import { UnsupportedError } from "../core/errors.ts";
import type { PipelineGraph } from "../core/graph.ts";
import type { AnalyzeOptions, StorageMode } from "../core/reports.ts";
import { BACKENDS } from "../backends/mod.ts";
import type { BucketRef } from "../core/lineage.ts";
import { atPartition, isPartitioned, objectName } from "../core/partition_map.ts";
import { expandWork } from "../engine/partition_work.ts";
import { CostModel, type PipelineAnalysis, type TypicalPartition } from "./cost_model.ts";
import {
  type MeasuredPartition,
  type MeasuredSize,
  partitionSizes,
  sizeProbe,
} from "./size_probe.ts";

/**
 * Estimates what one run of a pipeline costs on AWS. A partitioned pipeline is priced partition
 * by partition over a range: each partition's own data, the sum of every partition for a step
 * that reads them all, a whole input for each partition that reads it, a window for a lookback.
 *
 * @param graph the pipeline.
 * @param options `{ mode: "analyze", storage?: "local" | "cloud", partitions? }`; `storage` says
 *   where to look for the real sizes of buckets that already hold data (default `local`),
 *   `partitions` the range to price (default: every partition from each key's start to its end
 *   or the last complete one).
 * @returns the analysis: per-step estimates, warnings, and `estimatedCost()`.
 * @throws {UnsupportedError} for a `storage` other than `local` or `cloud`.
 * @throws {WiringError} when `partitions` names a key or a value the pipeline does not have.
 * @throws {StorageError} when cloud sizes are asked for and S3 cannot be read.
 */
export async function analyzePipeline(
  graph: PipelineGraph,
  options: AnalyzeOptions,
): Promise<PipelineAnalysis> {
  return await estimateRun(graph, options, { estimate: true });
}

/**
 * Estimates a run: every partition of the range (`estimate`), or, for `plan`, exactly the
 * partitions a run would cover (those whose inputs exist, unless the selection names them).
 *
 * @param graph the pipeline.
 * @param options the analysis options.
 * @param how whether partitions without input data are priced too.
 * @returns the analysis.
 */
export async function estimateRun(
  graph: PipelineGraph,
  options: AnalyzeOptions,
  how: { readonly estimate: boolean },
): Promise<PipelineAnalysis> {
  const storage = (options as { storage?: unknown }).storage ?? "local";
  if (storage !== "local" && storage !== "cloud") {
    throw new UnsupportedError(
      `run({ mode: "analyze" }) storage must be 'local' or 'cloud', got ${JSON.stringify(storage)}`,
    );
  }
  const model = new CostModel();
  const priced = options.asDeployed ? deployedGraph(graph) : graph;
  const probe = sizeProbe(storage as StorageMode);
  if (!graph.buckets.some(isPartitioned)) {
    const found = await Promise.all(
      graph.buckets.map(async (ref) => [ref.location, await probe(ref)] as const),
    );
    const measured = new Map<string, MeasuredSize>();
    for (const [location, size] of found) if (size) measured.set(location, size);
    return model.estimate(priced, measured);
  }
  // Each partitioned bucket listed (and its partitions sized) once.
  const listed = new Map<string, Promise<ReadonlyMap<string, MeasuredPartition>>>();
  const measure = partitionSizes(storage as StorageMode);
  const partitionsOf = (ref: BucketRef) => {
    let found = listed.get(ref.location);
    if (!found) listed.set(ref.location, found = measure(ref));
    return found;
  };
  const items = await expandWork(priced, {
    selection: options.partitions,
    now: new Date(),
    partitions: async (ref) => [...(await partitionsOf(ref)).values()].map((p) => p.partition),
    estimate: how.estimate,
  });
  const measured = new Map<string, MeasuredSize>();
  const typical = new Map<string, TypicalPartition>();
  for (const ref of graph.buckets) {
    if (!isPartitioned(ref)) {
      const size = await probe(ref);
      if (size) measured.set(objectName(ref), size);
      continue;
    }
    const found = [...(await partitionsOf(ref)).values()];
    for (const part of found) measured.set(objectName(atPartition(ref, part.partition)), part);
    if (found.length > 0) {
      typical.set(ref.location, { bytes: medianOf(found), count: found.length });
    }
  }
  return model.estimate(priced, measured, { items, typical });
}

/** The median size of some partitions, in whole bytes. */
function medianOf(parts: readonly MeasuredSize[]): number {
  const sorted = parts.map((p) => p.bytes).sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : Math.round((sorted[mid - 1] + sorted[mid]) / 2);
}

/** The graph with each step on the resource it is deployed on. */
function deployedGraph(graph: PipelineGraph): PipelineGraph {
  const deployed = new Map(graph.steps.map((step) => {
    const terraform = BACKENDS[step.task.resource.kind].terraform;
    return [step, "deployAs" in terraform ? terraform.deployAs(step) : step] as const;
  }));
  return {
    ...graph,
    steps: graph.steps.map((s) => deployed.get(s)!),
    levels: graph.levels.map((level) => level.map((s) => deployed.get(s)!)),
  };
}
