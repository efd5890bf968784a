/**
 * S3 storage: bucket `{ bucket: B, path: P }` is the object `s3://B/P`. Objects are streamed to
 * and from local files (multipart uploads for large ones), and polars reads and writes those
 * files, so no object is held in memory whole.
 *
 * Safe writes: an S3 object is replaced atomically, so a reader never sees half an object. A
 * run's outputs are uploaded under `.glacier/staging/<run>/` and copied into place together at the
 * end, through a journal at `.glacier/journal/<run>.json` that the next use rolls forward if the
 * run died during its commit. Writers take a lock object per target bucket with a conditional
 * write (`If-None-Match: *`), so a second run writing the same bucket is refused instead of
 * clobbering the first.
 *
 * @module
 */
import { createReadStream, createWriteStream } from "node:fs";
import { pipeline } from "node:stream/promises";
import { join } from "node:path";
import { hostname } from "node:os";
import type pl from "../../polars.ts";
import { GlacierError, StorageError } from "../../core/errors.ts";
import type { BucketRef } from "../../core/lineage.ts";
import type { WriteReport } from "../../core/reports.ts";
import { formatOf } from "../../provider/format.ts";
import { countRows, scanValidated, sinkFile, writableFrame } from "../formats.ts";
import {
  CopyObjectCommand,
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  Upload,
} from "./_sdk.ts";
import { type S3Connection, s3Connection } from "./client.ts";
import { type S3Context, s3Failure } from "./errors.ts";

/** Where Glacier keeps its own objects inside a bucket. */
export const META_PREFIX = ".glacier/";
const LOCKS = `${META_PREFIX}locks/`;
const STAGING = `${META_PREFIX}staging/`;
const JOURNAL = `${META_PREFIX}journal/`;

/** Largest object a single CopyObject may copy. */
const MAX_COPY_BYTES = 5 * 1024 ** 3;
/** Multipart part size for uploads. */
const PART_BYTES = 16 * 1024 * 1024;
/** How long a lock is valid without a refresh, and how often it is refreshed. */
const LOCK_TTL_MS = 15 * 60 * 1000;
const LOCK_REFRESH_MS = 5 * 60 * 1000;

/** An object's identity. */
export interface ObjectInfo {
  /** Its key. */
  readonly key: string;
  /** Its size in bytes. */
  readonly size: number;
  /** Its ETag. */
  readonly etag: string;
}

/** One output staged by a run, waiting for its commit. */
export interface StagedObject {
  /** The S3 bucket. */
  readonly bucket: string;
  /** The staging key. */
  readonly staged: string;
  /** The final key. */
  readonly final: string;
  /** Its size in bytes. */
  readonly size: number;
}

/** What a run's journal holds. */
interface Journal {
  readonly run: string;
  readonly entries: readonly StagedObject[];
  readonly locks: readonly { bucket: string; key: string }[];
}

/** The locks this process holds, as `bucket/key`: a lock of this process not in here is stale. */
const heldHere = new Set<string>();

/** Whether the process that wrote a lock can no longer be holding it. */
function holderIsGone(holder: { host: string; pid: number; expires: string }, id: string): boolean {
  if (Date.parse(holder.expires) <= Date.now()) return true;
  if (holder.host !== hostname()) return false;
  if (holder.pid === Deno.pid) return !heldHere.has(id);
  try {
    Deno.statSync(`/proc/${holder.pid}`);
    return false;
  } catch (error) {
    return error instanceof Deno.errors.NotFound && Deno.build.os === "linux";
  }
}

/** A held lock on one target bucket. */
export class S3Lock {
  readonly #storage: S3Storage;
  readonly bucket: string;
  readonly key: string;
  readonly location: string;
  #etag: string;
  #timer: ReturnType<typeof setInterval> | undefined;
  #lost: GlacierError | undefined;

  constructor(storage: S3Storage, ref: BucketRef, key: string, etag: string) {
    this.#storage = storage;
    this.bucket = ref.bucket;
    this.key = key;
    this.location = ref.location;
    this.#etag = etag;
    heldHere.add(`${this.bucket}/${key}`);
    const timer = setInterval(() => this.#refresh(), LOCK_REFRESH_MS);
    Deno.unrefTimer(timer as unknown as number);
    this.#timer = timer;
  }

  async #refresh(): Promise<void> {
    try {
      this.#etag = await this.#storage.putLock(this.bucket, this.key, this.location, this.#etag);
    } catch (error) {
      this.#lost = error instanceof GlacierError ? error : s3Failure(error, {
        op: "lock",
        bucket: this.bucket,
        key: this.key,
        location: this.location,
        endpoint: this.#storage.endpoint,
      });
    }
  }

  /** Throws when the lock was lost to another run while this one worked. */
  check(): void {
    if (this.#lost) {
      throw new StorageError(
        `the lock on bucket '${this.location}' was lost while the run worked: ${this.#lost.message}`,
      );
    }
  }

  /** Releases the lock, if it is still this run's. */
  async release(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    heldHere.delete(`${this.bucket}/${this.key}`);
    await this.#storage.deleteObject(this.bucket, this.key, this.#etag).catch(() => {});
  }
}

/** S3 storage for one region and endpoint configuration. */
export class S3Storage {
  readonly #conn: S3Connection;

  /**
   * Storage on the S3 that the standard AWS configuration points at.
   *
   * @param region the provider's region (`AWS_REGION` wins when set).
   */
  constructor(region: string) {
    this.#conn = s3Connection(region);
  }

  /** The endpoint, for messages. */
  get endpoint(): string {
    return this.#conn.endpoint;
  }

  /**
   * The URI of a bucket's data.
   *
   * @param ref the bucket.
   * @returns `s3://bucket/path`.
   */
  uriOf(ref: BucketRef): string {
    return `s3://${ref.bucket}/${ref.path}`;
  }

  #context(op: string, bucket: string, key?: string, extra: Partial<S3Context> = {}): S3Context {
    return { op, bucket, key, endpoint: this.#conn.endpoint, ...extra };
  }

  async #send<T>(command: unknown, context: S3Context): Promise<T> {
    try {
      // deno-lint-ignore no-explicit-any
      return await this.#conn.client.send(command as any) as T;
    } catch (error) {
      throw s3Failure(error, context);
    }
  }

  /**
   * An object's size and ETag, or `undefined` when it does not exist.
   *
   * @param bucket the S3 bucket.
   * @param key the key.
   * @returns the object, or `undefined`.
   */
  async head(bucket: string, key: string): Promise<ObjectInfo | undefined> {
    try {
      const out = await this.#conn.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      return { key, size: out.ContentLength ?? 0, etag: out.ETag ?? "" };
    } catch (error) {
      const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
      if (e.name === "NotFound" || e.name === "NoSuchKey" || e.$metadata?.httpStatusCode === 404) {
        return undefined;
      }
      throw s3Failure(error, this.#context("read", bucket, key));
    }
  }

  /**
   * Streams an object into a local file.
   *
   * @param bucket the S3 bucket.
   * @param key the key.
   * @param file the file to create.
   * @param context names and the message for a missing object.
   */
  async download(
    bucket: string,
    key: string,
    file: string,
    context: Partial<S3Context> = {},
  ): Promise<void> {
    const out = await this.#send<{ Body?: NodeJS.ReadableStream }>(
      new GetObjectCommand({ Bucket: bucket, Key: key }),
      this.#context("read", bucket, key, context),
    );
    try {
      // Node streams end to end: measured faster than the web-stream bridge (bench/README.md).
      await pipeline(out.Body!, createWriteStream(file));
    } catch (error) {
      throw s3Failure(error, this.#context("read", bucket, key, context));
    }
  }

  /**
   * Streams a local file into an object, in parts when it is large.
   *
   * @param file the file.
   * @param bucket the S3 bucket.
   * @param key the key.
   * @param context names, for messages.
   * @returns the new object's ETag.
   */
  async upload(
    file: string,
    bucket: string,
    key: string,
    context: Partial<S3Context> = {},
  ): Promise<string> {
    const upload = new Upload({
      client: this.#conn.client,
      params: { Bucket: bucket, Key: key, Body: createReadStream(file) },
      partSize: PART_BYTES,
      queueSize: 4,
      leavePartsOnError: false,
    });
    try {
      const out = await upload.done();
      return out.ETag ?? "";
    } catch (error) {
      throw s3Failure(error, this.#context("write", bucket, key, context));
    }
  }

  /**
   * Copies an object inside a bucket on the server; objects over 5 GiB are uploaded again from
   * the local file, since one CopyObject cannot copy them.
   *
   * @param entry the staged object.
   * @param localFile the staged output's local file, when there is one.
   */
  async copyIntoPlace(entry: StagedObject, localFile?: string): Promise<void> {
    if (entry.size > MAX_COPY_BYTES && localFile) {
      await this.upload(localFile, entry.bucket, entry.final);
      return;
    }
    await this.#send(
      new CopyObjectCommand({
        Bucket: entry.bucket,
        Key: entry.final,
        CopySource: `${entry.bucket}/${entry.staged.split("/").map(encodeURIComponent).join("/")}`,
      }),
      this.#context("write", entry.bucket, entry.final),
    );
  }

  /**
   * Deletes an object; with `ifMatch`, only that version of it.
   *
   * @param bucket the S3 bucket.
   * @param key the key.
   * @param ifMatch the ETag it must still have.
   */
  async deleteObject(bucket: string, key: string, ifMatch?: string): Promise<void> {
    await this.#send(
      new DeleteObjectCommand({
        Bucket: bucket,
        Key: key,
        ...(ifMatch ? { IfMatch: ifMatch } : {}),
      }),
      this.#context("write", bucket, key),
    );
  }

  /**
   * Every object under a prefix.
   *
   * @param bucket the S3 bucket.
   * @param prefix the key prefix.
   * @param context what the listing is for, for messages.
   * @returns the objects, in key order.
   */
  async list(bucket: string, prefix = "", context: Partial<S3Context> = {}): Promise<ObjectInfo[]> {
    const found: ObjectInfo[] = [];
    let token: string | undefined;
    do {
      const out = await this.#send<{
        Contents?: { Key?: string; Size?: number; ETag?: string }[];
        NextContinuationToken?: string;
        IsTruncated?: boolean;
      }>(
        new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
        this.#context("list", bucket, undefined, context),
      );
      for (const o of out.Contents ?? []) {
        found.push({ key: o.Key ?? "", size: o.Size ?? 0, etag: o.ETag ?? "" });
      }
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (token);
    return found;
  }

  /**
   * Creates a bucket when it does not exist yet (cloud mode creates buckets on first write).
   *
   * @param bucket the S3 bucket.
   * @param location the Glacier bucket about to be written, for messages.
   */
  async ensureBucket(bucket: string, location?: string): Promise<void> {
    const context = this.#context("write", bucket, undefined, location ? { location } : {});
    try {
      await this.#conn.client.send(new HeadBucketCommand({ Bucket: bucket }));
      return;
    } catch (error) {
      const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
      if (
        e.name !== "NotFound" && e.name !== "NoSuchBucket" && e.$metadata?.httpStatusCode !== 404
      ) {
        throw s3Failure(error, context);
      }
    }
    try {
      await this.#conn.client.send(new CreateBucketCommand({ Bucket: bucket }));
    } catch (error) {
      const name = (error as { name?: string }).name;
      if (name !== "BucketAlreadyOwnedByYou" && name !== "BucketAlreadyExists") {
        throw s3Failure(error, { ...context, op: "create" });
      }
    }
  }

  /**
   * Writes a lock object: a new one (`If-None-Match: *`), or a refresh of this run's own
   * (`If-Match`).
   *
   * @param bucket the S3 bucket.
   * @param key the lock's key.
   * @param location the Glacier bucket it guards.
   * @param ifMatch the ETag of this run's current lock, for a refresh.
   * @returns the lock's new ETag.
   */
  async putLock(bucket: string, key: string, location: string, ifMatch?: string): Promise<string> {
    const now = Date.now();
    const body = JSON.stringify({
      location,
      host: hostname(),
      pid: Deno.pid,
      since: new Date(now).toISOString(),
      expires: new Date(now + LOCK_TTL_MS).toISOString(),
    });
    const out = await this.#conn.client.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: body,
        ContentType: "application/json",
        ...(ifMatch ? { IfMatch: ifMatch } : { IfNoneMatch: "*" }),
      }),
    );
    return out.ETag ?? "";
  }

  /**
   * Takes the lock on a target bucket, or says which run holds it. A lock whose run cannot hold
   * it any more is taken over: it expired, or it was written on this host by a process that has
   * ended (or by this process, outside any of its live runs).
   *
   * @param ref the bucket to write.
   * @returns the held lock.
   * @throws {StorageError} when another live run holds it.
   */
  async lock(ref: BucketRef): Promise<S3Lock> {
    const key = `${LOCKS}${ref.path}.lock`;
    const context = this.#context("lock", ref.bucket, key, { location: ref.location });
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        return new S3Lock(this, ref, key, await this.putLock(ref.bucket, key, ref.location));
      } catch (error) {
        if ((error as { name?: string }).name !== "PreconditionFailed") {
          throw s3Failure(error, context);
        }
      }
      const holder = await this.#readLock(ref.bucket, key);
      if (holder && !holderIsGone(holder, `${ref.bucket}/${key}`)) {
        throw new StorageError(
          `bucket '${ref.location}' is being written by another run (pid ${holder.pid} on ` +
            `${holder.host}, since ${holder.since}); nothing was changed. Wait for it to finish; ` +
            `if that run died, its lock expires at ${holder.expires}, or delete ` +
            `s3://${ref.bucket}/${key}`,
        );
      }
      if (holder) await this.deleteObject(ref.bucket, key, holder.etag).catch(() => {});
    }
    throw new StorageError(
      `could not take the lock on bucket '${ref.location}' (s3://${ref.bucket}/${key}); another ` +
        "run keeps taking it. Try again",
    );
  }

  async #readLock(
    bucket: string,
    key: string,
  ): Promise<
    { pid: number; host: string; since: string; expires: string; etag: string } | undefined
  > {
    try {
      const out = await this.#conn.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      const body = JSON.parse(await out.Body!.transformToString());
      return { ...body, etag: out.ETag ?? "" };
    } catch {
      return undefined;
    }
  }

  /**
   * Writes a run's journal: the list of staged objects to copy into place.
   *
   * @param bucket the S3 bucket that keeps the journal.
   * @param run the run's id.
   * @param entries the staged objects.
   * @param locks the locks the run holds.
   * @returns the journal's key.
   */
  async putJournal(
    bucket: string,
    run: string,
    entries: readonly StagedObject[],
    locks: readonly { bucket: string; key: string }[],
  ): Promise<string> {
    const key = `${JOURNAL}${run}.json`;
    const journal: Journal = { run, entries, locks };
    await this.#send(
      new PutObjectCommand({ Bucket: bucket, Key: key, Body: JSON.stringify(journal) }),
      this.#context("write", bucket, key),
    );
    return key;
  }

  /**
   * Finishes what earlier runs left in these buckets: completes commits cut short (rolling their
   * journals forward) and releases those runs' locks.
   *
   * @param buckets the S3 buckets to look in.
   * @param purpose what the caller is about to do, for messages: the operation and the bucket.
   */
  async recover(buckets: Iterable<string>, purpose: Partial<S3Context> = {}): Promise<void> {
    for (const bucket of new Set(buckets)) {
      let journals: ObjectInfo[];
      try {
        journals = await this.list(bucket, JOURNAL, purpose);
      } catch (error) {
        if (error instanceof StorageError && /does not exist/.test(error.message)) continue;
        throw error;
      }
      for (const { key } of journals) {
        const file = await Deno.makeTempFile({ prefix: "glacier-journal-" });
        try {
          await this.download(bucket, key, file);
          const journal = JSON.parse(await Deno.readTextFile(file)) as Journal;
          for (const entry of journal.entries) {
            if (await this.head(entry.bucket, entry.staged)) {
              await this.copyIntoPlace(entry);
              await this.deleteObject(entry.bucket, entry.staged);
            }
          }
          for (const lock of journal.locks) {
            await this.deleteObject(lock.bucket, lock.key).catch(() => {});
          }
          await this.deleteObject(bucket, key);
        } finally {
          await Deno.remove(file).catch(() => {});
        }
      }
    }
  }

  /**
   * Reads a bucket's whole data, validated against its schema.
   *
   * @param ref the bucket.
   * @returns the data.
   */
  async read(ref: BucketRef): Promise<pl.DataFrame> {
    await this.recover([ref.bucket], { op: "read", location: ref.location, key: ref.path });
    const dir = await Deno.makeTempDir({ prefix: "glacier-s3-read-" });
    try {
      const file = join(dir, "data");
      await this.download(ref.bucket, ref.path, file, {
        location: ref.location,
        missing: `bucket '${ref.location}' has no data at ${this.uriOf(ref)}; write it with ` +
          'bucket.write(frame, { mode: "cloud" }) or run the pipeline that produces it in cloud mode',
      });
      const frame = scanValidated(ref, file, this.uriOf(ref));
      try {
        return await frame.collect();
      } catch (error) {
        throw new StorageError(
          `bucket '${ref.location}' data at ${this.uriOf(ref)} cannot be read: ${
            (error as Error).message
          }`,
          { cause: error },
        );
      }
    } finally {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  }

  /**
   * Writes a frame to a bucket: validated, written to a local file in the bucket's format, then
   * uploaded in one atomic object replacement while holding the bucket's lock.
   *
   * @param ref the bucket.
   * @param frame the data; extra columns are dropped.
   * @returns where it went, rows and bytes.
   */
  async write(ref: BucketRef, frame: pl.DataFrame): Promise<WriteReport> {
    const data = writableFrame(ref, frame);
    await this.recover([ref.bucket], { op: "write", location: ref.location, key: ref.path });
    await this.ensureBucket(ref.bucket, ref.location);
    const dir = await Deno.makeTempDir({ prefix: "glacier-s3-write-" });
    const lock = await this.lock(ref);
    try {
      const file = join(dir, "data");
      await sinkFile(data, file, formatOf(ref.path), ref.csv);
      const bytes = (await Deno.stat(file)).size;
      const rows = await countRows(file, formatOf(ref.path), ref.schema, ref.csv);
      await this.upload(file, ref.bucket, ref.path, { location: ref.location });
      return { uri: this.uriOf(ref), rows, bytes };
    } finally {
      await lock.release();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  }

  /**
   * The key a run stages a bucket's output under.
   *
   * @param run the run's id.
   * @param ref the bucket.
   * @returns the staging key.
   */
  stagingKey(run: string, ref: BucketRef): string {
    return `${STAGING}${run}/${ref.path}`;
  }
}
