/**
 * The cloud commit protocol: how a run's staged objects become its buckets' objects together.
 *
 * Every object is replaced atomically by S3 (a CopyObject of the staged object over the bucket's
 * key), so a reader sees one version or the other. Before the commit, each bucket's current object
 * is copied aside (`.glacier/previous/<run>/<path>`), then the run's journal is written to the
 * state bucket; from then on the run is committed, and whoever next uses cloud mode finishes it
 * when the run dies. When copying one output fails (after the SDK's retries and ours), the
 * objects placed so far are put back from the copies kept aside; when even that fails, the journal
 * stays so the next use completes the run, and the message says which buckets changed. A journal
 * whose staged objects are gone (expired after 7 days) is put back from the kept copies, and the
 * warning says so.
 *
 * @module
 */
import { firstLine, StorageError } from "../../core/errors.ts";
import { placeAll } from "../_publish.ts";
import { failpoint } from "../_failpoint.ts";
import type { S3Storage } from "./s3_storage.ts";

/** Where Glacier keeps what a run stages and what it keeps aside, in each data bucket. */
export const STAGING_PREFIX = ".glacier/staging/";
/** Where a commit keeps the objects it replaces, until it ends. */
export const PREVIOUS_PREFIX = ".glacier/previous/";
/** Where the state bucket keeps journals. */
export const JOURNAL_PREFIX = "journal/";
/** Where the state bucket keeps locks. */
export const LOCK_PREFIX = "locks/";

/** One output of a run. */
export interface S3JournalEntry {
  /** The Glacier bucket, `bucket/path`, for messages. */
  readonly location: string;
  /** The S3 bucket. */
  readonly bucket: string;
  /** The staged key. */
  readonly staged: string;
  /** The bucket's key. */
  readonly final: string;
  /** Where the previous object is kept, or `null` when there was none. */
  readonly previous: string | null;
  /** Size of the staged object. */
  readonly size: number;
}

/** A run's journal in the state bucket. */
export interface S3Journal {
  /** Format version. */
  readonly version: 1;
  /** The run's id. */
  readonly run: string;
  /** Its outputs. */
  readonly entries: readonly S3JournalEntry[];
  /** Its locks in the state bucket, released once the journal is finished. */
  readonly locks: readonly string[];
}

const COPY_ATTEMPTS = 3;

/**
 * Copies every entry into place; when one fails, puts back the ones placed before it.
 *
 * @param storage the S3 storage.
 * @param entries the run's outputs.
 * @param pending what completes the run when even putting back fails.
 * @param localFiles staged outputs that also exist as local files (for objects too large to copy).
 * @throws {CommitError} saying exactly which buckets changed.
 */
export function copyAll(
  storage: S3Storage,
  entries: readonly S3JournalEntry[],
  pending: string,
  localFiles: ReadonlyMap<string, string> = new Map(),
): Promise<void> {
  return placeAll(entries, {
    place: async (entry) => {
      await withRetry(() => {
        failpoint("s3.commit.place");
        return storage.copyIntoPlace(entry, localFiles.get(entry.location));
      });
      failpoint("s3.commit.placed");
    },
    putBack: (entry) => putBack(storage, entry),
    failure: (entry, error) =>
      `bucket '${entry.location}' could not be replaced by its new object ` +
      `(s3://${entry.bucket}/${entry.final}): ${firstLine(error)}`,
  }, pending);
}

/**
 * Finishes the journal of a run that died while committing: rolls it forward when every staged
 * object is still there, else puts every bucket back from the kept copies.
 *
 * @param storage the S3 storage.
 * @param journal the journal.
 * @param where the journal's URI, for messages.
 * @returns a warning when the run was put back instead of completed.
 */
export async function finishS3Journal(
  storage: S3Storage,
  journal: S3Journal,
  where: string,
): Promise<string | undefined> {
  const missing: S3JournalEntry[] = [];
  for (const entry of journal.entries) {
    if (!(await storage.head(entry.bucket, entry.staged))) missing.push(entry);
  }
  if (missing.length === 0) {
    await copyAll(storage, journal.entries, `the journal ${where} completes it on the next use`);
    return undefined;
  }
  const lost: string[] = [];
  for (const entry of journal.entries) {
    try {
      await putBack(storage, entry);
    } catch {
      lost.push(entry.location);
    }
  }
  const names = (list: readonly string[]) => list.map((l) => `'${l}'`).join(", ");
  return `run ${journal.run} died while publishing and cannot be completed: the staged ` +
    `output of ${names(missing.map((e) => e.location))} is gone (staging expires after 7 days); ` +
    (lost.length === 0
      ? "its buckets were put back as they were before it"
      : `${names(lost)} could not be put back (the copies kept aside are gone too) and may ` +
        "hold that run's outputs") +
    ` (journal ${where})`;
}

/**
 * Removes what a finished or abandoned run left in its data buckets: staged objects and kept
 * copies.
 *
 * @param storage the S3 storage.
 * @param run the run's id.
 * @param buckets the S3 buckets it wrote.
 */
export async function removeRunObjects(
  storage: S3Storage,
  run: string,
  buckets: Iterable<string>,
): Promise<void> {
  for (const bucket of new Set(buckets)) {
    for (const prefix of [`${STAGING_PREFIX}${run}/`, `${PREVIOUS_PREFIX}${run}/`]) {
      let objects;
      try {
        objects = await storage.list(bucket, prefix);
      } catch (error) {
        if (error instanceof StorageError) continue;
        throw error;
      }
      for (const { key } of objects) await storage.deleteObject(bucket, key).catch(() => {});
    }
  }
}

async function putBack(storage: S3Storage, entry: S3JournalEntry): Promise<void> {
  failpoint("s3.commit.put-back");
  if (entry.previous === null) {
    await storage.deleteObject(entry.bucket, entry.final);
    return;
  }
  if (!(await storage.head(entry.bucket, entry.previous))) {
    throw new StorageError(
      `the copy of bucket '${entry.location}' kept at s3://${entry.bucket}/${entry.previous} is gone`,
    );
  }
  await storage.copyObject(entry.bucket, entry.previous, entry.final);
}

async function withRetry<T>(work: () => Promise<T>): Promise<T> {
  for (let attempt = 1;; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (attempt >= COPY_ATTEMPTS) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100 * 4 ** attempt));
    }
  }
}
