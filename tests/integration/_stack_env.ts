/**
 * What a shell gets from `source .glacier/stack.env`, for the tests of `glacier stack up`.
 *
 * @module
 */
import assert from "node:assert/strict";

/**
 * Bash sources `envFile` with an empty environment and prints the variables asked for.
 *
 * @param envFile the `stack.env` file.
 * @param names the variables to read.
 * @returns each variable's value (empty when unset).
 */
export async function sourced(
  envFile: string,
  names: readonly string[],
): Promise<Record<string, string>> {
  const script = `set -eu; source "$1"; ${names.map((n) => `printf '%s\\n' "$${n}"`).join("; ")}`;
  const output = await new Deno.Command("bash", {
    args: ["-c", script, "bash", envFile],
    clearEnv: true,
    env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin" },
  }).output();
  assert.ok(output.success, new TextDecoder().decode(output.stderr));
  const values = new TextDecoder().decode(output.stdout).trimEnd().split("\n");
  return Object.fromEntries(names.map((name, i) => [name, values[i]]));
}
