/**
 * Locks between processes on one filesystem: an OS file lock (`flock`) on a lock file, which the
 * kernel releases when the holding process ends, however it ends. It works across PID namespaces
 * and containers that share the volume, because it never looks a process up: whoever holds the
 * lock is alive.
 *
 * The file holds a description of its holder (run, host, pid, since) while it is held, for
 * messages; it is emptied before the lock is released.
 *
 * @module
 */
import { dirname } from "node:path";
import { hostname } from "node:os";

/** Who holds a lock, as its holder wrote it. */
export interface LockHolder {
  /** The run (or `write`) that holds it. */
  readonly run: string;
  /** The host it runs on. */
  readonly host: string;
  /** Its process id, as seen in its own PID namespace. */
  readonly pid: number;
  /** When it took the lock. */
  readonly since: string;
}

/**
 * This process as a lock holder.
 *
 * @param run the run's id, or what the holder is doing.
 * @returns the description written into lock files.
 */
export function holderHere(run: string): LockHolder {
  return { run, host: hostname(), pid: Deno.pid, since: new Date().toISOString() };
}

/** A held file lock. */
export class FileLock {
  readonly #file: Deno.FsFile;
  /** The lock file. */
  readonly path: string;

  private constructor(file: Deno.FsFile, path: string) {
    this.#file = file;
    this.path = path;
  }

  /**
   * Takes the lock when it is free, without waiting.
   *
   * @param path the lock file (created when missing).
   * @param holder who takes it (and what it holds it for), written into the file.
   * @returns the held lock, or `undefined` when someone else holds it.
   */
  static async tryAcquire(path: string, holder: object): Promise<FileLock | undefined> {
    await Deno.mkdir(dirname(path), { recursive: true });
    for (;;) {
      const file = await Deno.open(path, { read: true, write: true, create: true });
      let held = false;
      try {
        held = await file.tryLock(true);
        // A lock file removed and made anew while we waited is not the lock any more: try again.
        if (held && !(await sameFile(file, path))) {
          held = false;
          continue;
        }
      } finally {
        if (!held) file.close();
      }
      if (!held) return undefined;
      await file.truncate(0);
      await writeAll(file, holder);
      return new FileLock(file, path);
    }
  }

  /**
   * Takes the lock, waiting up to `seconds` for its holder to let go.
   *
   * @param path the lock file.
   * @param holder who takes it.
   * @param seconds how long to wait; 0 does not wait.
   * @returns the held lock, or `undefined` when it was still held after the wait.
   */
  static async acquire(
    path: string,
    holder: LockHolder,
    seconds: number,
  ): Promise<FileLock | undefined> {
    const deadline = Date.now() + seconds * 1000;
    let pause = 20;
    for (;;) {
      const lock = await FileLock.tryAcquire(path, holder);
      if (lock || Date.now() >= deadline) return lock;
      await new Promise((resolve) => setTimeout(resolve, Math.min(pause, deadline - Date.now())));
      pause = Math.min(pause * 2, 500);
    }
  }

  /**
   * Who holds a lock, as written in its file; `undefined` when it is free or being taken.
   *
   * @param path the lock file.
   * @returns the holder, if one is written.
   */
  static async holderOf(path: string): Promise<LockHolder | undefined> {
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        const text = await Deno.readTextFile(path);
        if (text) return JSON.parse(text) as LockHolder;
      } catch (error) {
        if (error instanceof Deno.errors.NotFound) return undefined;
        if (!(error instanceof SyntaxError)) throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return undefined;
  }

  /**
   * Replaces what the file says of its holder, while the lock is held.
   *
   * @param holder the new description.
   */
  async rewrite(holder: object): Promise<void> {
    await this.#file.truncate(0);
    await this.#file.seek(0, Deno.SeekMode.Start);
    await writeAll(this.#file, holder);
  }

  /**
   * Releases the lock; with `remove`, deletes the lock file first (for locks of one run only).
   *
   * @param remove whether to delete the file.
   */
  async release(remove = false): Promise<void> {
    try {
      if (remove) await Deno.remove(this.path).catch(() => {});
      else await this.#file.truncate(0);
    } finally {
      this.#file.close();
    }
  }
}

async function writeAll(file: Deno.FsFile, holder: object): Promise<void> {
  const bytes = new TextEncoder().encode(JSON.stringify(holder));
  for (let done = 0; done < bytes.length;) done += await file.write(bytes.subarray(done));
}

async function sameFile(file: Deno.FsFile, path: string): Promise<boolean> {
  try {
    const [open, named] = await Promise.all([file.stat(), Deno.stat(path)]);
    return open.ino === named.ino && open.dev === named.dev;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}
