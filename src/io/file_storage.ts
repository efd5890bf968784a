/**
 * The embedded default storage: files under a local root, `<root>/<bucket>/<path>`.
 *
 * Writes never touch a bucket's file until they are complete: a direct write goes to a temporary
 * file beside it and is renamed over it; a run stages every output under
 * `<root>/.glacier/staging/<run>` and commits them all at the end through a journal
 * (`file_journal.ts`), so a failed or killed run leaves every bucket as it was, and a run killed
 * in the middle of its commit is rolled forward by the next use of the same root. Each writer
 * claims what it writes of each bucket, the whole bucket or some partitions (`write_claims.ts`):
 * a claim is a file under `<root>/.glacier/locks/<bucket>.claims/` that its writer holds locked
 * (an OS file lock, which the kernel drops when the writer dies), and claims are only added
 * while holding the bucket's registry lock `<root>/.glacier/locks/<bucket>.lock` for a moment, so
 * two writers of one bucket or partition never both proceed. Each run also holds its own lock
 * (`<root>/.glacier/runs/`), so recovery never touches a live run.
 *
 * @module
 */
import { dirname, join } from "node:path";
import type pl from "../polars.ts";
import { CommitError, firstLine, NoDataError, StorageError } from "../core/errors.ts";
import type { BucketRef } from "../core/lineage.ts";
import { objectName } from "../core/partition_map.ts";
import { fixedPrefix, type PartitionValues, pathMatcher } from "../core/partitions.ts";
import type { WriteReport } from "../core/reports.ts";
import { newRunId } from "../core/session.ts";
import { formatOf } from "./file_format.ts";
import { countRows, scanValidated, sinkFile, writableFrame } from "./formats.ts";
import { failpoint } from "./_failpoint.ts";
import { FileLock, holderHere, type LockHolder } from "./file_lock.ts";
import {
  type BucketWrite,
  bucketWrites,
  conflictsWith,
  refusalMessage,
  type WriteClaim,
} from "./write_claims.ts";
import {
  applyJournal,
  finishJournal,
  journalEntries,
  type JournalEntry,
  readJournal,
  writeJournal,
} from "./file_journal.ts";

/** Glacier's own files under a root: `<root>/.glacier/`. */
const STATE = ".glacier";
const STAGING = "staging";
const JOURNAL = "journal";
const LOCKS = "locks";
const RUNS = "runs";
/** The suffix of a bucket's folder of claims under `locks/`. */
const CLAIMS = ".claims";
/** How long a writer waits for a bucket's registry lock, which is held for a few file operations. */
const REGISTRY_WAIT_SECONDS = 30;
/** How long a reader waits for a live run's commit (a few renames) to finish. */
const LIVE_COMMIT_WAIT_MS = 10_000;

/** Filesystem storage rooted at one directory. */
export class FileStorage {
  /** The root directory. */
  readonly root: string;

  /**
   * @param root the directory buckets live under.
   */
  constructor(root: string) {
    this.root = root;
  }

  /**
   * Where a bucket's data lives.
   *
   * @param ref the bucket.
   * @returns the file path.
   */
  pathOf(ref: BucketRef): string {
    return join(this.root, ref.bucket, ...ref.path.split("/"));
  }

  /**
   * The partitions of a partitioned bucket that have data, found by listing its folder.
   *
   * @param ref the bucket (its path has placeholders).
   * @returns each partition's values, in path order.
   */
  async partitions(ref: BucketRef): Promise<PartitionValues[]> {
    const match = pathMatcher(ref.path, ref.partitions ?? {});
    const prefix = fixedPrefix(ref.path);
    const base = join(this.root, ref.bucket);
    const found: PartitionValues[] = [];
    const walk = async (rel: string): Promise<void> => {
      for (const name of await listDir(join(base, ...rel.split("/")))) {
        if (name.startsWith(".")) continue;
        const path = `${rel}${name}`;
        const values = match(path);
        if (values) found.push(values);
        else if (!/\.[A-Za-z]+$/.test(name)) await walk(`${path}/`);
      }
    };
    await walk(prefix);
    return found;
  }

  /**
   * Whether a file exists.
   *
   * @param path the file.
   * @returns `true` when it is there.
   */
  async exists(path: string): Promise<boolean> {
    try {
      return (await Deno.stat(path)).isFile;
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return false;
      throw error;
    }
  }

  /**
   * A lazy scan of a bucket's data, validated against its schema and limited to its columns.
   *
   * @param ref the bucket.
   * @param path where to read (default: the bucket's own file).
   * @param missing what to say when there is no data.
   * @returns the lazy frame, columns in schema order.
   * @throws {StorageError} when there is no data or it cannot be read.
   * @throws {SchemaMismatchError} when the data does not fit the schema.
   */
  async scan(ref: BucketRef, path = this.pathOf(ref), missing?: string): Promise<pl.LazyDataFrame> {
    if (!(await this.exists(path))) {
      throw new NoDataError(
        missing ??
          `bucket '${ref.location}' has no data at ${path}; write it with bucket.write(frame) ` +
            "or run the pipeline that produces it",
      );
    }
    return scanValidated(ref, path, path);
  }

  /**
   * Reads a bucket's whole data.
   *
   * @param ref the bucket.
   * @returns the data, validated.
   */
  async read(ref: BucketRef): Promise<pl.DataFrame> {
    await this.recover();
    const frame = await this.scan(ref);
    try {
      return await frame.collect();
    } catch (error) {
      throw new StorageError(
        `bucket '${ref.location}' data at ${this.pathOf(ref)} cannot be read: ${firstLine(error)}`,
        { cause: error },
      );
    }
  }

  /**
   * Writes a frame to a bucket atomically, after validating it against the schema, holding the
   * bucket's lock while it writes.
   *
   * @param ref the bucket.
   * @param frame the data; extra columns are dropped.
   * @param options how long to wait for a run that is writing the same bucket (default: refuse).
   * @returns where it went, rows and bytes.
   * @throws {SchemaMismatchError} when the frame does not fit the schema; nothing is written.
   * @throws {StorageError} when a run is writing the bucket.
   */
  async write(
    ref: BucketRef,
    frame: pl.DataFrame,
    options: { wait?: number } = {},
  ): Promise<WriteReport> {
    const data = writableFrame(ref, frame);
    await this.recover();
    const [claim] = await this.#claimAll(
      bucketWrites([ref], [ref]),
      holderHere("write"),
      options.wait ?? 0,
    );
    await this.recover().catch(async (error) => {
      await claim.release();
      throw error;
    });
    const final = this.pathOf(ref);
    await Deno.mkdir(dirname(final), { recursive: true });
    const temp = join(dirname(final), `.${crypto.randomUUID()}.glacier-tmp`);
    try {
      await this.sinkTo(ref, data, temp);
      const written = await this.describe(ref, temp);
      await Deno.rename(temp, final);
      return { uri: final, rows: written.rows, bytes: written.bytes };
    } finally {
      await Deno.remove(temp).catch(() => {});
      await claim.release();
    }
  }

  /**
   * Streams a plan into a file of the bucket's format.
   *
   * @param ref the bucket whose format to use.
   * @param frame the plan.
   * @param path the file to create.
   */
  async sinkTo(ref: BucketRef, frame: pl.LazyDataFrame, path: string): Promise<void> {
    await Deno.mkdir(dirname(path), { recursive: true });
    await sinkFile(frame, path, formatOf(ref.path), ref.csv);
  }

  /**
   * Rows and bytes of a written file.
   *
   * @param ref the bucket whose format to use.
   * @param path the file.
   * @returns rows and bytes.
   */
  async describe(ref: BucketRef, path: string): Promise<{ rows: number; bytes: number }> {
    const [rows, stat] = await Promise.all([
      countRows(path, formatOf(ref.path), ref.schema, ref.csv),
      Deno.stat(path),
    ]);
    return { rows, bytes: stat.size };
  }

  /**
   * Starts a run whose outputs are staged and committed together: takes the run's own lock, then
   * claims what it writes of each bucket (the whole bucket, or the partitions it writes), so a
   * second run writing any of the same buckets or partitions is refused (or waits).
   *
   * @param targets the buckets the run writes under this root.
   * @param options how long to wait for other writers (default: refuse at once), the run's id
   *   (default: a new one), and the partitions it writes of its partitioned targets, each as a
   *   reference to it (default: it writes each target whole).
   * @returns the run's transaction.
   * @throws {StorageError} naming the holder and the partitions in conflict when another writer
   *   writes one of the same buckets or partitions.
   */
  async beginRun(
    targets: readonly BucketRef[],
    options: { wait?: number; runId?: string; writes?: readonly BucketRef[] } = {},
  ): Promise<FileTransaction> {
    await this.recover();
    const id = options.runId ?? newRunId();
    const holder = holderHere(id);
    const runLock = await FileLock.tryAcquire(this.#runLockPath(id), holder);
    if (!runLock) {
      throw new StorageError(`run ${id} could not take its own lock under ${this.root}`);
    }
    const claims: FileClaim[] = [];
    try {
      claims.push(
        ...await this.#claimAll(bucketWrites(targets, options.writes), holder, options.wait ?? 0),
      );
      // A run that died while publishing to these buckets after the first look is finished now,
      // while they are ours, so it can never overwrite what this run publishes.
      await this.recover();
    } catch (error) {
      for (const claim of claims) await claim.release();
      await runLock.release(true);
      throw error;
    }
    const dir = join(this.root, STATE, STAGING, id);
    await Deno.mkdir(dir, { recursive: true });
    return new FileTransaction(this, id, dir, claims, runLock);
  }

  /**
   * Claims what a writer writes of each bucket, in location order so that two waiting writers
   * cannot deadlock.
   *
   * @param writes what it writes of each bucket.
   * @param holder who it is.
   * @param wait seconds to wait for each.
   * @returns the held claims.
   * @throws {StorageError} naming the holders and partitions of claims that stayed in the way.
   */
  async #claimAll(
    writes: readonly BucketWrite[],
    holder: LockHolder,
    wait: number,
  ): Promise<FileClaim[]> {
    const held: FileClaim[] = [];
    try {
      for (const write of writes) held.push(await this.#claim(write, holder, wait));
    } catch (error) {
      for (const claim of held) await claim.release();
      throw error;
    }
    return held;
  }

  async #claim(write: BucketWrite, holder: LockHolder, wait: number): Promise<FileClaim> {
    const location = write.ref.location;
    const deadline = Date.now() + wait * 1000;
    let pause = 20;
    for (;;) {
      const taken = await this.#inRegistry(location, async (dir, live) => {
        const conflicts = conflictsWith(write.partitions, live);
        if (conflicts.length > 0) return conflicts;
        const claim: WriteClaim = {
          ...holder,
          id: crypto.randomUUID(),
          ...(write.partitions ? { partitions: write.partitions } : {}),
        };
        const lock = await FileLock.tryAcquire(join(dir, `${claim.id}.json`), claim);
        if (!lock) throw new StorageError(`a new claim file under ${dir} was taken at once`);
        return new FileClaim(location, claim, lock);
      });
      if (taken instanceof FileClaim) return taken;
      if (Date.now() >= deadline) {
        throw new StorageError(refusalMessage(location, write.partitions, taken));
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(pause, deadline - Date.now())));
      pause = Math.min(pause * 2, 500);
    }
  }

  /**
   * Makes a run's claims cover more of what it writes: a partition its claim lacks is added when
   * no other writer has it, a bucket it has no claim on is claimed; nothing is waited for.
   *
   * @param claims the run's claims, to which new ones are added.
   * @param refs the buckets and partitions it writes.
   * @param holder who it is.
   * @throws {StorageError} naming the holder and the partitions in conflict.
   */
  async cover(claims: FileClaim[], refs: readonly BucketRef[], holder: LockHolder): Promise<void> {
    for (const write of bucketWrites(refs, refs)) {
      const held = claims.find((c) => c.location === write.ref.location);
      if (!held) {
        claims.push(await this.#claim(write, holder, 0));
        continue;
      }
      const missing = held.missing(write.partitions);
      if (missing?.length === 0) continue;
      await this.#inRegistry(held.location, async (_, live) => {
        const conflicts = conflictsWith(missing, live.filter((c) => c.id !== held.claim.id));
        if (conflicts.length > 0) {
          throw new StorageError(refusalMessage(held.location, missing, conflicts));
        }
        await held.widen(missing);
      });
    }
  }

  /**
   * Runs `fn` holding a bucket's registry lock, with the claims of the writers that are alive
   * (the files of writers that died are removed on the way).
   */
  async #inRegistry<T>(
    location: string,
    fn: (dir: string, live: WriteClaim[]) => Promise<T>,
  ): Promise<T> {
    const path = join(this.root, STATE, LOCKS, `${location}.lock`);
    const registry = await FileLock.acquire(path, holderHere("claims"), REGISTRY_WAIT_SECONDS);
    if (!registry) {
      throw new StorageError(
        `the registry lock of bucket '${location}' (${path}) stayed taken for ` +
          `${REGISTRY_WAIT_SECONDS} s, though a writer holds it for a moment only; is an older ` +
          "Glacier writing this bucket? Try again when it has finished",
      );
    }
    try {
      const dir = join(this.root, STATE, LOCKS, `${location}${CLAIMS}`);
      const live: WriteClaim[] = [];
      for (const name of await listDir(dir)) {
        if (!name.endsWith(".json")) continue;
        const file = join(dir, name);
        // A claim file nobody holds locked is a dead writer's.
        const dead = await FileLock.tryAcquire(file, {});
        if (dead) await dead.release(true);
        else {
          const claim = await FileLock.holderOf(file) as WriteClaim | undefined;
          if (claim) live.push(claim);
        }
      }
      return await fn(dir, live);
    } finally {
      await registry.release();
    }
  }

  #runLockPath(id: string): string {
    return join(this.root, STATE, RUNS, `${id}.lock`);
  }

  /**
   * Whether a run is still going: it holds its own lock until it ends, and the kernel drops the
   * lock when its process dies.
   *
   * @param id the run's id.
   * @returns `true` while the run's process holds its lock.
   */
  async isRunLive(id: string): Promise<boolean> {
    const path = this.#runLockPath(id);
    if (!(await this.exists(path))) return false;
    const lock = await FileLock.tryAcquire(path, holderHere("liveness check"));
    if (!lock) return true;
    await lock.release(true);
    return false;
  }

  /** @internal where a run's journal is written. */
  journalPath(id: string): string {
    return join(this.root, STATE, JOURNAL, `${id}.json`);
  }

  /**
   * Finishes what runs that died left, touching only runs whose own lock is free (a live run
   * holds its lock until it ends): completes a commit that was cut short, or puts it back when
   * its staged data is gone; removes the staging of runs that died before committing. A live
   * run's commit in progress is waited for (it is a few renames), so a reader never sees half of
   * it.
   */
  async recover(): Promise<void> {
    const journals = join(this.root, STATE, JOURNAL);
    const staging = join(this.root, STATE, STAGING);
    const ids = new Set<string>();
    for (const name of await listDir(journals)) {
      if (name.endsWith(".json")) ids.add(name.slice(0, -".json".length));
    }
    const committing = new Set(ids);
    for (const name of await listDir(staging)) ids.add(name);
    for (const id of ids) {
      const lock = await FileLock.tryAcquire(this.#runLockPath(id), holderHere("recovery"));
      if (!lock) {
        if (committing.has(id)) await waitUntilGone(this.journalPath(id), LIVE_COMMIT_WAIT_MS);
        continue;
      }
      try {
        await this.#finishDeadRun(id);
      } finally {
        await lock.release(true);
      }
    }
  }

  async #finishDeadRun(id: string): Promise<void> {
    const journal = this.journalPath(id);
    if (await this.exists(journal)) {
      const warning = await finishJournal(await readJournal(journal), journal);
      if (warning) console.error(`glacier: warning: ${warning}`);
      await Deno.remove(journal);
    }
    await Deno.remove(join(this.root, STATE, STAGING, id), { recursive: true }).catch(() => {});
  }
}

/** A run's staged outputs, committed together or not at all. */
export class FileTransaction {
  readonly #storage: FileStorage;
  readonly #id: string;
  readonly #dir: string;
  readonly #claims: FileClaim[];
  #runLock: FileLock | undefined;
  readonly #staged = new Map<string, Omit<JournalEntry, "ino" | "dev">>();

  constructor(
    storage: FileStorage,
    id: string,
    dir: string,
    claims: FileClaim[],
    runLock: FileLock,
  ) {
    this.#storage = storage;
    this.#id = id;
    this.#dir = dir;
    this.#claims = claims;
    this.#runLock = runLock;
  }

  /**
   * Makes sure the run's claims cover buckets and partitions it writes, claiming what they lack
   * without waiting.
   *
   * @param refs the buckets and partitions.
   * @throws {StorageError} naming the holder and the partitions when another writer has some.
   */
  async hold(refs: readonly BucketRef[]): Promise<void> {
    await this.#storage.cover(this.#claims, refs, holderHere(this.#id));
  }

  /** The run's id. */
  get id(): string {
    return this.#id;
  }

  /**
   * Where a bucket's output is staged during this run.
   *
   * @param ref the bucket.
   * @returns the staging file path.
   */
  stagePath(ref: BucketRef): string {
    return join(this.#dir, "new", ref.bucket, ...ref.path.split("/"));
  }

  /**
   * Records that a bucket's output is staged and complete.
   *
   * @param ref the bucket.
   */
  staged(ref: BucketRef): void {
    this.#staged.set(objectName(ref), {
      location: ref.partition ? objectName(ref) : ref.location,
      staged: this.stagePath(ref),
      final: this.#storage.pathOf(ref),
      previous: join(this.#dir, "previous", ref.bucket, ...ref.path.split("/")),
    });
  }

  /** Buckets (partitions: `bucket/path` filled in) with a staged output, in staging order. */
  get outputs(): string[] {
    return [...this.#staged.values()].map((s) => s.location);
  }

  /**
   * Where this run reads a bucket: its staged output when this run produced it, else its file.
   *
   * @param ref the bucket.
   * @returns the path to read.
   */
  readPath(ref: BucketRef): string {
    return this.#staged.get(objectName(ref))?.staged ?? this.#storage.pathOf(ref);
  }

  /**
   * Publishes every staged output: writes the journal, places each output, removes the journal.
   * Once the journal is written the run is committed: a crash is rolled forward by the next use
   * of the root. A failure while placing puts back what was placed.
   *
   * @throws {CommitError} saying exactly which buckets changed.
   */
  async commit(): Promise<void> {
    try {
      await this.publish([...this.#staged.keys()]);
    } catch (error) {
      if (!(error instanceof CommitError) || error.changed.length === 0) await this.abort();
      throw error;
    }
    await this.abort();
  }

  /**
   * Publishes some staged outputs together (one partition's outputs across its buckets), through
   * the run's journal, and keeps the run open for the rest. A failure that changed nothing drops
   * these outputs and leaves the run open; one that changed some releases the run's locks and
   * leaves the journal, which the next use of the root completes.
   *
   * @param names the outputs, by {@linkcode objectName}.
   * @throws {CommitError} saying exactly which buckets changed.
   */
  async publish(names: readonly string[]): Promise<void> {
    const outputs = names.flatMap((name) => {
      const found = this.#staged.get(name);
      this.#staged.delete(name);
      return found ? [found] : [];
    });
    const drop = async () => {
      for (const output of outputs) await Deno.remove(output.staged).catch(() => {});
    };
    let entries: JournalEntry[];
    try {
      entries = await journalEntries(outputs);
    } catch (error) {
      await drop();
      throw error;
    }
    if (entries.length > 0) {
      const journal = this.#storage.journalPath(this.#id);
      failpoint("local.commit.before-journal");
      try {
        await writeJournal(journal, entries);
      } catch (error) {
        await Deno.remove(journal).catch(() => {});
        await drop();
        throw new CommitError(
          `the run's commit journal ${journal} could not be written: ${firstLine(error)}`,
          [],
          entries.map((e) => e.location),
          undefined,
          { cause: error },
        );
      }
      failpoint("local.commit.journal-written");
      try {
        await applyJournal(entries, `the journal ${journal} completes it on the next use`);
      } catch (error) {
        if (error instanceof CommitError && error.changed.length === 0) {
          await Deno.remove(journal);
          await drop();
        } else await this.#release();
        throw error;
      }
      failpoint("local.commit.all-placed");
      await Deno.remove(journal);
      failpoint("local.commit.journal-removed");
    }
  }

  /** Drops every staged output and releases the run's locks; the buckets keep their data. */
  async abort(): Promise<void> {
    await Deno.remove(this.#dir, { recursive: true }).catch(() => {});
    await this.#release();
  }

  async #release(): Promise<void> {
    for (const claim of this.#claims.splice(0)) await claim.release();
    await this.#runLock?.release(true);
    this.#runLock = undefined;
  }
}

/** A writer's claim on one bucket: a file it holds locked while it writes. */
class FileClaim {
  /** The bucket. */
  readonly location: string;
  #claim: WriteClaim;
  readonly #lock: FileLock;

  constructor(location: string, claim: WriteClaim, lock: FileLock) {
    this.location = location;
    this.#claim = claim;
    this.#lock = lock;
  }

  /** The claim as its file says. */
  get claim(): WriteClaim {
    return this.#claim;
  }

  /**
   * The partitions of `partitions` this claim lacks: none when it claims the whole bucket;
   * `undefined` when `partitions` is the whole bucket and it claims only partitions.
   */
  missing(partitions: readonly string[] | undefined): readonly string[] | undefined {
    const mine = this.#claim.partitions;
    if (mine === undefined) return [];
    if (partitions === undefined) return undefined;
    const held = new Set(mine);
    return partitions.filter((p) => !held.has(p));
  }

  /** Adds partitions to the claim (the whole bucket for `undefined`); under the registry lock. */
  async widen(partitions: readonly string[] | undefined): Promise<void> {
    const { partitions: mine, ...rest } = this.#claim;
    const next: WriteClaim = partitions === undefined
      ? rest
      : { ...rest, partitions: [...new Set([...(mine ?? []), ...partitions])].sort() };
    await this.#lock.rewrite(next);
    this.#claim = next;
  }

  /** Gives the claim up. */
  async release(): Promise<void> {
    await this.#lock.release(true);
  }
}

async function listDir(dir: string): Promise<string[]> {
  try {
    const names: string[] = [];
    for await (const entry of Deno.readDir(dir)) names.push(entry.name);
    return names.sort();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
}

async function waitUntilGone(path: string, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    try {
      await Deno.stat(path);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return;
      throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
