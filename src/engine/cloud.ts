/**
 * Cloud mode: every bucket is an S3 object, and each task runs on its own resource: on its
 * backend's executor (AWS Lambda, Spark), or in this process against S3 for a backend that has
 * none (`provider.local()`).
 *
 * @module
 */
import type { Backends } from "../core/backend.ts";
import type { PipelineGraph } from "../core/graph.ts";
import type { ExecuteOptions, PlanOptions, RunReport } from "../core/reports.ts";
import type { RemoteExecutor, StepExecutor } from "../core/session.ts";
import type { ResourceKind } from "../core/resource.ts";
import type { RunObserver } from "../core/observer.ts";
import { executeGraph, runInProcess } from "./execute.ts";
import type { Ledger } from "./ledger/ledger.ts";
import { planSteps, type StepPlan } from "./plan.ts";

/**
 * Runs a pipeline graph in cloud mode.
 *
 * @param graph the pipeline.
 * @param options `{ mode: "cloud" }` and its options.
 * @param backends what runs each kind of task: its executor, or this process when it has none.
 * @param observers who is told of the run's progress.
 * @returns what each step did.
 * @throws {GlacierError} before anything is read when a backend's preflight refuses a step.
 * @throws {GlacierError} naming the task, bucket or object when a step fails; no bucket changes then.
 */
export async function runCloud(
  graph: PipelineGraph,
  options: ExecuteOptions,
  backends: Backends,
  observers: readonly RunObserver[] = [],
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
    const { S3Ledger } = await import("./ledger/s3_ledger.ts");
    const session = await S3RunSession.begin(graph, { wait: options.wait });
    return await executeGraph(graph, options, {
      session,
      ledger: new S3Ledger(session.storage, session.stateBucket),
      observers,
      executorFor: (step) => executors.get(step.task.resource.kind)!,
    });
  } finally {
    for (const executor of remote) await executor.close?.();
  }
}

/**
 * Opens the ledger of cloud runs, in the state bucket the graph's buckets name.
 *
 * @param graph the pipeline.
 * @returns the ledger.
 * @throws {StorageError} when no state bucket is configured.
 */
export async function openCloudLedger(graph: PipelineGraph): Promise<Ledger> {
  const { S3Ledger } = await import("./ledger/s3_ledger.ts");
  const { S3Storage, stateBucketOf } = await import("../io/s3/s3_storage.ts");
  const settings = graph.buckets[0].settings;
  const state = stateBucketOf(settings, `the ledger of pipeline '${graph.name}' in cloud mode`);
  return new S3Ledger(new S3Storage(settings.region), state);
}

/**
 * Predicts what a cloud run would do.
 *
 * @param graph the pipeline.
 * @param options as the run's `force` and `partitions`.
 * @returns each step's action and reason.
 */
export async function planCloud(
  graph: PipelineGraph,
  options: Pick<PlanOptions, "force" | "partitions"> = {},
): Promise<StepPlan> {
  const { S3Storage } = await import("../io/s3/s3_storage.ts");
  const storage = new S3Storage(graph.buckets[0].settings.region);
  return await planSteps(graph, "cloud", await openCloudLedger(graph), {
    stored: async (ref) => (await storage.head(ref.bucket, ref.path))?.etag,
    partitions: (ref) => storage.partitions(ref),
    force: options.force,
    selection: options.partitions,
  });
}
