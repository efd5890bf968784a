/**
 * Compile-time wiring checks. Each check resolves to the messages that `messages.ts` prints at run
 * time for the same mistake, or to `never` when the wiring is right.
 *
 * @module
 */
import type pl from "../polars.ts";
import type { DtypeName } from "./dtypes.ts";
import type { Schema } from "./schema.ts";

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

type Given<I extends string> = string extends I ? "" : ` given as '${I}'`;

type Fields = Record<string, pl.DataType>;

/** The statically known fields of a struct dtype, or `never`. */
type FieldsOf<D> = D extends { readonly variant: "Struct"; readonly "~fields"?: infer F }
  ? [F] extends [Fields] ? Fields extends F ? never : F : never
  : never;

/** Both dtypes are structs whose fields are known: compare them field by field. */
type BothStructs<A, B> = [FieldsOf<A>] extends [never] ? false
  : [FieldsOf<B>] extends [never] ? false
  : true;

type FeedNames = { bucket: string; task: string; input: string };

type FeedColumnError<H, W, C extends string, N extends FeedNames> = BothStructs<H, W> extends true
  ? FeedFieldErrors<FieldsOf<H>, FieldsOf<W>, C, N>
  : `column '${C}' of bucket '${N["bucket"]}' is ${DtypeName<H>} but task '${N[
    "task"
  ]}' reads ${DtypeName<W>}`;

type FeedFieldErrors<HF, WF, C extends string, N extends FeedNames> =
  | {
    [K in keyof WF & string]: K extends keyof HF ? Same<HF[K], WF[K]> extends true ? never
      : `field '${K}' of column '${C}' of bucket '${N["bucket"]}' is ${DtypeName<
        HF[K]
      >} but task '${N["task"]}' reads ${DtypeName<WF[K]>}`
      : `column '${C}' of bucket '${N["bucket"]}' lacks field '${K}' that task '${N[
        "task"
      ]}' reads`;
  }[keyof WF & string]
  | {
    [K in Exclude<keyof HF, keyof WF> & string]:
      `column '${C}' of bucket '${N["bucket"]}' has field '${K}' that task '${N[
        "task"
      ]}' does not read`;
  }[Exclude<keyof HF, keyof WF> & string];

/**
 * Whether `Have` has every column of `Want` with the same dtype: two relations between whole
 * schemas, which hold exactly when every column's own check finds nothing. Wiring that is right
 * then costs no message types. The second relation is tried on `Have` itself first, which is
 * free when the bucket and the input share their schema, before `Have` cut to `Want`'s columns.
 */
type Feeds<Have, Want> = [Have] extends [Want] ? [Want] extends [Have] ? true
  : [Want] extends [Pick<Have, keyof Want & keyof Have>] ? true
  : false
  : false;

/**
 * The messages for a bucket of schema `Have` that feeds input `Want` of a task.
 *
 * @internal
 */
export type FeedErrors<Have extends Schema, Want extends Schema, Names extends FeedNames> =
  Feeds<Have, Want> extends true ? never : ColumnFeedErrors<Have, Want, Names>;

type ColumnFeedErrors<Have extends Schema, Want extends Schema, Names extends FeedNames> = {
  [C in keyof Want & string]: C extends keyof Have
    ? Same<Have[C], Want[C]> extends true ? never : FeedColumnError<Have[C], Want[C], C, Names>
    : `bucket '${Names["bucket"]}'${Given<Names["input"]>} lacks column '${C}' that task '${Names[
      "task"
    ]}' reads`;
}[keyof Want & string];

type ExactNames = { bucket: string; task: string };

type ExactColumnError<O, H, C extends string, N extends ExactNames> = BothStructs<O, H> extends true
  ? ExactFieldErrors<FieldsOf<O>, FieldsOf<H>, C, N>
  : `column '${C}' is ${DtypeName<O>} in the output of task '${N["task"]}' but ${DtypeName<
    H
  >} in bucket '${N["bucket"]}'`;

type ExactFieldErrors<OF, HF, C extends string, N extends ExactNames> =
  | {
    [K in keyof OF & string]: K extends keyof HF ? Same<OF[K], HF[K]> extends true ? never
      : `field '${K}' of column '${C}' is ${DtypeName<OF[K]>} in the output of task '${N[
        "task"
      ]}' but ${DtypeName<HF[K]>} in bucket '${N["bucket"]}'`
      : `task '${N["task"]}' writes field '${K}' of column '${C}' that bucket '${N[
        "bucket"
      ]}' does not have`;
  }[keyof OF & string]
  | {
    [K in Exclude<keyof HF, keyof OF> & string]:
      `column '${C}' of bucket '${N["bucket"]}' has field '${K}' that task '${N[
        "task"
      ]}' does not write`;
  }[Exclude<keyof HF, keyof OF> & string];

/**
 * The messages for a task whose output is `Out`, written to a bucket of schema `Have`. Equal
 * schemas, the right wiring, are told apart first, as one relation each way.
 *
 * @internal
 */
export type ExactErrors<Out extends Schema, Have extends Schema, Names extends ExactNames> =
  Same<Out, Have> extends true ? never : ColumnExactErrors<Out, Have, Names>;

type ColumnExactErrors<Out extends Schema, Have extends Schema, Names extends ExactNames> =
  | {
    [C in keyof Out & string]: C extends keyof Have
      ? Same<Out[C], Have[C]> extends true ? never : ExactColumnError<Out[C], Have[C], C, Names>
      : `task '${Names["task"]}' writes column '${C}' that bucket '${Names[
        "bucket"
      ]}' does not have`;
  }[keyof Out & string]
  | {
    [C in keyof Have & string]: C extends keyof Out ? never
      : `bucket '${Names["bucket"]}' has column '${C}' that task '${Names["task"]}' does not write`;
  }[keyof Have & string];
