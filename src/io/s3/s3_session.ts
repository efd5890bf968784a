/**
 * A run's session on S3: inputs downloaded once each, outputs streamed by polars into local
 * files, uploaded to staging as each step ends, and copied into place together at the end through
 * the journal in the state bucket (`s3_journal.ts`).
 *
 * @module
 */
import { join } from "node:path";
import type pl from "../../polars.ts";
import type { PipelineGraph } from "../../core/graph.ts";
import type { BucketRef } from "../../core/lineage.ts";
import { objectName } from "../../core/partition_map.ts";
import type { PartitionValues } from "../../core/partitions.ts";
import { formatOf } from "../file_format.ts";
import { hashFile } from "../file_identity.ts";
import { countRows, scanValidated, sinkFile } from "../formats.ts";
import {
  newRunId,
  type ObjectAddress,
  type RemoteRunSession,
  type Written,
} from "../../core/session.ts";
import { CommitError, firstLine, StorageError } from "../../core/errors.ts";
import { failpoint } from "../_failpoint.ts";
import { type LockLease, type S3Lock, S3Storage, stateBucketOf } from "./s3_storage.ts";
import { copyAll, removeRunObjects, type S3JournalEntry } from "./s3_journal.ts";
import { bucketWrites } from "../write_claims.ts";

/** One run's S3 storage. */
export class S3RunSession implements RemoteRunSession {
  readonly #storage: S3Storage;
  readonly #state: string;
  readonly #targets: readonly BucketRef[];
  readonly #run: string;
  readonly #dir: string;
  readonly #locks: S3Lock[];
  readonly #lease: LockLease | undefined;
  readonly #staged = new Map<string, Staged>();
  readonly #downloads = new Map<string, Promise<string>>();

  private constructor(
    storage: S3Storage,
    state: string,
    run: string,
    dir: string,
    locks: S3Lock[],
    targets: readonly BucketRef[],
    lease?: LockLease,
  ) {
    this.#storage = storage;
    this.#lease = lease;
    this.#state = state;
    this.#targets = targets;
    this.#run = run;
    this.#dir = dir;
    this.#locks = locks;
  }

  /**
   * Starts a run: finishes what earlier runs left, creates missing target buckets, and claims
   * what the run writes of each bucket (the whole bucket, or the partitions it writes).
   *
   * @param graph the pipeline.
   * @param options how long to wait for other writers, the run's id, the lease of a deployed
   *   run's claims, and the partitions it writes of its partitioned targets, each as a reference
   *   to it (default: every target whole).
   * @returns the session.
   * @throws {StorageError} naming the holder and the partitions in conflict when another writer
   *   writes one of the same buckets or partitions.
   */
  static async begin(
    graph: PipelineGraph,
    options: {
      wait?: number;
      runId?: string;
      lease?: LockLease;
      writes?: readonly BucketRef[];
    } = {},
  ): Promise<S3RunSession> {
    const { state, storage, targets } = placesOf(graph);
    const firstTargetIn = new Map(targets.map((t) => [t.bucket, t.location] as const).reverse());
    for (const [bucket, location] of firstTargetIn) await storage.ensureBucket(bucket, location);
    await storage.recover(state);
    const run = options.runId ?? newRunId();
    const locks: S3Lock[] = [];
    try {
      for (const write of bucketWrites(targets, options.writes)) {
        locks.push(
          await storage.lock(write.ref, run, options.wait ?? 0, options.lease, write.partitions),
        );
      }
      // A run that died while publishing to these buckets after the first look is finished now,
      // while they are ours, so it can never overwrite what this run publishes.
      await storage.recover(state);
      await storage.putRunMarker(state, {
        run,
        buckets: [...firstTargetIn.keys()],
        locks: locks.map((l) => l.key),
      });
    } catch (error) {
      for (const lock of locks) await lock.release();
      throw error;
    }
    const dir = await Deno.makeTempDir({ prefix: "glacier-s3-run-" });
    return new S3RunSession(storage, state, run, dir, locks, targets, options.lease);
  }

  /**
   * Takes up a deployed run that an earlier handler began ({@linkcode S3RunSession.begin} with a
   * lease, then {@linkcode S3RunSession.detach}): adopts its locks, renewed for a new lease.
   *
   * @param graph the pipeline.
   * @param runId the run.
   * @param lease how long its locks last from now.
   * @returns the session, which stages nothing of its own yet.
   * @throws {StorageError} when the run no longer holds one of its locks.
   */
  static async resume(
    graph: PipelineGraph,
    runId: string,
    lease: LockLease,
  ): Promise<S3RunSession> {
    const { state, storage, targets } = placesOf(graph);
    const locks: S3Lock[] = [];
    try {
      for (const target of targets) {
        locks.push(await storage.adoptLock(target, runId, lease));
      }
    } catch (error) {
      for (const lock of locks) lock.detach();
      throw error;
    }
    const dir = await Deno.makeTempDir({ prefix: "glacier-s3-run-" });
    return new S3RunSession(storage, state, runId, dir, locks, targets, lease);
  }

  /**
   * Hands the run on to a later handler of a deployed run: its locks stay held (until their lease
   * ends), its staged objects stay, and this process lets go of them.
   */
  async detach(): Promise<void> {
    for (const lock of this.#locks.splice(0)) lock.detach();
    await Deno.remove(this.#dir, { recursive: true }).catch(() => {});
  }

  async hold(refs: readonly BucketRef[]): Promise<void> {
    for (const write of bucketWrites(refs, refs)) {
      const held = this.#locks.find((l) => l.location === write.ref.location);
      if (held) await held.widen(write.partitions);
      else {
        this.#locks.push(
          await this.#storage.lock(write.ref, this.#run, 0, this.#lease, write.partitions),
        );
        await this.#storage.putRunMarker(this.#state, {
          run: this.#run,
          buckets: [...new Set(this.#targets.map((t) => t.bucket))],
          locks: this.#locks.map((l) => l.key),
        });
      }
    }
  }

  /** The run's id, which names its staging keys. */
  get runId(): string {
    return this.#run;
  }

  /** The S3 connection the run uses. */
  get storage(): S3Storage {
    return this.#storage;
  }

  /** The state bucket that holds the run's locks, journal and ledger. */
  get stateBucket(): string {
    return this.#state;
  }

  uriOf(ref: BucketRef): string {
    return this.#storage.uriOf(ref);
  }

  locate(ref: BucketRef): ObjectAddress {
    const staged = this.#staged.get(objectName(ref));
    return staged
      ? { bucket: ref.bucket, key: staged.staged }
      : { bucket: ref.bucket, key: ref.path };
  }

  stagingFor(ref: BucketRef): ObjectAddress {
    return { bucket: ref.bucket, key: this.#storage.stagingKey(this.#run, ref) };
  }

  async stagedRemotely(ref: BucketRef): Promise<number> {
    const at = this.stagingFor(ref);
    const head = await this.#storage.head(at.bucket, at.key);
    if (head === undefined) {
      throw new StorageError(
        `the task that writes bucket '${ref.location}' reported success but left no object at ` +
          `s3://${at.bucket}/${at.key}`,
      );
    }
    this.#staged.set(objectName(ref), { ref, staged: at.key, size: head.size });
    return head.size;
  }

  async stored(ref: BucketRef): Promise<string | undefined> {
    return (await this.#storage.head(ref.bucket, ref.path))?.etag;
  }

  /**
   * Whether the output this run staged for a bucket holds exactly the bytes of its object, for an
   * output staged with no hash (by a function or job that reports none): compared on the server's
   * ETags when both are MD5s, else read side by side.
   *
   * @param ref the bucket.
   * @returns `true` when they are equal.
   */
  async sameAsStored(ref: BucketRef): Promise<boolean> {
    const staged = this.#staged.get(objectName(ref));
    return staged !== undefined &&
      await this.#storage.sameBytes(ref.bucket, staged.staged, ref.path);
  }

  partitions(ref: BucketRef): Promise<PartitionValues[]> {
    return this.#storage.partitions(ref);
  }

  input(ref: BucketRef, missing: string): Promise<pl.LazyDataFrame> {
    const staged = this.#staged.get(objectName(ref));
    if (staged?.file) return Promise.resolve(scanValidated(ref, staged.file, this.uriOf(ref)));
    const at = this.locate(ref);
    const id = `${at.bucket}/${at.key}`;
    let download = this.#downloads.get(id);
    if (download === undefined) {
      const file = join(this.#dir, "in", at.bucket, at.key);
      download = Deno.mkdir(join(file, ".."), { recursive: true })
        .then(() =>
          this.#storage.download(at.bucket, at.key, file, { location: ref.location, missing })
        )
        .then(() => file);
      this.#downloads.set(id, download);
    }
    return download.then((file) => scanValidated(ref, file, this.uriOf(ref)));
  }

  async output(ref: BucketRef, plan: pl.LazyDataFrame): Promise<Written> {
    const file = join(this.#dir, "out", ref.bucket, ref.path);
    await Deno.mkdir(join(file, ".."), { recursive: true });
    await sinkFile(plan, file, formatOf(ref.path), ref.csv);
    const bytes = (await Deno.stat(file)).size;
    const [rows, content] = await Promise.all([
      countRows(file, formatOf(ref.path), ref.schema, ref.csv),
      hashFile(file),
    ]);
    const staged = this.#storage.stagingKey(this.#run, ref);
    await this.#storage.upload(file, ref.bucket, staged, { location: ref.location });
    this.#staged.set(objectName(ref), { ref, staged, size: bytes, file });
    return { rows, bytes, content };
  }

  /**
   * Publishes every staged output: keeps a copy of each bucket's current object, writes the
   * journal to the state bucket, copies each staged object into place, then removes the journal
   * and the run's objects. A failure while copying puts back what was placed.
   *
   * @throws {CommitError} saying exactly which buckets changed.
   */
  async commit(): Promise<void> {
    try {
      await this.publish([...this.#staged.values()].map((s) => s.ref));
    } catch (error) {
      if (!(error instanceof CommitError) || error.changed.length === 0) await this.abort();
      throw error;
    }
    await this.abort();
  }

  /**
   * Publishes some staged outputs together (one partition's outputs across its buckets): keeps a
   * copy of each one's current object, writes the journal to the state bucket, copies each staged
   * object into place, then removes the journal. A failure while copying puts back what was
   * placed; one that changed nothing leaves the run open for its other outputs.
   *
   * @param refs the buckets or partitions, as staged.
   * @throws {CommitError} saying exactly which buckets changed.
   */
  async publish(refs: readonly BucketRef[]): Promise<void> {
    const staged = refs.flatMap((ref) => {
      const found = this.#staged.get(objectName(ref));
      this.#staged.delete(objectName(ref));
      return found ? [found] : [];
    });
    if (staged.length === 0) return;
    const nameOf = (ref: BucketRef) => ref.partition ? objectName(ref) : ref.location;
    const all = staged.map((s) => nameOf(s.ref));
    let journalKey: string;
    let entries: S3JournalEntry[];
    try {
      for (const lock of this.#locks) await lock.confirm();
      entries = [];
      for (const { ref, staged: key, size } of staged) {
        let previous: string | null = null;
        if (await this.#storage.head(ref.bucket, ref.path)) {
          previous = this.#storage.previousKey(this.#run, ref);
          await this.#storage.copyObject(ref.bucket, ref.path, previous);
        }
        entries.push({
          location: nameOf(ref),
          bucket: ref.bucket,
          staged: key,
          final: ref.path,
          previous,
          size,
        });
      }
      failpoint("s3.commit.before-journal");
      journalKey = await this.#storage.putJournal(this.#state, {
        version: 1,
        run: this.#run,
        entries,
        locks: this.#locks.map((l) => l.key),
      });
    } catch (error) {
      throw new CommitError(
        `the run could not start publishing: ${firstLine(error)}`,
        [],
        all,
        undefined,
        { cause: error },
      );
    }
    failpoint("s3.commit.journal-written");
    const journal = `s3://${this.#state}/${journalKey}`;
    const files = new Map(staged.flatMap((s) => s.file ? [[nameOf(s.ref), s.file]] : []));
    try {
      await copyAll(
        this.#storage,
        entries,
        `the journal ${journal} completes it on the next use`,
        files,
      );
    } catch (error) {
      if (error instanceof CommitError && error.changed.length === 0) {
        await this.#storage.deleteObject(this.#state, journalKey).catch(() => {});
      } else {
        // The journal and the staged objects stay: the next cloud use completes the run.
        await this.#release();
      }
      throw error;
    }
    failpoint("s3.commit.all-placed");
    await this.#storage.deleteObject(this.#state, journalKey);
    failpoint("s3.commit.journal-removed");
  }

  /** Removes every object the run staged or kept aside and releases its locks. */
  async abort(): Promise<void> {
    await removeRunObjects(this.#storage, this.#run, this.#targets.map((t) => t.bucket));
    await this.#release();
  }

  async #release(): Promise<void> {
    for (const lock of this.#locks.splice(0)) await lock.release();
    await this.#storage.deleteRunMarker(this.#state, this.#run);
    await Deno.remove(this.#dir, { recursive: true }).catch(() => {});
  }
}

/** Where a pipeline's cloud runs keep their state, and the buckets they write, in order. */
function placesOf(graph: PipelineGraph): {
  state: string;
  storage: S3Storage;
  targets: BucketRef[];
} {
  const settings = graph.buckets[0]?.settings;
  const region = settings?.region ?? "us-east-1";
  const state = stateBucketOf(
    settings ?? { localRoot: "", region },
    `pipeline '${graph.name}' in cloud mode`,
  );
  const targets = [...new Map(graph.steps.map((s) => [s.target.location, s.target])).values()]
    .sort((a, b) => a.location.localeCompare(b.location));
  return { state, storage: new S3Storage(region), targets };
}

/** One output staged by this run. */
interface Staged {
  readonly ref: BucketRef;
  readonly staged: string;
  readonly size: number;
  /** The local file polars wrote, for outputs computed in this process. */
  readonly file?: string;
}
