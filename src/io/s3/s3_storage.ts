/**
 * S3 storage: bucket `{ bucket: B, path: P }` is the object `s3://B/P`. Objects are streamed to
 * and from local files (multipart uploads for large ones), and polars reads and writes those
 * files, so no object is held in memory whole.
 *
 * Safe writes: an S3 object is replaced atomically, so a reader never sees half an object. A
 * run's outputs are uploaded under `.glacier/staging/<run>/` in their buckets and copied into
 * place together at the end, through a journal in the state bucket that the next cloud use rolls
 * forward if the run died during its commit (`s3_journal.ts`). Writers claim what they write of
 * each bucket, the whole bucket or some partitions (`write_claims.ts`), in one lock object per
 * bucket in the state bucket, `locks/<bucket>/<path>.lock`, that holds every writer's claim and is
 * only ever changed with conditional writes (`If-Match`, `If-None-Match: *`); each claim is
 * refreshed while its writer works and lapses when it stops, so a second run writing the same
 * bucket or partition is refused instead of clobbering the first.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { createReadStream, createWriteStream } from "node:fs";
import { pipeline } from "node:stream/promises";
import { join } from "node:path";
import { hostname } from "node:os";
import type pl from "../../polars.ts";
import { fixedPrefix, type PartitionValues, pathMatcher } from "../../core/partitions.ts";
import { type GlacierError, NoDataError, StorageError } from "../../core/errors.ts";
import { partitionText } from "../../core/partitions.ts";
import { type Conflict, conflictsWith, refusalMessage, type WriteClaim } from "../write_claims.ts";
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
  /**
   * The MD5 of its bytes, as lowercase hex, when its ETag is one: an object stored in one part
   * (not a multipart upload) and not encrypted with a KMS or customer key. Known from `head`.
   */
  readonly md5?: string;
}

/** The claims this process holds, by id: a claim of this process not in here is stale. */
const heldHere = new Set<string>();

/** Whether the process that wrote a claim can no longer be holding it. */
function holderIsGone(holder: S3Claim): boolean {
  if (Date.parse(holder.expires) <= Date.now()) return true;
  // A deployed run's claim is held by no process: its lease is all there is to go by.
  if (holder.lease !== undefined) return false;
  // A pid means something only in its own PID namespace on its own host: elsewhere the lease
  // (refreshed while the run works) is all there is to go by.
  if (holder.host !== hostname() || holder.pidNamespace !== pidNamespace()) return false;
  if (holder.pid === Deno.pid) return !heldHere.has(holder.id);
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

/**
 * A claim as a lock object keeps it: with its holder's PID namespace and when it lapses unless
 * refreshed. A deployed run's claim (`lease`) is held by no process, so only its expiry tells
 * whether it is still held.
 */
interface S3Claim extends WriteClaim {
  readonly pidNamespace: string;
  readonly expires: string;
}

/** A bucket's lock object: every writer's claim on it. */
interface LockObject {
  readonly version: 2;
  readonly location: string;
  readonly claims: readonly S3Claim[];
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

/** A writer's held claim on one bucket, kept in the bucket's lock object in the state bucket. */
export class S3Lock {
  readonly #storage: S3Storage;
  /** The state bucket. */
  readonly bucket: string;
  /** The lock object's key. */
  readonly key: string;
  /** The Glacier bucket it guards. */
  readonly location: string;
  readonly #id: string;
  readonly #lease: LockLease | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  #lost: GlacierError | undefined;
  #failed: GlacierError | undefined;

  constructor(
    storage: S3Storage,
    state: string,
    location: string,
    id: string,
    lease?: LockLease,
  ) {
    this.#storage = storage;
    this.bucket = state;
    this.key = lockKey(location);
    this.location = location;
    this.#id = id;
    this.#lease = lease;
    heldHere.add(id);
    const timer = setInterval(() => this.#refresh(), LOCK_REFRESH_MS);
    Deno.unrefTimer(timer as unknown as number);
    this.#timer = timer;
  }

  async #refresh(): Promise<void> {
    this.#failed = undefined;
    try {
      const held = await this.#storage.refreshClaim(
        this.bucket,
        this.location,
        this.#id,
        this.#lease,
      );
      // Another writer took the claim for dead and dropped it: it is lost for good. Anything
      // else (the server out of reach) is tried again at the next refresh.
      if (!held) {
        this.#lost = new StorageError(
          `its claim is gone from s3://${this.bucket}/${this.key}: it lapsed, and another writer ` +
            "removed it",
        );
      }
    } catch (error) {
      this.#failed = error as GlacierError;
    }
  }

  /**
   * Makes sure the claim is still this writer's, renewing it: called right before a commit.
   *
   * @throws {StorageError} when the claim was lost while the run worked.
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
   * Widens the claim to more partitions (`undefined`: the whole bucket), without waiting.
   *
   * @param partitions the partitions, as text.
   * @throws {StorageError} naming the holder and the partitions when another writer has some.
   */
  async widen(partitions: readonly string[] | undefined): Promise<void> {
    await this.#storage.widenClaim(this.bucket, this.location, this.#id, partitions);
  }

  /**
   * Lets go of the claim object without releasing the claim: a deployed run's handler hands it on
   * to the run's next handler, which adopts it ({@linkcode S3Storage.adoptLock}).
   */
  detach(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    heldHere.delete(this.#id);
  }

  /** Releases the claim, if it is still this writer's. */
  async release(): Promise<void> {
    this.detach();
    await this.#storage.releaseClaim(this.bucket, this.location, this.#id).catch(() => {});
  }
}

/** The key of a bucket's lock object in the state bucket. */
function lockKey(location: string): string {
  return `${LOCK_PREFIX}${location}.lock`;
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
      const etag = out.ETag ?? "";
      const md5 = etag.replaceAll('"', "");
      const plain = !out.SSECustomerAlgorithm &&
        !String(out.ServerSideEncryption ?? "").includes("kms");
      return {
        key,
        size: out.ContentLength ?? 0,
        etag,
        ...(plain && /^[0-9a-f]{32}$/.test(md5) ? { md5 } : {}),
      };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw s3Failure(error, this.#context("read", bucket, key));
    }
  }

  /**
   * Whether two objects of a bucket hold the same bytes: their sizes first, then their MD5s when
   * both ETags are one, else both read side by side until the first difference.
   *
   * @param bucket the S3 bucket.
   * @param a one key.
   * @param b the other.
   * @returns `true` when both exist and are equal.
   */
  async sameBytes(bucket: string, a: string, b: string): Promise<boolean> {
    const [x, y] = await Promise.all([this.head(bucket, a), this.head(bucket, b)]);
    if (x === undefined || y === undefined || x.size !== y.size) return false;
    if (x.md5 !== undefined && y.md5 !== undefined) return x.md5 === y.md5;
    const [left, right] = await Promise.all(
      [x, y].map((object) =>
        this.#send<{ Body?: AsyncIterable<Uint8Array> }>(
          new GetObjectCommand({ Bucket: bucket, Key: object.key }),
          this.#context("read", bucket, object.key),
        )
      ),
    );
    return await sameStreams(left.Body!, right.Body!);
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
   * Changes a bucket's claims atomically: reads its lock object, applies `change`, and writes the
   * result only if nobody changed the object meanwhile (`If-Match`, `If-None-Match: *` for a new
   * one, a conditional delete once no claim is left), reading it again when someone did.
   *
   * @param state the state bucket.
   * @param location the Glacier bucket.
   * @param change the claims to leave, from the claims there; `undefined` leaves them as they are.
   */
  async #changeClaims(
    state: string,
    location: string,
    change: (claims: readonly S3Claim[]) => readonly S3Claim[] | undefined,
  ): Promise<void> {
    const key = lockKey(location);
    const context = this.#context("lock", state, key, { location });
    for (let attempt = 0; attempt < 40; attempt++) {
      const current = await this.#readClaims(state, key);
      const next = change(current?.claims ?? []);
      if (next === undefined) return;
      try {
        if (next.length > 0) {
          const body: LockObject = { version: 2, location, claims: next };
          await this.#conn.client.send(
            new PutObjectCommand({
              Bucket: state,
              Key: key,
              Body: JSON.stringify(body),
              ContentType: "application/json",
              ...(current ? { IfMatch: current.etag } : { IfNoneMatch: "*" }),
            }),
          );
        } else if (current) {
          await this.#conn.client.send(
            new DeleteObjectCommand({ Bucket: state, Key: key, IfMatch: current.etag }),
          );
        }
        return;
      } catch (error) {
        const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
        const status = e.$metadata?.httpStatusCode;
        if (e.name !== "PreconditionFailed" && status !== 412 && status !== 409 && !isNotFound(e)) {
          throw s3Failure(error, context);
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 20 * (attempt + 1)));
    }
    throw new StorageError(
      `the lock object of bucket '${location}' (s3://${state}/${key}) kept changing under this ` +
        "writer; try again",
    );
  }

  /** A bucket's claims and its lock object's ETag; `undefined` when it has none. */
  async #readClaims(
    state: string,
    key: string,
  ): Promise<{ claims: S3Claim[]; etag: string } | undefined> {
    let found: { text: string; etag: string };
    try {
      const out = await this.#conn.client.send(new GetObjectCommand({ Bucket: state, Key: key }));
      found = { text: await out.Body!.transformToString(), etag: out.ETag ?? "" };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      const location = key.slice(LOCK_PREFIX.length, -".lock".length);
      throw s3Failure(error, this.#context("lock", state, key, { location }));
    }
    let body: Partial<LockObject> & Partial<S3Claim>;
    try {
      body = JSON.parse(found.text);
    } catch {
      throw new StorageError(
        `the lock object s3://${state}/${key} is not readable; check that no run writes the ` +
          "bucket it guards, then delete it",
      );
    }
    // An older Glacier's lock: one run holding the whole bucket.
    const claims = Array.isArray(body.claims)
      ? [...body.claims]
      : [{ ...body, id: body.id ?? body.run } as S3Claim];
    return { claims, etag: found.etag };
  }

  /**
   * Claims what a writer writes of a bucket (the whole bucket, or some partitions), or says who
   * is in the way. A claim whose writer cannot hold it any more is dropped: it lapsed, or it was
   * written on this host by a process that has ended (or by this process, outside any of its
   * live runs). With `wait`, a claim in the way is tried again until it is gone or the wait is
   * over.
   *
   * @param ref the bucket to write.
   * @param run the run (or `write`) that claims it.
   * @param wait seconds to wait for claims in the way.
   * @param lease for a deployed run, what holds the claim and for how long.
   * @param partitions the partitions it writes, as text; absent: the whole bucket.
   * @returns the held claim.
   * @throws {StorageError} naming the holders and the partitions in conflict when other live
   *   writers have some of them.
   */
  async lock(
    ref: BucketRef,
    run: string,
    wait = 0,
    lease?: LockLease,
    partitions?: readonly string[],
  ): Promise<S3Lock> {
    const state = stateBucketOf(ref.settings, `writing bucket '${ref.location}' in cloud mode`);
    const deadline = Date.now() + wait * 1000;
    for (let attempt = 0;; attempt++) {
      const now = Date.now();
      const claim: S3Claim = {
        id: crypto.randomUUID(),
        run,
        host: hostname(),
        pid: Deno.pid,
        pidNamespace: pidNamespace(),
        since: new Date(now).toISOString(),
        expires: new Date(now + (lease?.ttlMs ?? LOCK_TTL_MS)).toISOString(),
        ...(lease ? { lease: lease.holder } : {}),
        ...(partitions ? { partitions } : {}),
      };
      let conflicts: Conflict[] = [];
      await this.#changeClaims(state, ref.location, (claims) => {
        const live = claims.filter((c) => !holderIsGone(c));
        conflicts = conflictsWith(partitions, live);
        if (conflicts.length === 0) return [...live, claim];
        return live.length < claims.length ? live : undefined;
      });
      if (conflicts.length === 0) return new S3Lock(this, state, ref.location, claim.id, lease);
      if (Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, Math.min(1000, 100 * 2 ** attempt)));
        continue;
      }
      const lapses = conflicts.map((c) => (c.claim as S3Claim).expires).sort().at(-1);
      throw new StorageError(
        refusalMessage(
          ref.location,
          partitions,
          conflicts,
          `; if that run died, its lock expires at ${lapses}, or delete s3://${state}/` +
            lockKey(ref.location),
        ),
      );
    }
  }

  /**
   * @internal Refreshes a claim: it then lasts at least its lease (default the lock TTL) from now.
   *
   * @returns `false` when the claim is gone.
   */
  async refreshClaim(
    state: string,
    location: string,
    id: string,
    lease?: LockLease,
  ): Promise<boolean> {
    let held = false;
    await this.#changeClaims(state, location, (claims) => {
      const mine = claims.find((c) => c.id === id);
      held = mine !== undefined;
      return mine && claims.map((c) => c === mine ? extended(c, lease?.ttlMs ?? LOCK_TTL_MS) : c);
    });
    return held;
  }

  /** @internal Removes a claim. */
  async releaseClaim(state: string, location: string, id: string): Promise<void> {
    await this.#changeClaims(state, location, (claims) => {
      const left = claims.filter((c) => c.id !== id);
      return left.length < claims.length ? left : undefined;
    });
  }

  /**
   * @internal Widens a claim to more partitions (`undefined`: the whole bucket), when no other
   * live writer has them.
   *
   * @throws {StorageError} naming the holder and the partitions in conflict, or when the claim is
   *   gone.
   */
  async widenClaim(
    state: string,
    location: string,
    id: string,
    partitions: readonly string[] | undefined,
  ): Promise<void> {
    let failure: string | undefined;
    await this.#changeClaims(state, location, (claims) => {
      failure = undefined;
      const mine = claims.find((c) => c.id === id);
      if (!mine) {
        failure = `the run's lock on bucket '${location}' is gone: it lapsed, and another ` +
          "writer removed it";
        return undefined;
      }
      if (mine.partitions === undefined) return undefined;
      const held = new Set(mine.partitions);
      const missing = partitions?.filter((p) => !held.has(p));
      if (missing?.length === 0) return undefined;
      const others = claims.filter((c) => c !== mine && !holderIsGone(c));
      const conflicts = conflictsWith(missing, others);
      if (conflicts.length > 0) {
        failure = refusalMessage(location, missing, conflicts);
        return undefined;
      }
      const { partitions: _, ...whole } = mine;
      const next: S3Claim = missing === undefined
        ? whole
        : { ...mine, partitions: [...held, ...missing].sort() };
      return claims.map((c) => c === mine ? next : c);
    });
    if (failure) throw new StorageError(failure);
  }

  /**
   * Renews a deployed run's claim on a bucket: it then lasts at least the lease from now (never
   * less than it already did, since parallel handlers of the run renew it at once).
   *
   * @param ref the bucket the claim is on.
   * @param run the run that must hold it.
   * @param lease what holds it and for how long.
   * @throws {StorageError} when the claim lapsed or is gone.
   */
  async renewLease(ref: BucketRef, run: string, lease: LockLease): Promise<void> {
    await this.#renew(ref, run, lease);
  }

  async #renew(ref: BucketRef, run: string, lease: LockLease): Promise<string> {
    const state = stateBucketOf(ref.settings, `writing bucket '${ref.location}' in cloud mode`);
    let id: string | undefined;
    await this.#changeClaims(state, ref.location, (claims) => {
      const mine = claims.find((c) => c.run === run && Date.parse(c.expires) > Date.now());
      id = mine?.id;
      return mine && claims.map((c) => c === mine ? extended(c, lease.ttlMs) : c);
    });
    if (id === undefined) {
      throw new StorageError(
        `run ${run} no longer holds the lock on bucket '${ref.location}' ` +
          `(s3://${state}/${lockKey(ref.location)}): it expired or was removed; the run cannot ` +
          "go on, and publishes nothing",
      );
    }
    return id;
  }

  /**
   * Takes over a claim that a deployed run's earlier handler took, renewed, to publish or release.
   *
   * @param ref the bucket the claim is on.
   * @param run the run that must hold it.
   * @param lease what holds it and for how long.
   * @returns the claim.
   * @throws {StorageError} when the claim lapsed or is gone.
   */
  async adoptLock(ref: BucketRef, run: string, lease: LockLease): Promise<S3Lock> {
    const state = stateBucketOf(ref.settings, `writing bucket '${ref.location}' in cloud mode`);
    const id = await this.#renew(ref, run, lease);
    return new S3Lock(this, state, ref.location, id, lease);
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
      const claims = (await this.#readClaims(state, key).catch(() => undefined))?.claims ?? [];
      if (claims.some((c) => c.run === journal.run && !holderIsGone(c))) return true;
    }
    return false;
  }

  async #releaseIfHeldBy(state: string, key: string, run: string): Promise<void> {
    const location = key.slice(LOCK_PREFIX.length, -".lock".length);
    await this.#changeClaims(state, location, (claims) => {
      const left = claims.filter((c) => c.run !== run);
      return left.length < claims.length ? left : undefined;
    }).catch(() => {});
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
    const lock = await this.lock(
      ref,
      "write",
      options.wait ?? 0,
      undefined,
      ref.partition ? [partitionText(ref.partition)] : undefined,
    );
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

/** A claim renewed to last at least `ttlMs` from now. */
function extended(claim: S3Claim, ttlMs: number): S3Claim {
  const expires = Math.max(Date.now() + ttlMs, Date.parse(claim.expires));
  return { ...claim, expires: new Date(expires).toISOString() };
}

/** Whether an S3 error says the object (or key) is not there. */
function isNotFound(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e.name === "NotFound" || e.name === "NoSuchKey" || e.$metadata?.httpStatusCode === 404;
}

/** Whether two byte streams are equal, read side by side until the first difference. */
async function sameStreams(
  a: AsyncIterable<Uint8Array>,
  b: AsyncIterable<Uint8Array>,
): Promise<boolean> {
  const left = a[Symbol.asyncIterator]();
  const right = b[Symbol.asyncIterator]();
  let x: Uint8Array = new Uint8Array(0);
  let y: Uint8Array = new Uint8Array(0);
  try {
    for (;;) {
      if (x.length === 0) {
        const next = await left.next();
        if (next.done) return y.length === 0 && (await right.next()).done === true;
        x = next.value;
      }
      if (y.length === 0) {
        const next = await right.next();
        if (next.done) return false;
        y = next.value;
      }
      const n = Math.min(x.length, y.length);
      if (Buffer.compare(x.subarray(0, n), y.subarray(0, n)) !== 0) return false;
      x = x.subarray(n);
      y = y.subarray(n);
    }
  } finally {
    // Stops what is left of either stream.
    await Promise.all([left.return?.(), right.return?.()]);
  }
}
