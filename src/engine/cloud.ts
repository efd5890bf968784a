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
import { UnsupportedError } from "../core/errors.ts";
import { mappingOf } from "../core/partition_map.ts";
import { executeGraph, runInProcess } from "./execute.ts";
import { codeFingerprint } from "./fingerprint.ts";
import type { Ledger } from "./ledger/ledger.ts";
import { planSteps, type StepPlan } from "./plan.ts";
import { writeScope } from "./write_scope.ts";

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
  const remote = new Map<ResourceKind, RemoteExecutor>();
  for (const kind of new Set(graph.steps.map((s) => s.task.resource.kind))) {
    const executor = await backends[kind].executor();
    executors.set(kind, executor?.run ?? runInProcess);
    if (executor) remote.set(kind, executor);
  }
  try {
    refuseUnsupportedReads(graph, remote);
    for (const executor of remote.values()) await executor.preflight?.(graph);
    const { S3RunSession } = await import("../io/s3/s3_session.ts");
    const { S3Ledger } = await import("./ledger/s3_ledger.ts");
    const { S3Storage } = await import("../io/s3/s3_storage.ts");
    const storage = new S3Storage(graph.buckets[0].settings.region);
    const writes = await writeScope(
      graph,
      options.partitions,
      new Date(),
      (ref) => storage.partitions(ref),
    );
    const session = await S3RunSession.begin(graph, {
      wait: options.wait,
      ...(writes ? { writes } : {}),
    });
    return await executeGraph(graph, options, {
      session,
      ledger: new S3Ledger(session.storage, session.stateBucket),
      observers,
      executorFor: (step) => executors.get(step.task.resource.kind)!,
      invokes: (step) => remote.get(step.task.resource.kind)?.invocations === true,
      remoteFor: (step) => remote.get(step.task.resource.kind),
    });
  } finally {
    for (const executor of remote.values()) await executor.close?.();
  }
}

/**
 * Refuses, before the run reads anything, steps that read partitions in a way their remote
 * executor cannot (every partition, a window) or whose task uses its partition's key where the
 * executor does not give it.
 *
 * @param graph the pipeline about to run.
 * @param remote the remote executor of each resource kind that has one.
 * @throws {UnsupportedError} naming the task, its resource, the input and what to do.
 */
export function refuseUnsupportedReads(
  graph: PipelineGraph,
  remote: ReadonlyMap<ResourceKind, RemoteExecutor>,
): void {
  const refused: string[] = [];
  for (const step of graph.steps) {
    const executor = remote.get(step.task.resource.kind);
    if (!executor) continue;
    const on = `task '${step.task.name}' (${step.task.resource.kind})`;
    for (const [name, ref] of Object.entries(step.sources)) {
      const mapping = mappingOf(step, name);
      const window = Object.values(step.lookback?.[name] ?? {}).some((n) => n > 0);
      if (mapping === "all" && !executor.reads?.all) {
        refused.push(
          `${on} reads every partition of bucket '${ref.location}' as one frame (input ` +
            `'${name}'), which its resource cannot`,
        );
      } else if (mapping === "same" && window && !executor.reads?.lookback) {
        refused.push(
          `${on} reads a window of partitions of bucket '${ref.location}' (input '${name}', ` +
            "lookback), which its resource cannot",
        );
      }
    }
    const keys = codeFingerprint(step).keys;
    if (keys.length > 0 && !executor.partitionKeys) {
      const names = keys.map((k) => `'${k}'`).join(", ");
      refused.push(
        `${on} uses its partition's key ${names}, which its resource does not give it (when it ` +
          `reads its input by partitions, declare ${names} as String columns of its input and ` +
          "read the columns instead)",
      );
    }
  }
  if (refused.length > 0) {
    throw new UnsupportedError(
      `pipeline '${graph.name}' cannot run in cloud mode as declared, so nothing was read or ` +
        `written: ${refused.join("; ")}. Declare ${
          refused.length > 1 ? "those tasks" : "that task"
        } on provider.local() (it then runs in this process against S3), or read one partition ` +
        "at a time",
    );
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
