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
import { CostModel, type PipelineAnalysis } from "./cost_model.ts";
import { type MeasuredSize, sizeProbe } from "./size_probe.ts";

/**
 * Estimates what one run of a pipeline costs on AWS.
 *
 * @param graph the pipeline.
 * @param options `{ mode: "analyze", storage?: "local" | "cloud" }`; `storage` says where to look
 * for the real sizes of buckets that already hold data (default `local`).
 * @returns the analysis: per-step estimates, warnings, and `estimatedCost()`.
 * @throws {UnsupportedError} for a `storage` other than `local` or `cloud`.
 * @throws {StorageError} when cloud sizes are asked for and S3 cannot be read.
 */
export async function analyzePipeline(
  graph: PipelineGraph,
  options: AnalyzeOptions,
): Promise<PipelineAnalysis> {
  const storage = (options as { storage?: unknown }).storage ?? "local";
  if (storage !== "local" && storage !== "cloud") {
    throw new UnsupportedError(
      `run({ mode: "analyze" }) storage must be 'local' or 'cloud', got ${JSON.stringify(storage)}`,
    );
  }
  const probe = sizeProbe(storage as StorageMode);
  const found = await Promise.all(
    graph.buckets.map(async (ref) => [ref.location, await probe(ref)] as const),
  );
  const measured = new Map<string, MeasuredSize>();
  for (const [location, size] of found) if (size) measured.set(location, size);
  return new CostModel().estimate(options.asDeployed ? deployedGraph(graph) : graph, measured);
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
