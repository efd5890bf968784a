/**
 * S3 storage: bucket `{ bucket: B, path: P }` is the object `s3://B/P`. Objects are streamed to
 * and from local files (multipart uploads for large ones), and polars reads and writes those
 * files, so no object is held in memory whole.
 *
 * Safe writes: an S3 object is replaced atomically, so a reader never sees half an object. A
 * run's outputs are uploaded under `.glacier/staging/<run>/` in their buckets and copied into
 * place together at the end, through a journal in the state bucket that the next cloud use rolls
 * forward if the run died during its commit (`s3_journal.ts`). Writers take a lock object per
 * target bucket in the state bucket with a conditional write (`If-None-Match: *`), refreshed while
 * they work, so a second run writing the same bucket is refused instead of clobbering the first.
 *
 * @module
 */
import { createReadStream, createWriteStream } from "node:fs";
import { pipeline } from "node:stream/promises";
import { join } from "node:path";
import { hostname } from "node:os";
import type pl from "../../polars.ts";
import { fixedPrefix, type PartitionValues, pathMatcher } from "../../core/partitions.ts";
import { type GlacierError, NoDataError, StorageError } from "../../core/errors.ts";
import type { BucketRef, ProviderSettings } from "../../core/lineage.ts";
import type { WriteReport } from "../../core/reports.ts";
import { formatOf } from "../file_format.ts";
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
import { env } from "../../core/env.ts";
import { isRunning } from "../../core/process.ts";
import { type S3Connection, s3Connection } from "./client.ts";
import { type S3Context, s3Failure } from "./errors.ts";
import {
  finishS3Journal,
  JOURNAL_PREFIX,
  LOCK_PREFIX,
  PREVIOUS_PREFIX,
  removeRunObjects,
  type S3Journal,
  STAGING_PREFIX,
} from "./s3_journal.ts";

/** Where Glacier keeps its own objects inside a data bucket. */
export const META_PREFIX = ".glacier/";

/** Largest object a single CopyObject may copy. */
const MAX_COPY_BYTES = 5 * 1024 ** 3;
/** Multipart part size for uploads. */
const PART_BYTES = 16 * 1024 * 1024;
/** How long a lock is valid without a refresh, and how often it is refreshed. */
const LOCK_TTL_MS = 15 * 60 * 1000;
const LOCK_REFRESH_MS = 5 * 60 * 1000;
/** How long a reader waits for a live run's commit (a few copies) to finish. */
const LIVE_COMMIT_WAIT_MS = 30_000;

/** An object's identity. */
export interface ObjectInfo {
  /** Its key. */
  readonly key: string;
  /** Its size in bytes. */
  readonly size: number;
  /** Its ETag. */
  readonly etag: string;
}

/** The locks this process holds, as `bucket/key`: a lock of this process not in here is stale. */
const heldHere = new Set<string>();

/** Whether the process that wrote a lock can no longer be holding it. */
function holderIsGone(holder: LockBody, id: string): boolean {
  if (Date.parse(holder.expires) <= Date.now()) return true;
  // A deployed run's lock is held by no process: its lease is all there is to go by.
  if (holder.lease !== undefined) return false;
  // A pid means something only in its own PID namespace on its own host: elsewhere the lease
  // (refreshed while the run works) is all there is to go by.
  if (holder.host !== hostname() || holder.pidNamespace !== pidNamespace()) return false;
  if (holder.pid === Deno.pid) return !heldHere.has(id);
  return !isRunning(holder.pid);
}

let pidNamespaceHere: string | undefined;

/** This process's PID namespace (`pid:[inode]`), which gives its pid a meaning. */
function pidNamespace(): string {
  try {
    pidNamespaceHere ??= Deno.readLinkSync("/proc/self/ns/pid");
  } catch {
    pidNamespaceHere = "unknown";
  }
  return pidNamespaceHere;
}

/** Where the state bucket records the runs that are writing. */
const RUNS_PREFIX = "runs/";

/** A run that is writing, as the state bucket records it. */
export interface RunMarker {
  /** The run's id. */
  readonly run: string;
  /** The data buckets it stages objects in. */
  readonly buckets: readonly string[];
  /** Its locks' keys in the state bucket. */
  readonly locks: readonly string[];
}

/** What a lock object says of its holder. */
interface LockBody {
  readonly run: string;
  readonly location: string;
  readonly host: string;
  readonly pid: number;
  readonly pidNamespace: string;
  readonly since: string;
  readonly expires: string;
  /**
   * For a deployed run's lock, what holds it (the state machine execution): no process does, so
   * only its expiry tells whether it is still held.
   */
  readonly lease?: string;
}

/**
 * A lock held by a deployed run rather than by a process: each handler of the run renews it for
 * as long as the run's next state may take.
 */
export interface LockLease {
  /** What holds it, for messages: the state machine execution, or the run. */
  readonly holder: string;
  /** How long it lasts from each renewal, in milliseconds. */
  readonly ttlMs: number;
}

/** How long a lock lasts without a refresh, in milliseconds. */
export const LOCK_TTL: number = LOCK_TTL_MS;

/** A held lock on one target bucket, an object in the state bucket. */
export class S3Lock {
  readonly #storage: S3Storage;
  /** The state bucket. */
  readonly bucket: string;
  /** The lock's key. */
  readonly key: string;
  /** The Glacier bucket it guards. */
  readonly location: string;
  readonly #run: string;
  #etag: string;
  #timer: ReturnType<typeof setInterval> | undefined;
  #lost: GlacierError | undefined;
  #failed: GlacierError | undefined;
  #lease: LockLease | undefined;

  constructor(
    storage: S3Storage,
    state: string,
    key: string,
    ref: BucketRef,
    run: string,
    etag: string,
    lease?: LockLease,
  ) {
    this.#storage = storage;
    this.bucket = state;
    this.key = key;
    this.location = ref.location;
    this.#run = run;
    this.#etag = etag;
    this.#lease = lease;
    heldHere.add(`${this.bucket}/${key}`);
    const timer = setInterval(() => this.#refresh(), LOCK_REFRESH_MS);
    Deno.unrefTimer(timer as unknown as number);
    this.#timer = timer;
  }

  async #refresh(): Promise<void> {
    this.#failed = undefined;
    try {
      this.#etag = await this.#storage.putLock(
        this.bucket,
        this.key,
        this.location,
        this.#run,
        this.#etag,
        this.#lease,
      );
    } catch (error) {
      const failure = s3Failure(error, {
        op: "lock",
        bucket: this.bucket,
        key: this.key,
        location: this.location,
        endpoint: this.#storage.endpoint,
      });
      // Another run's conditional write won: the lock is lost for good. Anything else (the
      // server out of reach) is tried again at the next refresh.
      if ((error as { name?: string }).name === "PreconditionFailed") this.#lost = failure;
      else this.#failed = failure;
    }
  }

  /**
   * Makes sure the lock is still this run's, renewing it: called right before a commit.
   *
   * @throws {StorageError} when the lock was lost to another run while this one worked.
   */
  async confirm(): Promise<void> {
    if (!this.#lost) await this.#refresh();
    if (this.#failed && !this.#lost) throw this.#failed;
    if (this.#lost) {
      throw new StorageError(
        `the lock on bucket '${this.location}' was lost while the run worked: ${this.#lost.message}`,
      );
    }
  }

  /**
   * Lets go of the lock object without releasing the lock: a deployed run's handler hands it on
   * to the run's next handler, which adopts it ({@linkcode S3Storage.adoptLock}).
   */
  detach(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    heldHere.delete(`${this.bucket}/${this.key}`);
  }

  /** Releases the lock, if it is still this run's. */
  async release(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    heldHere.delete(`${this.bucket}/${this.key}`);
    await this.#storage.deleteObject(this.bucket, this.key, this.#etag).catch(() => {});
  }
}

/**
 * The state bucket of a provider's cloud runs: its `AwsConfig` `stateBucket`, else
 * `GLACIER_STATE_BUCKET`.
 *
 * @param settings the provider settings a bucket carries.
 * @param doing what is about to happen, for the message.
 * @returns the state bucket's name.
 * @throws {StorageError} when there is none.
 */
export function stateBucketOf(settings: ProviderSettings, doing: string): string {
  const name = settings.stateBucket ?? env("GLACIER_STATE_BUCKET");
  if (name) return name;
  throw new StorageError(
    `${doing} needs a state bucket, where cloud runs keep their locks and journals so that no two ` +
      "runs write one bucket at once and no run is ever half published. Nothing was read or " +
      'written. Name one with new AwsConfig({ stateBucket: "my-glacier-state" }) or ' +
      "GLACIER_STATE_BUCKET (the generated Terraform declares it; the local stack names one in " +
      "its stack.env)",
  );
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
      if (isNotFound(error)) return undefined;
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
   * Copies a staged object over its bucket's key on the server; objects over 5 GiB are uploaded
   * again from the local file, since one CopyObject cannot copy them.
   *
   * @param entry the staged object.
   * @param localFile the staged output's local file, when there is one.
   */
  async copyIntoPlace(
    entry: { bucket: string; staged: string; final: string; size: number },
    localFile?: string,
  ): Promise<void> {
    if (entry.size > MAX_COPY_BYTES && localFile) {
      await this.upload(localFile, entry.bucket, entry.final);
      return;
    }
    await this.copyObject(entry.bucket, entry.staged, entry.final);
  }

  /**
   * Copies an object to another key of the same bucket, on the server.
   *
   * @param bucket the S3 bucket.
   * @param from the source key.
   * @param to the target key.
   */
  async copyObject(bucket: string, from: string, to: string): Promise<void> {
    await this.#send(
      new CopyObjectCommand({
        Bucket: bucket,
        Key: to,
        CopySource: `${bucket}/${from.split("/").map(encodeURIComponent).join("/")}`,
      }),
      this.#context("write", bucket, to),
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
   * @param bucket the state bucket.
   * @param key the lock's key.
   * @param location the Glacier bucket it guards.
   * @param run the run that holds it.
   * @param ifMatch the ETag of this run's current lock, for a refresh.
   * @param lease for a deployed run's lock, what holds it and for how long.
   * @returns the lock's new ETag.
   */
  async putLock(
    bucket: string,
    key: string,
    location: string,
    run: string,
    ifMatch?: string,
    lease?: LockLease,
  ): Promise<string> {
    const now = Date.now();
    const body: LockBody = {
      run,
      location,
      host: hostname(),
      pid: Deno.pid,
      pidNamespace: pidNamespace(),
      since: new Date(now).toISOString(),
      expires: new Date(now + (lease?.ttlMs ?? LOCK_TTL_MS)).toISOString(),
      ...(lease ? { lease: lease.holder } : {}),
    };
    const out = await this.#conn.client.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: JSON.stringify(body),
        ContentType: "application/json",
        ...(ifMatch ? { IfMatch: ifMatch } : { IfNoneMatch: "*" }),
      }),
    );
    return out.ETag ?? "";
  }

  /**
   * Takes the lock on a target bucket, or says which run holds it. A lock whose run cannot hold
   * it any more is taken over: it expired, or it was written on this host by a process that has
   * ended (or by this process, outside any of its live runs). With `wait`, a held lock is tried
   * again until it is free or the wait is over.
   *
   * @param ref the bucket to write.
   * @param run the run (or `write`) that takes it.
   * @param wait seconds to wait for a held lock.
   * @param lease for a deployed run, what holds the lock and for how long.
   * @returns the held lock.
   * @throws {StorageError} when another live run holds it.
   */
  async lock(ref: BucketRef, run: string, wait = 0, lease?: LockLease): Promise<S3Lock> {
    const state = stateBucketOf(ref.settings, `writing bucket '${ref.location}' in cloud mode`);
    // One lock per bucket, partitioned or not: its location names it.
    const key = `${LOCK_PREFIX}${ref.location}.lock`;
    const context = this.#context("lock", state, key, { location: ref.location });
    const deadline = Date.now() + wait * 1000;
    for (let attempt = 0;; attempt++) {
      try {
        return new S3Lock(
          this,
          state,
          key,
          ref,
          run,
          await this.putLock(state, key, ref.location, run, undefined, lease),
          lease,
        );
      } catch (error) {
        if ((error as { name?: string }).name !== "PreconditionFailed") {
          throw s3Failure(error, context);
        }
      }
      const holder = await this.#readLock(state, key);
      if (holder && !holderIsGone(holder, `${state}/${key}`)) {
        if (Date.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, Math.min(1000, 100 * 2 ** attempt)));
          continue;
        }
        const who = holder.lease !== undefined
          ? `deployed run ${holder.run} (${holder.lease}, since ${holder.since})`
          : `run ${holder.run} (pid ${holder.pid} on ${holder.host}, since ${holder.since})`;
        throw new StorageError(
          `bucket '${ref.location}' is being written by ${who}; nothing was changed. Wait for it to finish, ` +
            "or wait for it with run({ wait: SECONDS }) (glacier run --wait SECONDS); if that " +
            `run died, its lock expires at ${holder.expires}, or delete s3://${state}/${key}`,
        );
      }
      if (holder) await this.deleteObject(state, key, holder.etag).catch(() => {});
      if (attempt > 5) {
        throw new StorageError(
          `could not take the lock on bucket '${ref.location}' (s3://${state}/${key}); another ` +
            "run keeps taking it. Try again",
        );
      }
    }
  }

  /**
   * Renews a deployed run's lock: it then lasts at least the lease from now (never less than it
   * already did, since parallel handlers of the run renew it at once).
   *
   * @param ref the bucket the lock guards.
   * @param run the run that must hold it.
   * @param lease what holds it and for how long.
   * @returns the lock's new ETag.
   * @throws {StorageError} when the lock is gone or held by another run.
   */
  async renewLease(ref: BucketRef, run: string, lease: LockLease): Promise<string> {
    const state = stateBucketOf(ref.settings, `writing bucket '${ref.location}' in cloud mode`);
    const key = `${LOCK_PREFIX}${ref.location}.lock`;
    for (let attempt = 0; attempt < 20; attempt++) {
      const holder = await this.#readLock(state, key);
      if (holder?.run !== run || Date.parse(holder.expires) <= Date.now()) {
        throw new StorageError(
          `run ${run} no longer holds the lock on bucket '${ref.location}' ` +
            `(s3://${state}/${key}): ` +
            (holder && holder.run !== run
              ? `run ${holder.run} holds it since ${holder.since}`
              : "it expired or was removed") +
            "; the run cannot go on, and publishes nothing",
        );
      }
      const ttlMs = Math.max(lease.ttlMs, Date.parse(holder.expires) - Date.now());
      try {
        return await this.putLock(state, key, ref.location, run, holder.etag, { ...lease, ttlMs });
      } catch (error) {
        if ((error as { name?: string }).name !== "PreconditionFailed") {
          throw s3Failure(error, this.#context("lock", state, key, { location: ref.location }));
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 20 + Math.random() * 80));
    }
    throw new StorageError(
      `could not renew run ${run}'s lock on bucket '${ref.location}' (s3://${state}/${key}): it ` +
        "kept changing under this handler; try again",
    );
  }

  /**
   * Takes over a lock that a deployed run's earlier handler took, renewed, to publish or release.
   *
   * @param ref the bucket the lock guards.
   * @param run the run that must hold it.
   * @param lease what holds it and for how long.
   * @returns the lock.
   * @throws {StorageError} when the lock is gone or held by another run.
   */
  async adoptLock(ref: BucketRef, run: string, lease: LockLease): Promise<S3Lock> {
    const state = stateBucketOf(ref.settings, `writing bucket '${ref.location}' in cloud mode`);
    const etag = await this.renewLease(ref, run, lease);
    return new S3Lock(this, state, `${LOCK_PREFIX}${ref.location}.lock`, ref, run, etag, lease);
  }

  async #readLock(
    bucket: string,
    key: string,
  ): Promise<(LockBody & { etag: string }) | undefined> {
    try {
      const out = await this.#conn.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      const body = JSON.parse(await out.Body!.transformToString());
      return { ...body, etag: out.ETag ?? "" };
    } catch {
      return undefined;
    }
  }

  /**
   * A small object's text and ETag (a ledger record, say).
   *
   * @param bucket the S3 bucket.
   * @param key the key.
   * @returns the text and ETag, or `undefined` when there is no such object.
   */
  async getText(bucket: string, key: string): Promise<{ text: string; etag: string } | undefined> {
    try {
      const out = await this.#conn.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return { text: await out.Body!.transformToString(), etag: out.ETag ?? "" };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw s3Failure(error, this.#context("read", bucket, key));
    }
  }

  /**
   * Writes a small object only if it is still as the writer last saw it: S3 conditional writes
   * (`If-Match: ETAG`, or `If-None-Match: *` for one that must not exist yet).
   *
   * @param bucket the S3 bucket.
   * @param key the key.
   * @param text the body.
   * @param expected the ETag it must have, or `null` when it must not exist.
   * @returns the new ETag, or `undefined` when someone else wrote it first.
   */
  async putTextIf(
    bucket: string,
    key: string,
    text: string,
    expected: string | null,
  ): Promise<string | undefined> {
    try {
      const out = await this.#conn.client.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: text,
          ContentType: "application/json",
          ...(expected === null ? { IfNoneMatch: "*" } : { IfMatch: expected }),
        }),
      );
      return out.ETag ?? "";
    } catch (error) {
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata
        ?.httpStatusCode;
      if (status === 412 || status === 409) return undefined;
      throw s3Failure(error, this.#context("write", bucket, key));
    }
  }

  /**
   * Whether a cloud run is still going: its marker is there and it holds one of its locks.
   *
   * @param state the state bucket.
   * @param run the run's id.
   * @returns `true` while the run is live.
   */
  async isRunLive(state: string, run: string): Promise<boolean> {
    const found = await this.getText(state, `${RUNS_PREFIX}${run}.json`);
    if (!found) return false;
    return await this.#runIsLive(state, JSON.parse(found.text) as RunMarker);
  }

  /**
   * Writes a run's journal to the state bucket; only once (`If-None-Match: *`).
   *
   * @param state the state bucket.
   * @param journal the run's journal.
   * @returns the journal's key.
   */
  async putJournal(state: string, journal: S3Journal): Promise<string> {
    const key = `${JOURNAL_PREFIX}${journal.run}.json`;
    await this.#send(
      new PutObjectCommand({
        Bucket: state,
        Key: key,
        Body: JSON.stringify(journal),
        ContentType: "application/json",
        IfNoneMatch: "*",
      }),
      this.#context("write", state, key),
    );
    return key;
  }

  /**
   * Finishes what runs that died left in the state bucket: completes commits cut short (rolling
   * their journals forward, or putting them back when their staged objects are gone) and releases
   * those runs' locks. A journal whose run still holds a lock is a live commit: it is waited for
   * (a few copies), never touched.
   *
   * @param state the state bucket.
   * @param purpose what the caller is about to do, for messages.
   * @param create whether to create the state bucket when it does not exist (writers do; a
   *   reader finds nothing to finish there).
   * @returns the Glacier buckets whose objects it changed.
   */
  async recover(
    state: string,
    purpose: Partial<S3Context> = {},
    create = true,
  ): Promise<Set<string>> {
    const finished = new Set<string>();
    let journals: ObjectInfo[];
    if (create) await this.ensureBucket(state, purpose.location);
    try {
      journals = await this.list(state, JOURNAL_PREFIX, { ...purpose, op: "list" });
    } catch (error) {
      if (!create && error instanceof StorageError && /does not exist/.test(error.message)) {
        return finished;
      }
      throw error;
    }
    for (const { key } of journals) {
      const journal = await this.#readJournal(state, key);
      if (journal === undefined) continue;
      const deadline = Date.now() + LIVE_COMMIT_WAIT_MS;
      let live = await this.#runIsLive(state, journal);
      while (live && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        if (!(await this.head(state, key))) break;
        live = await this.#runIsLive(state, journal);
      }
      if (live || !(await this.head(state, key))) continue;
      const warning = await finishS3Journal(this, journal, `s3://${state}/${key}`);
      if (warning) console.error(`glacier: warning: ${warning}`);
      for (const lock of journal.locks) await this.#releaseIfHeldBy(state, lock, journal.run);
      await this.deleteObject(state, key);
      await removeRunObjects(this, journal.run, journal.entries.map((e) => e.bucket));
      for (const entry of journal.entries) finished.add(entry.location);
    }
    await this.#dropDeadRuns(state, purpose);
    return finished;
  }

  /**
   * Records a run that starts writing: its data buckets and its locks, so that when it dies
   * before it commits, the next cloud use removes what it staged and releases its locks.
   *
   * @param state the state bucket.
   * @param marker the run.
   */
  async putRunMarker(state: string, marker: RunMarker): Promise<void> {
    const key = `${RUNS_PREFIX}${marker.run}.json`;
    await this.#send(
      new PutObjectCommand({ Bucket: state, Key: key, Body: JSON.stringify(marker) }),
      this.#context("write", state, key),
    );
  }

  /**
   * Removes a run's marker once it has ended.
   *
   * @param state the state bucket.
   * @param run the run's id.
   */
  async deleteRunMarker(state: string, run: string): Promise<void> {
    await this.deleteObject(state, `${RUNS_PREFIX}${run}.json`).catch(() => {});
  }

  async #dropDeadRuns(state: string, purpose: Partial<S3Context>): Promise<void> {
    for (const { key } of await this.list(state, RUNS_PREFIX, { ...purpose, op: "list" })) {
      let marker: RunMarker;
      try {
        const out = await this.#conn.client.send(new GetObjectCommand({ Bucket: state, Key: key }));
        marker = JSON.parse(await out.Body!.transformToString()) as RunMarker;
      } catch {
        continue;
      }
      if (await this.head(state, `${JOURNAL_PREFIX}${marker.run}.json`)) continue;
      if (await this.#runIsLive(state, marker)) continue;
      await removeRunObjects(this, marker.run, marker.buckets);
      for (const lock of marker.locks) await this.#releaseIfHeldBy(state, lock, marker.run);
      await this.deleteObject(state, key).catch(() => {});
    }
  }

  async #readJournal(state: string, key: string): Promise<S3Journal | undefined> {
    let text: string;
    try {
      const out = await this.#conn.client.send(new GetObjectCommand({ Bucket: state, Key: key }));
      text = await out.Body!.transformToString();
    } catch (error) {
      const e = error as { name?: string };
      if (e.name === "NoSuchKey" || e.name === "NotFound") return undefined;
      throw s3Failure(error, this.#context("read", state, key));
    }
    try {
      const journal = JSON.parse(text) as S3Journal;
      if (journal.version === 1 && Array.isArray(journal.entries)) return journal;
    } catch {
      // reported below
    }
    throw new StorageError(
      `the commit journal s3://${state}/${key} is not readable; it records a run that was ` +
        "publishing its outputs. Check the buckets it names, then delete it",
    );
  }

  async #runIsLive(
    state: string,
    journal: { run: string; locks: readonly string[] },
  ): Promise<boolean> {
    for (const key of journal.locks) {
      const holder = await this.#readLock(state, key);
      if (holder?.run === journal.run && !holderIsGone(holder, `${state}/${key}`)) return true;
    }
    return false;
  }

  async #releaseIfHeldBy(state: string, key: string, run: string): Promise<void> {
    const holder = await this.#readLock(state, key);
    if (holder?.run === run) await this.deleteObject(state, key, holder.etag).catch(() => {});
  }

  /**
   * Reads a bucket's whole data, validated against its schema.
   *
   * @param ref the bucket.
   * @returns the data.
   */
  async read(ref: BucketRef): Promise<pl.DataFrame> {
    const state = stateBucketOf(ref.settings, `reading bucket '${ref.location}' in cloud mode`);
    const missing = `bucket '${ref.location}' has no data at ${this.uriOf(ref)}; write it with ` +
      'bucket.write(frame, { mode: "cloud" }) or run the pipeline that produces it in cloud mode';
    const dir = await Deno.makeTempDir({ prefix: "glacier-s3-read-" });
    try {
      const file = join(dir, "data");
      // The object first, so that an unreachable server or wrong credentials are told in terms
      // of what the caller asked for; then any run that died while publishing is finished, and
      // when that changed this bucket, it is read again.
      const download = () =>
        this.download(ref.bucket, ref.path, file, { location: ref.location, missing });
      let missed: unknown;
      await download().catch((error) => {
        if (!(error instanceof NoDataError)) throw error;
        missed = error;
      });
      const finished = await this.recover(
        state,
        { op: "read", location: ref.location, key: ref.path },
        false,
      );
      if (finished.has(ref.location)) await download();
      else if (missed) throw missed;
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
  async write(
    ref: BucketRef,
    frame: pl.DataFrame,
    options: { wait?: number } = {},
  ): Promise<WriteReport> {
    const data = writableFrame(ref, frame);
    const state = stateBucketOf(ref.settings, `writing bucket '${ref.location}' in cloud mode`);
    await this.recover(state, { op: "write", location: ref.location, key: ref.path });
    await this.ensureBucket(ref.bucket, ref.location);
    const dir = await Deno.makeTempDir({ prefix: "glacier-s3-write-" });
    const lock = await this.lock(ref, "write", options.wait ?? 0);
    try {
      // A run that died publishing this bucket since the first look is finished while it is ours.
      await this.recover(state, { op: "write", location: ref.location, key: ref.path });
      const file = join(dir, "data");
      await sinkFile(data, file, formatOf(ref.path), ref.csv);
      const bytes = (await Deno.stat(file)).size;
      const rows = await countRows(file, formatOf(ref.path), ref.schema, ref.csv);
      await lock.confirm();
      await this.upload(file, ref.bucket, ref.path, { location: ref.location });
      return { uri: this.uriOf(ref), rows, bytes };
    } finally {
      await lock.release();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  }

  /**
   * The partitions of a partitioned bucket that have objects, found by listing its prefix.
   *
   * @param ref the bucket (its path has placeholders).
   * @returns each partition's values.
   */
  async partitions(ref: BucketRef): Promise<PartitionValues[]> {
    const match = pathMatcher(ref.path, ref.partitions ?? {});
    const objects = await this.list(ref.bucket, fixedPrefix(ref.path), { location: ref.location });
    return objects.flatMap((o) => {
      const found = match(o.key);
      return found ? [found] : [];
    });
  }

  /**
   * The key a run stages a bucket's output under.
   *
   * @param run the run's id.
   * @param ref the bucket.
   * @returns the staging key.
   */
  stagingKey(run: string, ref: BucketRef): string {
    return `${STAGING_PREFIX}${run}/${ref.path}`;
  }

  /**
   * The key a commit keeps a bucket's previous object under.
   *
   * @param run the run's id.
   * @param ref the bucket.
   * @returns the key.
   */
  previousKey(run: string, ref: BucketRef): string {
    return `${PREVIOUS_PREFIX}${run}/${ref.path}`;
  }
}

/** Whether an S3 error says the object (or key) is not there. */
function isNotFound(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e.name === "NotFound" || e.name === "NoSuchKey" || e.$metadata?.httpStatusCode === 404;
}
