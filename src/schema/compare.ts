/**
 * Schema equality.
 *
 * @module
 */
import { sameDtype } from "./dtypes.ts";
import type { Schema } from "./schema.ts";

/**
 * Whether two schemas have the same columns with the same dtypes (order ignored).
 *
 * @param a one schema.
 * @param b the other.
 * @returns `true` when they match.
 */
export function sameSchema(a: Schema, b: Schema): boolean {
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((k) => b[k] !== undefined && sameDtype(a[k], b[k]));
}
