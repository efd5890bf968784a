/**
 * What the run UI reads of a module's storage in local mode: the SQLite ledger under the local
 * root, the plan a local run would follow, and the buckets' files.
 *
 * @module
 */
import type pl from "../polars.ts";
import type { PipelineGraph } from "../core/graph.ts";
import type { BucketRef } from "../core/lineage.ts";
import type { Ledger } from "../engine/ledger/ledger.ts";
import { ledgerRoot, openLocalLedger, planLocal } from "../engine/local.ts";
import type { StepPlan } from "../engine/plan.ts";
import { FileStorage } from "../io/file_storage.ts";

/** The storage the run UI reads: one mode's ledger, plan and data. */
export interface UiStore {
  /** The mode whose runs it shows. */
  readonly mode: "local" | "cloud";
  /**
   * Where a bucket's data is, for people: a file path or an `s3://` URI.
   *
   * @param ref the bucket.
   * @returns the place.
   */
  where(ref: BucketRef): string;
  /**
   * Opens the ledger; the caller closes it.
   *
   * @returns the ledger.
   */
  openLedger(): Promise<Ledger>;
  /**
   * What a run would do now, step by step, and why.
   *
   * @returns the plan.
   */
  plan(): Promise<StepPlan>;
  /**
   * Whether a bucket has data.
   *
   * @param ref the bucket.
   * @returns `true` when it does.
   */
  present(ref: BucketRef): Promise<boolean>;
  /**
   * The first rows of a bucket's data, read through polars and validated against its schema.
   *
   * @param ref the bucket.
   * @param count how many rows.
   * @returns the rows.
   * @throws {NoDataError} when the bucket has no data.
   */
  firstRows(ref: BucketRef, count: number): Promise<pl.DataFrame>;
  /**
   * Whether a run the ledger says is running still has a process.
   *
   * @param runId the run.
   * @returns `true` while it runs.
   */
  isLive(runId: string): Promise<boolean>;
}

/**
 * The local store of a module: the ledger and files under its local root.
 *
 * @param graph the module's graph.
 * @returns the store.
 */
export function localStore(graph: PipelineGraph): UiStore {
  const root = ledgerRoot(graph);
  const storageOf = (ref: BucketRef) => new FileStorage(ref.settings.localRoot);
  return {
    mode: "local",
    where: (ref) => storageOf(ref).pathOf(ref),
    openLedger: () => openLocalLedger(root),
    plan: () => planLocal(graph),
    present: (ref) => storageOf(ref).exists(storageOf(ref).pathOf(ref)),
    async firstRows(ref, count) {
      const storage = storageOf(ref);
      await storage.recover();
      return await (await storage.scan(ref)).head(count).collect();
    },
    isLive: (runId) => new FileStorage(root).isRunLive(runId),
  };
}
