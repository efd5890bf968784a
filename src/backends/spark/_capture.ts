/**
 * A spark step's plan, captured in core (`core/task_plan.ts`), with an operation polars cannot
 * serialize refused in Spark's words.
 *
 * @module
 */
import { UnsupportedError } from "../../core/errors.ts";
import type { Step } from "../../core/lineage.ts";
import { type CapturedPlan, capturePlan } from "../../core/task_plan.ts";

export { INPUT_MARKER, OPAQUE_MARKER, type PlanJson } from "../../core/task_plan.ts";

/**
 * The message of an operation Glacier cannot run on Spark.
 *
 * @param task the task's name.
 * @param operation the polars operation, as polars names it.
 * @returns the message, naming both and what to do.
 */
export function unsupportedMessage(task: string, operation: string): string {
  return `task '${task}' uses polars operation '${operation}', which Glacier cannot run on ` +
    "Spark; declare the task on provider.local() or provider.serverless(), or rewrite it with " +
    "supported operations";
}

/**
 * Captures a spark step's plan.
 *
 * @param step the step.
 * @returns the plan's JSON and its output schema.
 * @throws {UnsupportedError} for an operation polars cannot serialize.
 * @throws {TaskError} when the task throws or returns no lazy frame.
 */
export function captureSparkPlan(step: Step): CapturedPlan {
  return capturePlan(step, (operation, detail) =>
    new UnsupportedError(
      unsupportedMessage(step.task.name, operation) +
        (detail === undefined
          ? ""
          : ` (polars: ${detail}); build every expression inside the task body`),
    ));
}
