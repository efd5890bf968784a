/**
 * Cloud mode: every bucket is an S3 object, and each task runs on its own resource: tasks on
 * `provider.local()` in this process against S3, the others on the executor their target
 * installed (AWS Lambda for `provider.serverless()`).
 *
 * @module
 */
import { UnsupportedError } from "../core/errors.ts";
import type { PipelineGraph } from "../core/graph.ts";
import type { ExecuteOptions, RunOptions, RunReport } from "../core/reports.ts";
import type { RemoteExecutor, StepExecutor } from "../core/session.ts";
import { remoteExecutor } from "../core/targets.ts";
import { executeGraph, runInProcess } from "./execute.ts";

/**
 * Runs a pipeline graph in cloud mode.
 *
 * @param graph the pipeline.
 * @param options `{ mode: "cloud" }` and its options.
 * @returns what each step did.
 * @throws {UnsupportedError} before anything is read when a task's resource cannot run here.
 * @throws {GlacierError} naming the task, bucket or object when a step fails; no bucket changes then.
 */
export async function runCloud(graph: PipelineGraph, options: RunOptions): Promise<RunReport> {
  const executors = new Map<string, StepExecutor>([["local", runInProcess]]);
  const remote = new Map<string, RemoteExecutor>();
  for (const kind of ["serverless", "spark"] as const) {
    const executor = await remoteExecutor(kind);
    if (executor) {
      executors.set(kind, executor.run);
      remote.set(kind, executor);
    }
  }
  const missing = graph.steps.filter((s) => !executors.has(s.task.resource.kind));
  if (missing.length > 0) {
    const names = missing.map((s) => `'${s.task.name}' (${s.task.resource.kind})`).join(", ");
    throw new UnsupportedError(
      `cloud mode cannot run task ${names} yet: this version of Glacier cannot run ` +
        `${
          [...new Set(missing.map((s) => s.task.resource.kind))].join(" or ")
        } tasks in the cloud. ` +
        'Nothing was read or written. Run the pipeline with { mode: "local" }, or declare those ' +
        "tasks on provider.local() to run them in this process against S3",
    );
  }
  for (const [kind, executor] of remote) {
    if (graph.steps.some((s) => s.task.resource.kind === kind)) await executor.preflight?.(graph);
  }
  const { S3RunSession } = await import("../io/s3/s3_session.ts");
  const execute = options as ExecuteOptions;
  const session = await S3RunSession.begin(graph, { wait: execute.wait });
  return await executeGraph(
    graph,
    execute,
    session,
    (step) => executors.get(step.task.resource.kind)!,
  );
}
