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
  const producer = new Map(graph.steps.map((s) => [s.target.location, s]));
  const outcome = await scheduleNodes(
    graph.steps,
    (step) => Object.values(step.sources).flatMap((ref) => producer.get(ref.location) ?? []),
    concurrency,
    run,
  );
  return {
    failures: outcome.failures.map(({ node, error }) => ({ step: node, error })),
    blocked: outcome.blocked,
  };
}

/** Groups of nodes that have their own bound on how many run at once. */
export interface Pools<T> {
  /** The pool a node runs in; `undefined` for the default pool, bounded by `concurrency`. */
  of(node: T): string | undefined;
  /** How many nodes of each named pool may run at once. */
  readonly sizes: Readonly<Record<string, number>>;
}

/** What else a schedule of nodes may be told. */
export interface ScheduleOptions<T> {
  /** The pools with bounds of their own, if any. */
  readonly pools?: Pools<T>;
  /** Told of each node, as soon as it is known, that it will not start: a node upstream failed. */
  readonly blocked?: (node: T) => void;
}

/**
 * Runs every node of a DAG once the nodes it depends on have finished, at most `concurrency` at a
 * time (per pool, when pools are given), in the order given where it can; a node that fails
 * blocks every node downstream of it.
 *
 * @param nodes the nodes, each after the nodes it depends on.
 * @param upstream the nodes one depends on.
 * @param concurrency how many may run at once (in the default pool).
 * @param run what to do for one node.
 * @param options pools, and who is told of blocked nodes.
 * @returns the failures (in the order they failed) and the nodes they blocked (in node order).
 */
export async function scheduleNodes<T>(
  nodes: readonly T[],
  upstream: (node: T) => readonly T[],
  concurrency: number,
  run: (node: T) => Promise<void>,
  options: ScheduleOptions<T> = {},
): Promise<{ failures: { node: T; error: unknown }[]; blocked: T[] }> {
  const pools = options.pools;
  for (const size of [concurrency, ...Object.values(pools?.sizes ?? {})]) {
    if (!Number.isInteger(size) || size < 1) {
      throw new RangeError(`concurrency must be a positive integer, got ${size}`);
    }
  }
  const waiting = new Map<T, number>();
  const downstream = new Map<T, T[]>();
  for (const node of nodes) {
    const ups = new Set(upstream(node));
    waiting.set(node, ups.size);
    for (const up of ups) {
      const list = downstream.get(up);
      if (list) list.push(node);
      else downstream.set(up, [node]);
    }
  }
  const order = new Map(nodes.map((n, i) => [n, i]));
  const ready: T[] = nodes.filter((n) => waiting.get(n) === 0);
  const running = new Set<Promise<void>>();
  const busy = new Map<string, number>();
  const sizeOf = (pool: string) => pool === "" ? concurrency : pools!.sizes[pool] ?? concurrency;
  const failures: { node: T; error: unknown }[] = [];
  const stopped = new Set<T>();
  const block = (failed: T) => {
    for (const next of downstream.get(failed) ?? []) {
      if (stopped.has(next)) continue;
      stopped.add(next);
      options.blocked?.(next);
      block(next);
    }
  };
  const release = (done: T) => {
    for (const next of downstream.get(done) ?? []) {
      const left = waiting.get(next)! - 1;
      waiting.set(next, left);
      if (left === 0 && !stopped.has(next)) insertSorted(ready, next, order);
    }
  };
  const start = (node: T, pool: string) => {
    busy.set(pool, (busy.get(pool) ?? 0) + 1);
    const task: Promise<void> = run(node).then(
      () => release(node),
      (error) => {
        failures.push({ node, error });
        block(node);
      },
    ).finally(() => {
      busy.set(pool, busy.get(pool)! - 1);
      running.delete(task);
    });
    running.add(task);
  };
  while (ready.length > 0 || running.size > 0) {
    // The first ready nodes, in order, whose pools have room.
    const full = new Set<string>();
    for (let i = 0; i < ready.length; i++) {
      const node = ready[i];
      if (stopped.has(node)) {
        ready.splice(i--, 1);
        continue;
      }
      const pool = pools?.of(node) ?? "";
      if (full.has(pool)) continue;
      if ((busy.get(pool) ?? 0) >= sizeOf(pool)) {
        full.add(pool);
        if (full.size > Object.keys(pools?.sizes ?? {}).length) break;
        continue;
      }
      ready.splice(i--, 1);
      start(node, pool);
    }
    if (running.size === 0) break;
    await Promise.race(running);
  }
  return { failures, blocked: nodes.filter((n) => stopped.has(n)) };
}

function insertSorted<T>(list: T[], node: T, order: ReadonlyMap<T, number>): void {
  const at = order.get(node)!;
  let i = list.length;
  while (i > 0 && order.get(list[i - 1])! > at) i--;
  list.splice(i, 0, node);
}
