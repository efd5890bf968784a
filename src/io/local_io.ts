/**
 * Direct reads and writes of buckets in local mode.
 *
 * @module
 */
import type pl from "../polars.ts";
import type { BucketIo } from "../core/targets.ts";
import type { BucketRef } from "../core/lineage.ts";
import type { WriteReport } from "../core/reports.ts";
import { FileStorage } from "./file_storage.ts";

/** Reads and writes buckets under their provider's local root. */
export const localIo: BucketIo = {
  read(ref: BucketRef): Promise<pl.DataFrame> {
    return new FileStorage(ref.settings.localRoot).read(ref);
  },
  write(ref: BucketRef, frame: pl.DataFrame): Promise<WriteReport> {
    return new FileStorage(ref.settings.localRoot).write(ref, frame);
  },
};
