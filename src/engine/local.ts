/**
 * Local mode: every task runs in-process on polars, every bucket is a file under the provider's
 * local root, whatever resource the task is declared on.
 *
 * @module
 */
import type { PipelineGraph } from "../core/graph.ts";
import type { ExecuteOptions, RunReport } from "../core/reports.ts";
import { FileRunSession } from "../io/file_session.ts";
import { executeGraph, runInProcess } from "./execute.ts";

/**
 * Runs a pipeline graph in local mode.
 *
 * @param graph the pipeline.
 * @param options `{ mode: "local" }` and its options.
 * @returns what each step did.
 * @throws {GlacierError} naming the task, bucket or file when a step fails; no bucket changes then.
 */
export async function runLocal(
  graph: PipelineGraph,
  options: ExecuteOptions,
): Promise<RunReport> {
  const session = await FileRunSession.begin(graph, { wait: options.wait });
  return await executeGraph(graph, options, session, () => runInProcess);
}
