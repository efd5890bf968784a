/**
 * The contract between a run and its storage and executors: a session gives inputs as validated
 * lazy frames and stages outputs until the run commits them all, or drops them all; an executor
 * runs one step against a session.
 *
 * @module
 */
import type pl from "../polars.ts";
import type { PipelineGraph } from "./graph.ts";
import type { BucketRef, Step } from "./lineage.ts";
import type { Mapping } from "./partition_map.ts";
import type { PartitionValues } from "./partitions.ts";
import type { CheckResult } from "./reports.ts";

/** Rows and bytes of one staged output, and the results of its bucket's quality checks. */
export interface Written {
  /** Rows written. */
  readonly rows: number;
  /** Bytes written. */
  readonly bytes: number;
  /**
   * `sha256:HEX` (lowercase) of exactly the bytes stored at the staging key, when whatever staged
   * them hashed them: the session for outputs computed in-process, the function or job for
   * outputs staged by a remote executor.
   */
  readonly content?: string;
  /**
   * The staged data's stored identity (see {@linkcode RunSession.stored}), when it keeps it as it
   * is placed (a renamed file keeps its size, time and inode).
   */
  readonly identity?: string;
  /**
   * The target bucket's quality checks, run on the staged output before publishing: present when
   * it has checks. (A failing `error` check throws a `CheckFailedError` instead.)
   */
  readonly checks?: readonly CheckResult[];
}

/**
 * A content hash as a remote executor reports it, when it is one: `sha256:` and 64 lowercase hex
 * digits, the form {@linkcode Written.content} takes.
 *
 * @param value what the executor answered.
 * @returns the hash, or `undefined` when the value is not one.
 */
export function contentHash(value: unknown): string | undefined {
  return typeof value === "string" && /^sha256:[0-9a-f]{64}$/.test(value) ? value : undefined;
}

/**
 * A new run id: the time it started and a random suffix, `2026-12-06T08-51-24-123Z-1a2b3c4d`, so
 * ids sort by time.
 *
 * @returns the id.
 */
export function newRunId(): string {
  return `${new Date().toISOString().replace(/[:.]/g, "-")}-${crypto.randomUUID().slice(0, 8)}`;
}

/** One run's view of storage. Nothing it stages is visible to others before `commit()`. */
export interface RunSession {
  /** The run's id, which names its locks, staging and ledger entries. */
  readonly runId: string;
  /**
   * Where a bucket's data lives, for messages: a path or an `s3://` URI.
   *
   * @param ref the bucket.
   * @returns its location.
   */
  uriOf(ref: BucketRef): string;
  /**
   * The identity of a bucket's published data, learned without reading it (a file's size,
   * modification time and inode; an object's ETag), so a change made outside Glacier is noticed.
   *
   * @param ref the bucket.
   * @returns the identity, or `undefined` when the bucket has no data.
   */
  stored(ref: BucketRef): Promise<string | undefined>;
  /**
   * The partitions of a partitioned bucket that have published data.
   *
   * @param ref the bucket (its path with placeholders).
   * @returns each partition's values.
   */
  partitions(ref: BucketRef): Promise<PartitionValues[]>;
  /**
   * Whether the output this run staged for a bucket holds exactly the bytes the bucket holds now,
   * for an output staged with no hash: two local files side by side, or two objects (their MD5
   * ETags, else their bytes). A run asks only when the sizes match.
   *
   * @param ref the bucket.
   * @returns `true` when they are equal.
   */
  sameAsStored?(ref: BucketRef): Promise<boolean>;
  /**
   * A bucket's data as this run sees it: its staged output when this run produced it, else its
   * stored data; validated against the bucket's schema, limited to its columns.
   *
   * @param ref the bucket.
   * @param missing what to say when there is no data.
   * @returns the lazy frame.
   */
  input(ref: BucketRef, missing: string): Promise<pl.LazyDataFrame>;
  /**
   * Runs a plan into a bucket's staged output.
   *
   * @param ref the bucket.
   * @param plan the plan, already checked against the bucket's schema.
   * @returns rows and bytes written.
   */
  output(ref: BucketRef, plan: pl.LazyDataFrame): Promise<Written>;
  /**
   * Makes the staged outputs of some buckets (one partition's outputs across its buckets) their
   * data, all together, and keeps the session open for the rest.
   *
   * @param outputs the buckets or partitions, as staged.
   * @throws {CommitError} saying exactly which changed; one that changed nothing leaves the
   *   session open (those outputs are dropped), one that changed some ends it.
   */
  publish(outputs: readonly BucketRef[]): Promise<void>;
  /**
   * Makes sure the run holds what it writes: the session's locks cover each bucket or partition,
   * taking what they lack without waiting (a run's work, known once it begins, may name a
   * partition its locks did not foresee).
   *
   * @param refs the buckets and partitions the run writes.
   * @throws {StorageError} naming the holder and the partitions when another run writes some.
   */
  hold?(refs: readonly BucketRef[]): Promise<void>;
  /** Makes every staged output the bucket's data, all together, and ends the session. */
  commit(): Promise<void>;
  /** Drops every staged output; every bucket keeps its previous data. */
  abort(): Promise<void>;
}

/** An S3 object, as remote executors address it. */
export interface ObjectAddress {
  /** The S3 bucket. */
  readonly bucket: string;
  /** The key. */
  readonly key: string;
}

/**
 * A session whose buckets are objects that tasks running elsewhere (a Lambda function, a Spark
 * job) read and write themselves.
 */
export interface RemoteRunSession extends RunSession {
  /**
   * Where a remote task reads a bucket: the output this run staged for it, else its object.
   *
   * @param ref the bucket.
   * @returns the object.
   */
  locate(ref: BucketRef): ObjectAddress;
  /**
   * Where a remote task writes a bucket's output for this run.
   *
   * @param ref the bucket.
   * @returns the staging object.
   */
  stagingFor(ref: BucketRef): ObjectAddress;
  /**
   * Records that a remote task wrote a bucket's staged output, so the commit moves it into place.
   *
   * @param ref the bucket.
   * @returns its size in bytes.
   */
  stagedRemotely(ref: BucketRef): Promise<number>;
}

/**
 * Whether a session lets remote executors read and write its buckets.
 *
 * @param session a run's session.
 * @returns `true` for a remote-capable session.
 */
export function isRemoteSession(session: RunSession): session is RemoteRunSession {
  return typeof (session as RemoteRunSession).stagedRemotely === "function";
}

/** One partition a step reads of an input. */
export interface InputPartition {
  /** The partition, as a bucket of its own. */
  readonly ref: BucketRef;
  /** Its key values. */
  readonly partition: PartitionValues;
}

/** What an executor knows of the run around its step. */
export interface StepContext {
  /** The pipeline's name. */
  readonly pipeline: string;
  /**
   * What to say when a source bucket has no data.
   *
   * @param step the step.
   * @param input the input's name.
   * @returns the message.
   */
  missing(step: Step, input: string): string;
  /** The partition the step computes; `{}` (or absent) for an unpartitioned target. */
  readonly partition?: PartitionValues;
  /**
   * Reads an input as this step sees it: its partition, a window of partitions, or every
   * partition with the keys as columns. Absent: read `step.sources[input]` through the session.
   */
  readonly read?: (input: string) => Promise<pl.LazyDataFrame>;
  /**
   * What the step reads of each input, by name: how, and which partitions in order (for an
   * unpartitioned input, the bucket), for an executor that tells a task elsewhere where to read.
   * Absent: each input is `step.sources[input]`, read whole.
   */
  readonly inputs?: Readonly<
    Record<string, {
      readonly mapping: Mapping;
      readonly parts: readonly InputPartition[];
    }>
  >;
  /**
   * Aborted when the step passes its timeout: the run has failed by then, and an executor that can
   * stop its work (a Spark job) stops it.
   */
  readonly signal?: AbortSignal;
}

/** One unit of work an executor may run with others in one job: one step over one partition. */
export interface WorkUnit {
  /** The step, its sources and target resolved to the unit's partition. */
  readonly step: Step;
  /** The run around it (its `signal` is the whole job's, given to `runMany`). */
  readonly context: StepContext;
}

/** What one unit of a job did: what it wrote, or the error that failed it alone. */
export type UnitOutcome =
  | { readonly ok: true; readonly written: Written }
  | { readonly ok: false; readonly error: unknown };

/** Which units an executor runs together in one job, through `runMany`. */
export interface Grouping {
  /** Units whose steps have the same key may share a job (the same Spark, the same resources). */
  readonly key: string;
  /**
   * Whether a job may also carry units of the steps right downstream with the same key (a chain
   * of steps), each unit reading the output another staged in the same job; otherwise a job
   * carries units of one step.
   */
  readonly chains: boolean;
  /** The most units of one step a job carries; more go to further jobs. */
  readonly size: number;
}

/** Runs one step against a session and says what it wrote. */
export type StepExecutor = (
  step: Step,
  session: RunSession,
  context: StepContext,
) => Promise<Written>;

/** A cloud-mode executor for a remote resource kind. */
export interface RemoteExecutor {
  /** Runs one step. */
  readonly run: StepExecutor;
  /**
   * Refuses, before the run reads or writes anything, steps that clearly cannot succeed on this
   * resource (an input far larger than a function's memory, say).
   *
   * @param graph the pipeline about to run.
   */
  preflight?(graph: PipelineGraph): Promise<void>;
  /**
   * What its steps can read of a partitioned input: `same` (one partition; without a window unless
   * `lookback` is `true`) and `all` (every partition as one frame). An unpartitioned input is
   * always read whole. A step that reads otherwise is refused before the run reads anything.
   * Default: `same` without a window.
   */
  readonly reads?: { readonly all?: boolean; readonly lookback?: boolean };
  /**
   * Whether a task on this resource gets its partition's key values (default: it does not, and a
   * task whose plan uses its key is refused before the run reads anything).
   */
  readonly partitionKeys?: boolean;
  /**
   * Whether each step is an invocation that waits on work elsewhere (a Lambda function): the run
   * then starts up to its `invocations` (default 8) of them at once, beside its `concurrency`
   * in-process steps.
   */
  readonly invocations?: boolean;
  /**
   * How this executor groups a step's units into jobs; `undefined` (or absent) runs each unit on
   * its own through `run`. A run hands the units of a step that must run (those the ledger does
   * not find up to date) to `runMany` together, and, where `chains` allows, the units downstream
   * that must run whatever their upstream writes.
   *
   * @param step a step on this executor's resource.
   * @returns its grouping, if any.
   */
  grouping?(step: Step): Grouping | undefined;
  /**
   * Runs several units in one job (one Spark application, say), each writing its own staged
   * output and ending on its own: one unit's failure is its outcome, and the others still report
   * theirs. A unit whose source is another unit's target reads that unit's staged output.
   *
   * @param units the units, each after the units whose output it reads.
   * @param session the run's storage.
   * @param signal aborted when the job passes its timeout.
   * @returns each unit's outcome, in order.
   * @throws only when the job could not run at all; every unit has then failed with that error.
   */
  runMany?(
    units: readonly WorkUnit[],
    session: RunSession,
    signal?: AbortSignal,
  ): Promise<UnitOutcome[]>;
  /**
   * Releases what the executor held for the run (a Spark Connect session); called once when the
   * run ends, however it ends.
   */
  close?(): Promise<void>;
}
