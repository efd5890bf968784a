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
/** The columns a partitioned pipeline adds before the cost. */
const PARTITION_HEADER = ["partitions", "per partition"];

/**
 * Renders an analysis for people: one row per step (task, resource, rows and bytes in and out,
 * time, cost; for a partitioned pipeline also each step's partitions and its cost per
 * partition), the costs outside the tasks, the total, then the warnings and the assumptions.
 *
 * @param analysis what `run({ mode: "analyze" })` returned.
 * @returns the text, without a trailing newline.
 */
export function formatAnalysis(analysis: Analysis): string {
  const cost = analysis.estimatedCost();
  const details = (analysis as { details?: AnalysisDetails }).details;
  const partitioned = analysis.partitions !== undefined;
  const header = partitioned ? [...HEADER.slice(0, -1), ...PARTITION_HEADER, "cost"] : HEADER;
  const numeric = partitioned ? [...NUMERIC, true, true] : NUMERIC;
  const rows = analysis.steps.map((s) => [
    s.task,
    s.resource,
    formatCount(s.inputRows),
    formatCount(s.outputRows),
    formatBytes(s.inputBytes),
    formatBytes(s.outputBytes),
    formatSeconds(s.seconds),
    ...(!partitioned ? [] : s.partitions === undefined ? ["", ""] : [
      formatCount(s.partitions),
      s.partitions === 0 ? "" : formatUsd(s.usd / s.partitions),
    ]),
    formatUsd(s.usd),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: readonly string[]) =>
    "  " +
    cells.map((c, i) => numeric[i] ? c.padStart(widths[i]) : c.padEnd(widths[i])).join("  ")
      .trimEnd();
  const tableWidth = widths.reduce((sum, w) => sum + w, 0) + 2 * (widths.length - 1);
  const summary = (label: string, usd: string) =>
    `  ${label.padEnd(Math.max(label.length + 2, tableWidth - usd.length))}${usd}`;

  const prices = details ? ` (AWS ${details.priceRegion} prices of ${details.pricesTakenOn})` : "";
  const what = partitioned ? `for ${partitionCount(analysis.partitions!)}` : "per run";
  const out = [
    `pipeline '${analysis.pipeline}': ${formatUsd(cost.totalUsd)} ${what}${prices}`,
    "",
    line(header),
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
  out.push(summary(`total ${what}`, formatUsd(cost.totalUsd)));
  if (partitioned && analysis.partitions! > 0) {
    out.push(
      summary("per partition, on average", formatUsd(cost.totalUsd / analysis.partitions!)),
    );
  }
  if (partitioned && analysis.partitions === 0) {
    out.push(
      "",
      "no partition in the range: give one with --partition KEY=VALUES (such as " +
        "date=2026-01-01..2026-01-31), or check the keys' start and end",
    );
  }
  if (analysis.warnings.length > 0) {
    out.push("", "warnings:", ...analysis.warnings.map((w) => `  - ${w}`));
  }
  out.push("", "assumptions:", ...cost.assumptions.map((a) => `  - ${a}`));
  return out.join("\n");
}

/** `1 partition`, `31 partitions`. */
function partitionCount(n: number): string {
  return `${formatCount(n)} partition${n === 1 ? "" : "s"}`;
}

/**
 * An analysis as JSON for programs: what `glacier MODULE analyze --json` prints.
 *
 * @param analysis what `run({ mode: "analyze" })` returned.
 * @returns the pipeline, its partitions, each step's estimate (with each partition's), the
 *   warnings, the cost (total, by task, assumptions) and the model's details.
 */
export function analysisJson(analysis: Analysis): Record<string, unknown> {
  const details = (analysis as { details?: AnalysisDetails }).details;
  return {
    pipeline: analysis.pipeline,
    ...(analysis.partitions === undefined ? {} : { partitions: analysis.partitions }),
    steps: analysis.steps.map((s) =>
      s.partitions === undefined || s.partitions === 0
        ? s
        : { ...s, usdPerPartition: s.usd / s.partitions }
    ),
    warnings: analysis.warnings,
    estimatedCost: analysis.estimatedCost(),
    ...(details ? { details } : {}),
  };
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
