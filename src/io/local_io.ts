/**
 * Direct reads and writes of buckets in local mode.
 *
 * @module
 */
import type pl from "../polars.ts";
import type { BucketIo } from "../core/modes.ts";
import type { BucketRef } from "../core/lineage.ts";
import type { PartitionValues } from "../core/partitions.ts";
import type { WriteReport } from "../core/reports.ts";
import { formatOf } from "./file_format.ts";
import { FileStorage } from "./file_storage.ts";
import { type PartitionStorage, readPartitioned, writePartitioned } from "./partitioned_io.ts";
import { withParseLocation } from "./text_input.ts";

function storageOf(ref: BucketRef): PartitionStorage {
  const storage = new FileStorage(ref.settings.localRoot);
  return {
    async read(one) {
      try {
        return await storage.read(one);
      } catch (error) {
        if (formatOf(one.path) !== "csv") throw error;
        throw await withParseLocation(error, () => storage.scan(one));
      }
    },
    partitions: async (one) => {
      await storage.recover();
      return await storage.partitions(one);
    },
    write: (one, frame) => storage.write(one, frame),
  };
}

/** Reads and writes buckets under their provider's local root. */
export const localIo: BucketIo = {
  read(ref: BucketRef, partition?: PartitionValues): Promise<pl.DataFrame> {
    return readPartitioned(storageOf(ref), ref, partition);
  },
  write(ref: BucketRef, frame: pl.DataFrame, partition?: PartitionValues): Promise<WriteReport> {
    return writePartitioned(storageOf(ref), ref, frame, partition);
  },
};
