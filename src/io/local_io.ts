/**
 * Direct reads and writes of buckets in local mode.
 *
 * @module
 */
import type pl from "../polars.ts";
import type { BucketIo } from "../core/modes.ts";
import type { BucketRef } from "../core/lineage.ts";
import type { WriteReport } from "../core/reports.ts";
import { formatOf } from "./file_format.ts";
import { FileStorage } from "./file_storage.ts";
import { withParseLocation } from "./text_input.ts";

/** Reads and writes buckets under their provider's local root. */
export const localIo: BucketIo = {
  async read(ref: BucketRef): Promise<pl.DataFrame> {
    const storage = new FileStorage(ref.settings.localRoot);
    try {
      return await storage.read(ref);
    } catch (error) {
      if (formatOf(ref.path) !== "csv") throw error;
      throw await withParseLocation(error, () => storage.scan(ref));
    }
  },
  write(ref: BucketRef, frame: pl.DataFrame): Promise<WriteReport> {
    return new FileStorage(ref.settings.localRoot).write(ref, frame);
  },
};
