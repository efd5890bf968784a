/**
 * The data-free check: runs every task on empty frames of its input schema and compares the
 * schema its polars code really produces with the bucket it writes. No data is read.
 *
 * @module
 */
import type pl from "../polars.ts";
import type { PipelineGraph } from "../core/graph.ts";
import type { Backends } from "../core/backend.ts";
import type { CheckOptions, CheckReport, TaskCheck } from "../core/reports.ts";
import type { TaskInputs } from "../core/task.ts";
import { messages } from "../schema/messages.ts";
import { emptyFrame, feedIssues } from "../schema/schema.ts";
import { fedColumns } from "../core/bucket.ts";
import { applyTask } from "../core/apply_task.ts";

/**
 * Checks a pipeline without data: each task's output schema against its bucket, then what the
 * task's resource checks on its own (a spark task must compile to Spark SQL).
 *
 * @param graph the pipeline.
 * @param _options `{ mode: "check" }`.
 * @param backends each resource kind's own check.
 * @returns one entry per task with its issues.
 */
export async function checkGraph(
  graph: PipelineGraph,
  _options: CheckOptions,
  backends: Backends,
): Promise<CheckReport> {
  const tasks: TaskCheck[] = [];
  for (const step of graph.steps) {
    const task = step.task;
    const issues: string[] = [];
    const wants: Record<string, pl.Schema> = task.kind === "single"
      ? { input: task.input }
      : { ...(task.inputs as TaskInputs) };
    for (const [name, want] of Object.entries(wants)) {
      const ref = step.sources[name];
      if (ref === undefined) issues.push(messages.missingInput(task.name, name));
      else {
        issues.push(
          ...feedIssues(fedColumns(ref), want, {
            bucket: ref.location,
            task: task.name,
            input: task.kind === "multi" ? name : undefined,
          }),
        );
      }
    }
    if (issues.length === 0) {
      const frames = Object.fromEntries(
        Object.entries(step.sources).map(([name, ref]) => [name, emptyFrame(ref.schema).lazy()]),
      );
      try {
        applyTask(step, frames);
      } catch (error) {
        issues.push(error instanceof Error ? error.message : String(error));
      }
    }
    if (issues.length === 0) {
      issues.push(...await backends[task.resource.kind].check(step));
    }
    tasks.push({ task: task.name, issues });
  }
  return {
    pipeline: graph.name,
    ok: tasks.every((t) => t.issues.length === 0),
    tasks,
  };
}

/**
 * A check report as text.
 *
 * @param report the report.
 * @returns one line per task, then a verdict.
 */
export function formatCheck(report: CheckReport): string {
  const lines = report.tasks.map((t) =>
    t.issues.length === 0
      ? `  ok    ${t.task}`
      : `  FAIL  ${t.task}\n${t.issues.map((i) => `        - ${i}`).join("\n")}`
  );
  const failed = report.tasks.filter((t) => t.issues.length > 0).length;
  const verdict = failed === 0
    ? `pipeline '${report.pipeline}': ${report.tasks.length} tasks checked, all match their buckets`
    : `pipeline '${report.pipeline}': ${failed} of ${report.tasks.length} tasks fail the check`;
  return [verdict, ...lines].join("\n");
}
