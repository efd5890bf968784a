/**
 * The local commit protocol: how a run's staged files become its buckets' data all together.
 *
 * A commit writes a journal (the staged files, their final paths and where each previous file is
 * kept), then places each output: the previous file gets a second name (a hard link) in the run's
 * staging, and the staged file is renamed over the final path. Every rename is atomic, so a bucket's file is always
 * old or new, never half-written. Once the journal exists the run is committed: when the process
 * dies while placing, the next Glacier use of the root finishes the placing (rolls forward). When
 * placing one output fails, everything placed so far is put back from the files kept aside, and
 * the run is not committed. A staged file that vanished is an error, never a commit: the files are
 * recognised by their inode, so a placed file is told apart from a missing one.
 *
 * @module
 */
import { dirname } from "node:path";
import { CommitError, firstLine, StorageError } from "../core/errors.ts";
import { placeAll } from "./_publish.ts";
import { failpoint } from "./_failpoint.ts";

/** One output of a run: where it is staged, where it goes, where the previous file is kept. */
export interface JournalEntry {
  /** The bucket, `bucket/path`, for messages. */
  readonly location: string;
  /** The staged file. */
  readonly staged: string;
  /** The bucket's file. */
  readonly final: string;
  /** Where the bucket's previous file is kept until the commit ends. */
  readonly previous: string;
  /** The staged file's identity: its inode and device, which a rename keeps. */
  readonly ino: number;
  /** The device of the staged file. */
  readonly dev: number;
}

/** How often placing a file is tried before the commit gives up on it. */
const PLACE_ATTEMPTS = 3;

/**
 * Describes staged files for the journal, refusing any that vanished.
 *
 * @param outputs each output's location and paths.
 * @returns the journal's entries.
 * @throws {CommitError} when a staged file is gone; nothing is changed then.
 */
export async function journalEntries(
  outputs: readonly Omit<JournalEntry, "ino" | "dev">[],
): Promise<JournalEntry[]> {
  const entries: JournalEntry[] = [];
  for (const output of outputs) {
    const info = await statOrUndefined(output.staged);
    if (!info?.isFile || info.ino === null || info.dev === null) {
      throw new CommitError(
        `the output staged for bucket '${output.location}' at ${output.staged} is gone, so the ` +
          "run cannot publish it",
        [],
        outputs.map((o) => o.location),
      );
    }
    entries.push({ ...output, ino: info.ino, dev: info.dev });
  }
  return entries;
}

/**
 * Writes a journal atomically: to a temporary file, flushed, then renamed into place.
 *
 * @param path the journal file.
 * @param entries what it records.
 */
export async function writeJournal(path: string, entries: readonly JournalEntry[]): Promise<void> {
  await Deno.mkdir(dirname(path), { recursive: true });
  const temp = `${path}.tmp`;
  const file = await Deno.open(temp, { write: true, create: true, truncate: true });
  try {
    await file.write(new TextEncoder().encode(JSON.stringify({ version: 1, entries })));
    await file.syncData();
  } finally {
    file.close();
  }
  await Deno.rename(temp, path);
}

/**
 * Reads a journal.
 *
 * @param path the journal file.
 * @returns its entries.
 * @throws {StorageError} naming the file when it is not a journal.
 */
export async function readJournal(path: string): Promise<JournalEntry[]> {
  const text = await Deno.readTextFile(path);
  try {
    const journal = JSON.parse(text) as { version?: number; entries?: JournalEntry[] };
    if (journal.version === 1 && Array.isArray(journal.entries)) return journal.entries;
  } catch {
    // reported below
  }
  throw new StorageError(
    `the commit journal ${path} is not readable; it records a run that was publishing its ` +
      "outputs. Check the buckets it names, then delete it",
  );
}

/**
 * Places every entry; when one cannot be placed, puts back every entry placed so far.
 *
 * @param entries the run's outputs, from its journal.
 * @param pending what completes the run when even putting back fails.
 * @throws {CommitError} saying exactly which buckets changed.
 */
export function applyJournal(entries: readonly JournalEntry[], pending: string): Promise<void> {
  return placeAll(entries, {
    place: async (entry) => {
      await placeWithRetry(entry);
      failpoint("local.commit.placed");
    },
    putBack,
    failure: (entry, error) =>
      `bucket '${entry.location}' could not be replaced by its new file (${entry.final}): ${
        firstLine(error)
      }`,
  }, pending);
}

/**
 * Finishes the journal of a run that died while committing: rolls it forward when every output
 * is placed or still staged, puts it back when a staged file is missing.
 *
 * @param entries the journal's entries.
 * @param journal the journal file, for messages.
 * @returns what was done, for the warning a put-back deserves; `undefined` when rolled forward.
 */
export async function finishJournal(
  entries: readonly JournalEntry[],
  journal: string,
): Promise<string | undefined> {
  const missing: JournalEntry[] = [];
  for (const entry of entries) {
    if (!(await isPlaced(entry)) && !(await isStaged(entry))) missing.push(entry);
  }
  if (missing.length === 0) {
    await applyJournal(entries, `the journal ${journal} completes it on the next use`);
    return undefined;
  }
  for (const entry of entries) await putBack(entry);
  return `a run that died while publishing could not be completed: the staged output of ` +
    `${missing.map((e) => `'${e.location}'`).join(", ")} is gone; its buckets were put back ` +
    `as they were before it (journal ${journal})`;
}

async function placeWithRetry(entry: JournalEntry): Promise<void> {
  for (let attempt = 1;; attempt++) {
    try {
      await place(entry);
      return;
    } catch (error) {
      if (attempt >= PLACE_ATTEMPTS || error instanceof CommitError) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50 * 4 ** attempt));
    }
  }
}

async function place(entry: JournalEntry): Promise<void> {
  if (await isPlaced(entry)) return;
  if (!(await isStaged(entry))) {
    throw new CommitError(
      `the output staged for bucket '${entry.location}' at ${entry.staged} is gone`,
      [],
      [entry.location],
    );
  }
  await Deno.mkdir(dirname(entry.final), { recursive: true });
  if (await statOrUndefined(entry.final) && !(await statOrUndefined(entry.previous))) {
    // A second name for the previous file: the bucket's own name never stops naming a file.
    await Deno.mkdir(dirname(entry.previous), { recursive: true });
    await keepPrevious(entry);
    failpoint("local.commit.kept-previous");
  }
  failpoint("local.commit.place");
  await Deno.rename(entry.staged, entry.final);
}

async function keepPrevious(entry: JournalEntry): Promise<void> {
  const temp = `${entry.previous}.tmp`;
  try {
    await Deno.link(entry.final, temp);
  } catch {
    // Another filesystem, or one without hard links: a copy keeps the data as well.
    await Deno.copyFile(entry.final, temp);
  }
  await Deno.rename(temp, entry.previous);
}

async function putBack(entry: JournalEntry): Promise<void> {
  failpoint("local.commit.put-back");
  const placed = await isPlaced(entry);
  if (await statOrUndefined(entry.previous)) {
    if (placed) await Deno.link(entry.final, entry.staged).catch(() => {});
    await Deno.rename(entry.previous, entry.final);
  } else if (placed) {
    await Deno.rename(entry.final, entry.staged);
  }
}

async function isPlaced(entry: JournalEntry): Promise<boolean> {
  const info = await statOrUndefined(entry.final);
  return info !== undefined && info.ino === entry.ino && info.dev === entry.dev;
}

async function isStaged(entry: JournalEntry): Promise<boolean> {
  const info = await statOrUndefined(entry.staged);
  return info !== undefined && info.ino === entry.ino && info.dev === entry.dev;
}

async function statOrUndefined(path: string): Promise<Deno.FileInfo | undefined> {
  try {
    return await Deno.stat(path);
  } catch (error) {
    // A path through something that is not a folder has nothing at it either.
    if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory) {
      return undefined;
    }
    throw error;
  }
}
