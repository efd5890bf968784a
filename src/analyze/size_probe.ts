/**
 * Real sizes of buckets that already hold data: the local file in local storage, the S3 object
 * (HeadObject) in cloud storage. The S3 client is loaded only when cloud sizes are asked for, so
 * analysis in local storage never loads the AWS SDK.
 *
 * @module
 */
import type { BucketRef } from "../core/lineage.ts";
import { atPartition } from "../core/partition_map.ts";
import {
  fixedPrefix,
  partitionText,
  type PartitionValues,
  pathMatcher,
} from "../core/partitions.ts";
import type { StorageMode } from "../core/reports.ts";
import { FileStorage } from "../io/file_storage.ts";

/** A bucket's real size. */
export interface MeasuredSize {
  /** Bytes its data takes. */
  readonly bytes: number;
  /** Where it was measured: a file path or an `s3://` URI. */
  readonly where: string;
}

/** Measures a bucket's data; `undefined` when the bucket has none. */
export type SizeProbe = (ref: BucketRef) => Promise<MeasuredSize | undefined>;

/**
 * Sizes of local files, `<localRoot>/<bucket>/<path>`.
 *
 * @returns the probe.
 */
export function localSizeProbe(): SizeProbe {
  return async (ref) => {
    const path = new FileStorage(ref.settings.localRoot).pathOf(ref);
    try {
      const stat = await Deno.stat(path);
      return stat.isFile ? { bytes: stat.size, where: path } : undefined;
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return undefined;
      throw error;
    }
  };
}

/**
 * Sizes of S3 objects, read with HeadObject on the S3 the standard AWS configuration points at.
 * The S3 client loads on the first call.
 *
 * @returns the probe.
 * @throws {StorageError} from the probe when S3 cannot be reached or refuses the request.
 */
export function cloudSizeProbe(): SizeProbe {
  return async (ref) => {
    const { S3Storage } = await import("../io/s3/s3_storage.ts");
    const storage = new S3Storage(ref.settings.region);
    const object = await storage.head(ref.bucket, ref.path);
    return object === undefined ? undefined : { bytes: object.size, where: storage.uriOf(ref) };
  };
}

/**
 * The probe for a storage mode.
 *
 * @param mode `local` or `cloud`.
 * @returns the probe.
 */
export function sizeProbe(mode: StorageMode): SizeProbe {
  return mode === "cloud" ? cloudSizeProbe() : localSizeProbe();
}

/** One partition that holds data, and its size. */
export interface MeasuredPartition extends MeasuredSize {
  /** Its values. */
  readonly partition: PartitionValues;
}

/**
 * Measures every partition of a partitioned bucket that holds data, by its text
 * (`date=2026-01-03`).
 */
export type PartitionSizes = (ref: BucketRef) => Promise<ReadonlyMap<string, MeasuredPartition>>;

/**
 * Sizes of a partitioned bucket's local files: its folder listed, each file's size read.
 *
 * @returns the measure.
 */
export function localPartitionSizes(): PartitionSizes {
  const probe = localSizeProbe();
  return async (ref) => {
    const found = await new FileStorage(ref.settings.localRoot).partitions(ref);
    const sized = await Promise.all(
      found.map(async (partition) => ({
        partition,
        size: await probe(atPartition(ref, partition)),
      })),
    );
    return new Map(
      sized.filter((p) => p.size !== undefined).map((p) => [
        partitionText(p.partition),
        { ...p.size!, partition: p.partition },
      ]),
    );
  };
}

/**
 * Sizes of a partitioned bucket's S3 objects, from one listing of its prefix.
 *
 * @returns the measure.
 * @throws {StorageError} from the measure when S3 cannot be reached or refuses the listing.
 */
export function cloudPartitionSizes(): PartitionSizes {
  return async (ref) => {
    const { S3Storage } = await import("../io/s3/s3_storage.ts");
    const storage = new S3Storage(ref.settings.region);
    const match = pathMatcher(ref.path, ref.partitions ?? {});
    const objects = await storage.list(ref.bucket, fixedPrefix(ref.path), {
      location: ref.location,
    });
    const out = new Map<string, MeasuredPartition>();
    for (const object of objects) {
      const partition = match(object.key);
      if (!partition) continue;
      out.set(partitionText(partition), {
        partition,
        bytes: object.size,
        where: storage.uriOf(atPartition(ref, partition)),
      });
    }
    return out;
  };
}

/**
 * The partition measure for a storage mode.
 *
 * @param mode `local` or `cloud`.
 * @returns the measure.
 */
export function partitionSizes(mode: StorageMode): PartitionSizes {
  return mode === "cloud" ? cloudPartitionSizes() : localPartitionSizes();
}
