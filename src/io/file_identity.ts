/**
 * How a file is recognized without reading it (size, modification time, inode), and its content
 * hash, taken while Glacier has just written it.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";

/**
 * A file's identity: `size:mtimeMs:inode`. A rename keeps it; rewriting the file changes it.
 *
 * @param path the file.
 * @returns the identity, or `undefined` when there is no file.
 */
export async function fileIdentity(path: string): Promise<string | undefined> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory) {
      return undefined;
    }
    throw error;
  }
  return `${info.size}:${info.mtime?.getTime() ?? 0}:${info.ino ?? 0}`;
}

/**
 * Whether two files hold the same bytes: sizes first, then both read side by side in 4 MiB
 * pieces until the first difference.
 *
 * @param a one file.
 * @param b the other.
 * @returns `true` when both exist and are equal.
 */
export async function sameBytes(a: string, b: string): Promise<boolean> {
  let sizes: [number, number];
  try {
    sizes = [(await Deno.stat(a)).size, (await Deno.stat(b)).size];
  } catch {
    return false;
  }
  if (sizes[0] !== sizes[1]) return false;
  using left = await Deno.open(a);
  using right = await Deno.open(b);
  const x = new Uint8Array(1 << 22);
  const y = new Uint8Array(1 << 22);
  for (;;) {
    const n = await readFull(left, x);
    const m = await readFull(right, y);
    if (n !== m) return false;
    if (n === 0) return true;
    if (Buffer.compare(x.subarray(0, n), y.subarray(0, n)) !== 0) return false;
  }
}

async function readFull(file: Deno.FsFile, buffer: Uint8Array): Promise<number> {
  let filled = 0;
  while (filled < buffer.length) {
    const n = await file.read(buffer.subarray(filled));
    if (n === null) break;
    filled += n;
  }
  return filled;
}

/**
 * The SHA-256 of a file's bytes, read in 4 MiB pieces (about 1 GB/s on a core with SHA
 * extensions).
 *
 * @param path the file.
 * @returns `sha256:HEX`.
 */
export async function hashFile(path: string): Promise<string> {
  const hash = createHash("sha256");
  using file = await Deno.open(path);
  const buffer = new Uint8Array(1 << 22);
  for (;;) {
    const n = await file.read(buffer);
    if (n === null) break;
    hash.update(buffer.subarray(0, n));
  }
  return `sha256:${hash.digest("hex")}`;
}
