/**
 * The embedded default storage: files under a local root, `<root>/<bucket>/<path>`.
 *
 * Writes never touch a bucket's file until they are complete: a direct write goes to a temporary
 * file beside it and is renamed over it; a run stages every output under `<root>/.staging/<run>`
 * and commits them all at the end through a journal, so a failed or killed run leaves every
 * bucket as it was, and a run killed in the middle of its commit is rolled forward by the next
 * use of the same root.
 *
 * @module
 */
import { dirname, join } from "node:path";
import type pl from "../polars.ts";
import { NoDataError, StorageError } from "../core/errors.ts";
import type { BucketRef } from "../core/lineage.ts";
import type { WriteReport } from "../core/reports.ts";
import { formatOf } from "../provider/format.ts";
import { countRows, scanValidated, sinkFile, writableFrame } from "./formats.ts";
import { firstLine } from "./_errors.ts";

const STAGING = ".staging";
const JOURNAL = ".journal";

/** One staged output waiting for its commit. */
interface JournalEntry {
  readonly staged: string;
  readonly final: string;
}

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
   * Writes a frame to a bucket atomically, after validating it against the schema.
   *
   * @param ref the bucket.
   * @param frame the data; extra columns are dropped.
   * @returns where it went, rows and bytes.
   * @throws {SchemaMismatchError} when the frame does not fit the schema; nothing is written.
   */
  async write(ref: BucketRef, frame: pl.DataFrame): Promise<WriteReport> {
    await this.recover();
    const final = this.pathOf(ref);
    const data = writableFrame(ref, frame);
    await Deno.mkdir(dirname(final), { recursive: true });
    const temp = join(dirname(final), `.${crypto.randomUUID()}.glacier-tmp`);
    try {
      await this.sinkTo(ref, data, temp);
      const written = await this.describe(ref, temp);
      await Deno.rename(temp, final);
      return { uri: final, rows: written.rows, bytes: written.bytes };
    } finally {
      await Deno.remove(temp).catch(() => {});
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
   * Starts a run whose outputs are staged and committed together.
   *
   * @returns the run's transaction.
   */
  async beginRun(): Promise<FileTransaction> {
    await this.recover();
    const id = `${new Date().toISOString().replace(/[:.]/g, "-")}-${
      crypto.randomUUID().slice(0, 8)
    }`;
    const dir = join(this.root, STAGING, id);
    await Deno.mkdir(dir, { recursive: true });
    await Deno.writeTextFile(join(dir, "owner.json"), JSON.stringify({ pid: Deno.pid }));
    return new FileTransaction(this, id, dir);
  }

  /**
   * Finishes what an earlier run left: completes a commit that was cut short (its journal says
   * what to rename) and removes staging left by runs that are no longer alive.
   */
  async recover(): Promise<void> {
    const journals = join(this.root, JOURNAL);
    for (const entry of await listDir(journals)) {
      if (!entry.endsWith(".json")) continue;
      const file = join(journals, entry);
      const pending = JSON.parse(await Deno.readTextFile(file)) as JournalEntry[];
      await applyJournal(pending);
      await Deno.remove(file);
    }
    const staging = join(this.root, STAGING);
    for (const id of await listDir(staging)) {
      const dir = join(staging, id);
      if (await ownerAlive(dir)) continue;
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  }

  /** @internal the journal directory. */
  get journalDir(): string {
    return join(this.root, JOURNAL);
  }
}

/** A run's staged outputs, committed together or not at all. */
export class FileTransaction {
  readonly #storage: FileStorage;
  readonly #id: string;
  readonly #dir: string;
  readonly #staged = new Map<string, JournalEntry>();

  constructor(storage: FileStorage, id: string, dir: string) {
    this.#storage = storage;
    this.#id = id;
    this.#dir = dir;
  }

  /**
   * Where a bucket's output is staged during this run.
   *
   * @param ref the bucket.
   * @returns the staging file path.
   */
  stagePath(ref: BucketRef): string {
    return join(this.#dir, ref.bucket, ...ref.path.split("/"));
  }

  /**
   * Records that a bucket's output is staged and complete.
   *
   * @param ref the bucket.
   */
  staged(ref: BucketRef): void {
    this.#staged.set(ref.location, {
      staged: this.stagePath(ref),
      final: this.#storage.pathOf(ref),
    });
  }

  /**
   * Where this run reads a bucket: its staged output when this run produced it, else its file.
   *
   * @param ref the bucket.
   * @returns the path to read.
   */
  readPath(ref: BucketRef): string {
    return this.#staged.get(ref.location)?.staged ?? this.#storage.pathOf(ref);
  }

  /**
   * Moves every staged output into place: first a journal, then the renames, then cleanup.
   * A crash after the journal is written is rolled forward by the next run.
   */
  async commit(): Promise<void> {
    const entries = [...this.#staged.values()];
    await Deno.mkdir(this.#storage.journalDir, { recursive: true });
    const journal = join(this.#storage.journalDir, `${this.#id}.json`);
    const temp = `${journal}.tmp`;
    await Deno.writeTextFile(temp, JSON.stringify(entries));
    await Deno.rename(temp, journal);
    await applyJournal(entries);
    await Deno.remove(journal);
    await this.abort();
  }

  /** Drops every staged output; the buckets keep their previous data. */
  async abort(): Promise<void> {
    await Deno.remove(this.#dir, { recursive: true }).catch(() => {});
  }
}

async function applyJournal(entries: readonly JournalEntry[]): Promise<void> {
  for (const { staged, final } of entries) {
    try {
      await Deno.mkdir(dirname(final), { recursive: true });
      await Deno.rename(staged, final);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
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

async function ownerAlive(dir: string): Promise<boolean> {
  try {
    const { pid } = JSON.parse(await Deno.readTextFile(join(dir, "owner.json"))) as { pid: number };
    if (pid === Deno.pid) return true;
    return (await Deno.stat(`/proc/${pid}`)).isDirectory;
  } catch {
    return false;
  }
}
