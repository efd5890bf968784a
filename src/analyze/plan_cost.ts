/**
 * `plan` with costs: what a run would compute, from the engine, and what exactly those steps
 * would cost, from the cost model.
 *
 * @module
 */
import type { PipelineGraph } from "../core/graph.ts";
import type { PlanOptions, PlanReport } from "../core/reports.ts";
import { analyzePipeline } from "./mod.ts";

/**
 * Predicts what a run would do and what the steps it would compute cost.
 *
 * @param graph the pipeline.
 * @param options `{ mode: "plan", storage?, force? }`.
 * @returns each step's action, reason and estimated cost.
 */
export async function planWithCost(
  graph: PipelineGraph,
  options: PlanOptions,
): Promise<PlanReport> {
  const storage = options.storage ?? "local";
  const plan = storage === "cloud"
    ? await (await import("../engine/cloud.ts")).planCloud(graph, options)
    : await (await import("../engine/local.ts")).planLocal(graph, options);
  const analysis = await analyzePipeline(graph, { mode: "analyze", storage });
  const usd = new Map(analysis.steps.map((s) => [s.task, s.usd]));
  const steps = plan.steps.map((s) => ({
    ...s,
    usd: s.action === "run" ? usd.get(s.task) ?? 0 : 0,
  }));
  return {
    pipeline: graph.name,
    mode: storage,
    steps,
    estimatedUsd: steps.reduce((sum, s) => sum + s.usd, 0),
    notes: plan.notes,
  };
}
