/**
 * The Step Functions definition of a pipeline, as plain data in the Amazon States Language.
 *
 * A deployed run goes through the engine (`src/engine/deployed_run.ts`), handler by handler:
 * `begin run` takes the locks and records the run in the ledger; the steps run wave by wave, in
 * the graph's levels, each wave a `Parallel` state with one branch per step; a step that runs in
 * its own Lambda function decides, runs and records itself there, and a job that runs elsewhere
 * (a Spark job) is bracketed by the run's `decide` (skipped when up to date) and `record`
 * handlers; `commit run` publishes through the journal and the ledger. Any failure goes to `abort
 * run`, which drops what the run staged, records the failed run and releases the locks, then to a
 * `Fail` state. Every task state retries with exponential backoff.
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
  /**
   * Whether the state runs a job outside the engine (a Spark job): the run then decides before it
   * (its state reads the decision's `bind` at `$.step.bind`) and records after it.
   */
  readonly bracketed?: boolean;
}

/**
 * How long a job that runs outside the engine (a Spark job) may take when its task sets no
 * `timeoutSeconds`: its state's limit, and how long the run's locks are leased around it.
 */
export const DEPLOYED_JOB_SECONDS = 6 * 60 * 60;

/** The name of the state that begins a run. */
export const BEGIN_STATE = "begin run";
/** The name of the state that publishes a run. */
export const COMMIT_STATE = "commit run";
/** The name of the state that aborts a run. */
export const ABORT_STATE = "abort run";
/** The name of the state that ends a failed run. */
export const FAILED_STATE = "run failed";

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
 * A `Task` state that calls a handler of the run: the run's Lambda function, with the handler's
 * event as its payload.
 *
 * @param event the event's fields: `deployed` and the run, the task, the error.
 * @returns the state, without `Next`, `End` or `Catch`.
 */
export type RunHandler = (event: Readonly<Record<string, unknown>>) => AslState;

/**
 * The state machine of a pipeline: begin, its waves in order (several steps of a wave in
 * parallel), commit; abort on any failure.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { stateMachineDefinition, taskState } from "./state_machine.ts";
 * const step = (task: string) =>
 *   taskState(task, "a task", "arn:aws:states:::lambda:invoke", {}, [
 *     { errors: ["States.ALL"], intervalSeconds: 5, maxAttempts: 2 },
 *   ]);
 * const handler = (event: Record<string, unknown>) => ({ Type: "Task", Parameters: event });
 * const definition = stateMachineDefinition("demo", [[step("a"), step("b")], [step("c")]], handler);
 * assert.equal(definition.StartAt, "begin run");
 * assert.deepEqual(Object.keys(definition.States), [
 *   "begin run", "wave 1", "wave 2", "commit run", "abort run", "run failed",
 * ]);
 * ```
 *
 * @param pipeline the pipeline's name.
 * @param waves the task states, in the graph's levels.
 * @param handler the state that calls one of the run's handlers.
 * @returns the definition.
 */
export function stateMachineDefinition(
  pipeline: string,
  waves: readonly (readonly TaskState[])[],
  handler: RunHandler,
): AslDefinition {
  const run = { "run.$": "$.run.runId" };
  const abort = {
    Catch: [{ ErrorEquals: ["States.ALL"], ResultPath: "$.error", Next: ABORT_STATE }],
  };
  const states: Record<string, AslState> = {
    [BEGIN_STATE]: {
      ...handler({ deployed: "begin", "execution.$": "$$.Execution.Id" }),
      Comment: "takes the locks of the buckets the run writes and records the run in the ledger",
      ResultSelector: { "runId.$": "$.Payload.runId" },
      ResultPath: "$.run",
      Catch: [{ ErrorEquals: ["States.ALL"], ResultPath: "$.error", Next: FAILED_STATE }],
      Next: waves.length > 0 ? "wave 1" : COMMIT_STATE,
    },
  };
  waves.forEach((wave, i) => {
    states[`wave ${i + 1}`] = {
      Type: "Parallel",
      Comment: `runs ${wave.map((t) => `'${t.task}'`).join(", ")}${
        wave.length > 1 ? " at once" : ""
      }`,
      Branches: wave.map((t) => ({ StartAt: branchStart(t), States: branch(t, handler, run) })),
      ResultPath: null,
      ...abort,
      Next: i + 1 < waves.length ? `wave ${i + 2}` : COMMIT_STATE,
    };
  });
  states[COMMIT_STATE] = {
    ...handler({ deployed: "commit", ...run }),
    Comment: "publishes every output through the journal and the ledger, and releases the locks",
    ResultSelector: { "status.$": "$.Payload.status" },
    ResultPath: "$.report",
    ...abort,
    End: true,
  };
  states[ABORT_STATE] = {
    ...handler({ deployed: "abort", ...run, "error.$": "$.error" }),
    Comment: "drops what the run staged, records the failed run and releases the locks",
    ResultPath: null,
    Catch: [{ ErrorEquals: ["States.ALL"], ResultPath: null, Next: FAILED_STATE }],
    Next: FAILED_STATE,
  };
  states[FAILED_STATE] = {
    Type: "Fail",
    Error: TASK_FAILED_ERROR,
    Cause: `pipeline '${pipeline}' failed and published nothing; each step's status and error ` +
      "are in the ledger (glacier MODULE runs --mode cloud) and in this execution's history",
  };
  const steps = waves.reduce((n, w) => n + w.length, 0);
  return {
    Comment: `Glacier pipeline '${pipeline}': ${steps} ${steps === 1 ? "step" : "steps"} in ` +
      `${waves.length} ${waves.length === 1 ? "wave" : "waves"}, through the engine`,
    StartAt: BEGIN_STATE,
    States: states,
  };
}

function branchStart(t: TaskState): string {
  return t.bracketed ? `decide ${t.task}` : t.task;
}

/** A step's branch: its state, or decide, skip when up to date, its job, record. */
function branch(
  t: TaskState,
  handler: RunHandler,
  run: Readonly<Record<string, string>>,
): Record<string, AslState> {
  if (!t.bracketed) return { [t.task]: { ...t.state, End: true } };
  return {
    [`decide ${t.task}`]: {
      ...handler({ deployed: "decide", task: t.task, ...run }),
      Comment: `decides whether '${t.task}' runs or is up to date, and where it reads and writes`,
      ResultSelector: {
        "action.$": "$.Payload.action",
        "bind.$": "$.Payload.bind",
        "decision.$": "$.Payload",
      },
      ResultPath: "$.step",
      Next: `${t.task} up to date?`,
    },
    [`${t.task} up to date?`]: {
      Type: "Choice",
      Choices: [{ Variable: "$.step.action", StringEquals: "skip", Next: `${t.task} skipped` }],
      Default: t.task,
    },
    [`${t.task} skipped`]: { Type: "Succeed" },
    [t.task]: { ...t.state, Next: `record ${t.task}` },
    [`record ${t.task}`]: {
      ...handler({ deployed: "record", task: t.task, ...run, "decision.$": "$.step.decision" }),
      Comment: `records what '${t.task}' staged`,
      ResultPath: null,
      End: true,
    },
  };
}

/**
 * Escapes text for a string literal inside an intrinsic function such as `States.Array`.
 *
 * @param text the text.
 * @returns the literal, quoted.
 */
export function intrinsicString(text: string): string {
  return `'${text.replace(/[\\'{}]/g, (c) => `\\${c}`)}'`;
}
