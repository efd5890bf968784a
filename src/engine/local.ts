/**
 * Local mode: every task runs in-process on polars, every bucket is a file under the provider's
 * local root, whatever resource the task is declared on; the ledger is a SQLite database there.
 *
 * @module
 */
import { join } from "node:path";
import type { PipelineGraph } from "../core/graph.ts";
import type { RunObserver } from "../core/observer.ts";
import type { ExecuteOptions, PlanOptions, RunReport } from "../core/reports.ts";
import { FileRunSession } from "../io/file_session.ts";
import { FileStorage } from "../io/file_storage.ts";
import { executeGraph, runInProcess } from "./execute.ts";
import { SqliteLedger } from "./ledger/sqlite_ledger.ts";
import { fileIdentity } from "../io/file_identity.ts";
import { planSteps, type StepPlan } from "./plan.ts";
import { writeScope } from "./write_scope.ts";

/**
 * Where a local root keeps its ledger.
 *
 * @param localRoot the provider's local root.
 * @returns `<localRoot>/.glacier/ledger.sqlite`.
 */
export function localLedgerPath(localRoot: string): string {
  return join(localRoot, ".glacier", "ledger.sqlite");
}

/**
 * Opens the ledger of a local root.
 *
 * @param localRoot the provider's local root.
 * @returns the ledger.
 * @throws {StorageError} naming the file when it is damaged or from a newer Glacier.
 */
export function openLocalLedger(localRoot: string): Promise<SqliteLedger> {
  const storage = new FileStorage(localRoot);
  return SqliteLedger.open(localLedgerPath(localRoot), (id) => storage.isRunLive(id));
}

/**
 * Runs a pipeline graph in local mode.
 *
 * @param graph the pipeline.
 * @param options `{ mode: "local" }` and its options.
 * @param observers who is told of the run's progress.
 * @returns what each step did, and why.
 * @throws {GlacierError} naming the task, bucket or file when a step fails; no bucket changes then.
 */
export async function runLocal(
  graph: PipelineGraph,
  options: ExecuteOptions,
  observers: readonly RunObserver[] = [],
): Promise<RunReport> {
  const writes = await writeScope(
    graph,
    options.partitions,
    new Date(),
    (ref) => new FileStorage(ref.settings.localRoot).partitions(ref),
  );
  const session = await FileRunSession.begin(graph, {
    wait: options.wait,
    ...(writes ? { writes } : {}),
  });
  let ledger: SqliteLedger;
  try {
    ledger = await openLocalLedger(ledgerRoot(graph));
  } catch (error) {
    await session.abort();
    throw error;
  }
  try {
    return await executeGraph(graph, options, {
      session,
      ledger,
      observers,
      executorFor: () => runInProcess,
    });
  } finally {
    ledger.close();
  }
}

/** The local root whose ledger records the graph's runs: its first bucket's. */
export function ledgerRoot(graph: PipelineGraph): string {
  return (graph.steps[0]?.target ?? graph.buckets[0]).settings.localRoot;
}

/**
 * Predicts what a local run would do.
 *
 * @param graph the pipeline.
 * @param options as the run's `force` and `partitions`.
 * @returns each step's action and reason.
 */
export async function planLocal(
  graph: PipelineGraph,
  options: Pick<PlanOptions, "force" | "partitions"> = {},
): Promise<StepPlan> {
  const ledger = await openLocalLedger(ledgerRoot(graph));
  try {
    return await planSteps(graph, "local", ledger, {
      stored: (ref) => fileIdentity(new FileStorage(ref.settings.localRoot).pathOf(ref)),
      partitions: (ref) => new FileStorage(ref.settings.localRoot).partitions(ref),
      force: options.force,
      selection: options.partitions,
    });
  } finally {
    ledger.close();
  }
}
