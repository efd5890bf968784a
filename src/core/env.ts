/**
 * Environment variables as Glacier reads them: an empty variable counts as unset, and a process
 * without permission to read the environment sees none.
 *
 * @module
 */

/**
 * A variable's value.
 *
 * @param name the variable.
 * @returns its value, or `undefined` when it is unset, empty or cannot be read.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { env } from "./env.ts";
 * Deno.env.set("GLACIER_EXAMPLE", "");
 * assert.equal(env("GLACIER_EXAMPLE"), undefined);
 * ```
 */
export function env(name: string): string | undefined {
  try {
    const value = Deno.env.get(name);
    return value === undefined || value === "" ? undefined : value;
  } catch {
    return undefined;
  }
}
