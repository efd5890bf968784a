/**
 * Compile-time partition checks: a bucket's `{placeholders}` against its keys, and the mapping
 * from a step's inputs to its target. Each message is the twin of one in `messages.ts`.
 *
 * @module
 */
import type { PartitionKeys } from "./partitions.ts";

/** The `{placeholders}` of a path, as a union of names. */
export type Placeholders<P extends string> = P extends `${string}{${infer K}}${infer R}`
  ? K | Placeholders<R>
  : never;

/**
 * The messages for a bucket declared at `L` with path `P`, columns `C` and keys `K`.
 *
 * @internal
 */
export type DeclarationErrors<L extends string, P extends string, C, K> =
  | {
    [H in Placeholders<P>]: H extends keyof K ? never
      : `path of bucket '${L}' has placeholder '{${H}}' but no partition key '${H}'`;
  }[Placeholders<P>]
  | {
    [Key in keyof K & string]: Key extends Placeholders<P>
      ? Key extends keyof C
        ? `partition key '${Key}' of bucket '${L}' is also a column of its schema; rename one (reading every partition adds the key as a column)`
      : never
      : `partition key '${Key}' of bucket '${L}' has no placeholder '{${Key}}' in its path`;
  }[keyof K & string];

/** What a step's check needs to know of one input: where it is and its keys. */
export interface SourceParts {
  /** `bucket/path`. */
  readonly location: string;
  /** Its partition keys. */
  readonly partitions: PartitionKeys;
}

type KindOf<D> = D extends { readonly kind: infer K extends string; readonly timezone: infer Z }
  ? string extends Z ? K : [Z] extends [undefined] ? K : `${K} in ${Z & string}`
  : D extends { readonly kind: infer K extends string } ? K
  : never;

/**
 * The messages for inputs `Src` (a union, one member per input) feeding a target at `TL` with
 * keys `TK`, written by task `N`; `never` when every input maps.
 *
 * @internal
 */
export type MappingErrors<Src, TL extends string, TK, N extends string> = [keyof TK] extends [never]
  ? never
  : Src extends { readonly location: infer SL extends string; readonly partitions: infer SK }
    ? [keyof SK] extends [never] ? never
    :
      | {
        [Key in keyof SK & string]: Key extends keyof TK
          ? KindOf<SK[Key]> extends KindOf<TK[Key]> ? never
          : `partition key '${Key}' is ${KindOf<SK[Key]>} in bucket '${SL}' but ${KindOf<
            TK[Key]
          >} in bucket '${TL}' that task '${N}' writes; only the same partitions map to each other`
          : `bucket '${SL}' is partitioned by '${Key}' but bucket '${TL}' that task '${N}' writes is not; give them the same keys, or leave the target unpartitioned to read every partition as one frame`;
      }[keyof SK & string]
      | {
        [Key in Exclude<keyof TK, keyof SK> & string]:
          `bucket '${TL}' that task '${N}' writes is partitioned by '${Key}' but bucket '${SL}' that it reads is not; give them the same keys, or leave the input unpartitioned to read it whole`;
      }[Exclude<keyof TK, keyof SK> & string]
  : never;
