/**
 * Direct reads and writes of buckets in cloud mode: S3.
 *
 * @module
 */
import type pl from "../polars.ts";
import type { BucketIo } from "../core/modes.ts";
import type { BucketRef } from "../core/lineage.ts";
import type { WriteReport } from "../core/reports.ts";
import { join } from "node:path";
import { formatOf } from "./file_format.ts";
import { scanValidated } from "./formats.ts";
import { S3Storage } from "./s3/s3_storage.ts";
import { withParseLocation } from "./text_input.ts";

/** Reads and writes buckets as S3 objects. */
export const cloudIo: BucketIo = {
  async read(ref: BucketRef): Promise<pl.DataFrame> {
    const storage = new S3Storage(ref.settings.region);
    try {
      return await storage.read(ref);
    } catch (error) {
      if (formatOf(ref.path) !== "csv") throw error;
      const dir = await Deno.makeTempDir({ prefix: "glacier-s3-read-" });
      try {
        throw await withParseLocation(error, async () => {
          const file = join(dir, "data");
          await storage.download(ref.bucket, ref.path, file);
          return scanValidated(ref, file, storage.uriOf(ref));
        });
      } finally {
        await Deno.remove(dir, { recursive: true }).catch(() => {});
      }
    }
  },
  write(ref: BucketRef, frame: pl.DataFrame): Promise<WriteReport> {
    return new S3Storage(ref.settings.region).write(ref, frame);
  },
};
