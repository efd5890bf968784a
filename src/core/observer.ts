/**
 * What a run tells those who watch it (OpenLineage, the run UI): when it starts, each step's start
 * and end, and how it ended. The engine calls a {@linkcode RunObserver}; the layer above hands it
 * one, so the engine imports no consumer.
 *
 * @module
 */
import type { PipelineGraph } from "./graph.ts";
import type { BucketRef, Step } from "./lineage.ts";
import type { RunReport, StepReport, StorageMode } from "./reports.ts";

/** A run as its observers see it. */
export interface ObservedRun {
  /** The run's id. */
  readonly runId: string;
  /** The graph it runs (for a module: every pipeline, shared steps once). */
  readonly graph: PipelineGraph;
  /** `local` or `cloud`. */
  readonly mode: StorageMode;
  /** When it started. */
  readonly startedAt: Date;
  /**
   * Where a bucket's data lives in this mode: an absolute file path, or an `s3://bucket/key` URI.
   *
   * @param ref the bucket.
   * @returns its location.
   */
  uriOf(ref: BucketRef): string;
}

/**
 * Receives a run's events. Each method may be async; the engine awaits it, and a method that
 * throws is reported as a warning, never a failed run.
 */
export interface RunObserver {
  /**
   * The run began (its locks are held; nothing has been read yet).
   *
   * @param run the run.
   */
  runStarted?(run: ObservedRun): void | Promise<void>;
  /**
   * A step is about to compute its output (steps skipped as up to date never start).
   *
   * @param run the run.
   * @param step the step.
   */
  stepStarted?(run: ObservedRun, step: Step): void | Promise<void>;
  /**
   * A step ended: ran, failed, or was skipped.
   *
   * @param run the run.
   * @param step the step.
   * @param report what it did.
   */
  stepFinished?(run: ObservedRun, step: Step, report: StepReport): void | Promise<void>;
  /**
   * The run ended: published (`succeeded`) or not (`failed`).
   *
   * @param run the run.
   * @param report what it did.
   */
  runFinished?(run: ObservedRun, report: RunReport): void | Promise<void>;
}
