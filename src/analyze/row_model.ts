/**
 * How many rows a task writes, estimated without data from the operations in its polars plan:
 * the task runs on empty frames of its input schemas (as the data-free check does) and the plan
 * polars describes says whether it joins, filters, aggregates, deduplicates, slices or
 * concatenates.
 *
 * @module
 */
import pl from "../polars.ts";
import type { Step } from "../core/lineage.ts";
import { emptyFrame } from "../schema/schema.ts";
import { callTask } from "../core/apply_task.ts";

/** The factors the row model applies. */
export interface RowAssumptions {
  /** The share of rows a task with a filter keeps. */
  readonly filterKeeps: number;
  /** The share of rows an aggregation keeps (at least one row). */
  readonly aggregationKeeps: number;
  /** The share of rows a deduplication keeps. */
  readonly uniqueKeeps: number;
  /** The share of its left input's rows a semi or anti join keeps. */
  readonly semiJoinKeeps: number;
  /** How many rows an explode makes of one. */
  readonly explodeGrows: number;
}

/**
 * The default row factors.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ROW_ASSUMPTIONS } from "./row_model.ts";
 * assert.equal(ROW_ASSUMPTIONS.aggregationKeeps, 0.01);
 * ```
 */
export const ROW_ASSUMPTIONS: RowAssumptions = Object.freeze({
  filterKeeps: 0.5,
  aggregationKeeps: 0.01,
  uniqueKeeps: 0.5,
  semiJoinKeeps: 0.5,
  explodeGrows: 3,
});

/** A task's estimated output rows and the rule that gave them. */
export interface RowEstimate {
  /** Estimated rows written. */
  readonly rows: number;
  /** The rule, as a sentence fragment: `joins keep the rows of their left input 'orders'`. */
  readonly rule: string;
}

/**
 * Estimates the rows a step writes from the rows of its inputs.
 *
 * @param step the step.
 * @param inputRows estimated rows of each source, by input name.
 * @param assumptions the row factors.
 * @returns the rows and the rule applied.
 */
export function estimateOutputRows(
  step: Step,
  inputRows: Readonly<Record<string, number>>,
  assumptions: RowAssumptions = ROW_ASSUMPTIONS,
): RowEstimate {
  const names = Object.keys(step.sources);
  let plan: string;
  try {
    plan = describeTaskPlan(step);
  } catch (error) {
    const first = names[0];
    return {
      rows: inputRows[first] ?? 0,
      rule: `its plan could not be built without data (${
        error instanceof Error ? error.message.split("\n")[0] : String(error)
      }), so it is assumed to keep the rows of input '${first}'`,
    };
  }
  const lines = plan.split("\n").map((line) => line.trim());
  const scanned = scannedInputs(lines, step);
  const left = scanned[0] ?? names[0];
  const rules: string[] = [];
  let rows: number;

  const joins = lines.map((l) => /^([A-Z]+) JOIN:$/.exec(l)?.[1]).filter((j) => j !== undefined);
  if (lines.some((l) => l.startsWith("UNION"))) {
    const unioned = [...new Set(scanned.length > 0 ? scanned : names)];
    rows = unioned.reduce((sum, name) => sum + (inputRows[name] ?? 0), 0);
    rules.push(`a concatenation keeps the rows of ${quoteList(unioned)}`);
  } else if (joins.includes("CROSS")) {
    const joined = [...new Set(scanned)];
    rows = joined.reduce((product, name) => product * (inputRows[name] ?? 0), 1);
    rules.push(`a cross join multiplies the rows of ${quoteList(joined)}`);
  } else if (joins.length > 0) {
    rows = inputRows[left] ?? 0;
    if (joins.some((j) => j === "SEMI" || j === "ANTI")) {
      rows *= assumptions.semiJoinKeeps;
      rules.push(
        `semi and anti joins keep ${percent(assumptions.semiJoinKeeps)} of the rows of their ` +
          `left input '${left}'`,
      );
    } else {
      rules.push(`joins keep the rows of their left input '${left}'`);
    }
  } else {
    rows = inputRows[left] ?? 0;
    if (names.length > 1) rules.push(`it keeps the rows of input '${left}'`);
  }

  if (lines.some((l) => l.startsWith("FILTER"))) {
    rows *= assumptions.filterKeeps;
    rules.push(`a filter keeps ${percent(assumptions.filterKeeps)} of rows`);
  }
  if (lines.some((l) => l.startsWith("EXPLODE"))) {
    rows *= assumptions.explodeGrows;
    rules.push(`an explode makes ${assumptions.explodeGrows} rows of each`);
  }
  if (lines.some((l) => l.startsWith("UNIQUE"))) {
    rows *= assumptions.uniqueKeeps;
    rules.push(`a deduplication keeps ${percent(assumptions.uniqueKeeps)} of rows`);
  }
  if (lines.some((l) => l.startsWith("AGGREGATE"))) {
    rows = rows > 0 ? Math.max(1, rows * assumptions.aggregationKeeps) : 0;
    rules.push(
      `an aggregation keeps ${percent(assumptions.aggregationKeeps)} of rows (at least one)`,
    );
  }
  if (lines.some(selectsOnlyAggregates)) {
    rows = Math.min(rows, rows > 0 ? 1 : 0);
    rules.push("a select of aggregates only yields one row");
  }
  const limits = lines.map((l) => /^SLICE\[offset: -?\d+, len: (\d+)\]/.exec(l)?.[1])
    .filter((n) => n !== undefined).map(Number);
  if (limits.length > 0) {
    rows = Math.min(rows, ...limits);
    rules.push(`a slice keeps at most ${Math.min(...limits)} rows`);
  }
  return {
    rows: Math.round(rows),
    rule: rules.length > 0 ? rules.join("; ") : "it keeps every row it reads",
  };
}

/**
 * The task's polars plan on empty frames, as polars describes it (not optimized, so that it
 * shows what the task's code does).
 */
function describeTaskPlan(step: Step): string {
  let found = described.get(step);
  if (found === undefined) {
    try {
      found = describeNew(step);
    } catch (error) {
      found = error instanceof Error ? error : new Error(String(error));
    }
    described.set(step, found);
  }
  if (found instanceof Error) throw found;
  return found;
}

/** Each step's plan description, or why it has none: a partitioned step is priced per partition. */
const described = new WeakMap<Step, string | Error>();

function describeNew(step: Step): string {
  // A partitioned input comes with its keys as String columns, as a run reads it.
  const frames: Record<string, pl.LazyDataFrame> = Object.fromEntries(
    Object.entries(step.sources).map(([name, ref]) => [
      name,
      emptyFrame(ref.schema).lazy().withColumns(
        ...Object.keys(ref.partitions ?? {}).map((k) => pl.lit(null).cast(pl.Utf8).alias(k)),
      ),
    ]),
  );
  const plan = callTask(step, frames);
  return plan.describePlan();
}

/**
 * The inputs the plan scans, in the order it scans them. Each `DF [...]` line names the first
 * columns of a frame (polars shortens long lists) and ends with how many it has (`6 COLUMNS`); it is matched to the input whose bucket starts with those columns and has that many
 * (inputs that look the same are taken in declaration order).
 */
function scannedInputs(lines: readonly string[], step: Step): string[] {
  const sources = Object.entries(step.sources).map(([name, ref]) => ({
    name,
    columns: Object.keys(ref.schema),
  }));
  const seen = new Map<string, number>();
  const found: string[] = [];
  for (const line of lines) {
    const match = /^DF \[(.*?)\](?:;.*?(\d+) COLUMNS)?/.exec(line);
    if (!match) continue;
    const listed = [...match[1].matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]);
    const count = match[2] === undefined ? undefined : Number(match[2]);
    const candidates = sources.filter((s) =>
      (count === undefined ? s.columns.length === listed.length : s.columns.length === count) &&
      listed.every((column, i) => s.columns[i] === column)
    );
    if (candidates.length === 0) continue;
    const key = candidates.map((c) => c.name).join("\u0000");
    const nth = seen.get(key) ?? 0;
    seen.set(key, nth + 1);
    found.push(candidates[Math.min(nth, candidates.length - 1)].name);
  }
  return found;
}

/** Methods that reduce a column to one value. */
const AGGREGATES = new Set([
  "sum",
  "mean",
  "min",
  "max",
  "median",
  "std",
  "var",
  "first",
  "last",
  "n_unique",
  "count",
  "len",
  "quantile",
  "product",
  "arg_min",
  "arg_max",
]);

/**
 * Whether a plan line is a `SELECT [...]` whose every expression reduces its columns to one
 * value (`col("v").sum()`, `len()`): such a select yields one row. A `.over(...)` keeps the rows.
 */
function selectsOnlyAggregates(line: string): boolean {
  if (!line.startsWith("SELECT [") || !line.endsWith("]") || line.includes(".over(")) return false;
  const items = splitTopLevel(line.slice("SELECT [".length, -1));
  return items.length > 0 && items.every((item) => {
    const columns = [...item.matchAll(/col\("(?:[^"\\]|\\.)*"\)/g)];
    if (columns.length === 0) return /(^|[^.\w])len\(\)/.test(item);
    return columns.every((c) =>
      chainMethods(item, c.index! + c[0].length).some((m) => AGGREGATES.has(m))
    );
  });
}

/** The names of the methods chained onto an expression that ends at `from`. */
function chainMethods(text: string, from: number): string[] {
  const methods: string[] = [];
  let at = from;
  for (;;) {
    const call = /^\.(\w+)\(/.exec(text.slice(at));
    if (!call) return methods;
    methods.push(call[1]);
    let depth = 1;
    at += call[0].length;
    while (at < text.length && depth > 0) {
      if (text[at] === "(") depth++;
      else if (text[at] === ")") depth--;
      at++;
    }
  }
}

/** Splits a comma-separated list at the commas outside brackets and quotes. */
function splitTopLevel(text: string): string[] {
  const items: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === "\\") i++;
      else if (c === '"') quoted = false;
    } else if (c === '"') quoted = true;
    else if (c === "(" || c === "[") depth++;
    else if (c === ")" || c === "]") depth--;
    else if (c === "," && depth === 0) {
      items.push(text.slice(start, i).trim());
      start = i + 1;
    }
  }
  items.push(text.slice(start).trim());
  return items.filter((item) => item.length > 0);
}

function percent(share: number): string {
  return `${Math.round(share * 1000) / 10}%`;
}

function quoteList(names: readonly string[]): string {
  const quoted = names.map((n) => `'${n}'`);
  return quoted.length <= 1 ? `input ${quoted.join("")}` : `inputs ${quoted.join(", ")}`;
}
