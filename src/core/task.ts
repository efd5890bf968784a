/**
 * Tasks: named functions over polars lazy frames, declared on an execution resource.
 *
 * @module
 */
import type pl from "../polars.ts";
import type { Schema } from "../schema/schema.ts";
import type { ResourceInfo } from "./resource.ts";
import type { PartitionValues } from "./partitions.ts";

/** Named inputs of a multi-source task: input name to schema. */
export type TaskInputs = Readonly<Record<string, Schema>>;

/** The lazy frames a multi-source task body receives, one per declared input. */
export type InputFrames<I extends TaskInputs> = { readonly [K in keyof I]: pl.LazyDataFrame<I[K]> };

/** The properties every task has. */
export interface TaskBase<O extends Schema, N extends string> {
  /** The task's name, unique within a pipeline; errors and generated resources use it. */
  readonly name: N;
  /** What the task does, for people reading a graph. */
  readonly description?: string;
  /** The schema the task's output must have. */
  readonly output: O;
  /** The execution resource the task is declared on. */
  readonly resource: ResourceInfo;
  /** The longest the task may run, in seconds, before the run fails; see {@linkcode timeoutOf}. */
  readonly timeoutSeconds?: number;
}

/** A task that reads one bucket: `bucket.transform(task)`. */
export interface SingleTask<I extends Schema, O extends Schema, N extends string>
  extends TaskBase<O, N> {
  /** Single-source tasks take one frame. */
  readonly kind: "single";
  /** The columns the task reads. */
  readonly input: I;
  /**
   * Builds the task's lazy plan.
   *
   * @param df the input, already limited to the declared columns.
   * @param partition the partition being computed; `{}` for an unpartitioned target.
   * @returns the output plan.
   */
  apply(df: pl.LazyDataFrame<I>, partition: PartitionValues): pl.LazyDataFrame;
}

/** A task that reads several buckets by name: `new Pipeline({ ... }).transform(task)`. */
export interface MultiTask<I extends TaskInputs, O extends Schema, N extends string>
  extends TaskBase<O, N> {
  /** Multi-source tasks take named frames. */
  readonly kind: "multi";
  /** The inputs the task reads, by name, with their columns. */
  readonly inputs: I;
  /**
   * Builds the task's lazy plan.
   *
   * @param inputs one frame per declared input.
   * @param partition the partition being computed; `{}` for an unpartitioned target.
   * @returns the output plan.
   */
  apply(inputs: InputFrames<I>, partition: PartitionValues): pl.LazyDataFrame;
}

/** Any task. */
// deno-lint-ignore no-explicit-any
export type Task = SingleTask<any, Schema, string> | MultiTask<any, Schema, string>;

/** Declaration of a single-source task. */
export interface SingleTaskSpec<I extends Schema, O extends Schema, N extends string> {
  /** Unique name of the task. */
  readonly name: N;
  /** What it does. */
  readonly description?: string;
  /** The schema of the one bucket it reads. */
  readonly input: I;
  /** The schema its output must have. */
  readonly output: O;
  /** The longest the task may run, in seconds, in every mode; past it the run fails. */
  readonly timeoutSeconds?: number;
}

/** Declaration of a multi-source task. */
export interface MultiTaskSpec<I extends TaskInputs, O extends Schema, N extends string> {
  /** Unique name of the task. */
  readonly name: N;
  /** What it does. */
  readonly description?: string;
  /** The schemas of the buckets it reads, by input name. */
  readonly inputs: I;
  /** The schema its output must have. */
  readonly output: O;
  /** The longest the task may run, in seconds, in every mode; past it the run fails. */
  readonly timeoutSeconds?: number;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_-]{0,63}$/;

/**
 * Builds a task value. Execution resources call this; user code calls `resource.task(...)`.
 *
 * @param resource where the task runs.
 * @param spec the declaration.
 * @param body the task's function.
 * @returns the frozen task.
 */
export function createTask(
  resource: ResourceInfo,
  spec: SingleTaskSpec<Schema, Schema, string> | MultiTaskSpec<TaskInputs, Schema, string>,
  // deno-lint-ignore no-explicit-any
  body: (arg: any, partition: PartitionValues) => pl.LazyDataFrame,
): Task {
  if (typeof spec?.name !== "string" || !NAME.test(spec.name)) {
    throw new TypeError(
      `task name ${JSON.stringify(spec?.name)} is not valid: use letters, digits, '_' or '-', ` +
        "starting with a letter or '_', at most 64 characters",
    );
  }
  if (typeof body !== "function") {
    throw new TypeError(`task '${spec.name}' needs a function as its second argument`);
  }
  if (spec.output === undefined) {
    throw new TypeError(`task '${spec.name}' declares no output schema`);
  }
  const hasInput = "input" in spec && spec.input !== undefined;
  const hasInputs = "inputs" in spec && spec.inputs !== undefined;
  if (hasInput === hasInputs) {
    throw new TypeError(
      `task '${spec.name}' must declare either 'input' (one bucket) or 'inputs' (named buckets)`,
    );
  }
  const timeoutSeconds = checkedTimeout(spec.name, spec.timeoutSeconds, resource);
  const common = {
    name: spec.name,
    description: spec.description,
    output: spec.output,
    resource,
    apply: body,
    ...(timeoutSeconds === undefined ? {} : { timeoutSeconds }),
  };
  if (hasInputs) {
    const inputs = (spec as MultiTaskSpec<TaskInputs, Schema, string>).inputs;
    if (Object.keys(inputs).length === 0) {
      throw new TypeError(`task '${spec.name}' declares no inputs`);
    }
    return Object.freeze({
      ...common,
      kind: "multi" as const,
      inputs: Object.freeze({ ...inputs }),
    });
  }
  return Object.freeze({
    ...common,
    kind: "single" as const,
    input: (spec as SingleTaskSpec<Schema, Schema, string>).input,
  });
}

function checkedTimeout(
  task: string,
  seconds: number | undefined,
  resource: ResourceInfo,
): number | undefined {
  if (seconds === undefined) return undefined;
  if (typeof seconds !== "number" || !Number.isFinite(seconds) || seconds <= 0) {
    throw new TypeError(
      `task '${task}' timeoutSeconds must be a positive number of seconds, got ${String(seconds)}`,
    );
  }
  if (resource.maxTimeoutSeconds !== undefined && seconds > resource.maxTimeoutSeconds) {
    throw new RangeError(
      `task '${task}' timeoutSeconds ${seconds} is above its resource's limit of ` +
        `${resource.maxTimeoutSeconds} s (${resource.label}), which stays the ceiling; lower it or ` +
        "raise the resource's timeoutSeconds",
    );
  }
  return seconds;
}

/**
 * The timeout a task runs under: the lower of its own `timeoutSeconds` and its resource's.
 *
 * @param task the task.
 * @returns seconds, or `undefined` when the task may run as long as it takes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Provider, schema, SparkConfig, t, timeoutOf } from "@glacier/glacier";
 * const spark = new Provider().spark({ config: new SparkConfig({ timeoutSeconds: 600 }) });
 * const S = schema({ id: t.int64 });
 * const copy = spark.task({ name: "copy", input: S, output: S, timeoutSeconds: 60 }, (df) => df);
 * assert.equal(timeoutOf(copy), 60);
 * ```
 */
export function timeoutOf(task: Task): number | undefined {
  const limits = [task.timeoutSeconds, task.resource.timeoutSeconds].filter((s) =>
    s !== undefined
  ) as number[];
  return limits.length === 0 ? undefined : Math.min(...limits);
}
