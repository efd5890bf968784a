/**
 * Compile-time assertions for the type tests: `assertType<IsExact<A, B>>()` fails `deno check`
 * unless `A` and `B` are the same type.
 *
 * @module
 */

/** `true` when `A` and `B` are mutually assignable in the strictest sense, else `false`. */
export type IsExact<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2)
  ? true
  : false;

/** `true` when `A` is assignable to `B`. */
export type Extends<A, B> = [A] extends [B] ? true : false;

/** Compiles only when `T` is `true`; does nothing at run time. */
export function assertType<T extends true>(): T | void {}
