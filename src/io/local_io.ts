/**
 * Direct reads and writes of buckets in local mode.
 *
 * @module
 */
import type { BucketIo } from "../core/modes.ts";
import { FileStorage } from "./file_storage.ts";
import { partitionedIo } from "./partitioned_io.ts";
import { withParseLocation } from "./text_input.ts";

/** Reads and writes buckets under their provider's local root. */
export const localIo: BucketIo = partitionedIo((ref) => {
  const storage = new FileStorage(ref.settings.localRoot);
  return {
    read: (one) => storage.read(one),
    locate: (one, error) => withParseLocation(error, () => storage.scan(one)),
    partitions: async (one) => {
      await storage.recover();
      return await storage.partitions(one);
    },
    write: (one, frame) => storage.write(one, frame),
  };
});
