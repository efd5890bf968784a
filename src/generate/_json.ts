/**
 * Canonical JSON: object keys sorted, two-space indentation, a final newline. The same value
 * gives the same bytes on every machine.
 *
 * @module
 */
import { byText } from "../core/deploy/names.ts";

/**
 * A value with every object's keys sorted, arrays kept in order.
 *
 * @param value a JSON value.
 * @returns the same value, keys sorted.
 */
export function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>).sort((a, b) =>
      byText(a[0], b[0])
    );
    return Object.fromEntries(entries.map(([k, v]) => [k, sortKeys(v)]));
  }
  return value;
}

/**
 * The canonical text of a JSON value.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { canonicalJson } from "./_json.ts";
 * assert.equal(canonicalJson({ b: 1, a: [2, { d: 3, c: 4 }] }) === canonicalJson({ a: [2, { c: 4, d: 3 }], b: 1 }), true);
 * ```
 *
 * @param value a JSON value.
 * @returns its text, keys sorted, with a final newline.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value), null, 2) + "\n";
}
