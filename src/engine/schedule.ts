/**
 * Runs a graph's steps in dependency order, independent steps at the same time.
 *
 * @module
 */
import type { PipelineGraph } from "../core/graph.ts";
import type { Step } from "../core/lineage.ts";

/**
 * Runs every step once its upstream steps have finished, at most `concurrency` at a time. After
 * the first failure no new step starts; the running ones are awaited, then the failure is thrown.
 *
 * @param graph the pipeline.
 * @param concurrency how many steps may run at once.
 * @param run what to do for one step.
 */
export async function schedule(
  graph: PipelineGraph,
  concurrency: number,
  run: (step: Step) => Promise<void>,
): Promise<void> {
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
  let failure: { error: unknown } | undefined;

  while (pending.length > 0 || running.size > 0) {
    while (failure === undefined && running.size < concurrency) {
      const i = pending.findIndex((s) => waitingOn.get(s)!.size === 0);
      if (i < 0) break;
      const [step] = pending.splice(i, 1);
      const task: Promise<void> = run(step).then(
        () => {
          for (const deps of waitingOn.values()) deps.delete(step);
        },
        (error) => {
          failure ??= { error };
        },
      ).finally(() => running.delete(task));
      running.add(task);
    }
    if (running.size === 0) break;
    await Promise.race(running);
  }
  if (failure) throw failure.error;
}
