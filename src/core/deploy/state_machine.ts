/**
 * The Step Functions definition of a pipeline, as plain data in the Amazon States Language.
 *
 * The steps run wave by wave, in the graph's levels: the steps of one wave depend only on earlier
 * waves, so a wave of several steps is a `Parallel` state with one branch per step, and a wave
 * starts when the previous one has finished. Every task state retries with exponential backoff
 * and catches every error into a `Fail` state that names the task, so a failed execution says
 * which task failed.
 *
 * @module
 */

/** A state of the Amazon States Language, as plain JSON. */
export type AslState = Readonly<Record<string, unknown>>;

/** A state machine definition in the Amazon States Language. */
export interface AslDefinition {
  /** What the state machine runs. */
  readonly Comment: string;
  /** The first state. */
  readonly StartAt: string;
  /** The states, by name. */
  readonly States: Readonly<Record<string, AslState>>;
}

/** One task as the state machine runs it: its `Task` state without `Next`, `End` or `Catch`. */
export interface TaskState {
  /** The task's name; it names the state. */
  readonly task: string;
  /** The `Task` state. */
  readonly state: AslState;
}

/** How a task state retries: the errors, the first wait, the attempts and the backoff. */
export interface RetryRule {
  /** Error names, such as `Lambda.ServiceException` or `States.ALL`. */
  readonly errors: readonly string[];
  /** Seconds before the first retry. */
  readonly intervalSeconds: number;
  /** Retries after the first attempt. */
  readonly maxAttempts: number;
}

/** The error name of a pipeline execution that failed in a task. */
export const TASK_FAILED_ERROR = "Glacier.TaskFailed";

/**
 * A `Task` state.
 *
 * @param task the task's name.
 * @param comment what runs.
 * @param resource the integration's resource, such as `arn:aws:states:::lambda:invoke`.
 * @param fields the state's other fields, such as `Parameters` and `TimeoutSeconds`.
 * @param retries how it retries.
 * @returns the state.
 */
export function taskState(
  task: string,
  comment: string,
  resource: string,
  fields: Readonly<Record<string, unknown>>,
  retries: readonly RetryRule[],
): TaskState {
  return {
    task,
    state: {
      Type: "Task",
      Comment: comment,
      Resource: resource,
      ...fields,
      ResultPath: null,
      Retry: retries.map((r) => ({
        ErrorEquals: r.errors,
        IntervalSeconds: r.intervalSeconds,
        MaxAttempts: r.maxAttempts,
        BackoffRate: 2,
        JitterStrategy: "FULL",
      })),
    },
  };
}

/**
 * The state machine of a pipeline: its waves in order, several steps of a wave in parallel.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { stateMachineDefinition, taskState } from "./state_machine.ts";
 * const step = (task: string) =>
 *   taskState(task, "a task", "arn:aws:states:::lambda:invoke", {}, [
 *     { errors: ["States.ALL"], intervalSeconds: 5, maxAttempts: 2 },
 *   ]);
 * const definition = stateMachineDefinition("demo", [[step("a"), step("b")], [step("c")]]);
 * assert.equal(definition.StartAt, "wave 1");
 * assert.deepEqual(Object.keys(definition.States), ["wave 1", "c", "c failed"]);
 * ```
 *
 * @param pipeline the pipeline's name.
 * @param waves the task states, in the graph's levels.
 * @returns the definition.
 */
export function stateMachineDefinition(
  pipeline: string,
  waves: readonly (readonly TaskState[])[],
): AslDefinition {
  const states: Record<string, AslState> = {};
  const names = waves.map((wave, i) => wave.length === 1 ? wave[0].task : `wave ${i + 1}`);
  waves.forEach((wave, i) => {
    const next = i + 1 < waves.length ? { Next: names[i + 1] } : { End: true };
    if (wave.length === 1) {
      Object.assign(states, caught(wave[0], next));
      return;
    }
    states[names[i]] = {
      Type: "Parallel",
      Comment: `runs ${wave.map((t) => `'${t.task}'`).join(", ")} at once`,
      Branches: wave.map((t) => ({ StartAt: t.task, States: caught(t, { End: true }) })),
      ResultPath: null,
      ...next,
    };
  });
  const steps = waves.reduce((n, w) => n + w.length, 0);
  return {
    Comment: `Glacier pipeline '${pipeline}': ${steps} ${steps === 1 ? "step" : "steps"} in ` +
      `${waves.length} ${waves.length === 1 ? "wave" : "waves"}`,
    StartAt: names[0],
    States: states,
  };
}

/**
 * The name of the `Fail` state of a task.
 *
 * @param task the task's name.
 * @returns the state's name.
 */
export function failStateName(task: string): string {
  return `${task} failed`;
}

function caught(t: TaskState, next: Readonly<Record<string, unknown>>): Record<string, AslState> {
  return {
    [t.task]: {
      ...t.state,
      Catch: [{ ErrorEquals: ["States.ALL"], ResultPath: "$.error", Next: failStateName(t.task) }],
      ...next,
    },
    [failStateName(t.task)]: {
      Type: "Fail",
      Error: TASK_FAILED_ERROR,
      Cause: `task '${t.task}' failed after its retries; its error is in this execution's history`,
    },
  };
}
