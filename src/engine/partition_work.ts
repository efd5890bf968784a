/**
 * A graph spread over partitions: the work of a run or a plan, one item per partition of each
 * step (one item for a step whose target is unpartitioned), with the partitions each item reads
 * and the items of the same run it waits for. Which partitions: the run's selection, or every
 * partition from each key's start to the last complete one whose inputs exist.
 *
 * @module
 */
import { WiringError } from "../core/errors.ts";
import type { PipelineGraph } from "../core/graph.ts";
import type { BucketRef, Step } from "../core/lineage.ts";
import { atPartition, isPartitioned, type Mapping, mappingOf } from "../core/partition_map.ts";
import {
  describeKey,
  isValueOf,
  lastComplete,
  partitionFromText,
  type PartitionKey,
  partitionText,
  type PartitionValues,
  shiftValue,
  valuesBetween,
} from "../core/partitions.ts";
import type { PartitionSelection } from "../core/reports.ts";

/** One partition an item reads. */
export interface InputPart {
  /** The partition (or, for an unpartitioned bucket, the bucket). */
  readonly ref: BucketRef;
  /** Its values; `{}` for an unpartitioned bucket. */
  readonly partition: PartitionValues;
}

/** What one item reads of one input. */
export interface ItemInput {
  /** How the step reads it. */
  readonly mapping: Mapping;
  /** The partitions read, in order. */
  readonly parts: readonly InputPart[];
}

/** One partition of one step. */
export interface WorkItem {
  /** The step. */
  readonly step: Step;
  /** The partition it computes; `{}` for an unpartitioned target. */
  readonly partition: PartitionValues;
  /** The partition as text, `date=2026-01-03/site=north`; empty for none. */
  readonly text: string;
  /** The partition of the target it writes (the target itself when unpartitioned). */
  readonly target: BucketRef;
  /** What it reads, by input name. */
  readonly inputs: Readonly<Record<string, ItemInput>>;
  /** The items of the same run whose output it reads. */
  readonly upstream: readonly WorkItem[];
  /**
   * The unit it is published with: one partition's outputs across the buckets that have it, at
   * one depth of the graph (a step that reads every partition starts the next depth).
   */
  readonly unit: string;
  /** For a partition the selection names explicitly: the input partitions it lacks. */
  readonly missing?: readonly string[];
}

/** What expanding a graph needs from storage. */
export interface WorkContext {
  /** The run's selection, if any. */
  readonly selection?: PartitionSelection;
  /** The time that decides which partitions are complete. */
  readonly now: Date;
  /**
   * The partitions of a partitioned bucket that have data.
   *
   * @param ref the bucket.
   * @returns their values.
   */
  partitions(ref: BucketRef): Promise<PartitionValues[]>;
  /**
   * For an estimate rather than a run: keep every partition of the range, also those whose
   * inputs do not exist yet, and list those inputs among the parts read (and in `missing`).
   */
  readonly estimate?: boolean;
}

/**
 * Spreads a graph over partitions.
 *
 * @param graph the pipeline.
 * @param context the selection, the time and the storage.
 * @returns the items, each after the items it reads.
 * @throws {WiringError} naming the key or value when the selection names a key no bucket has, or
 *   a value a key does not take.
 */
export async function expandWork(graph: PipelineGraph, context: WorkContext): Promise<WorkItem[]> {
  const selection = context.selection ?? {};
  const allKeys = new Set(graph.buckets.flatMap((b) => Object.keys(b.partitions ?? {})));
  for (const key of Object.keys(selection)) {
    if (!allKeys.has(key)) {
      throw new WiringError(
        `the selection names partition key '${key}', which no bucket of pipeline '${graph.name}' ` +
          `has${
            allKeys.size > 0
              ? `; its keys are ${[...allKeys].map((k) => `'${k}'`).join(", ")}`
              : ": none is partitioned"
          }`,
      );
    }
  }
  const stored = new Map<string, Promise<Set<string>>>();
  const existing = (ref: BucketRef) => {
    let found = stored.get(ref.location);
    if (!found) {
      found = context.partitions(ref).then((list) => new Set(list.map((p) => partitionText(p))));
      stored.set(ref.location, found);
    }
    return found;
  };
  const produced = new Map<string, Map<string, WorkItem>>();
  const depth = new Map<Step, number>();
  const producer = new Map(graph.steps.map((s) => [s.target.location, s]));
  const items: WorkItem[] = [];
  for (const step of graph.steps) {
    let level = 0;
    for (const [name, ref] of Object.entries(step.sources)) {
      const up = producer.get(ref.location);
      if (up) level = Math.max(level, depth.get(up)! + (mappingOf(step, name) === "all" ? 1 : 0));
    }
    depth.set(step, level);
    const keys = step.target.partitions ?? {};
    const explicit = Object.keys(keys).length > 0 &&
      Object.keys(keys).every((k) => selection[k] !== undefined);
    const mine = new Map<string, WorkItem>();
    produced.set(step.target.location, mine);
    for (const partition of product(step.target, selection, context.now)) {
      const inputs: Record<string, ItemInput> = {};
      const upstream = new Set<WorkItem>();
      const missing: string[] = [];
      for (const [name, ref] of Object.entries(step.sources)) {
        const mapping = mappingOf(step, name);
        const made = produced.get(ref.location);
        if (mapping === "whole") {
          const item = made?.get("");
          if (item) upstream.add(item);
          inputs[name] = { mapping, parts: [{ ref, partition: {} }] };
          continue;
        }
        const have = await existing(ref);
        let wanted: PartitionValues[];
        if (mapping === "all") {
          const texts = new Set([...have, ...(made?.keys() ?? [])]);
          wanted = [...texts].sort().map((t) => partitionFromText(t));
        } else {
          wanted = windowOf(ref, partition, step.lookback?.[name] ?? {});
        }
        const parts: InputPart[] = [];
        for (const values of wanted) {
          const text = partitionText(values);
          const item = made?.get(text);
          if (item) upstream.add(item);
          else if (!have.has(text)) {
            missing.push(`'${ref.location}' ${text}`);
            if (!context.estimate) continue;
          }
          parts.push({ ref: atPartition(ref, values), partition: values });
        }
        inputs[name] = { mapping, parts };
      }
      if (missing.length > 0 && !explicit && !context.estimate) continue;
      const text = partitionText(partition);
      const item: WorkItem = {
        step,
        partition,
        text,
        target: isPartitioned(step.target) ? atPartition(step.target, partition) : step.target,
        inputs,
        upstream: [...upstream],
        unit: `${String(level).padStart(4, "0")}|${text}`,
        ...(missing.length > 0 ? { missing } : {}),
      };
      mine.set(text, item);
      items.push(item);
    }
  }
  return items;
}

/**
 * The partitions a time completes: each time key of the pipeline's partitioned buckets at its
 * last complete value at that time (in the key's time zone), each `values` key unnamed (so all its
 * values). A deployed run on a schedule runs this selection at the schedule's time, as
 * `run({ partitions })` would.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { daily, Provider, schema, t } from "@glacier/glacier";
 * import { selectionAt } from "./partition_work.ts";
 * const provider = new Provider({ localRoot: await Deno.makeTempDir() });
 * const S = schema({ id: t.int64 });
 * const partitions = { date: daily({ start: "2026-01-01", timezone: "Europe/Paris" }) };
 * const copy = provider.local().task({ name: "copy", input: S, output: S }, (df) => df);
 * const out = provider.bucket({ bucket: "lab", path: "in/{date}.parquet", schema: S, partitions })
 *   .transform(copy).to(provider.bucket({ bucket: "lab", path: "out/{date}.parquet", schema: S, partitions }));
 * // 23:30 UTC on 3 January is already 4 January in Paris, so 3 January is complete there.
 * assert.deepEqual(selectionAt(out.graph(), new Date("2026-01-03T23:30:00Z")), { date: "2026-01-03" });
 * ```
 *
 * @param graph the pipeline.
 * @param at the time.
 * @returns the selection.
 * @throws {WiringError} when two buckets give one time key different calendars, so that no one
 *   value is the last complete.
 */
export function selectionAt(graph: PipelineGraph, at: Date): PartitionSelection {
  const out: Record<string, string> = {};
  const from: Record<string, string> = {};
  for (const ref of graph.buckets) {
    for (const [key, def] of Object.entries(ref.partitions ?? {})) {
      if (def.kind === "values") continue;
      const value = lastComplete(def, at);
      if (out[key] !== undefined && out[key] !== value) {
        throw new WiringError(
          `partition key '${key}' of bucket '${ref.location}' and of bucket '${from[key]}' ` +
            `follow different calendars, so ${at.toISOString()} completes ${out[key]} in one and ` +
            `${value} in the other; name the partitions to run`,
        );
      }
      out[key] = value;
      from[key] = ref.location;
    }
  }
  return out;
}

/** The partitions of a target a run covers: each key's values, crossed. */
function product(
  target: BucketRef,
  selection: PartitionSelection,
  now: Date,
): PartitionValues[] {
  const keys = Object.entries(target.partitions ?? {});
  let out: Record<string, string>[] = [{}];
  for (const [key, def] of keys) {
    const options = valuesOf(target, key, def, selection[key], now);
    out = out.flatMap((p) => options.map((v) => ({ ...p, [key]: v })));
  }
  return out;
}

function valuesOf(
  target: BucketRef,
  key: string,
  def: PartitionKey,
  selected: PartitionSelection[string] | undefined,
  now: Date,
): string[] {
  const check = (value: string) => {
    if (typeof value !== "string" || !isValueOf(def, value)) {
      throw new WiringError(
        `the selection gives partition key '${key}' the value ${
          JSON.stringify(value)
        }, but bucket '${target.location}' takes ${describeKey(def)}`,
      );
    }
    return value;
  };
  if (def.kind === "values") {
    if (selected === undefined) return [...def.values];
    const list = typeof selected === "string"
      ? [selected]
      : Array.isArray(selected)
      ? selected as readonly string[]
      : null;
    if (list === null) {
      throw new WiringError(
        `partition key '${key}' of bucket '${target.location}' takes values, not a range; give ` +
          "one value or an array",
      );
    }
    return list.map(check);
  }
  const last = def.end ?? lastComplete(def, now);
  if (selected === undefined) return def.start > last ? [] : valuesBetween(def, def.start, last);
  let list: string[];
  if (typeof selected === "string") list = [check(selected)];
  else if (Array.isArray(selected)) list = (selected as readonly string[]).map(check);
  else {
    const range = selected as { from: string; to: string };
    list = valuesBetween(def, check(range.from), check(range.to));
  }
  return list.filter((v) => v >= def.start && (def.end === undefined || v <= def.end));
}

/** The partitions of an input a target partition reads: its own, and a window before it. */
function windowOf(
  source: BucketRef,
  partition: PartitionValues,
  window: Readonly<Record<string, number>>,
): PartitionValues[] {
  let out: Record<string, string>[] = [{}];
  for (const [key, def] of Object.entries(source.partitions ?? {})) {
    const value = partition[key];
    const n = window[key] ?? 0;
    const options = n === 0 || def.kind === "values"
      ? [value]
      : valuesBetween(def, shiftValue(def, value, n), value).filter((v) => v >= def.start);
    out = out.flatMap((p) => options.map((v) => ({ ...p, [key]: v })));
  }
  return out;
}
