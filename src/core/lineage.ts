/**
 * The lineage IR: bucket references and the steps that connect them.
 *
 * @module
 */
import type { Schema } from "../schema/schema.ts";
import type { PartitionKeys, PartitionValues } from "./partitions.ts";
import type { QualityCheck } from "./checks.ts";
import type { Task } from "./task.ts";

/** Provider-wide settings that storage needs, carried by every bucket as plain data. */
export interface ProviderSettings {
  /** Root directory of local-mode storage. */
  readonly localRoot: string;
  /** AWS region for cloud mode. */
  readonly region: string;
  /** The S3 bucket of cloud runs' locks and journals, when the provider names one. */
  readonly stateBucket?: string;
}

/**
 * How a CSV bucket's files are laid out, read and written alike in every mode. Dates and datetimes
 * use polars' strftime syntax (`%Y-%m-%d`, `%m/%d/%Y %H:%M`, ...).
 */
export interface CsvOptions {
  /** The field separator, one ASCII character (default `,`). */
  readonly separator?: string;
  /** The quote character, one ASCII character (default `"`). */
  readonly quote?: string;
  /**
   * Field texts that mean null when read; the first one is written for nulls. Default: an empty
   * field is null.
   */
  readonly nullValues?: readonly string[];
  /** The format of `t.date` columns; default: ISO 8601 (`2026-01-31`), read strictly. */
  readonly dateFormat?: string;
  /**
   * The format of `t.datetime` columns; default: ISO 8601, with `T` or a space, fractions optional
   * (and an offset for zoned columns), read strictly.
   */
  readonly datetimeFormat?: string;
  /**
   * Whether the first line names the columns (default `true`): columns are then matched by name,
   * in any order. Without a header, fields are taken in the schema's order.
   */
  readonly header?: boolean;
}

/** A storage location with its schema: what the graph knows of a bucket. */
export interface BucketRef {
  /** The storage bucket (an S3 bucket in cloud mode, a directory in local mode). */
  readonly bucket: string;
  /** The object path inside the bucket; its extension picks the file format. */
  readonly path: string;
  /** `bucket/path`: the identity of the bucket in a graph and in messages. */
  readonly location: string;
  /** The columns the data has. */
  readonly schema: Schema;
  /**
   * Expected size in bytes when there is no data yet, for cost estimates; for a partitioned
   * bucket, the size of one partition.
   */
  readonly sizeHint?: number;
  /** The provider settings storage uses. */
  readonly settings: ProviderSettings;
  /** How its files are laid out, for a CSV bucket. */
  readonly csv?: CsvOptions;
  /** Its partition keys, whose `{placeholders}` are in `path`; absent for an unpartitioned bucket. */
  readonly partitions?: PartitionKeys;
  /**
   * For a reference to one partition of a bucket: that partition; `path` is then the partition's
   * path (placeholders filled) while `location` stays the bucket's.
   */
  readonly partition?: PartitionValues;
  /** Its quality checks, run on every version written or read (see `checks.ts`). */
  readonly checks?: readonly QualityCheck[];
}

/** One materialized step: a task reads source buckets and writes a target bucket. */
export interface Step {
  /** The task that runs. */
  readonly task: Task;
  /** The buckets read, by input name (`input` for single-source tasks). */
  readonly sources: Readonly<Record<string, BucketRef>>;
  /** The bucket written. */
  readonly target: BucketRef;
  /**
   * Inputs read with a window of earlier partitions (`bucket.lookback({ date: 6 })`): by input
   * name, how many earlier partitions of each time key.
   */
  readonly lookback?: Readonly<Record<string, Readonly<Record<string, number>>>>;
}

/** The steps that produce a bucket, upstream first, each step once. */
export type Lineage = readonly Step[];

/**
 * Joins lineages, keeping each step once and upstream steps first.
 *
 * @param lineages the lineages to join.
 * @returns one lineage.
 */
export function mergeLineage(...lineages: Lineage[]): Lineage {
  const seen = new Set<Step>();
  const out: Step[] = [];
  for (const lineage of lineages) {
    for (const step of lineage) {
      if (!seen.has(step)) {
        seen.add(step);
        out.push(step);
      }
    }
  }
  return Object.freeze(out);
}
