/**
 * A run's session on the embedded filesystem storage, over every local root its buckets use.
 *
 * @module
 */
import type pl from "../polars.ts";
import { CommitError, firstLine, StorageError } from "../core/errors.ts";
import type { PipelineGraph } from "../core/graph.ts";
import type { BucketRef } from "../core/lineage.ts";
import { objectName } from "../core/partition_map.ts";
import type { PartitionValues } from "../core/partitions.ts";
import { FileStorage, type FileTransaction } from "./file_storage.ts";
import { fileIdentity, sameBytes } from "./file_identity.ts";
import { newRunId, type RunSession, type Written } from "../core/session.ts";

/** Stages outputs under each root and commits them through each root's journal. */
export class FileRunSession implements RunSession {
  readonly #roots = new Map<string, { storage: FileStorage; txn: FileTransaction }>();
  /** The run's id, the same under every root. */
  readonly runId: string;

  private constructor(runId: string) {
    this.runId = runId;
  }

  /**
   * Starts a session for every root the graph's buckets live under.
   *
   * @param graph the pipeline.
   * @param options how long to wait for other writers, the run's id, and the partitions it
   *   writes of its partitioned targets, each as a reference to it (default: every target whole).
   * @returns the session.
   * @throws {StorageError} naming the holder and the partitions in conflict when another writer
   *   writes one of the same buckets or partitions.
   */
  static async begin(
    graph: PipelineGraph,
    options: { wait?: number; runId?: string; writes?: readonly BucketRef[] } = {},
  ): Promise<FileRunSession> {
    const session = new FileRunSession(options.runId ?? newRunId());
    const roots = new Map<string, BucketRef[]>();
    for (const ref of graph.buckets) roots.set(ref.settings.localRoot, []);
    for (const step of graph.steps) roots.get(step.target.settings.localRoot)!.push(step.target);
    try {
      for (const [root, targets] of roots) {
        const storage = new FileStorage(root);
        session.#roots.set(root, {
          storage,
          txn: await storage.beginRun(targets, {
            wait: options.wait,
            runId: session.runId,
            ...(options.writes ? { writes: options.writes } : {}),
          }),
        });
      }
    } catch (error) {
      await session.abort();
      throw error;
    }
    return session;
  }

  #at(ref: BucketRef): { storage: FileStorage; txn: FileTransaction } {
    return this.#roots.get(ref.settings.localRoot)!;
  }

  async hold(refs: readonly BucketRef[]): Promise<void> {
    for (const [root, { txn }] of this.#roots) {
      await txn.hold(refs.filter((r) => r.settings.localRoot === root));
    }
  }

  uriOf(ref: BucketRef): string {
    return this.#at(ref).storage.pathOf(ref);
  }

  stored(ref: BucketRef): Promise<string | undefined> {
    return fileIdentity(this.uriOf(ref));
  }

  sameAsStored(ref: BucketRef): Promise<boolean> {
    const { storage, txn } = this.#at(ref);
    return sameBytes(txn.stagePath(ref), storage.pathOf(ref));
  }

  async partitions(ref: BucketRef): Promise<PartitionValues[]> {
    return await this.#at(ref).storage.partitions(ref);
  }

  input(ref: BucketRef, missing: string): Promise<pl.LazyDataFrame> {
    const { storage, txn } = this.#at(ref);
    return storage.scan(ref, txn.readPath(ref), missing);
  }

  async output(ref: BucketRef, plan: pl.LazyDataFrame): Promise<Written> {
    const { storage, txn } = this.#at(ref);
    const staged = txn.stagePath(ref);
    await storage.sinkTo(ref, plan, staged);
    let written: Written;
    try {
      const [described, identity] = await Promise.all([
        storage.describe(ref, staged),
        fileIdentity(staged),
      ]);
      written = { ...described, ...(identity ? { identity } : {}) };
    } catch (error) {
      throw new StorageError(
        `the output staged for bucket '${ref.location}' at ${staged} could not be read back: ${
          firstLine(error)
        }`,
        { cause: error },
      );
    }
    txn.staged(ref);
    return written;
  }

  async publish(outputs: readonly BucketRef[]): Promise<void> {
    const changed: string[] = [];
    const byRoot = new Map<FileTransaction, string[]>();
    for (const ref of outputs) {
      const { txn } = this.#at(ref);
      byRoot.set(txn, [...(byRoot.get(txn) ?? []), objectName(ref)]);
    }
    for (const [txn, names] of byRoot) {
      try {
        await txn.publish(names);
        changed.push(...names);
      } catch (error) {
        if (changed.length === 0 || !(error instanceof CommitError)) throw error;
        throw new CommitError(
          error.reasonText,
          [...changed, ...error.changed],
          error.unchanged,
          error.pending,
          { cause: error },
        );
      }
    }
  }

  async commit(): Promise<void> {
    const changed: string[] = [];
    const roots = [...this.#roots.values()];
    for (const [i, { txn }] of roots.entries()) {
      try {
        await txn.commit();
        changed.push(...txn.outputs);
      } catch (error) {
        for (const later of roots.slice(i + 1)) await later.txn.abort();
        if (changed.length === 0 || !(error instanceof CommitError)) throw error;
        const unchanged = roots.slice(i + 1).flatMap((r) => r.txn.outputs);
        throw new CommitError(
          error.reasonText,
          [...changed, ...error.changed],
          [...error.unchanged, ...unchanged],
          error.pending,
          { cause: error },
        );
      }
    }
  }

  async abort(): Promise<void> {
    for (const { txn } of this.#roots.values()) await txn.abort();
  }
}
