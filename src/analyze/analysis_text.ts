/**
 * An analysis as text: a table of the steps, the total, the warnings and the assumptions.
 *
 * @module
 */
import type { Analysis } from "../core/reports.ts";
import type { AnalysisDetails } from "./cost_model.ts";
import { formatBytes, formatCount, formatSeconds, formatUsd } from "../core/units.ts";

const HEADER = ["task", "resource", "rows in", "rows out", "bytes in", "bytes out", "time", "cost"];
/** Columns aligned to the right: the numbers. */
const NUMERIC = [false, false, true, true, true, true, true, true];

/**
 * Renders an analysis for people: one row per step (task, resource, rows and bytes in and out,
 * time, cost), the costs outside the tasks, the total, then the warnings and the assumptions.
 *
 * @param analysis what `run({ mode: "analyze" })` returned.
 * @returns the text, without a trailing newline.
 */
export function formatAnalysis(analysis: Analysis): string {
  const cost = analysis.estimatedCost();
  const details = (analysis as { details?: AnalysisDetails }).details;
  const rows = analysis.steps.map((s) => [
    s.task,
    s.resource,
    formatCount(s.inputRows),
    formatCount(s.outputRows),
    formatBytes(s.inputBytes),
    formatBytes(s.outputBytes),
    formatSeconds(s.seconds),
    formatUsd(s.usd),
  ]);
  const widths = HEADER.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: readonly string[]) =>
    "  " +
    cells.map((c, i) => NUMERIC[i] ? c.padStart(widths[i]) : c.padEnd(widths[i])).join("  ")
      .trimEnd();
  const tableWidth = widths.reduce((sum, w) => sum + w, 0) + 2 * (widths.length - 1);
  const summary = (label: string, usd: string) =>
    `  ${label.padEnd(Math.max(label.length + 2, tableWidth - usd.length))}${usd}`;

  const prices = details ? ` (AWS ${details.priceRegion} prices of ${details.pricesTakenOn})` : "";
  const out = [
    `pipeline '${analysis.pipeline}': ${formatUsd(cost.totalUsd)} per run${prices}`,
    "",
    line(HEADER),
    ...rows.map(line),
  ];
  if (details) {
    out.push(
      summary(
        `orchestration: ${details.stateTransitions} Step Functions transitions, run-level S3`,
        formatUsd(details.orchestrationUsd),
      ),
    );
  }
  out.push(summary("total per run", formatUsd(cost.totalUsd)));
  if (analysis.warnings.length > 0) {
    out.push("", "warnings:", ...analysis.warnings.map((w) => `  - ${w}`));
  }
  out.push("", "assumptions:", ...cost.assumptions.map((a) => `  - ${a}`));
  return out.join("\n");
}

/**
 * What each pipeline of a module costs, for a module analyzed as one graph: a step shared by
 * several pipelines counts in each of them, and once in the module's total.
 *
 * @param analysis the module's analysis.
 * @param pipelines each pipeline's name and the tasks of its steps.
 * @returns the text, starting with an empty line.
 */
export function formatPipelineShares(
  analysis: Analysis,
  pipelines: readonly { readonly name: string; readonly tasks: readonly string[] }[],
): string {
  const byTask = analysis.estimatedCost().byTask;
  const width = Math.max(...pipelines.map((p) => p.name.length));
  return [
    "",
    "pipelines (a shared step counts in each, and once in the total):",
    ...pipelines.map((p) =>
      `  ${p.name.padEnd(width)}  ${
        formatUsd(p.tasks.reduce((sum, t) => sum + (byTask[t] ?? 0), 0))
      }`
    ),
  ].join("\n");
}
