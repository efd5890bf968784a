/**
 * What a run prints while it works and when it ends.
 *
 * @module
 */
import type { CheckResult, RunReport, StepReport } from "../core/reports.ts";
import type { Step } from "../core/lineage.ts";
import { partitionText, type PartitionValues } from "../core/partitions.ts";

/**
 * One step (one partition of it) at a point of a run: the `index`-th of `total` items, and why it
 * runs or is skipped.
 */
export type StepEvent = (
  step: Step,
  index: number,
  total: number,
  reason: string,
  partition?: PartitionValues,
) => void;

/** Receives run events. */
export interface Progress {
  /** A step (one partition of it) started, and why it runs. */
  readonly started: StepEvent;
  /** A step (one partition of it) was skipped, and why. */
  readonly skipped: StepEvent;
  /**
   * A run over partitions starts: what to tell as its partitions finish.
   *
   * @param items each partition of each step the run covers.
   * @returns what receives each item's end.
   */
  backfill?(items: readonly { readonly text: string }[]): BackfillProgress;
  /** A step finished. */
  finished(report: StepReport): void;
  /** A step is still running after `seconds`. */
  waiting(step: Step, seconds: number): void;
  /** The run ended. */
  done(report: RunReport): void;
}

/** Receives the end of each partition of each step of a run over partitions. */
export interface BackfillProgress {
  /** One partition of one step ended. */
  finished(item: { readonly text: string }, report: StepReport): void;
}

/** A progress sink that prints nothing. */
export const silent: Progress = {
  started() {},
  skipped() {},
  finished() {},
  waiting() {},
  done() {},
};

/**
 * A progress sink that prints to stderr.
 *
 * @param write where lines go (default: stderr).
 * @returns the sink.
 */
export function printer(write: (line: string) => void = (l) => console.error(l)): Progress {
  return {
    started(step, index, total, reason, partition) {
      const from = Object.values(step.sources).map((s) => s.location).join(" + ");
      const part = partition && Object.keys(partition).length > 0
        ? ` [${partitionText(partition)}]`
        : "";
      write(
        `[${index}/${total}] ${step.task.name} (${step.task.resource.kind}): ${from} -> ${step.target.location}${part} (runs: ${reason})`,
      );
    },
    skipped(step, index, total, reason, partition) {
      // A backfill's up-to-date partitions are counted, not listed.
      if (partition && Object.keys(partition).length > 0) return;
      write(`[${index}/${total}] ${step.task.name}: skipped (${reason})`);
    },
    backfill(items) {
      const left = new Map<string, number>();
      for (const item of items) left.set(item.text, (left.get(item.text) ?? 0) + 1);
      const total = left.size;
      const began = performance.now();
      let done = 0;
      let failed = 0;
      let computed = 0;
      let shown = 0;
      const failedParts = new Set<string>();
      return {
        finished(item, report) {
          if (report.status === "failed" && !failedParts.has(item.text)) {
            failedParts.add(item.text);
            failed++;
          }
          if (report.status === "ran") computed++;
          const remaining = left.get(item.text)! - 1;
          left.set(item.text, remaining);
          if (remaining > 0) return;
          done++;
          const elapsed = (performance.now() - began) / 1000;
          if (done < total && elapsed - shown < 2) return;
          shown = elapsed;
          const eta = done < total && computed > 0
            ? `, about ${formatSeconds((elapsed / done) * (total - done))} left`
            : "";
          write(
            `  partitions: ${formatCount(done)}/${formatCount(total)} done${
              failed > 0 ? `, ${failed} failed` : ""
            }${eta}`,
          );
        },
      };
    },
    finished(r) {
      if (r.status === "failed") {
        write(`  failed ${r.task}: ${r.reason}`);
      } else if (r.status === "ran") {
        write(
          `  done ${r.task}: ${formatCount(r.rows)} rows, ${formatBytes(r.bytes)}, ${
            r.seconds.toFixed(2)
          } s`,
        );
      }
      if (r.checks?.length) write(`  ${checksLine(r.checks)}`);
    },
    waiting(step, seconds) {
      write(`  ... ${step.task.name} still running (${seconds} s)`);
    },
    done(report) {
      write(summaryTable(report));
    },
  };
}

/**
 * A run's summary as a table.
 *
 * @param report the run report.
 * @returns the table text.
 */
export function summaryTable(report: RunReport): string {
  if (report.steps.some((s) => s.partition !== undefined)) return backfillSummary(report);
  const rows = report.steps.map((s) => [
    s.task,
    s.status,
    s.reason.length > 60 ? `${s.reason.slice(0, 57)}...` : s.reason,
    s.target,
    formatCount(s.rows),
    formatBytes(s.bytes),
    `${s.seconds.toFixed(2)} s`,
  ]);
  const head = ["task", "status", "reason", "target", "rows", "bytes", "time"];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i >= 4 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join("  ")
      .trimEnd();
  const count = (status: string) => report.steps.filter((s) => s.status === status).length;
  const failed = count("failed");
  const failing = report.steps.flatMap((s) => (s.checks ?? []).filter((c) => !c.passed));
  return [
    `pipeline '${report.pipeline}' (${report.mode}) ${report.status} in ${
      report.seconds.toFixed(2)
    } s: ${count("ran")} ran, ${count("skipped")} skipped${
      failed > 0 ? `, ${failed} failed` : ""
    } (run ${report.runId})`,
    line(head),
    line(widths.map((w) => "-".repeat(w))),
    ...rows.map(line),
    ...failing.map((c) => `check ${c.severity === "warn" ? "warning" : "failed"}: ${checkText(c)}`),
  ].join("\n");
}

/**
 * A step's check results in one line: how many passed, and each one that failed.
 *
 * @param checks the results.
 * @returns `checks: 5 passed, 1 warned (between(celsius, -60, 60) on lab/raw.parquet: 3 rows)`.
 */
export function checksLine(checks: readonly CheckResult[]): string {
  const passed = checks.filter((c) => c.passed).length;
  const warned = checks.filter((c) => !c.passed && c.severity === "warn");
  const failed = checks.filter((c) => !c.passed && c.severity === "error");
  const list = (cs: readonly CheckResult[]) => cs.map(checkText).join("; ");
  return [
    `checks: ${passed} passed`,
    ...(warned.length > 0 ? [`${warned.length} warned (${list(warned)})`] : []),
    ...(failed.length > 0 ? [`${failed.length} failed (${list(failed)})`] : []),
  ].join(", ");
}

function checkText(c: CheckResult): string {
  return `${c.name} on ${c.bucket}: ${formatCount(c.failingRows)} row${
    c.failingRows === 1 ? "" : "s"
  }`;
}

/** A run over partitions: one line per task with its partitions by status, then the failures. */
function backfillSummary(report: RunReport): string {
  const byTask = new Map<string, StepReport[]>();
  for (const step of report.steps) byTask.set(step.task, [...(byTask.get(step.task) ?? []), step]);
  const head = ["task", "target", "partitions", "ran", "skipped", "failed", "rows", "time"];
  const rows = [...byTask].map(([task, steps]) => {
    const count = (status: string) => steps.filter((s) => s.status === status);
    return [
      task,
      steps[0].target,
      formatCount(steps.length),
      formatCount(count("ran").length),
      formatCount(count("skipped").length),
      formatCount(count("failed").length),
      formatCount(count("ran").reduce((n, s) => n + s.rows, 0)),
      `${steps.reduce((n, s) => n + s.seconds, 0).toFixed(2)} s`,
    ];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i >= 2 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join("  ")
      .trimEnd();
  const partitions = new Set(report.steps.map((s) => partitionText(s.partition))).size;
  const failed = report.failedPartitions ?? [];
  return [
    `pipeline '${report.pipeline}' (${report.mode}) ${report.status} in ${
      report.seconds.toFixed(2)
    } s over ${formatCount(partitions)} partitions${
      failed.length > 0 ? `, ${failed.length} failed` : ""
    } (run ${report.runId})`,
    line(head),
    line(widths.map((w) => "-".repeat(w))),
    ...rows.map(line),
    ...(failed.length === 0 ? [] : [
      "failed partitions:",
      ...failed.map((f) =>
        `  ${partitionText(f.partition)}: task '${f.task}': ${f.error.split("\n")[0]}`
      ),
      `retry them with: glacier MODULE run ${report.retry}`,
    ]),
  ].join("\n");
}

function formatSeconds(seconds: number): string {
  return seconds < 90 ? `${Math.ceil(seconds)} s` : `${Math.ceil(seconds / 60)} min`;
}

/**
 * A count with thousands separators.
 *
 * @param n the count.
 * @returns `1,234,567`.
 */
export function formatCount(n: number): string {
  return n.toLocaleString("en-US");
}

/**
 * A byte size for people.
 *
 * @param n bytes.
 * @returns `12.3 MB`.
 */
export function formatBytes(n: number): string {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let value = n;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return unit === 0 ? `${n} B` : `${value.toFixed(1)} ${units[unit]}`;
}
