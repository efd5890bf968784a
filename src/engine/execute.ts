/**
 * Runs a pipeline graph on a storage session: steps in dependency order, independent steps at
 * the same time, each on the executor for its task's resource, outputs committed together when
 * every step succeeded and dropped when one failed.
 *
 * @module
 */
import {
  CommitError,
  firstLine,
  GlacierError,
  StorageError,
  TaskError,
  TaskTimeoutError,
} from "../core/errors.ts";
import type { PipelineGraph } from "../core/graph.ts";
import type { Step } from "../core/lineage.ts";
import { timeoutOf } from "../core/task.ts";
import type { ExecuteOptions, RunReport, StepReport } from "../core/reports.ts";
import type { RunSession, StepContext, StepExecutor, Written } from "../core/session.ts";
import { locateParseError } from "../io/text_input.ts";
import { applyTask } from "../core/apply_task.ts";
import { printer, type Progress, silent } from "./progress.ts";
import { schedule } from "./schedule.ts";

/** How often a long step reports that it is still running, in seconds. */
const HEARTBEAT_SECONDS = 15;

/**
 * Runs the graph.
 *
 * @param graph the pipeline.
 * @param options the mode and its options.
 * @param session the run's storage.
 * @param executorFor the executor of each step.
 * @returns what each step did.
 * @throws {GlacierError} naming the task, bucket or file when a step fails; no bucket changes then.
 */
export async function executeGraph(
  graph: PipelineGraph,
  options: ExecuteOptions,
  session: RunSession,
  executorFor: (step: Step) => StepExecutor,
): Promise<RunReport> {
  const progress = options.quiet ? silent : printer();
  const started = performance.now();
  const producers = new Map(graph.steps.map((s) => [s.target.location, s]));
  const writeHint = options.mode === "cloud"
    ? 'bucket.write(frame, { mode: "cloud" })'
    : "bucket.write(frame)";
  const context: StepContext = {
    pipeline: graph.name,
    missing(step, input) {
      const ref = step.sources[input];
      const producer = producers.get(ref.location);
      return producer
        ? `bucket '${ref.location}' has no data at ${
          session.uriOf(ref)
        }: task '${producer.task.name}' should have produced it`
        : `bucket '${ref.location}' has no data at ${session.uriOf(ref)}; it is an input of ` +
          `pipeline '${graph.name}' (read by task '${step.task.name}'): write it with ${writeHint} first`;
    },
  };
  const reports: StepReport[] = [];
  let index = 0;
  try {
    await schedule(graph, options.concurrency ?? 2, async (step) => {
      index += 1;
      progress.started(step, index, graph.steps.length);
      const stepStarted = performance.now();
      const written = await withHeartbeat(
        step,
        progress,
        () =>
          withTimeout(step, (signal) => executorFor(step)(step, session, { ...context, signal })),
      );
      const report: StepReport = {
        task: step.task.name,
        resource: step.task.resource.label,
        target: step.target.location,
        status: "ran",
        reason: "no previous run",
        rows: written.rows,
        bytes: written.bytes,
        seconds: (performance.now() - stepStarted) / 1000,
      };
      reports.push(report);
      progress.finished(report);
    });
  } catch (error) {
    await session.abort();
    const message = error instanceof Error ? error.message : String(error);
    const family = error instanceof GlacierError
      ? error.constructor as new (m: string, o?: ErrorOptions) => GlacierError
      : TaskError;
    throw new family(`pipeline '${graph.name}' failed, and no bucket was changed: ${message}`, {
      cause: error,
    });
  }
  try {
    await session.commit();
  } catch (error) {
    if (!(error instanceof CommitError)) {
      await session.abort();
      throw new CommitError(
        `pipeline '${graph.name}' could not publish its outputs: ${firstLine(error)}`,
        [],
        reports.map((r) => r.target),
        undefined,
        { cause: error },
      );
    }
    throw new CommitError(
      `pipeline '${graph.name}' could not publish its outputs: ${error.reasonText}`,
      error.changed,
      error.unchanged,
      error.pending,
      { cause: error },
    );
  }
  const report: RunReport = {
    runId: session.runId,
    pipeline: graph.name,
    mode: options.mode,
    status: "succeeded",
    startedAt: new Date(Date.now() - (performance.now() - started)).toISOString(),
    steps: reports,
    seconds: (performance.now() - started) / 1000,
  };
  progress.done(report);
  return report;
}

/**
 * Runs a step's task in this process: reads its inputs through the session, builds and checks
 * its plan, and streams the plan into the target's staged output.
 *
 * @param step the step.
 * @param session the run's storage.
 * @param context the run around the step.
 * @returns rows and bytes written.
 */
export async function runInProcess(
  step: Step,
  session: RunSession,
  context: StepContext,
): Promise<Written> {
  const frames: Record<string, Awaited<ReturnType<RunSession["input"]>>> = {};
  for (const [name, ref] of Object.entries(step.sources)) {
    frames[name] = await session.input(ref, context.missing(step, name));
  }
  const plan = applyTask(step, frames);
  try {
    return await session.output(step.target, plan);
  } catch (error) {
    if (error instanceof StorageError) throw error;
    const inputs = Object.values(step.sources).map((s) => `'${s.location}'`).join(", ");
    const where = locateParseError(Object.values(frames), error);
    throw new TaskError(
      `task '${step.task.name}' failed while computing bucket '${step.target.location}' ` +
        `from ${inputs}: ${firstLine(error)}${where ? `; ${where}` : ""}`,
      { cause: error },
    );
  }
}

/**
 * Runs a step's work under its task's timeout. Past it, the step fails with a
 * {@linkcode TaskTimeoutError} (and so does the run, through its normal failure path: staged
 * outputs dropped, nothing published) and the signal is aborted. Work that cannot be stopped, such
 * as polars computing in this process, is abandoned: it keeps its threads and memory until it ends
 * or the process exits, and whatever it does then is ignored.
 */
function withTimeout<T>(step: Step, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const seconds = timeoutOf(step.task);
  const controller = new AbortController();
  if (seconds === undefined) return work(controller.signal);
  const running = work(controller.signal);
  running.catch(() => {});
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(
        new TaskTimeoutError(
          `task '${step.task.name}' exceeded its timeout of ${seconds} s; its work was abandoned ` +
            "(polars work in progress cannot be cancelled from JavaScript) and nothing was published",
        ),
      );
      controller.abort();
    }, seconds * 1000);
  });
  return Promise.race([running, expired]).finally(() => clearTimeout(timer));
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
