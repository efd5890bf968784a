/**
 * `glacier MODULE plan` and `glacier MODULE runs`: what a run would do, and what runs did, as
 * text for people.
 *
 * @module
 */
import type { Bucket } from "../core/bucket.ts";
import { partitionText } from "../core/partitions.ts";
import type { PlanReport, StorageMode } from "../core/reports.ts";
import { checksLine, formatBytes, formatCount } from "../engine/progress.ts";
import type { Ledger, RunRecord, RunSummary } from "../engine/ledger/ledger.ts";
import type { CliIo } from "./main.ts";

/**
 * A plan as a table: each step, what a run would do with it and why, and the cost.
 *
 * @param report the plan.
 * @returns the text.
 */
export function formatPlan(report: PlanReport): string {
  const partitioned = report.steps.some((s) => s.partition !== undefined);
  const rows = report.steps.map((s) => [
    s.task,
    ...(partitioned ? [s.partition ? partitionText(s.partition) : ""] : []),
    s.action === "run" ? "would run" : s.action === "skip" ? "up to date" : "cannot run",
    s.reason,
    s.target,
    s.action === "run" ? `$${s.usd.toFixed(6)}` : "",
  ]);
  const running = report.steps.filter((s) => s.action === "run").length;
  const failing = report.steps.filter((s) => s.action === "fail").length;
  const partitions = report.partitions ?? 0;
  const perPartition = report.steps
    .filter((s) => s.action === "run" && s.partition !== undefined)
    .reduce((sum, s) => sum + s.usd, 0) / (partitions || 1);
  const head = [
    `plan of '${report.pipeline}' (${report.mode}): ${running} of ${report.steps.length} steps ` +
    `would run${failing > 0 ? `, ${failing} cannot run` : ""}${
      report.partitions === undefined
        ? ""
        : `, in ${partitions} partition${partitions === 1 ? "" : "s"}${
          partitions > 0 ? ` ($${perPartition.toFixed(6)} per partition)` : ""
        }`
    }, estimated $${report.estimatedUsd.toFixed(6)}`,
  ];
  const header = ["task", ...(partitioned ? ["partition"] : []), "action", "reason", "target"];
  return [...head, ...table([...header, "cost"], rows, [header.length])].join("\n");
}

/** What `runs` was asked. */
export interface RunsRequest {
  /** One run to show, by id or a unique prefix of it. */
  readonly runId?: string;
  /** Print JSON. */
  readonly json: boolean;
  /** Remove runs older than the retention. */
  readonly prune: boolean;
  /** The retention in days. */
  readonly retention: number;
  /** How many runs to list. */
  readonly limit: number;
}

/**
 * Lists runs, shows one, or prunes old ones, from the ledger of a mode.
 *
 * @param pipeline the module's pipelines, as one graph (its buckets name the ledger).
 * @param mode `local` or `cloud`.
 * @param request what to do.
 * @param io where to write.
 * @returns the exit status.
 */
export async function runs(
  pipeline: Bucket,
  mode: StorageMode,
  request: RunsRequest,
  io: CliIo,
): Promise<number> {
  const graph = pipeline.graph();
  const ledger: Ledger = mode === "cloud"
    ? await (await import("../engine/cloud.ts")).openCloudLedger(graph)
    : await (await import("../engine/local.ts")).openLocalLedger(
      (await import("../engine/local.ts")).ledgerRoot(graph),
    );
  try {
    if (request.prune) {
      const before = new Date(Date.now() - request.retention * 86_400_000);
      const removed = await ledger.prune(before);
      io.out(
        `removed ${removed} run${
          removed === 1 ? "" : "s"
        } that started before ${before.toISOString()} from ${ledger.where}`,
      );
      return 0;
    }
    if (request.runId !== undefined) {
      const run = await ledger.run(request.runId);
      if (!run) {
        io.err(
          `error: no run '${request.runId}' in ${ledger.where} (or the prefix names several); ` +
            "'runs' lists them",
        );
        return 1;
      }
      io.out(request.json ? JSON.stringify(run, null, 2) : formatRun(run));
      return 0;
    }
    const found = await ledger.runs(request.limit);
    io.out(request.json ? JSON.stringify(found, null, 2) : formatRuns(found, ledger.where));
    return 0;
  } finally {
    ledger.close();
  }
}

/**
 * Runs as a table, newest first.
 *
 * @param found the runs.
 * @param where the ledger, for an empty list.
 * @returns the text.
 */
export function formatRuns(found: readonly RunSummary[], where: string): string {
  if (found.length === 0) return `no runs recorded in ${where} yet`;
  const rows = found.map((r) => [
    r.runId,
    r.startedAt.replace("T", " ").slice(0, 19),
    r.mode,
    r.status,
    String(r.ran),
    String(r.skipped),
    String(r.failed),
    r.seconds === null ? "" : r.seconds.toFixed(2),
  ]);
  return table(
    ["run", "started (UTC)", "mode", "status", "ran", "skipped", "failed", "seconds"],
    rows,
    [4, 5, 6, 7],
  ).join("\n");
}

/**
 * One run: its header, then each step with its status, reason, rows, bytes and error.
 *
 * @param run the run.
 * @returns the text.
 */
export function formatRun(run: RunRecord): string {
  const lines = [
    `run ${run.runId}: ${run.pipeline} (${run.mode}) ${run.status}, started ${run.startedAt}` +
    (run.seconds === null ? "" : `, ${run.seconds.toFixed(2)} s`) +
    `, on ${run.host} (pid ${run.pid})`,
  ];
  if (run.error) lines.push(`error: ${run.error}`);
  lines.push(
    ...table(
      ["task", "status", "reason", "target", "rows", "bytes", "seconds"],
      run.steps.map((s) => [
        s.task,
        s.status,
        s.reason,
        s.target,
        formatCount(s.rows),
        formatBytes(s.bytes),
        s.seconds.toFixed(2),
      ]),
      [4, 5, 6],
    ),
  );
  for (const step of run.steps.filter((s) => s.checks?.length)) {
    lines.push("", `${step.task} ${checksLine(step.checks!)}`);
    for (const check of step.checks!.filter((c) => !c.passed && c.sample.length > 0)) {
      lines.push(`  ${check.name} on ${check.bucket}, failing rows:`);
      for (const row of check.sample) lines.push(`    ${JSON.stringify(row)}`);
    }
  }
  for (const step of run.steps.filter((s) => s.error)) {
    lines.push("", `${step.task} failed:`, step.error!);
  }
  return lines.join("\n");
}

function table(head: string[], rows: string[][], right: number[]): string[] {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (right.includes(i) ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join("  ").trimEnd();
  return [line(head), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)];
}
