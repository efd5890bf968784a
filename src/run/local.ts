/**
 * Local mode: every task runs in-process on polars, every bucket is a file under the provider's
 * local root. Steps run in dependency order, independent steps at the same time, outputs are
 * streamed by polars' sinks into staging and committed together when every step succeeded.
 *
 * @module
 */
import type pl from "../polars.ts";
import { GlacierError, StorageError, TaskError } from "../core/errors.ts";
import type { PipelineGraph } from "../core/graph.ts";
import type { BucketRef, Step } from "../core/lineage.ts";
import type { ExecuteOptions, RunOptions, RunReport, StepReport } from "../core/reports.ts";
import { FileStorage, type FileTransaction } from "../storage/file_storage.ts";
import { firstLine } from "../storage/_errors.ts";
import { applyTask } from "./apply_task.ts";
import { printer, type Progress, silent } from "./progress.ts";
import { schedule } from "./schedule.ts";

/** How often a long step reports that it is still running, in seconds. */
const HEARTBEAT_SECONDS = 15;

/**
 * Runs a pipeline graph in local mode.
 *
 * @param graph the pipeline.
 * @param options `{ mode: "local" }` and its options.
 * @returns what each step did.
 * @throws {GlacierError} naming the task, bucket or file when a step fails; no bucket changes then.
 */
export async function runLocal(graph: PipelineGraph, options: RunOptions): Promise<RunReport> {
  const execute = options as ExecuteOptions;
  const progress = execute.quiet ? silent : printer();
  const started = performance.now();
  const transactions = new Map<string, { storage: FileStorage; txn: FileTransaction }>();
  const txnFor = async (ref: BucketRef) => {
    let entry = transactions.get(ref.settings.localRoot);
    if (entry === undefined) {
      const storage = new FileStorage(ref.settings.localRoot);
      entry = { storage, txn: await storage.beginRun() };
      transactions.set(ref.settings.localRoot, entry);
    }
    return entry;
  };
  for (const ref of graph.buckets) await txnFor(ref);

  const producers = new Map(graph.steps.map((s) => [s.target.location, s]));
  const reports: StepReport[] = [];
  let index = 0;
  try {
    await schedule(graph, execute.concurrency ?? 2, async (step) => {
      index += 1;
      progress.started(step, index, graph.steps.length);
      const report = await withHeartbeat(
        step,
        progress,
        () => runStep(step, txnFor, producers, graph.name),
      );
      reports.push(report);
      progress.finished(report);
    });
    for (const { txn } of transactions.values()) await txn.commit();
  } catch (error) {
    for (const { txn } of transactions.values()) await txn.abort();
    const message = error instanceof Error ? error.message : String(error);
    const family = error instanceof GlacierError
      ? error.constructor as new (m: string, o?: ErrorOptions) => GlacierError
      : TaskError;
    throw new family(
      `pipeline '${graph.name}' failed, and no bucket was changed: ${message}`,
      { cause: error },
    );
  }
  const report: RunReport = {
    pipeline: graph.name,
    mode: "local",
    steps: reports,
    seconds: (performance.now() - started) / 1000,
  };
  progress.done(report);
  return report;
}

async function runStep(
  step: Step,
  txnFor: (ref: BucketRef) => Promise<{ storage: FileStorage; txn: FileTransaction }>,
  producers: ReadonlyMap<string, Step>,
  pipeline: string,
): Promise<StepReport> {
  const started = performance.now();
  const frames: Record<string, pl.LazyDataFrame> = {};
  for (const [name, ref] of Object.entries(step.sources)) {
    const { storage, txn } = await txnFor(ref);
    const producer = producers.get(ref.location);
    const missing = producer
      ? `bucket '${ref.location}' has no data: task '${producer.task.name}' should have produced it`
      : `bucket '${ref.location}' has no data at ${storage.pathOf(ref)}; it is an input of ` +
        `pipeline '${pipeline}' (read by task '${step.task.name}'): write it with bucket.write(frame) first`;
    frames[name] = await storage.scan(ref, txn.readPath(ref), missing);
  }
  const plan = applyTask(step, frames);
  const { storage, txn } = await txnFor(step.target);
  const staged = txn.stagePath(step.target);
  try {
    await storage.sinkTo(step.target, plan, staged);
  } catch (error) {
    const inputs = Object.values(step.sources).map((s) => `'${s.location}'`).join(", ");
    throw new TaskError(
      `task '${step.task.name}' failed while computing bucket '${step.target.location}' ` +
        `from ${inputs}: ${firstLine(error)}`,
      { cause: error },
    );
  }
  let written: { rows: number; bytes: number };
  try {
    written = await storage.describe(step.target, staged);
  } catch (error) {
    throw new StorageError(
      `the output of task '${step.task.name}' for bucket '${step.target.location}' could not be read back: ${
        firstLine(error)
      }`,
      { cause: error },
    );
  }
  txn.staged(step.target);
  return {
    task: step.task.name,
    resource: step.task.resource.label,
    target: step.target.location,
    rows: written.rows,
    bytes: written.bytes,
    seconds: (performance.now() - started) / 1000,
  };
}

async function withHeartbeat<T>(
  step: Step,
  progress: Progress,
  work: () => Promise<T>,
): Promise<T> {
  let seconds = 0;
  const timer = setInterval(() => {
    seconds += HEARTBEAT_SECONDS;
    progress.waiting(step, seconds);
  }, HEARTBEAT_SECONDS * 1000);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}
