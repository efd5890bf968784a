/**
 * Applying a task to its input frames, with every check a run makes before data moves.
 * Every executor (in-process, Lambda, the data-free check, Spark's capture) goes through here.
 *
 * @module
 */
import type pl from "../polars.ts";
import { firstLine, SchemaMismatchError, TaskError } from "./errors.ts";
import type { Step } from "./lineage.ts";
import type { TaskInputs } from "./task.ts";
import { anyPartition } from "./partition_map.ts";
import type { PartitionValues } from "./partitions.ts";
import { columnsOf, exactIssues, planSchema, type Schema } from "../schema/schema.ts";

/**
 * Calls a step's task on its input frames and checks that it returned a polars plan: the one
 * place a task's body runs, whatever then runs the plan.
 *
 * @param step the step.
 * @param frames one lazy frame per source, by input name (`input` for single-source tasks).
 * @param options `limitColumns: false` hands the frames over as they are (they already have
 *   exactly the declared columns); by default each is limited to the columns its input declares.
 *   `partition` is the partition the task computes (default: the stand-in of every partition,
 *   each key's value its name in braces, as a data-free call uses).
 * @returns the task's plan.
 * @throws {TaskError} when the task throws (its error as `cause`) or returns no lazy frame.
 */
export function callTask(
  step: Step,
  frames: Readonly<Record<string, pl.LazyDataFrame>>,
  options: { readonly limitColumns?: boolean; readonly partition?: PartitionValues } = {},
): pl.LazyDataFrame {
  const task = step.task;
  const partition = Object.freeze({ ...(options.partition ?? anyPartition(step.target)) });
  const limit = (frame: pl.LazyDataFrame, schema: Schema) =>
    options.limitColumns === false ? frame : frame.select(columnsOf(schema));
  let plan: unknown;
  try {
    if (task.kind === "single") {
      plan = task.apply(limit(frames.input, task.input), partition);
    } else {
      const inputs = Object.fromEntries(
        Object.entries(task.inputs as TaskInputs).map(([name, s]) => [
          name,
          limit(frames[name], s),
        ]),
      );
      plan = task.apply(inputs, partition);
    }
  } catch (error) {
    throw new TaskError(`task '${task.name}' threw: ${firstLine(error)}`, { cause: error });
  }
  if (
    plan === null || typeof plan !== "object" ||
    typeof (plan as pl.LazyDataFrame).collect !== "function" || !("_ldf" in plan)
  ) {
    throw new TaskError(
      `task '${task.name}' returned ${plan === null ? "null" : typeof plan} instead of a polars ` +
        "LazyDataFrame; return the lazy frame you built from the input (call .lazy() on a DataFrame)",
    );
  }
  return plan as pl.LazyDataFrame;
}

/**
 * Builds a step's output plan: gives the task its inputs (limited to the columns it declares),
 * checks that it returned a polars plan, and that the plan's schema equals the target bucket's.
 *
 * @param step the step.
 * @param frames one lazy frame per source, by input name (`input` for single-source tasks).
 * @param partition the partition the task computes (default: the data-free stand-in).
 * @returns the output plan, columns in the target's schema order.
 * @throws {TaskError} when the task throws or returns something polars cannot run.
 * @throws {SchemaMismatchError} when the output schema differs from the target bucket's.
 */
export function applyTask(
  step: Step,
  frames: Readonly<Record<string, pl.LazyDataFrame>>,
  partition?: PartitionValues,
): pl.LazyDataFrame {
  const task = step.task;
  const lazy = callTask(step, frames, partition === undefined ? {} : { partition });
  let schema: pl.Schema;
  try {
    schema = planSchema(lazy);
  } catch (error) {
    throw new TaskError(`task '${task.name}' built a plan polars cannot run: ${firstLine(error)}`, {
      cause: error,
    });
  }
  const issues = exactIssues(schema, step.target.schema, {
    task: task.name,
    bucket: step.target.location,
  });
  if (issues.length > 0) throw new SchemaMismatchError(issues.join("; "));
  return lazy.select(columnsOf(step.target.schema));
}
