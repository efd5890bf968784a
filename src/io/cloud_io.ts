/**
 * Direct reads and writes of buckets in cloud mode: S3.
 *
 * @module
 */
import type pl from "../polars.ts";
import type { BucketIo } from "../core/targets.ts";
import type { BucketRef } from "../core/lineage.ts";
import type { WriteReport } from "../core/reports.ts";
import { S3Storage } from "./s3/s3_storage.ts";

/** Reads and writes buckets as S3 objects. */
export const cloudIo: BucketIo = {
  read(ref: BucketRef): Promise<pl.DataFrame> {
    return new S3Storage(ref.settings.region).read(ref);
  },
  write(ref: BucketRef, frame: pl.DataFrame): Promise<WriteReport> {
    return new S3Storage(ref.settings.region).write(ref, frame);
  },
};
