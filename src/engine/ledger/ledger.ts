/**
 * The ledger: what ran, from what. It records each run, each step (its fingerprint, the input
 * versions it read, why it ran or was skipped) and each bucket version (its content identity, rows,
 * bytes, schema, the run and step that wrote it). Runs consult it to skip what is up to date and to
 * say why the rest runs. A bucket never needs it to be read: its data is still the plain file or
 * object at its path.
 *
 * Locally the ledger is a SQLite database under the local root ({@linkcode SqliteLedger}); in
 * cloud mode, objects in the state bucket ({@linkcode S3Ledger}).
 *
 * @module
 */
import type { CheckResult, RunReport, StepReport, StorageMode } from "../../core/reports.ts";
import { contentHash, type Written } from "../../core/session.ts";
import type { CodeParts } from "../fingerprint.ts";

/** The ledger's schema version; a newer ledger is refused, an older one migrated forward. */
export const LEDGER_SCHEMA_VERSION = 1;

/** A bucket version: data a run wrote, or data a run found that Glacier did not write. */
export interface VersionRecord {
  /** The bucket, as `bucket/path`. */
  readonly location: string;
  /** The partition, as `key=value/...`; empty for an unpartitioned bucket. */
  readonly partition: string;
  /** `sha256:HEX` of the data, when it was hashed as it was written. */
  readonly content: string | null;
  /**
   * How the stored data is recognized without reading it: size, modification time and inode of a
   * file, or an object's ETag. Data whose identity differs was changed outside Glacier.
   */
  readonly identity: string;
  /** Rows, when known. */
  readonly rows: number | null;
  /** Bytes. */
  readonly bytes: number | null;
  /** The schema, as `{ id: Int64, ... }`. */
  readonly schema: string;
  /** The run that wrote or first found it. */
  readonly runId: string;
  /** The task that wrote it; `null` for data written outside a run. */
  readonly task: string | null;
  /** The fingerprint of the step that wrote it. */
  readonly fingerprint: string | null;
  /** The parts of that step's code fingerprint. */
  readonly code: CodeParts | null;
  /** The identity of each input that step read, by input name. */
  readonly inputs: Readonly<Record<string, string>> | null;
  /** When it was written, ISO 8601. */
  readonly createdAt: string;
}

/** What the ledger knows of a bucket now. */
export interface CurrentVersion {
  /** The version published last. */
  readonly published?: VersionRecord;
  /**
   * Versions of runs that were publishing when they last wrote to the ledger (one that died half
   * way, say): whichever the stored data matches is the bucket's version.
   */
  readonly pending: readonly VersionRecord[];
}

/**
 * A version of data Glacier did not write (seeded, or changed by hand), as a run finds it.
 *
 * @param location the bucket, as `bucket/path`.
 * @param partition the partition, as `key=value/...`; empty for none.
 * @param schema the bucket's schema, as `{ id: Int64, ... }`.
 * @param identity the stored data's identity.
 * @param runId the run that found it.
 * @returns the version, with no task, fingerprint or content hash.
 */
export function foundVersion(
  location: string,
  partition: string,
  schema: string,
  identity: string,
  runId: string,
): VersionRecord {
  return {
    location,
    partition,
    content: null,
    identity,
    rows: null,
    bytes: null,
    schema,
    runId,
    task: null,
    fingerprint: null,
    code: null,
    inputs: null,
    createdAt: new Date().toISOString(),
  };
}

/**
 * The version a bucket holds: the recorded one whose identity the stored data has.
 *
 * @param current what the ledger knows of the bucket.
 * @param stored the stored data's identity, `undefined` when there is none.
 * @returns the version, or `undefined` when the data is not one Glacier recorded.
 */
export function versionHeld(
  current: CurrentVersion | undefined,
  stored: string | undefined,
): VersionRecord | undefined {
  if (!current || stored === undefined) return undefined;
  if (current.published?.identity === stored) return current.published;
  return current.pending.find((v) => v.identity === stored);
}

/**
 * The identity by which a reader tells versions apart: the content hash when there is one, else
 * the stored identity.
 *
 * @param version a version.
 * @returns the key.
 */
export function versionKey(version: Pick<VersionRecord, "content" | "identity">): string {
  return version.content ?? version.identity;
}

/**
 * The content key of a version a step wrote, the one rule of every run (from a machine or
 * deployed), whatever resource wrote it: the hash of its bytes when whatever staged them took one
 * (so identical bytes get the same key, whoever wrote them); the key of the version the bucket
 * holds when that key is not a hash and the new output has exactly its bytes; else `fresh`, a key
 * of its own. An output with the bytes the bucket holds so keeps its key, the steps downstream
 * see an unchanged input, and the cascade stops there.
 *
 * @param written what the step staged: its size, and its hash when it has one.
 * @param held the version the bucket holds (its key and size), when the ledger knows it.
 * @param sameAsStored whether the staged output holds exactly the bytes the bucket holds, asked
 *   only when the sizes match and the keys cannot tell; absent when nothing can tell.
 * @param fresh the key of an output with no hash and new bytes (`run:<id>:<object>`).
 * @returns the key.
 */
export async function writtenKey(
  written: Pick<Written, "bytes" | "content">,
  held: { readonly key: string; readonly bytes: number | null } | undefined,
  sameAsStored: (() => Promise<boolean>) | undefined,
  fresh: string,
): Promise<string> {
  const own = contentHash(written.content) ?? fresh;
  if (held === undefined || held.bytes !== written.bytes) return own;
  if (contentHash(written.content) && contentHash(held.key)) return own;
  return sameAsStored && await sameAsStored() ? held.key : own;
}

/**
 * Where a version lives in the ledger: the bucket's location, and for a partition
 * `location#key=value/...`.
 *
 * @param location the bucket, `bucket/path`.
 * @param partition the partition as text; empty for none.
 * @returns the slot.
 */
export function versionSlot(location: string, partition: string): string {
  return partition === "" ? location : `${location}#${partition}`;
}

/** A run as the ledger lists it. */
export interface RunSummary {
  /** The run's id. */
  readonly runId: string;
  /** The pipeline's (or module's) name. */
  readonly pipeline: string;
  /** `local` or `cloud`. */
  readonly mode: StorageMode;
  /** `running`, `publishing`, `succeeded` or `failed`. */
  readonly status: "running" | "publishing" | "succeeded" | "failed";
  /** When it started, ISO 8601. */
  readonly startedAt: string;
  /** Wall time in seconds, once it ended. */
  readonly seconds: number | null;
  /** Steps that ran. */
  readonly ran: number;
  /** Steps skipped. */
  readonly skipped: number;
  /** Steps that failed. */
  readonly failed: number;
  /** The host and process that ran it. */
  readonly host: string;
  /** Its process id. */
  readonly pid: number;
  /** The error, for a failed run. */
  readonly error: string | null;
}

/** A run with its steps. */
export interface RunRecord extends RunSummary {
  /** Each step, in the order they finished. */
  readonly steps: readonly StepReport[];
}

/** What a run tells the ledger when it starts. */
export interface RunStart {
  /** The run's id. */
  readonly runId: string;
  /** The pipeline's name. */
  readonly pipeline: string;
  /** The mode. */
  readonly mode: StorageMode;
  /** When it started. */
  readonly startedAt: string;
}

/** A store of runs, steps and versions. */
export interface Ledger {
  /** Where it is, for messages: a file path or an `s3://` URI. */
  readonly where: string;
  /**
   * What the ledger knows of buckets now, and of each of their partitions.
   *
   * @param locations the buckets, as `bucket/path`.
   * @returns what it knows, by {@linkcode versionSlot} (the location for an unpartitioned
   *   bucket); buckets and partitions it never saw are absent.
   */
  current(locations: readonly string[]): Promise<Map<string, CurrentVersion>>;
  /**
   * Records that a run started; runs that died without ending are marked failed first.
   *
   * @param run the run.
   */
  startRun(run: RunStart): Promise<void>;
  /**
   * Records what a step did, as soon as it ends (so a run in progress can be watched).
   *
   * @param runId the run.
   * @param report the step.
   */
  recordStep(runId: string, report: StepReport): Promise<void>;
  /**
   * Records the versions a run is about to publish, before any is placed: from here on, a
   * bucket whose data is one of them holds it, even if the run dies before it says it published.
   *
   * @param runId the run.
   * @param versions the versions.
   */
  prepare(runId: string, versions: readonly VersionRecord[]): Promise<void>;
  /**
   * Makes the prepared versions current and ends the run, in one transaction.
   *
   * @param report the run's report.
   * @param identities each published bucket's stored identity after placing, by
   *   {@linkcode versionSlot}.
   * @param dropped the slots of prepared versions that were not published after all (partitions
   *   whose commit failed); they never become current.
   */
  publish(
    report: RunReport,
    identities: ReadonlyMap<string, string>,
    dropped?: ReadonlySet<string>,
  ): Promise<void>;
  /**
   * Ends a run that published nothing.
   *
   * @param report the run's report.
   */
  fail(report: RunReport): Promise<void>;
  /**
   * Recent runs, newest first.
   *
   * @param limit how many.
   * @returns the runs.
   */
  runs(limit: number): Promise<RunSummary[]>;
  /**
   * One run with its steps.
   *
   * @param runId the run's id (a unique prefix is enough).
   * @returns the run, or `undefined` when there is none.
   */
  run(runId: string): Promise<RunRecord | undefined>;
  /**
   * The quality-check results recorded for a bucket version.
   *
   * @param versionKey the version's key ({@linkcode versionKey}).
   * @returns each result, by the check's definition hash.
   */
  checkResults(versionKey: string): Promise<Map<string, CheckResult>>;
  /**
   * Records quality-check results of a bucket version. A result depends only on the data and the
   * check's definition, so it holds for that version whichever run found it.
   *
   * @param runId the run that ran the checks.
   * @param versionKey the version's key.
   * @param results each result, by the check's definition hash.
   */
  recordChecks(
    runId: string,
    versionKey: string,
    results: ReadonlyMap<string, CheckResult>,
  ): Promise<void>;
  /**
   * Removes runs that started before a time, with their steps and the versions they wrote that
   * are no longer current (current versions stay: they are what the next run compares with).
   *
   * @param before the cut-off.
   * @returns how many runs were removed.
   */
  prune(before: Date): Promise<number>;
  /** Lets go of the database or connection. */
  close(): void;
}

/** The default retention of runs in the ledger, in days (`glacier MODULE runs --prune`). */
export const DEFAULT_RETENTION_DAYS = 90;
