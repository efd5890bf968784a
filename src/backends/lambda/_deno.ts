/**
 * Running this Deno for what the packager needs of it (`deno info`, `deno install`): quietly, and
 * with its own error text in the message when it fails.
 *
 * @module
 */
import { GlacierError } from "../../core/errors.ts";

/**
 * Runs `deno <args>` and returns what it printed.
 *
 * @param args the subcommand and its arguments.
 * @param what what the command does, for the message: `cannot ${what}: <deno's error>`.
 * @param cwd where to run it.
 * @returns its standard output.
 * @throws {GlacierError} with Deno's own error when it fails.
 */
export async function runDeno(
  args: readonly string[],
  what: string,
  cwd?: string,
): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [...args],
    ...(cwd ? { cwd } : {}),
    env: { DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new GlacierError(`cannot ${what}: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
  return new TextDecoder().decode(out.stdout);
}
