/**
 * Runs a graph's steps in dependency order, independent steps at the same time.
 *
 * @module
 */
import type { PipelineGraph } from "../core/graph.ts";
import type { Step } from "../core/lineage.ts";

/** A step that failed, and why. */
export interface StepFailure {
  /** The step. */
  readonly step: Step;
  /** What it threw. */
  readonly error: unknown;
}

/** How a schedule ended. */
export interface ScheduleOutcome {
  /** Steps that threw, in the order they failed. */
  readonly failures: readonly StepFailure[];
  /** Steps that never started because a step upstream of them failed. */
  readonly blocked: readonly Step[];
}

/**
 * Runs every step once its upstream steps have finished, at most `concurrency` at a time. A step
 * that fails blocks every step downstream of it; steps that do not depend on it go on, so one run
 * shows every failure there is.
 *
 * @param graph the pipeline.
 * @param concurrency how many steps may run at once.
 * @param run what to do for one step.
 * @returns the failures and the steps they blocked.
 */
export async function schedule(
  graph: PipelineGraph,
  concurrency: number,
  run: (step: Step) => Promise<void>,
): Promise<ScheduleOutcome> {
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new RangeError(`concurrency must be a positive integer, got ${concurrency}`);
  }
  const producer = new Map(graph.steps.map((s) => [s.target.location, s]));
  const waitingOn = new Map<Step, Set<Step>>();
  for (const step of graph.steps) {
    const ups = new Set<Step>();
    for (const ref of Object.values(step.sources)) {
      const up = producer.get(ref.location);
      if (up) ups.add(up);
    }
    waitingOn.set(step, ups);
  }
  const pending = [...graph.steps];
  const running = new Set<Promise<void>>();
  const failures: StepFailure[] = [];
  const blocked: Step[] = [];
  const block = (failed: Step) => {
    for (let i = pending.length - 1; i >= 0; i--) {
      if (waitingOn.get(pending[i])!.has(failed)) {
        const [step] = pending.splice(i, 1);
        blocked.push(step);
        block(step);
      }
    }
  };

  while (pending.length > 0 || running.size > 0) {
    while (running.size < concurrency) {
      const i = pending.findIndex((s) => waitingOn.get(s)!.size === 0);
      if (i < 0) break;
      const [step] = pending.splice(i, 1);
      const task: Promise<void> = run(step).then(
        () => {
          for (const deps of waitingOn.values()) deps.delete(step);
        },
        (error) => {
          failures.push({ step, error });
          block(step);
        },
      ).finally(() => running.delete(task));
      running.add(task);
    }
    if (running.size === 0) break;
    await Promise.race(running);
  }
  const stopped = new Set(blocked);
  return { failures, blocked: graph.steps.filter((s) => stopped.has(s)) };
}
