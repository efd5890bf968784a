/**
 * The data-free check of spark tasks: a task that `glacier check` passes compiles to Spark SQL,
 * so an operation Glacier cannot run on Spark is refused by name before any job starts.
 *
 * @module
 */
import type { Step } from "../../core/lineage.ts";
import { compileStep } from "./compile.ts";

/**
 * Compiles a spark step's task and reports why it cannot run on Spark.
 *
 * @param step a step whose task is declared on `provider.spark()`.
 * @returns the compiler's message, or nothing when the task compiles.
 * @example
 * ```ts ignore
 * const issues = sparkCheck(step); // ["task 'x' uses polars operation 'over', which ..."]
 * ```
 */
export function sparkCheck(step: Step): string[] {
  try {
    compileStep(step);
    return [];
  } catch (error) {
    return [error instanceof Error ? error.message : String(error)];
  }
}
