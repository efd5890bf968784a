/**
 * A run's session on S3: inputs downloaded once each, outputs streamed by polars into local
 * files, uploaded to staging as each step ends, and copied into place together at the end.
 *
 * @module
 */
import { join } from "node:path";
import type pl from "../../polars.ts";
import type { PipelineGraph } from "../../core/graph.ts";
import type { BucketRef } from "../../core/lineage.ts";
import { formatOf } from "../../provider/format.ts";
import { countRows, scanValidated, sinkFile } from "../formats.ts";
import type { ObjectAddress, RemoteRunSession, Written } from "../../core/session.ts";
import { StorageError } from "../../core/errors.ts";
import { type S3Lock, S3Storage, type StagedObject } from "./s3_storage.ts";

/** One run's S3 storage. */
export class S3RunSession implements RemoteRunSession {
  readonly #storage: S3Storage;
  readonly #run: string;
  readonly #dir: string;
  readonly #locks: S3Lock[];
  readonly #staged = new Map<string, StagedObject & { file?: string }>();
  readonly #downloads = new Map<string, Promise<string>>();

  private constructor(storage: S3Storage, run: string, dir: string, locks: S3Lock[]) {
    this.#storage = storage;
    this.#run = run;
    this.#dir = dir;
    this.#locks = locks;
  }

  /**
   * Starts a run: finishes what earlier runs left, creates missing target buckets, and takes the
   * lock of every bucket the run writes.
   *
   * @param graph the pipeline.
   * @returns the session.
   * @throws {StorageError} when another run is writing one of the same buckets.
   */
  static async begin(graph: PipelineGraph): Promise<S3RunSession> {
    const region = graph.buckets[0]?.settings.region ?? "us-east-1";
    const storage = new S3Storage(region);
    const targets = [...new Map(graph.steps.map((s) => [s.target.location, s.target])).values()]
      .sort((a, b) => a.location.localeCompare(b.location));
    const firstTargetIn = new Map(targets.map((t) => [t.bucket, t.location] as const).reverse());
    for (const [bucket, location] of firstTargetIn) await storage.ensureBucket(bucket, location);
    await storage.recover(graph.buckets.map((b) => b.bucket));
    const locks: S3Lock[] = [];
    try {
      for (const target of targets) locks.push(await storage.lock(target));
    } catch (error) {
      for (const lock of locks) await lock.release();
      throw error;
    }
    const run = `${new Date().toISOString().replace(/[:.]/g, "-")}-${
      crypto.randomUUID().slice(0, 8)
    }`;
    const dir = await Deno.makeTempDir({ prefix: "glacier-s3-run-" });
    return new S3RunSession(storage, run, dir, locks);
  }

  /** The run's id, which names its staging keys. */
  get runId(): string {
    return this.#run;
  }

  uriOf(ref: BucketRef): string {
    return this.#storage.uriOf(ref);
  }

  locate(ref: BucketRef): ObjectAddress {
    const staged = this.#staged.get(ref.location);
    return staged
      ? { bucket: staged.bucket, key: staged.staged }
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
    this.#staged.set(ref.location, {
      bucket: at.bucket,
      staged: at.key,
      final: ref.path,
      size: head.size,
    });
    return head.size;
  }

  input(ref: BucketRef, missing: string): Promise<pl.LazyDataFrame> {
    const staged = this.#staged.get(ref.location);
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
    const rows = await countRows(file, formatOf(ref.path), ref.schema, ref.csv);
    const staged = this.#storage.stagingKey(this.#run, ref);
    await this.#storage.upload(file, ref.bucket, staged, { location: ref.location });
    this.#staged.set(ref.location, {
      bucket: ref.bucket,
      staged,
      final: ref.path,
      size: bytes,
      file,
    });
    return { rows, bytes };
  }

  async commit(): Promise<void> {
    for (const lock of this.#locks) lock.check();
    const entries = [...this.#staged.values()];
    if (entries.length > 0) {
      const entriesOnly = entries.map(({ file: _file, ...entry }) => entry);
      const locks = this.#locks.map((l) => ({ bucket: l.bucket, key: l.key }));
      const home = entries[0].bucket;
      const journal = await this.#storage.putJournal(home, this.#run, entriesOnly, locks);
      for (const entry of entries) await this.#storage.copyIntoPlace(entry, entry.file);
      for (const entry of entries) await this.#storage.deleteObject(entry.bucket, entry.staged);
      await this.#storage.deleteObject(home, journal);
    }
    await this.#finish();
  }

  async abort(): Promise<void> {
    for (const entry of this.#staged.values()) {
      await this.#storage.deleteObject(entry.bucket, entry.staged).catch(() => {});
    }
    await this.#finish();
  }

  async #finish(): Promise<void> {
    for (const lock of this.#locks) await lock.release();
    await Deno.remove(this.#dir, { recursive: true }).catch(() => {});
  }
}
