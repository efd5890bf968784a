/**
 * Direct reads and writes of partitioned buckets, over either storage: one partition, or every
 * partition (those a partial partition selects) with the keys as String columns.
 *
 * @module
 */
import pl from "../polars.ts";
import type { BucketRef } from "../core/lineage.ts";
import type { BucketIo } from "../core/modes.ts";
import { formatOf } from "./file_format.ts";
import { atPartition, checkedPartition, isPartitioned } from "../core/partition_map.ts";
import type { PartitionValues } from "../core/partitions.ts";
import type { WriteReport } from "../core/reports.ts";
import { emptyFrame } from "../schema/schema.ts";

/** What one storage brings: reading one bucket or partition, listing partitions, writing. */
export interface PartitionStorage {
  /** Reads one bucket or partition. */
  read(ref: BucketRef): Promise<pl.DataFrame>;
  /**
   * The error of a CSV read, with where the text failed to parse (row, column) when a second
   * scan finds it.
   */
  locate(ref: BucketRef, error: unknown): Promise<unknown>;
  /** The partitions that have data. */
  partitions(ref: BucketRef): Promise<PartitionValues[]>;
  /** Writes one bucket or partition. */
  write(ref: BucketRef, frame: pl.DataFrame): Promise<WriteReport>;
}

/**
 * Direct reads and writes over one storage: one bucket or partition, every partition with the
 * keys as columns; a CSV that does not parse says where.
 *
 * @param storageOf the storage of a bucket.
 * @returns the reads and writes.
 */
export function partitionedIo(storageOf: (ref: BucketRef) => PartitionStorage): BucketIo {
  const located = (storage: PartitionStorage): PartitionStorage => ({
    ...storage,
    async read(one) {
      try {
        return await storage.read(one);
      } catch (error) {
        if (formatOf(one.path) !== "csv") throw error;
        throw await storage.locate(one, error);
      }
    },
  });
  return {
    read: (ref, partition) => readPartitioned(located(storageOf(ref)), ref, partition),
    write: (ref, frame, partition) => writePartitioned(storageOf(ref), ref, frame, partition),
  };
}

/**
 * Reads a bucket, one partition of it, or the partitions a partial partition selects.
 *
 * @param storage the storage.
 * @param ref the bucket.
 * @param partition every key (one partition), some keys, or none (every partition).
 * @returns the data; with the keys as columns unless one whole partition was named.
 */
export async function readPartitioned(
  storage: PartitionStorage,
  ref: BucketRef,
  partition: PartitionValues | undefined,
): Promise<pl.DataFrame> {
  const given = checkedPartition(ref, partition, false);
  const keys = Object.keys(ref.partitions ?? {});
  if (!isPartitioned(ref)) return await storage.read(ref);
  if (Object.keys(given).length === keys.length) return await storage.read(atPartition(ref, given));
  const found = (await storage.partitions(ref))
    .filter((p) => Object.entries(given).every(([k, v]) => p[k] === v))
    .sort((a, b) => keys.map((k) => a[k].localeCompare(b[k])).find((c) => c !== 0) ?? 0);
  const frames: pl.DataFrame[] = [];
  for (const values of found) {
    const frame = await storage.read(atPartition(ref, values));
    frames.push(frame.withColumns(...keys.map((k) => pl.lit(values[k]).cast(pl.Utf8).alias(k))));
  }
  if (frames.length === 0) {
    return emptyFrame(ref.schema).withColumns(
      ...keys.map((k) => pl.lit(null).cast(pl.Utf8).alias(k)),
    ).head(0);
  }
  return pl.concat(frames, { how: "vertical" });
}

/**
 * Writes a bucket, or one partition of a partitioned bucket.
 *
 * @param storage the storage.
 * @param ref the bucket.
 * @param frame the data.
 * @param partition every key's value, for a partitioned bucket.
 * @returns where it went, rows and bytes.
 */
export async function writePartitioned(
  storage: PartitionStorage,
  ref: BucketRef,
  frame: pl.DataFrame,
  partition: PartitionValues | undefined,
): Promise<WriteReport> {
  const values = checkedPartition(ref, partition, true);
  return await storage.write(isPartitioned(ref) ? atPartition(ref, values) : ref, frame);
}
