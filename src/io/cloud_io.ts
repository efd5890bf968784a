/**
 * Direct reads and writes of buckets in cloud mode: S3.
 *
 * @module
 */
import type pl from "../polars.ts";
import type { BucketIo } from "../core/modes.ts";
import type { BucketRef } from "../core/lineage.ts";
import type { PartitionValues } from "../core/partitions.ts";
import type { WriteReport } from "../core/reports.ts";
import { join } from "node:path";
import { formatOf } from "./file_format.ts";
import { scanValidated } from "./formats.ts";
import { type PartitionStorage, readPartitioned, writePartitioned } from "./partitioned_io.ts";
import { S3Storage } from "./s3/s3_storage.ts";
import { withParseLocation } from "./text_input.ts";

function storageOf(ref: BucketRef): PartitionStorage {
  const storage = new S3Storage(ref.settings.region);
  return {
    async read(one) {
      try {
        return await storage.read(one);
      } catch (error) {
        if (formatOf(one.path) !== "csv") throw error;
        const dir = await Deno.makeTempDir({ prefix: "glacier-s3-read-" });
        try {
          throw await withParseLocation(error, async () => {
            const file = join(dir, "data");
            await storage.download(one.bucket, one.path, file);
            return scanValidated(one, file, storage.uriOf(one));
          });
        } finally {
          await Deno.remove(dir, { recursive: true }).catch(() => {});
        }
      }
    },
    partitions: (one) => storage.partitions(one),
    write: (one, frame) => storage.write(one, frame),
  };
}

/** Reads and writes buckets as S3 objects. */
export const cloudIo: BucketIo = {
  read(ref: BucketRef, partition?: PartitionValues): Promise<pl.DataFrame> {
    return readPartitioned(storageOf(ref), ref, partition);
  },
  write(ref: BucketRef, frame: pl.DataFrame, partition?: PartitionValues): Promise<WriteReport> {
    return writePartitioned(storageOf(ref), ref, frame, partition);
  },
};
