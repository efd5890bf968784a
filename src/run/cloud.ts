/**
 * Cloud mode: every bucket is an S3 object, and each task runs on its own resource. Tasks
 * declared on `provider.local()` run in this process against S3.
 *
 * @module
 */
import { UnsupportedError } from "../core/errors.ts";
import type { PipelineGraph } from "../core/graph.ts";
import type { ExecuteOptions, RunOptions, RunReport } from "../core/reports.ts";
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
  const remote = graph.steps.filter((s) => s.task.resource.kind !== "local");
  if (remote.length > 0) {
    const names = remote.map((s) => `'${s.task.name}' (${s.task.resource.kind})`).join(", ");
    throw new UnsupportedError(
      `cloud mode cannot run task ${names} yet: running tasks on AWS Lambda ` +
        "(provider.serverless) and Spark (provider.spark) is not available in this version of " +
        'Glacier. Nothing was read or written. Run the pipeline with { mode: "local" }, or ' +
        "declare those tasks on provider.local() to run them in this process against S3",
    );
  }
  const { S3RunSession } = await import("../storage/s3/s3_session.ts");
  const session = await S3RunSession.begin(graph);
  return await executeGraph(graph, options as ExecuteOptions, session, () => runInProcess);
}
