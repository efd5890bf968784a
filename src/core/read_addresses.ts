/**
 * Where a task running elsewhere (a Lambda function) reads its inputs: each input read as one
 * object by its address, and each input read as several partitions (every partition, or a
 * window) by the address of each partition. Cloud-mode invocations and deployed runs fill task
 * events this one way.
 *
 * @module
 */
import type { Mapping } from "./partition_map.ts";
import type { PartitionValues } from "./partitions.ts";
import type { ObjectAddress } from "./session.ts";

/** One partition of an input, where a step reads it. */
export interface PartAddress extends ObjectAddress {
  /** The partition's values, which the task gets as String columns; `{}` for a whole bucket. */
  readonly partition: PartitionValues;
}

/** Where a step reads each input. */
export interface TaskReads {
  /** Each input read as one object, by input name. */
  readonly inputs: Readonly<Record<string, ObjectAddress>>;
  /** Each input read as several partitions, by input name; absent when there is none. */
  readonly parts?: Readonly<Record<string, readonly PartAddress[]>>;
}

/**
 * Splits what a step reads into the inputs it reads as one object and those it reads as several
 * partitions: an input read as every partition is always a list of partitions (possibly empty or
 * of one), a window of more than one partition too; anything else is one object.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { taskReads } from "./read_addresses.ts";
 * const day = (date: string) => ({ bucket: "lab", key: `raw/${date}.parquet`, partition: { date } });
 * const reads = taskReads({
 *   week: { mapping: "same", parts: [day("2026-01-02"), day("2026-01-03")] },
 *   rates: { mapping: "whole", parts: [{ bucket: "lab", key: "rates.parquet", partition: {} }] },
 * });
 * assert.deepEqual(reads.inputs, { rates: { bucket: "lab", key: "rates.parquet" } });
 * assert.deepEqual(Object.keys(reads.parts ?? {}), ["week"]);
 * ```
 *
 * @param reads how each input is read and where each of its partitions is, by input name.
 * @returns the inputs and the parts, as task events carry them.
 */
export function taskReads(
  reads: Readonly<
    Record<string, { readonly mapping: Mapping; readonly parts: readonly PartAddress[] }>
  >,
): TaskReads {
  const inputs: Record<string, ObjectAddress> = {};
  const parts: Record<string, readonly PartAddress[]> = {};
  for (const [name, { mapping, parts: addresses }] of Object.entries(reads)) {
    if (mapping === "all" || addresses.length !== 1) parts[name] = addresses;
    else inputs[name] = { bucket: addresses[0].bucket, key: addresses[0].key };
  }
  return { inputs, ...(Object.keys(parts).length > 0 ? { parts } : {}) };
}
