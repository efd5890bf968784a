/**
 * Compile-time wiring checks. Each check resolves to `true` when the wiring is right, or to the
 * message that `messages.ts` prints at run time for the same mistake.
 *
 * @module
 */
import type { DtypeName } from "./dtypes.ts";
import type { Schema } from "./schema.ts";

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

type Given<I extends string> = string extends I ? "" : ` given as '${I}'`;

/**
 * The messages for a bucket of schema `Have` (named `B`) that feeds input `Want` of task `T`.
 *
 * @internal
 */
export type FeedErrors<
  Have extends Schema,
  Want extends Schema,
  Names extends { bucket: string; task: string; input: string },
> = {
  [C in keyof Want & string]: C extends keyof Have ? Same<Have[C], Want[C]> extends true ? never
    : `column '${C}' of bucket '${Names["bucket"]}' is ${DtypeName<Have[C]>} but task '${Names[
      "task"
    ]}' reads ${DtypeName<Want[C]>}`
    : `bucket '${Names["bucket"]}'${Given<Names["input"]>} lacks column '${C}' that task '${Names[
      "task"
    ]}' reads`;
}[keyof Want & string];

/**
 * The messages for task `T`, whose output is `Out`, written to bucket `B` of schema `Have`.
 *
 * @internal
 */
export type ExactErrors<
  Out extends Schema,
  Have extends Schema,
  Names extends { bucket: string; task: string },
> =
  | {
    [C in keyof Out & string]: C extends keyof Have ? Same<Out[C], Have[C]> extends true ? never
      : `column '${C}' is ${DtypeName<Out[C]>} in the output of task '${Names[
        "task"
      ]}' but ${DtypeName<Have[C]>} in bucket '${Names["bucket"]}'`
      : `task '${Names["task"]}' writes column '${C}' that bucket '${Names[
        "bucket"
      ]}' does not have`;
  }[keyof Out & string]
  | {
    [C in keyof Have & string]: C extends keyof Out ? never
      : `bucket '${Names["bucket"]}' has column '${C}' that task '${Names["task"]}' does not write`;
  }[keyof Have & string];
