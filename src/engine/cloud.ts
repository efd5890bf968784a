/**
 * Cloud mode: every bucket is an S3 object, and each task runs on its own resource: on its
 * backend's executor (AWS Lambda, Spark), or in this process against S3 for a backend that has
 * none (`provider.local()`).
 *
 * @module
 */
import type { Backends } from "../core/backend.ts";
import type { PipelineGraph } from "../core/graph.ts";
import type { ExecuteOptions, RunReport } from "../core/reports.ts";
import type { RemoteExecutor, StepExecutor } from "../core/session.ts";
import type { ResourceKind } from "../core/resource.ts";
import { executeGraph, runInProcess } from "./execute.ts";

/**
 * Runs a pipeline graph in cloud mode.
 *
 * @param graph the pipeline.
 * @param options `{ mode: "cloud" }` and its options.
 * @param backends what runs each kind of task: its executor, or this process when it has none.
 * @returns what each step did.
 * @throws {GlacierError} before anything is read when a backend's preflight refuses a step.
 * @throws {GlacierError} naming the task, bucket or object when a step fails; no bucket changes then.
 */
export async function runCloud(
  graph: PipelineGraph,
  options: ExecuteOptions,
  backends: Backends,
): Promise<RunReport> {
  const executors = new Map<ResourceKind, StepExecutor>();
  const remote: RemoteExecutor[] = [];
  for (const kind of new Set(graph.steps.map((s) => s.task.resource.kind))) {
    const executor = await backends[kind].executor();
    executors.set(kind, executor?.run ?? runInProcess);
    if (executor) remote.push(executor);
  }
  try {
    for (const executor of remote) await executor.preflight?.(graph);
    const { S3RunSession } = await import("../io/s3/s3_session.ts");
    const session = await S3RunSession.begin(graph, { wait: options.wait });
    return await executeGraph(
      graph,
      options,
      session,
      (step) => executors.get(step.task.resource.kind)!,
    );
  } finally {
    for (const executor of remote) await executor.close?.();
  }
}
