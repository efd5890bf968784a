/**
 * Replacing a file in one step: whatever writes it writes a temporary file beside it, which is
 * renamed over the file when complete, so a reader sees the old file or the new one, never half
 * of one, and a failure leaves the old file and no temporary behind.
 *
 * @module
 */
import { dirname } from "node:path";

/**
 * Replaces `path` with what `write` puts in a temporary file beside it.
 *
 * @param path the file to replace (its folder is created when missing).
 * @param write writes the new content into the temporary file it is given.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { replaceFile } from "./files.ts";
 * const path = `${await Deno.makeTempDir()}/settings.json`;
 * await replaceFile(path, (temporary) => Deno.writeTextFile(temporary, "{}"));
 * assert.equal(await Deno.readTextFile(path), "{}");
 * ```
 */
export async function replaceFile(
  path: string,
  write: (temporary: string) => Promise<unknown>,
): Promise<void> {
  await Deno.mkdir(dirname(path), { recursive: true });
  const temporary = `${path}.${crypto.randomUUID()}.partial`;
  try {
    await write(temporary);
    await Deno.rename(temporary, path);
  } catch (error) {
    await Deno.remove(temporary).catch(() => {});
    throw error;
  }
}

/**
 * Replaces a text file in one step.
 *
 * @param path the file.
 * @param text its new content.
 * @param options the file's mode, for a new file.
 */
export function replaceTextFile(
  path: string,
  text: string,
  options: { mode?: number } = {},
): Promise<void> {
  return replaceFile(path, (temporary) => Deno.writeTextFile(temporary, text, options));
}
