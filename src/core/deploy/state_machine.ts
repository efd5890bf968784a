/**
 * The Step Functions definition of a pipeline, as plain data in the Amazon States Language.
 *
 * A deployed run goes through the engine (`src/engine/deployed_run.ts`), handler by handler:
 * `begin run` takes the locks, selects the partitions (from the execution's input: its
 * `partitions`, else those its `scheduledTime` or its start completes) and records the run in the
 * ledger; the steps run wave by wave, in the graph's levels, each wave a `Parallel` state with one
 * branch per step; a step that runs in its own Lambda function decides, runs and records itself
 * there, and a job that runs elsewhere (a Spark job) is bracketed by the run's `decide` (skipped
 * when up to date) and `record` handlers; `commit run` publishes through the journal and the
 * ledger. Any failure goes to `abort run`, which drops what the run staged, records the failed run
 * and releases the locks, then to a `Fail` state. Every task state retries with exponential
 * backoff.
 *
 * A pipeline with partitioned steps runs them in a `Map` state over the partitions `begin run`
 * selected, with bounded concurrency: each iteration runs every partitioned step for its
 * partition, wave by wave; a failure in it is caught and recorded (`partition failed`), so the
 * iteration ends and the other partitions go on. The steps that read every partition run after the
 * `Map` state; a failure there goes to `commit run` too, which publishes each partition whose
 * steps all succeeded, one partition's outputs together, and answers the failed partitions; the
 * execution then fails (`partitions failed`, with the run's error) when any did.
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
/** The name of the `Map` state that runs the partitioned steps, once per partition. */
export const PARTITIONS_STATE = "each partition";
/** The name of the state, in a partition's iteration, that records the partition's failure. */
export const PARTITION_FAILED_STATE = "partition failed";
/** How many partitions a `Map` state runs at once by default. */
export const DEFAULT_PARTITION_CONCURRENCY = 8;
/** The error name of an execution that published some partitions and not others. */
export const PARTITIONS_FAILED_ERROR = "Glacier.PartitionsFailed";

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

/** A pipeline's task states in the stages of a deployed run (`stages.ts`), each a list of waves. */
export interface StageStates {
  /** Unpartitioned steps that read no partition. */
  readonly before: readonly (readonly TaskState[])[];
  /**
   * Steps that write partitioned buckets, run once per partition; their states pass the
   * iteration's `$.partition` on to the step.
   */
  readonly partitioned: readonly (readonly TaskState[])[];
  /** Unpartitioned steps that read partitions. */
  readonly after: readonly (readonly TaskState[])[];
}

/**
 * The state machine of a pipeline: begin, its waves in order (several steps of a wave in
 * parallel), the partitioned steps in a `Map` state, commit; abort on any other failure.
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
 * const definition = stateMachineDefinition(
 *   "demo",
 *   { before: [[step("a"), step("b")]], partitioned: [[step("c")]], after: [[step("d")]] },
 *   handler,
 * );
 * assert.equal(definition.StartAt, "begin run");
 * assert.deepEqual(Object.keys(definition.States), [
 *   "begin run", "wave 1", "each partition", "wave 2", "commit run", "published every partition?",
 *   "partitions failed", "run succeeded", "abort run", "run failed",
 * ]);
 * assert.equal(definition.States["each partition"].MaxConcurrency, 8);
 * ```
 *
 * @param pipeline the pipeline's name.
 * @param stages the task states, in the stages of a deployed run, each in the graph's levels.
 * @param handler the state that calls one of the run's handlers.
 * @param options `partitionConcurrency`: how many partitions the `Map` state runs at once
 *   (default {@linkcode DEFAULT_PARTITION_CONCURRENCY}).
 * @returns the definition.
 */
export function stateMachineDefinition(
  pipeline: string,
  stages: StageStates,
  handler: RunHandler,
  options: { partitionConcurrency?: number } = {},
): AslDefinition {
  const run = { "run.$": "$.run.runId" };
  const abort = {
    Catch: [{ ErrorEquals: ["States.ALL"], ResultPath: "$.error", Next: ABORT_STATE }],
  };
  const mapped = stages.partitioned.length > 0;
  const order: string[] = [
    ...stages.before.map((_, i) => `wave ${i + 1}`),
    ...(mapped ? [PARTITIONS_STATE] : []),
    ...stages.after.map((_, i) => `wave ${stages.before.length + i + 1}`),
    COMMIT_STATE,
  ];
  const next = (name: string) => order[order.indexOf(name) + 1];
  const states: Record<string, AslState> = {
    [BEGIN_STATE]: {
      ...handler({
        deployed: "begin",
        "execution.$": "$$.Execution.Id",
        "startTime.$": "$$.Execution.StartTime",
        "input.$": "$",
      }),
      Comment: "takes the locks of the buckets the run writes, selects the partitions it " +
        "covers and records the run in the ledger",
      ResultSelector: {
        "runId.$": "$.Payload.runId",
        ...(mapped ? { "partitions.$": "$.Payload.partitions" } : {}),
      },
      ResultPath: "$.run",
      Catch: [{ ErrorEquals: ["States.ALL"], ResultPath: "$.error", Next: FAILED_STATE }],
      Next: order[0],
    },
  };
  const wave = (name: string, tasks: readonly TaskState[], partition: boolean): AslState => ({
    Type: "Parallel",
    Comment: `runs ${tasks.map((t) => `'${t.task}'`).join(", ")}${
      tasks.length > 1 ? " at once" : ""
    }${partition ? " for the partition" : ""}`,
    Branches: tasks.map((t) => ({
      StartAt: branchStart(t),
      States: branch(t, handler, partition ? { ...run, "partition.$": "$.partition" } : run),
    })),
    ResultPath: null,
    ...(name === "" ? {} : { Next: name }),
  });
  stages.before.forEach((tasks, i) => {
    const name = `wave ${i + 1}`;
    states[name] = { ...wave(next(name), tasks, false), ...abort };
  });
  if (mapped) {
    const tasks = stages.partitioned.flat().map((t) => `'${t.task}'`).join(", ");
    const limit = options.partitionConcurrency ?? DEFAULT_PARTITION_CONCURRENCY;
    const inner: Record<string, AslState> = {};
    const caught = {
      Catch: [{ ErrorEquals: ["States.ALL"], ResultPath: "$.error", Next: PARTITION_FAILED_STATE }],
    };
    stages.partitioned.forEach((tasks, i) => {
      const last = i + 1 === stages.partitioned.length;
      inner[`partition wave ${i + 1}`] = {
        ...wave(last ? "" : `partition wave ${i + 2}`, tasks, true),
        ...(last ? { End: true } : {}),
        ...caught,
      };
    });
    inner[PARTITION_FAILED_STATE] = {
      ...handler({
        deployed: "fail",
        ...run,
        "partition.$": "$.partition",
        "error.$": "$.error",
      }),
      Comment: "records the partition's failure: its outputs are not published, the other " +
        "partitions go on",
      ResultPath: null,
      End: true,
    };
    states[PARTITIONS_STATE] = {
      Type: "Map",
      Comment: `runs ${tasks} for each partition the run covers, ${limit} at once`,
      ItemsPath: "$.run.partitions",
      ItemSelector: { run: { "runId.$": "$.run.runId" }, "partition.$": "$$.Map.Item.Value" },
      MaxConcurrency: limit,
      ItemProcessor: {
        ProcessorConfig: { Mode: "INLINE" },
        StartAt: "partition wave 1",
        States: inner,
      },
      ResultPath: null,
      ...abort,
      Next: next(PARTITIONS_STATE),
    };
  }
  stages.after.forEach((tasks, i) => {
    const name = `wave ${stages.before.length + i + 1}`;
    // After the partitions, a failure still publishes the partitions that succeeded.
    states[name] = {
      ...wave(next(name), tasks, false),
      ...(mapped
        ? { Catch: [{ ErrorEquals: ["States.ALL"], ResultPath: "$.error", Next: COMMIT_STATE }] }
        : abort),
    };
  });
  states[COMMIT_STATE] = {
    ...handler({ deployed: "commit", ...run }),
    Comment: mapped
      ? "publishes each partition whose steps all succeeded, its outputs together, through the " +
        "journal and the ledger, and releases the locks"
      : "publishes every output through the journal and the ledger, and releases the locks",
    ResultSelector: {
      "status.$": "$.Payload.status",
      ...(mapped
        ? { "error.$": "$.Payload.error", "failedPartitions.$": "$.Payload.failedPartitions" }
        : {}),
    },
    ResultPath: "$.report",
    ...abort,
    ...(mapped ? { Next: "published every partition?" } : { End: true }),
  };
  if (mapped) {
    states["published every partition?"] = {
      Type: "Choice",
      Choices: [{
        Variable: "$.report.status",
        StringEquals: "failed",
        Next: "partitions failed",
      }],
      Default: "run succeeded",
    };
    states["partitions failed"] = {
      Type: "Fail",
      Comment: "the partitions that succeeded were published; the failed ones, with their " +
        "errors, are in the output of 'commit run' and in the ledger",
      Error: PARTITIONS_FAILED_ERROR,
      CausePath: "$.report.error",
    };
    states["run succeeded"] = { Type: "Succeed" };
  }
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
  const all = [...stages.before, ...stages.partitioned, ...stages.after];
  const steps = all.reduce((n, w) => n + w.length, 0);
  const waves = stages.before.length + stages.after.length;
  return {
    Comment: `Glacier pipeline '${pipeline}': ${steps} ${steps === 1 ? "step" : "steps"} in ` +
      `${waves} ${waves === 1 ? "wave" : "waves"}${
        mapped ? `${waves > 0 ? " and " : ", "}${stages.partitioned.length} per partition` : ""
      }, through the engine`,
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
