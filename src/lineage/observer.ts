/**
 * The run observer that emits OpenLineage events: START when the run and each step start, then
 * COMPLETE, FAIL or ABORT. A step's COMPLETE waits for the run to publish: when the run fails
 * and publishes nothing, the steps that ran are ABORTed instead, so no catalog shows data that
 * was never published. Skipped steps emit nothing. Events are sent in the background, in order;
 * a send that fails or takes longer than the timeout is a warning, the remaining events of the
 * run are dropped, and the run neither fails nor waits more than the timeout for them.
 *
 * @module
 */
import { firstLine } from "../core/errors.ts";
import { partitionText } from "../core/partitions.ts";
import type { Step } from "../core/lineage.ts";
import type { ObservedRun, RunObserver } from "../core/observer.ts";
import type { RunReport, StepReport } from "../core/reports.ts";
import { type ColumnLineage, columnLineage } from "./column_lineage.ts";
import {
  type EventType,
  type LineageRun,
  lineageRunId,
  type RunEvent,
  runEvent,
  stepEvent,
} from "./events.ts";
import { type LineageSettings, lineageSettings } from "./transport.ts";

/** Options of {@linkcode OpenLineageObserver}. */
export interface OpenLineageOptions extends LineageSettings {
  /** Where warnings go (default: stderr, as `warning: ...`). */
  readonly warn?: (message: string) => void;
}

/** A step of the current run, as the observer follows it. */
interface StepState {
  readonly runId: string;
  readonly lineage?: ColumnLineage;
  /** The COMPLETE event's details, held until the run publishes. */
  finished?: { report: StepReport; eventTime: string };
}

/**
 * Emits OpenLineage run events for the runs it observes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { pl, Provider, schema, t } from "@glacier/glacier";
 * import { buildGraph } from "../core/graph.ts";
 * import { OpenLineageObserver } from "./observer.ts";
 * import type { RunEvent } from "./events.ts";
 *
 * const provider = new Provider({ localRoot: "/data" });
 * const S = schema({ id: t.int64, x: t.float64 });
 * const double = provider.local().task(
 *   { name: "double", input: S, output: S },
 *   (df) => df.withColumns(pl.col("x").mul(2).alias("x")),
 * );
 * const raw = provider.bucket({ bucket: "lab", path: "raw.parquet", schema: S });
 * const out = provider.bucket({ bucket: "lab", path: "out.parquet", schema: S });
 * const pipeline = raw.transform(double).to(out).withName("doubling");
 * const graph = buildGraph("doubling", pipeline.lineage);
 *
 * const events: RunEvent[] = [];
 * const observer = new OpenLineageObserver({
 *   transport: { target: "memory", send: async (event) => void events.push(event) },
 *   namespace: "glacier",
 *   timeoutSeconds: 5,
 * });
 * const run = {
 *   runId: "run-1",
 *   graph,
 *   mode: "local" as const,
 *   startedAt: new Date(),
 *   uriOf: (ref: { bucket: string; path: string }) => `/data/${ref.bucket}/${ref.path}`,
 * };
 * const [step] = graph.steps;
 * await observer.runStarted(run);
 * await observer.stepStarted(run, step);
 * const report = {
 *   task: "double", resource: "local", target: "lab/out.parquet", status: "ran" as const,
 *   reason: "no previous run", rows: 3, bytes: 100, seconds: 0.1,
 * };
 * await observer.stepFinished(run, step, report);
 * await observer.runFinished(run, {
 *   runId: "run-1", pipeline: "doubling", mode: "local", status: "succeeded",
 *   startedAt: run.startedAt.toISOString(), steps: [report], seconds: 0.2,
 * });
 * assert.deepEqual(
 *   events.map((e) => `${e.eventType} ${e.job.name}`),
 *   ["START doubling", "START doubling.double", "COMPLETE doubling.double", "COMPLETE doubling"],
 * );
 * ```
 */
export class OpenLineageObserver implements RunObserver {
  #settings: LineageSettings;
  #warn: (message: string) => void;
  #runs = new Map<string, { lineage: LineageRun; steps: Map<Step, StepState> }>();
  #queue: Promise<void> = Promise.resolve();
  #pending = 0;
  #failed = false;
  #warned = new Set<string>();

  /**
   * @param options where events go, their namespace, the timeout of a send, and where warnings go.
   */
  constructor(options: OpenLineageOptions) {
    this.#settings = options;
    this.#warn = options.warn ?? ((message) => console.error(`warning: ${message}`));
  }

  /**
   * Emits the run job's START.
   *
   * @param run the run.
   */
  async runStarted(run: ObservedRun): Promise<void> {
    const lineage: LineageRun = {
      namespace: this.#settings.namespace,
      runId: await lineageRunId(run.runId),
      run,
    };
    this.#runs.set(run.runId, { lineage, steps: new Map() });
    this.#failed = false;
    this.#send(runEvent(lineage, "START", run.startedAt.toISOString()));
  }

  /**
   * Emits a step job's START, with its datasets and column lineage.
   *
   * @param run the run.
   * @param step the step.
   */
  async stepStarted(run: ObservedRun, step: Step): Promise<void> {
    const state = this.#runs.get(run.runId);
    if (state === undefined) return;
    const current: StepState = {
      // One OpenLineage run per step, and per partition of a partitioned step.
      runId: await lineageRunId(
        `${run.runId}/${step.task.name}${
          step.target.partition ? `/${partitionText(step.target.partition)}` : ""
        }`,
      ),
      lineage: this.#columnLineage(step),
    };
    state.steps.set(step, current);
    this.#send(this.#stepEvent(state.lineage, step, current, "START"));
  }

  /**
   * Emits a failed step's FAIL; holds a step's COMPLETE until the run publishes; skipped steps
   * emit nothing.
   *
   * @param run the run.
   * @param step the step.
   * @param report what it did.
   */
  stepFinished(run: ObservedRun, step: Step, report: StepReport): void {
    const state = this.#runs.get(run.runId);
    const current = state?.steps.get(step);
    if (state === undefined || current === undefined || report.status === "skipped") return;
    const eventTime = new Date().toISOString();
    if (report.status === "ran") {
      current.finished = { report, eventTime };
      return;
    }
    state.steps.delete(step);
    this.#send(this.#stepEvent(state.lineage, step, current, "FAIL", { report, eventTime }));
  }

  /**
   * Emits each step's COMPLETE and the run's COMPLETE when the run published; else ABORT for
   * each step that started and did not fail, and the run's FAIL. Then waits for the events to be
   * sent, at most the timeout.
   *
   * @param run the run.
   * @param report what it did.
   */
  async runFinished(run: ObservedRun, report: RunReport): Promise<void> {
    const state = this.#runs.get(run.runId);
    if (state === undefined) return;
    this.#runs.delete(run.runId);
    const now = new Date().toISOString();
    const published = report.status === "succeeded";
    for (const [step, current] of state.steps) {
      if (published && current.finished) {
        this.#send(this.#stepEvent(state.lineage, step, current, "COMPLETE", current.finished));
      } else {
        this.#send(this.#stepEvent(state.lineage, step, current, "ABORT", { eventTime: now }));
      }
    }
    this.#send(runEvent(state.lineage, published ? "COMPLETE" : "FAIL", now, report.error));
    await this.#drain();
  }

  #stepEvent(
    lineage: LineageRun,
    step: Step,
    current: StepState,
    type: EventType,
    at: { report?: StepReport; eventTime?: string } = {},
  ): RunEvent {
    return stepEvent(lineage, step, type, {
      runId: current.runId,
      eventTime: at.eventTime ?? new Date().toISOString(),
      ...(current.lineage ? { lineage: current.lineage } : {}),
      ...(at.report ? { report: at.report } : {}),
    });
  }

  #columnLineage(step: Step): ColumnLineage | undefined {
    try {
      return columnLineage(step);
    } catch (error) {
      this.#warnOnce(
        `lineage:${step.task.name}`,
        `OpenLineage: no column lineage for task '${step.task.name}': ${firstLine(error)}`,
      );
      return undefined;
    }
  }

  /** Queues an event; after a failed send, the run's remaining events are dropped. */
  #send(event: RunEvent): void {
    const { transport, timeoutSeconds } = this.#settings;
    this.#pending += 1;
    this.#queue = this.#queue.then(async () => {
      try {
        if (this.#failed) return;
        await transport.send(event, AbortSignal.timeout(timeoutSeconds * 1000));
      } catch (error) {
        this.#failed = true;
        const reason = error instanceof DOMException && error.name === "TimeoutError"
          ? `no answer within ${timeoutSeconds} s`
          : firstLine(error);
        this.#warn(
          `OpenLineage events could not be sent to ${transport.target} (${reason}); this run's ` +
            "lineage is incomplete, and the run goes on",
        );
      } finally {
        this.#pending -= 1;
      }
    });
  }

  /** Waits for the queued events, at most the timeout. */
  async #drain(): Promise<void> {
    const { timeoutSeconds, transport } = this.#settings;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const expired = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), timeoutSeconds * 1000);
    });
    const late = await Promise.race([this.#queue.then(() => false), expired]);
    clearTimeout(timer);
    if (late && this.#pending > 0) {
      this.#warn(
        `OpenLineage: ${this.#pending} events not yet sent to ${transport.target} after ` +
          `${timeoutSeconds} s; the run ends without waiting for them`,
      );
    }
  }

  #warnOnce(key: string, message: string): void {
    if (this.#warned.has(key)) return;
    this.#warned.add(key);
    this.#warn(message);
  }
}

/**
 * The observers that OpenLineage's environment variables ask for: one
 * {@linkcode OpenLineageObserver} when a transport is configured, none when nothing is (or
 * `OPENLINEAGE_DISABLED=true`). A configuration that cannot work is a warning, not an error.
 *
 * @param read reads a variable (default: the process environment).
 * @param warn where warnings go (default: stderr).
 * @returns the observers to hand to a run.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { lineageObservers } from "./observer.ts";
 * assert.deepEqual(lineageObservers(() => undefined), []);
 * const vars: Record<string, string> = { OPENLINEAGE_URL: "http://127.0.0.1:5000" };
 * assert.equal(lineageObservers((name) => vars[name]).length, 1);
 * ```
 */
export function lineageObservers(
  read?: (name: string) => string | undefined,
  warn: (message: string) => void = (message) => console.error(`warning: ${message}`),
): RunObserver[] {
  let settings: LineageSettings | undefined;
  try {
    settings = lineageSettings(read);
  } catch (error) {
    warn(`OpenLineage: ${firstLine(error)}; no events are sent`);
    return [];
  }
  return settings === undefined ? [] : [new OpenLineageObserver({ ...settings, warn })];
}
