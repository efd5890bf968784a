/**
 * How partitions map from the buckets a step reads to the bucket it writes (DESIGN section 8):
 * the same partition (optionally with a window of earlier ones), every partition as one frame
 * (into an unpartitioned target), or an unpartitioned input read whole. The run-time twins of the
 * type-level checks in `partition_checks.ts`.
 *
 * @module
 */
import { messages } from "../schema/messages.ts";
import type { BucketRef, Step } from "./lineage.ts";
import {
  describeKey,
  fillPath,
  isValueOf,
  keySummary,
  type PartitionKey,
  type PartitionKeys,
  partitionText,
  type PartitionValues,
  placeholdersOf,
} from "./partitions.ts";

/** How a step reads one input: `same` partition, `all` partitions as one frame, or `whole`. */
export type Mapping = "same" | "all" | "whole";

/**
 * How a step reads one of its inputs.
 *
 * @param step the step.
 * @param input the input's name.
 * @returns the mapping.
 */
export function mappingOf(step: Step, input: string): Mapping {
  if (!isPartitioned(step.sources[input])) return "whole";
  return isPartitioned(step.target) ? "same" : "all";
}

const UNITS: Readonly<Record<string, string>> = {
  hourly: "hour",
  daily: "day",
  weekly: "week",
  monthly: "month",
};

/**
 * How a step reads one input's partitions, when it is not simply the same partition: every
 * partition as one frame, a window of earlier ones, or an unpartitioned input read whole for each
 * partition.
 *
 * @param step the step.
 * @param input the input's name.
 * @returns `all partitions`, `lookback 6 days`, `read whole`, or undefined.
 */
export function mappingSummary(step: Step, input: string): string | undefined {
  const mapping = mappingOf(step, input);
  if (mapping === "all") return "all partitions";
  if (mapping === "whole") return isPartitioned(step.target) ? "read whole" : undefined;
  const keys = step.sources[input].partitions ?? {};
  const window = Object.entries(step.lookback?.[input] ?? {}).filter(([, n]) => n > 0);
  if (window.length === 0) return undefined;
  return "lookback " + window.map(([key, n]) => {
    const unit = UNITS[keys[key]?.kind] ?? key;
    return `${window.length > 1 ? `${key} ` : ""}${n} ${unit}${n === 1 ? "" : "s"}`;
  }).join(", ");
}

/**
 * A bucket's partition keys in a few words each, `date: daily from 2026-01-01`, for drawings.
 *
 * @param ref the bucket.
 * @returns one text per key; empty for an unpartitioned bucket.
 */
export function keySummaries(ref: BucketRef): string[] {
  return Object.entries(ref.partitions ?? {}).map(([name, key]) => `${name}: ${keySummary(key)}`);
}

/**
 * Whether a bucket has partition keys.
 *
 * @param ref the bucket.
 * @returns `true` when it has.
 */
export function isPartitioned(ref: BucketRef): boolean {
  return ref.partitions !== undefined && Object.keys(ref.partitions).length > 0;
}

/**
 * What is wrong with a bucket's declared partitions: placeholders without keys, keys without
 * placeholders, keys named like columns.
 *
 * @param location the bucket, `bucket/path`.
 * @param path its path.
 * @param columns its schema's columns.
 * @param keys its partition keys.
 * @returns the messages; empty when it is right.
 */
export function declarationIssues(
  location: string,
  path: string,
  columns: readonly string[],
  keys: PartitionKeys,
): string[] {
  const issues: string[] = [];
  const holders = placeholdersOf(path);
  for (const key of holders) {
    if (!(key in keys)) issues.push(messages.placeholderWithoutKey(location, key));
  }
  for (const key of Object.keys(keys)) {
    if (!holders.includes(key)) issues.push(messages.keyWithoutPlaceholder(location, key));
    if (columns.includes(key)) issues.push(messages.keyIsColumn(location, key));
  }
  return issues;
}

/**
 * What is wrong with a step's partition mapping: a partitioned input and a partitioned target
 * with other keys, or keys of another kind.
 *
 * @param sources the buckets read, by input name.
 * @param target the bucket written.
 * @param task the task's name.
 * @returns the messages; empty when every input maps.
 */
export function mappingIssues(
  sources: Readonly<Record<string, BucketRef>>,
  target: BucketRef,
  task: string,
): string[] {
  const issues: string[] = [];
  const want = target.partitions ?? {};
  if (Object.keys(want).length === 0) return issues;
  for (const source of Object.values(sources)) {
    const have = source.partitions ?? {};
    if (Object.keys(have).length === 0) continue;
    for (const [key, def] of Object.entries(have)) {
      const other = want[key];
      if (other === undefined) {
        issues.push(messages.keyNotInTarget(source.location, key, target.location, task));
      } else if (kindOf(def) !== kindOf(other)) {
        issues.push(
          messages.keyKindDiffers(
            key,
            source.location,
            kindOf(def),
            target.location,
            kindOf(other),
            task,
          ),
        );
      }
    }
    for (const key of Object.keys(want)) {
      if (!(key in have)) {
        issues.push(messages.keyNotInSource(target.location, key, source.location, task));
      }
    }
  }
  return [...new Set(issues)];
}

/** A key's kind as messages name it: `daily`, or `daily in Europe/Paris`. */
function kindOf(key: PartitionKey): string {
  return key.kind !== "values" && key.timezone ? `${key.kind} in ${key.timezone}` : key.kind;
}

/**
 * A reference to one partition of a bucket: its path filled in, its location the bucket's.
 *
 * @param ref the bucket.
 * @param partition every key's value.
 * @returns the partition's reference.
 */
export function atPartition(ref: BucketRef, partition: PartitionValues): BucketRef {
  return Object.freeze({ ...ref, path: fillPath(ref.path, partition), partition });
}

/**
 * The partition that stands for any partition when a task is called without data (for its
 * fingerprint, its check, its plan): each key's value is the key's name in braces, so a task that
 * uses its key gets the same plan for every partition.
 *
 * @param ref the step's target.
 * @returns the stand-in values; empty for an unpartitioned target.
 */
export function anyPartition(ref: BucketRef): PartitionValues {
  return Object.fromEntries(Object.keys(ref.partitions ?? {}).map((k) => [k, `{${k}}`]));
}

/**
 * The physical name of a bucket or of one of its partitions, `bucket/path` with values filled in:
 * what storage keys its staged outputs by.
 *
 * @param ref the bucket or partition.
 * @returns the name.
 */
export function objectName(ref: BucketRef): string {
  return `${ref.bucket}/${ref.path}`;
}

/**
 * Checks a partition given by a caller against a bucket's keys.
 *
 * @param ref the bucket.
 * @param partition the values given.
 * @param complete whether every key must have a value.
 * @returns the values, in the bucket's key order.
 * @throws {TypeError} naming the bucket, the key and the value that is wrong.
 */
export function checkedPartition(
  ref: BucketRef,
  partition: PartitionValues | undefined,
  complete: boolean,
): PartitionValues {
  const keys = ref.partitions ?? {};
  const names = Object.keys(keys);
  if (names.length === 0) {
    if (partition !== undefined && Object.keys(partition).length > 0) {
      throw new TypeError(
        `bucket '${ref.location}' is not partitioned, so it has no partition ${
          partitionText(partition)
        }`,
      );
    }
    return {};
  }
  const given = partition ?? {};
  for (const [key, value] of Object.entries(given)) {
    const def = keys[key];
    if (def === undefined) {
      throw new TypeError(
        `bucket '${ref.location}' has no partition key '${key}'; its keys are ${
          names.map((n) => `'${n}'`).join(", ")
        }`,
      );
    }
    if (typeof value !== "string" || !isValueOf(def, value)) {
      throw new TypeError(
        `partition key '${key}' of bucket '${ref.location}' cannot be ${
          JSON.stringify(value)
        }: it takes ${describeKey(def)}`,
      );
    }
  }
  const missing = names.filter((n) => given[n] === undefined);
  if (complete && missing.length > 0) {
    throw new TypeError(
      `bucket '${ref.location}' is partitioned: name its partition with every key, such as ` +
        `{ partition: { ${names.map((n) => `${n}: "${example(keys[n])}"`).join(", ")} } } ` +
        `(missing: ${missing.map((n) => `'${n}'`).join(", ")})`,
    );
  }
  return Object.fromEntries(names.filter((n) => given[n] !== undefined).map((n) => [n, given[n]]));
}

function example(key: PartitionKey): string {
  return key.kind === "values" ? key.values[0] : key.start;
}
