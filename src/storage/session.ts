/**
 * What a run needs from storage: inputs as validated lazy frames, outputs staged until the run
 * commits them all, or drops them all.
 *
 * @module
 */
import type pl from "../polars.ts";
import type { BucketRef } from "../core/lineage.ts";

/** Rows and bytes of one staged output. */
export interface Written {
  /** Rows written. */
  readonly rows: number;
  /** Bytes written. */
  readonly bytes: number;
}

/** One run's view of storage. Nothing it stages is visible to others before `commit()`. */
export interface RunSession {
  /**
   * Where a bucket's data lives, for messages: a path or an `s3://` URI.
   *
   * @param ref the bucket.
   * @returns its location.
   */
  uriOf(ref: BucketRef): string;
  /**
   * A bucket's data as this run sees it: its staged output when this run produced it, else its
   * stored data; validated against the bucket's schema, limited to its columns.
   *
   * @param ref the bucket.
   * @param missing what to say when there is no data.
   * @returns the lazy frame.
   */
  input(ref: BucketRef, missing: string): Promise<pl.LazyDataFrame>;
  /**
   * Runs a plan into a bucket's staged output.
   *
   * @param ref the bucket.
   * @param plan the plan, already checked against the bucket's schema.
   * @returns rows and bytes written.
   */
  output(ref: BucketRef, plan: pl.LazyDataFrame): Promise<Written>;
  /** Makes every staged output the bucket's data, all together. */
  commit(): Promise<void>;
  /** Drops every staged output; every bucket keeps its previous data. */
  abort(): Promise<void>;
}
