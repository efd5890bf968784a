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
import type { BucketRef, Step } from "../core/lineage.ts";
import type { ObservedRun, RunObserver } from "../core/observer.ts";
import { describeSchema } from "../schema/schema.ts";
import { codeFingerprint, stepFingerprint } from "./fingerprint.ts";
import { whyRun } from "./freshness.ts";
import { type Ledger, versionHeld, versionKey, type VersionRecord } from "./ledger/ledger.ts";
import { timeoutOf } from "../core/task.ts";
import type { ExecuteOptions, RunReport, StepReport } from "../core/reports.ts";
import type { RunSession, StepContext, StepExecutor, Written } from "../core/session.ts";
import { locateParseError } from "../io/text_input.ts";
import { failpoint } from "../io/_failpoint.ts";
import { applyTask } from "../core/apply_task.ts";
import { printer, type Progress, silent } from "./progress.ts";
import { schedule } from "./schedule.ts";

/** How often a long step reports that it is still running, in seconds. */
const HEARTBEAT_SECONDS = 15;

/** What a run works with besides the graph: its storage, executors, ledger and observers. */
export interface RunContext {
  /** The run's storage. */
  readonly session: RunSession;
  /** The executor of each step. */
  readonly executorFor: (step: Step) => StepExecutor;
  /** Where the run is recorded, and what it consults to skip up-to-date steps. */
  readonly ledger: Ledger;
  /** Who is told of the run's progress (OpenLineage, the run UI). */
  readonly observers?: readonly RunObserver[];
}

/**
 * Runs the graph: skips each step whose output is up to date by the ledger, runs the rest on their
 * executors, and publishes every output together (recorded in the ledger in one transaction) when
 * no step failed.
 *
 * @param graph the pipeline.
 * @param options the mode and its options.
 * @param run the session, executors, ledger and observers.
 * @returns what each step did, and why.
 * @throws {GlacierError} naming the task, bucket or file when a step fails, with the run's report
 *   as `report`; no bucket changes then.
 */
export async function executeGraph(
  graph: PipelineGraph,
  options: ExecuteOptions,
  run: RunContext,
): Promise<RunReport> {
  const { session, ledger } = run;
  const progress = options.quiet ? silent : printer();
  const started = performance.now();
  const startedAt = new Date();
  const observed = observedRun(graph, options, session, startedAt);
  const observers = notifier(run.observers ?? []);
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
  try {
    await ledger.startRun({
      runId: session.runId,
      pipeline: graph.name,
      mode: options.mode,
      startedAt: startedAt.toISOString(),
    });
  } catch (error) {
    await session.abort();
    throw new StorageError(
      `pipeline '${graph.name}' did not start: the ledger ${ledger.where} could not record the ` +
        `run (${firstLine(error)}); nothing was changed`,
      { cause: error },
    );
  }
  await observers.runStarted(observed);

  const recorded = await ledger.current(graph.buckets.map((b) => b.location));
  const stored = new Map<string, Promise<string | undefined>>();
  const storedOf = (ref: BucketRef) => {
    let found = stored.get(ref.location);
    if (!found) stored.set(ref.location, found = session.stored(ref));
    return found;
  };
  /** The version key of each bucket as this run leaves it, once known. */
  const now = new Map<string, string>();
  /** Versions to publish: what steps wrote, and inputs seen for the first time. */
  const versions = new Map<string, VersionRecord>();
  const inputKey = async (ref: BucketRef): Promise<string | undefined> => {
    const known = now.get(ref.location);
    if (known !== undefined) return known;
    const identity = await storedOf(ref);
    if (identity === undefined) return undefined;
    const held = versionHeld(recorded.get(ref.location), identity);
    if (held) return versionKey(held);
    // Data Glacier did not write (seeded, or changed by hand): recorded as found.
    versions.set(ref.location, {
      location: ref.location,
      partition: "",
      content: null,
      identity,
      rows: null,
      bytes: null,
      schema: describeSchema(ref.schema),
      runId: session.runId,
      task: null,
      fingerprint: null,
      code: null,
      inputs: null,
      createdAt: new Date().toISOString(),
    });
    return identity;
  };
  const forced = (step: Step) =>
    options.force === true ||
    (Array.isArray(options.force) && options.force.includes(step.task.name));

  const reports: StepReport[] = [];
  const finish = async (step: Step, report: StepReport) => {
    reports.push(report);
    progress.finished(report);
    await ledger.recordStep(session.runId, report);
    await observers.stepFinished(observed, step, report);
  };
  let index = 0;
  const outcome = await schedule(graph, options.concurrency ?? 2, async (step) => {
    index += 1;
    const stepStarted = performance.now();
    const startedAtText = new Date().toISOString();
    const code = codeFingerprint(step);
    const inputs: Record<string, string> = {};
    for (const [name, ref] of Object.entries(step.sources)) {
      inputs[name] = (await inputKey(ref)) ?? "missing";
    }
    const identity = await storedOf(step.target);
    const current = recorded.get(step.target.location);
    const held = versionHeld(current, identity);
    const reason = whyRun(
      step,
      code,
      { recorded: current, stored: identity, held },
      inputs,
      forced(step),
    );
    const fingerprint = stepFingerprint(code, inputs);
    const base = {
      task: step.task.name,
      resource: step.task.resource.label,
      target: step.target.location,
      fingerprint,
      startedAt: startedAtText,
    };
    if (reason === "up to date") {
      now.set(step.target.location, versionKey(held!));
      progress.skipped(step, index, graph.steps.length, reason);
      await finish(step, {
        ...base,
        status: "skipped",
        reason,
        rows: held!.rows ?? 0,
        bytes: held!.bytes ?? 0,
        seconds: (performance.now() - stepStarted) / 1000,
      });
      return;
    }
    progress.started(step, index, graph.steps.length, reason);
    await observers.stepStarted(observed, step);
    let written: Written;
    try {
      written = await withHeartbeat(
        step,
        progress,
        () =>
          withTimeout(
            step,
            (signal) => run.executorFor(step)(step, session, { ...context, signal }),
          ),
      );
    } catch (error) {
      await finish(step, {
        ...base,
        status: "failed",
        reason: firstLine(error),
        rows: 0,
        bytes: 0,
        seconds: (performance.now() - stepStarted) / 1000,
        error: error instanceof Error ? error.message : String(error),
      });
      throw error;
    }
    const content = written.content ?? `run:${session.runId}:${step.target.location}`;
    now.set(step.target.location, content);
    versions.set(step.target.location, {
      location: step.target.location,
      partition: "",
      content,
      identity: written.identity ?? content,
      rows: written.rows,
      bytes: written.bytes,
      schema: describeSchema(step.target.schema),
      runId: session.runId,
      task: step.task.name,
      fingerprint,
      code: code.parts,
      inputs,
      createdAt: new Date().toISOString(),
    });
    await finish(step, {
      ...base,
      status: "ran",
      reason,
      rows: written.rows,
      bytes: written.bytes,
      seconds: (performance.now() - stepStarted) / 1000,
    });
  });

  for (const step of outcome.blocked) {
    await finish(step, {
      task: step.task.name,
      resource: step.task.resource.label,
      target: step.target.location,
      status: "skipped",
      reason: "upstream failed",
      rows: 0,
      bytes: 0,
      seconds: 0,
    });
  }
  const ended = (status: RunReport["status"], error?: string): RunReport => ({
    runId: session.runId,
    pipeline: graph.name,
    mode: options.mode,
    status,
    startedAt: startedAt.toISOString(),
    steps: reports,
    seconds: (performance.now() - started) / 1000,
    ...(error === undefined ? {} : { error }),
  });

  if (outcome.failures.length > 0) {
    await session.abort();
    const failure = outcome.failures[0].error;
    const message = failure instanceof Error ? failure.message : String(failure);
    const more = outcome.failures.length > 1
      ? ` (and ${outcome.failures.length - 1} more failed step${
        outcome.failures.length > 2 ? "s" : ""
      }: ${outcome.failures.slice(1).map((f) => `'${f.step.task.name}'`).join(", ")})`
      : "";
    const family = failure instanceof GlacierError
      ? failure.constructor as new (m: string, o?: ErrorOptions) => GlacierError
      : TaskError;
    const error = new family(
      `pipeline '${graph.name}' failed, and no bucket was changed: ${message}${more}`,
      { cause: failure },
    );
    throw await failed(error, ended("failed", error.message));
  }

  const report = ended("succeeded");
  try {
    failpoint("ledger.prepare");
    await ledger.prepare(session.runId, [...versions.values()]);
  } catch (error) {
    await session.abort();
    const failure = new StorageError(
      `pipeline '${graph.name}' computed its outputs but the ledger ${ledger.where} could not ` +
        `record them (${firstLine(error)}), so nothing was published`,
      { cause: error },
    );
    throw await failed(failure, ended("failed", failure.message));
  }
  try {
    await session.commit();
  } catch (error) {
    const failure = error instanceof CommitError
      ? new CommitError(
        `pipeline '${graph.name}' could not publish its outputs: ${error.reasonText}`,
        error.changed,
        error.unchanged,
        error.pending,
        { cause: error },
      )
      : new CommitError(
        `pipeline '${graph.name}' could not publish its outputs: ${firstLine(error)}`,
        [],
        reports.map((r) => r.target),
        undefined,
        { cause: error },
      );
    if (!(error instanceof CommitError)) await session.abort();
    throw await failed(failure, ended("failed", failure.message));
  }
  const identities = new Map<string, string>();
  for (const version of versions.values()) {
    if (version.task === null) continue;
    const ref = graph.buckets.find((b) => b.location === version.location)!;
    const identity = await session.stored(ref);
    if (identity !== undefined) identities.set(version.location, identity);
  }
  try {
    failpoint("ledger.publish");
    await ledger.publish(report, identities);
  } catch (error) {
    warn(
      `the outputs were published, but the ledger ${ledger.where} could not record that (${
        firstLine(error)
      }); the next run recognizes them by their data`,
    );
  }
  progress.done(report);
  await observers.runFinished(observed, report);
  return report;

  async function failed(error: GlacierError, report: RunReport): Promise<GlacierError> {
    error.report = report;
    try {
      await ledger.fail(report);
    } catch (cause) {
      warn(`the ledger ${ledger.where} could not record the failed run: ${firstLine(cause)}`);
    }
    progress.done(report);
    await observers.runFinished(observed, report);
    return error;
  }
}

/** A warning: printed even for a quiet run, since something did not go as it should. */
function warn(text: string): void {
  console.error(`glacier: warning: ${text}`);
}

function observedRun(
  graph: PipelineGraph,
  options: ExecuteOptions,
  session: RunSession,
  startedAt: Date,
): ObservedRun {
  return {
    runId: session.runId,
    graph,
    mode: options.mode,
    startedAt,
    uriOf: (ref) => session.uriOf(ref),
  };
}

/** Calls every observer; one that throws is a warning, never a failed run. */
function notifier(observers: readonly RunObserver[]): Required<RunObserver> {
  const call = async (event: keyof RunObserver, args: unknown[]) => {
    for (const observer of observers) {
      try {
        await (observer[event] as ((...a: unknown[]) => unknown) | undefined)?.apply(
          observer,
          args,
        );
      } catch (error) {
        warn(`a run observer failed at ${event}: ${firstLine(error)}`);
      }
    }
  };
  return {
    runStarted: (...args) => call("runStarted", args),
    stepStarted: (...args) => call("stepStarted", args),
    stepFinished: (...args) => call("stepFinished", args),
    runFinished: (...args) => call("runFinished", args),
  };
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
