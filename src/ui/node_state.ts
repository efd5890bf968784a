/**
 * The state the run UI colours each task and bucket by: up to date, stale (and why), failed,
 * running, never run, or, for a bucket no task writes, without data. It is read from what the
 * ledger and the stored data say now (the plan), what the last runs did, and the run in progress.
 *
 * @module
 */
import type { PlannedStep, StepReport } from "../core/reports.ts";

/** What the graph shows of a task or a bucket. */
export type NodeState = "up to date" | "stale" | "failed" | "running" | "never run" | "no data";

/** A state and the reason for it. */
export interface StateWithReason {
  /** The state. */
  readonly state: NodeState;
  /** Why, in the ledger's words: `input 'orders_df' changed`, an error's first line, ... */
  readonly reason: string;
}

/** What is known of one task when its state is decided. */
export interface TaskFacts {
  /** What a run would do with the task now. */
  readonly planned: Pick<PlannedStep, "action" | "reason">;
  /** The task's step in the most recent finished run that has it. */
  readonly last?: Pick<StepReport, "status" | "reason">;
  /** The run in progress, when there is one. */
  readonly live?: {
    /** Its id. */
    readonly runId: string;
    /** The task's step in it, once the step has ended. */
    readonly step?: Pick<StepReport, "status" | "reason">;
    /** Whether every task upstream of this one has ended in that run. */
    readonly upstreamDone: boolean;
  };
}

/**
 * A task's state: a run in progress decides first, then a failure the ledger still stands by,
 * then what a run would do now.
 *
 * @param facts what is known of the task.
 * @returns its state and why.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { taskState } from "./node_state.ts";
 *
 * assert.deepEqual(
 *   taskState({ planned: { action: "run", reason: "input 'orders_df' changed" } }),
 *   { state: "stale", reason: "input 'orders_df' changed" },
 * );
 * ```
 */
export function taskState(facts: TaskFacts): StateWithReason {
  const { planned, last, live } = facts;
  if (live?.step) {
    const { status, reason } = live.step;
    if (status === "failed") return { state: "failed", reason };
    return { state: "up to date", reason: `${status} in run ${live.runId}: ${reason}` };
  }
  if (live?.upstreamDone) return { state: "running", reason: `running in run ${live.runId}` };
  if (planned.action === "skip") return { state: "up to date", reason: planned.reason };
  if (last?.status === "failed") return { state: "failed", reason: last.reason };
  if (planned.reason === "no previous run" || (planned.action === "fail" && !last)) {
    return { state: "never run", reason: planned.reason };
  }
  return { state: "stale", reason: planned.reason };
}

/**
 * The state of a bucket no task writes: it is data the module reads.
 *
 * @param present whether its data is stored.
 * @param where where its data is, for the reason.
 * @returns its state and why.
 */
export function sourceState(present: boolean, where: string): StateWithReason {
  return present
    ? { state: "up to date", reason: "input data, written outside the module's tasks" }
    : { state: "no data", reason: `no data at ${where}` };
}
