/**
 * Where a column comes from, through every step of a module, from the tasks' polars plans alone:
 * `glacier MODULE lineage BUCKET --column NAME`.
 *
 * @module
 */
import { firstLine, WiringError } from "../core/errors.ts";
import type { PipelineGraph } from "../core/graph.ts";
import type { BucketRef, Step } from "../core/lineage.ts";
import { columnLineage, type ColumnSource } from "./column_lineage.ts";

/** A column of a bucket, and where its values come from. */
export interface ColumnTrace {
  /** The bucket, as `bucket/path`. */
  readonly bucket: string;
  /** The column. */
  readonly column: string;
  /**
   * The step that writes the bucket, and how this column comes from its inputs; absent for a
   * bucket no step writes (an input of the module).
   */
  readonly step?: {
    /** The task. */
    readonly task: string;
    /** Its resource. */
    readonly resource: string;
    /** Each input column the values come from, traced on upstream. */
    readonly sources: readonly (ColumnSource & { readonly from: ColumnTrace })[];
    /** The input columns that decide which rows the output has (join, group, filter, sort). */
    readonly rows: readonly (ColumnSource & { readonly bucket: string })[];
    /** Why the plan could not be read, when it could not. */
    readonly unreadable?: string;
  };
}

/**
 * Traces a column of a bucket back to the module's inputs.
 *
 * @param graph the module's graph.
 * @param bucket the bucket, as `bucket/path` (or the end of it, when that names one bucket).
 * @param column the column.
 * @returns the trace.
 * @throws {WiringError} naming the bucket or column when the graph has no such thing.
 */
export function traceColumn(graph: PipelineGraph, bucket: string, column: string): ColumnTrace {
  const matches = graph.buckets.filter((b) =>
    b.location === bucket || b.location.endsWith(`/${bucket}`)
  );
  if (matches.length !== 1) {
    throw new WiringError(
      `${
        matches.length === 0 ? "no" : "more than one"
      } bucket of '${graph.name}' is '${bucket}'; ` +
        `its buckets: ${graph.buckets.map((b) => b.location).join(", ")}`,
    );
  }
  const ref = matches[0];
  if (!Object.hasOwn(ref.schema, column)) {
    throw new WiringError(
      `bucket '${ref.location}' has no column '${column}'; it has: ${
        Object.keys(ref.schema).join(", ")
      }`,
    );
  }
  const producers = new Map(graph.steps.map((s) => [s.target.location, s]));
  return trace(ref, column, producers, new Set());
}

function trace(
  ref: BucketRef,
  column: string,
  producers: ReadonlyMap<string, Step>,
  seen: Set<string>,
): ColumnTrace {
  const step = producers.get(ref.location);
  const key = `${ref.location}\u0000${column}`;
  if (!step || seen.has(key)) return { bucket: ref.location, column };
  seen.add(key);
  const base = { task: step.task.name, resource: step.task.resource.label };
  let lineage;
  try {
    lineage = columnLineage(step);
  } catch (error) {
    return {
      bucket: ref.location,
      column,
      step: { ...base, sources: [], rows: [], unreadable: firstLine(error) },
    };
  }
  const sources = (lineage.fields[column] ?? []).map((source) => ({
    ...source,
    from: trace(step.sources[source.input], source.column, producers, seen),
  }));
  const rows = lineage.dataset.map((source) => ({
    ...source,
    bucket: step.sources[source.input].location,
  }));
  return { bucket: ref.location, column, step: { ...base, sources, rows } };
}

/**
 * A trace as an indented tree, the column first, each step under it.
 *
 * @param root the trace.
 * @returns the text.
 */
export function formatTrace(root: ColumnTrace): string {
  const lines = [`${root.bucket} : ${root.column}`];
  const walk = (node: ColumnTrace, indent: string) => {
    if (!node.step) {
      lines.push(`${indent}(an input of the module: no step writes it)`);
      return;
    }
    const { task, resource, sources, rows, unreadable } = node.step;
    if (unreadable) {
      lines.push(`${indent}task '${task}' (${resource}): its plan cannot be read: ${unreadable}`);
      return;
    }
    if (sources.length === 0) {
      lines.push(`${indent}task '${task}' (${resource}) computes it from no input column`);
    }
    for (const source of sources) {
      lines.push(
        `${indent}<- ${source.from.bucket} : ${source.column}  (task '${task}', ${source.type} ${source.subtype})`,
      );
      walk(source.from, `${indent}   `);
    }
    if (rows.length > 0) {
      lines.push(
        `${indent}rows decided in task '${task}' by: ${
          rows.map((r) => `${r.bucket} : ${r.column} (${r.subtype})`).join(", ")
        }`,
      );
    }
  };
  walk(root, "  ");
  return lines.join("\n");
}
