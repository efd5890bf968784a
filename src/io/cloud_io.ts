/**
 * Direct reads and writes of buckets in cloud mode: S3.
 *
 * @module
 */
import { join } from "node:path";
import type { BucketIo } from "../core/modes.ts";
import { scanValidated } from "./formats.ts";
import { partitionedIo } from "./partitioned_io.ts";
import { S3Storage } from "./s3/s3_storage.ts";
import { withParseLocation } from "./text_input.ts";

/** Reads and writes buckets as S3 objects. */
export const cloudIo: BucketIo = partitionedIo((ref) => {
  const storage = new S3Storage(ref.settings.region);
  return {
    read: (one) => storage.read(one),
    async locate(one, error) {
      const dir = await Deno.makeTempDir({ prefix: "glacier-s3-read-" });
      try {
        return await withParseLocation(error, async () => {
          const file = join(dir, "data");
          await storage.download(one.bucket, one.path, file);
          return scanValidated(one, file, storage.uriOf(one));
        });
      } finally {
        await Deno.remove(dir, { recursive: true }).catch(() => {});
      }
    },
    partitions: (one) => storage.partitions(one),
    write: (one, frame) => storage.write(one, frame),
  };
});
