/**
 * What a run prints while it works and when it ends.
 *
 * @module
 */
import type { RunReport, StepReport } from "../core/reports.ts";
import type { Step } from "../core/lineage.ts";

/** Receives run events. */
export interface Progress {
  /** A step started, and why it runs. */
  started(step: Step, index: number, total: number, reason: string): void;
  /** A step was skipped, and why. */
  skipped(step: Step, index: number, total: number, reason: string): void;
  /** A step finished. */
  finished(report: StepReport): void;
  /** A step is still running after `seconds`. */
  waiting(step: Step, seconds: number): void;
  /** The run ended. */
  done(report: RunReport): void;
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
    started(step, index, total, reason) {
      const from = Object.values(step.sources).map((s) => s.location).join(" + ");
      write(
        `[${index}/${total}] ${step.task.name} (${step.task.resource.kind}): ${from} -> ${step.target.location} (runs: ${reason})`,
      );
    },
    skipped(step, index, total, reason) {
      write(`[${index}/${total}] ${step.task.name}: skipped (${reason})`);
    },
    finished(r) {
      if (r.status === "skipped") return;
      if (r.status === "failed") {
        write(`  failed ${r.task}: ${r.reason}`);
        return;
      }
      write(
        `  done ${r.task}: ${formatCount(r.rows)} rows, ${formatBytes(r.bytes)}, ${
          r.seconds.toFixed(2)
        } s`,
      );
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
  return [
    `pipeline '${report.pipeline}' (${report.mode}) ${report.status} in ${
      report.seconds.toFixed(2)
    } s: ${count("ran")} ran, ${count("skipped")} skipped${
      failed > 0 ? `, ${failed} failed` : ""
    } (run ${report.runId})`,
    line(head),
    line(widths.map((w) => "-".repeat(w))),
    ...rows.map(line),
  ].join("\n");
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
