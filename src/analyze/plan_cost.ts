/**
 * `plan` with costs: what a run would compute, from the engine, and what exactly those steps
 * would cost, from the cost model.
 *
 * @module
 */
import type { PipelineGraph } from "../core/graph.ts";
import type { PlanOptions, PlanReport } from "../core/reports.ts";
import { partitionText } from "../core/partitions.ts";
import { estimateRun } from "./mod.ts";

/**
 * Predicts what a run would do and what the steps it would compute cost: each partition that
 * would run is priced on its own, so a plan after a backfill of half a range prices the other
 * half only.
 *
 * @param graph the pipeline.
 * @param options `{ mode: "plan", storage?, force?, partitions? }`.
 * @returns each step's (each partition's) action, reason and estimated cost.
 */
export async function planWithCost(
  graph: PipelineGraph,
  options: PlanOptions,
): Promise<PlanReport> {
  const storage = options.storage ?? "local";
  const plan = storage === "cloud"
    ? await (await import("../engine/cloud.ts")).planCloud(graph, options)
    : await (await import("../engine/local.ts")).planLocal(graph, options);
  const analysis = await estimateRun(
    graph,
    { mode: "analyze", storage, ...(options.partitions ? { partitions: options.partitions } : {}) },
    { estimate: false },
  );
  const usd = new Map<string, number>();
  for (const step of analysis.steps) {
    if (step.perPartition === undefined) usd.set(itemKey(step.task), step.usd);
    for (const part of step.perPartition ?? []) {
      usd.set(itemKey(step.task, part.partition), part.usd);
    }
  }
  const steps = plan.steps.map((s) => ({
    ...s,
    usd: s.action === "run" ? usd.get(itemKey(s.task, s.partition)) ?? 0 : 0,
  }));
  const running = steps.filter((s) => s.action === "run" && s.partition !== undefined);
  return {
    pipeline: graph.name,
    mode: storage,
    steps,
    estimatedUsd: steps.reduce((sum, s) => sum + s.usd, 0),
    ...(analysis.partitions === undefined
      ? {}
      : { partitions: new Set(running.map((s) => partitionText(s.partition))).size }),
    notes: plan.notes,
  };
}

/** A step's (a partition's) key: its task and its partition. */
function itemKey(task: string, partition?: Readonly<Record<string, string>>): string {
  return `${task}\u0000${partition ? partitionText(partition) : ""}`;
}
