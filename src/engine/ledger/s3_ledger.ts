/**
 * The cloud ledger: objects in the state bucket, written with S3 conditional writes. One object,
 * `ledger/head.json`, holds every bucket's current and pending versions, so a run's publish is
 * one conditional write of it (`If-Match`), retried over a fresh copy when another run wrote it
 * meanwhile; each run is its own object, `ledger/runs/<run id>.json`.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { hostname } from "node:os";
import { StorageError } from "../../core/errors.ts";
import type { CheckResult, RunReport, StepReport } from "../../core/reports.ts";
import type { S3Storage } from "../../io/s3/s3_storage.ts";
import {
  type CurrentVersion,
  type Ledger,
  LEDGER_SCHEMA_VERSION,
  type RunRecord,
  type RunStart,
  type RunSummary,
  type VersionRecord,
  versionSlot,
} from "./ledger.ts";

const HEAD = "ledger/head.json";
const RUNS = "ledger/runs/";
const ATTEMPTS = 50;

/** Where the check results of a bucket version are kept. */
function checksKey(versionKey: string): string {
  return `ledger/checks/${createHash("sha256").update(versionKey).digest("hex")}.json`;
}

interface Head {
  readonly schemaVersion: number;
  /** By {@linkcode versionSlot}: a bucket's location, or `location#partition`. */
  readonly buckets: Record<string, { published?: VersionRecord; pending: VersionRecord[] }>;
}

/** The ledger of cloud runs, in the state bucket. */
export class S3Ledger implements Ledger {
  readonly where: string;
  readonly #storage: S3Storage;
  readonly #state: string;
  readonly #steps = new Map<string, StepReport[]>();
  readonly #runs = new Map<string, RunRecord>();

  /**
   * The ledger in a state bucket.
   *
   * @param storage the S3 connection.
   * @param state the state bucket.
   */
  constructor(storage: S3Storage, state: string) {
    this.#storage = storage;
    this.#state = state;
    this.where = `s3://${state}/${HEAD}`;
  }

  async current(locations: readonly string[]): Promise<Map<string, CurrentVersion>> {
    const { head } = await this.#head();
    const found = new Map<string, CurrentVersion>();
    const wanted = new Set(locations);
    for (const [slot, entry] of Object.entries(head.buckets)) {
      const cut = slot.indexOf("#");
      if (wanted.has(cut < 0 ? slot : slot.slice(0, cut))) found.set(slot, entry);
    }
    return found;
  }

  async startRun(run: RunStart): Promise<void> {
    await this.#head();
    await this.#endDeadRuns();
    const record: RunRecord = {
      runId: run.runId,
      pipeline: run.pipeline,
      mode: run.mode,
      status: "running",
      startedAt: run.startedAt,
      seconds: null,
      ran: 0,
      skipped: 0,
      failed: 0,
      host: hostname(),
      pid: Deno.pid,
      error: null,
      steps: [],
    };
    this.#runs.set(run.runId, record);
    await this.#putRun(record);
  }

  recordStep(runId: string, report: StepReport): Promise<void> {
    const steps = this.#steps.get(runId) ?? [];
    steps.push(report);
    this.#steps.set(runId, steps);
    return Promise.resolve();
  }

  async prepare(runId: string, versions: readonly VersionRecord[]): Promise<void> {
    await this.#update((head) => {
      for (const version of versions) {
        const entry = head.buckets[versionSlot(version.location, version.partition)] ??= {
          pending: [],
        };
        entry.pending = [version, ...entry.pending.filter((v) => v.runId !== runId)];
      }
    });
    const record = this.#runs.get(runId);
    if (record) await this.#putRun({ ...record, status: "publishing" });
  }

  async publish(
    report: RunReport,
    identities: ReadonlyMap<string, string>,
    dropped: ReadonlySet<string> = new Set(),
  ): Promise<void> {
    await this.#update((head) => {
      for (const [slot, entry] of Object.entries(head.buckets)) {
        const mine = entry.pending.find((v) => v.runId === report.runId);
        if (!mine) continue;
        if (!dropped.has(slot)) {
          entry.published = { ...mine, identity: identities.get(slot) ?? mine.identity };
        }
        entry.pending = entry.pending.filter((v) => v.runId !== report.runId);
      }
    });
    await this.#putRun(this.#ended(report));
  }

  async fail(report: RunReport): Promise<void> {
    await this.#update((head) => {
      for (const entry of Object.values(head.buckets)) {
        entry.pending = entry.pending.filter((v) => v.runId !== report.runId);
      }
    });
    await this.#putRun(this.#ended(report));
  }

  async runs(limit: number): Promise<RunSummary[]> {
    const keys = (await this.#storage.list(this.#state, RUNS)).map((o) => o.key).sort().reverse();
    const found: RunSummary[] = [];
    for (const key of keys.slice(0, limit)) {
      const record = await this.#readRun(key);
      if (record) {
        const { steps: _, ...summary } = record;
        found.push(summary);
      }
    }
    return found;
  }

  async run(runId: string): Promise<RunRecord | undefined> {
    const keys = (await this.#storage.list(this.#state, `${RUNS}${runId}`)).map((o) => o.key);
    return keys.length === 1 ? await this.#readRun(keys[0]) : undefined;
  }

  async prune(before: Date): Promise<number> {
    let removed = 0;
    for (const { key } of await this.#storage.list(this.#state, RUNS)) {
      const record = await this.#readRun(key);
      if (
        record && record.startedAt < before.toISOString() &&
        (record.status === "succeeded" || record.status === "failed")
      ) {
        await this.#storage.deleteObject(this.#state, key);
        removed++;
      }
    }
    return removed;
  }

  async checkResults(versionKey: string): Promise<Map<string, CheckResult>> {
    const found = await this.#storage.getText(this.#state, checksKey(versionKey));
    if (!found) return new Map();
    return new Map(Object.entries(JSON.parse(found.text) as Record<string, CheckResult>));
  }

  async recordChecks(
    _runId: string,
    versionKey: string,
    results: ReadonlyMap<string, CheckResult>,
  ): Promise<void> {
    // Results depend only on the data and the check, so writers never disagree: the last write
    // of a version's results object keeps what was there and adds its own.
    const key = checksKey(versionKey);
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const found = await this.#storage.getText(this.#state, key);
      const merged = {
        ...(found ? JSON.parse(found.text) as Record<string, CheckResult> : {}),
        ...Object.fromEntries(results),
      };
      const written = await this.#storage.putTextIf(
        this.#state,
        key,
        JSON.stringify(merged),
        found?.etag ?? null,
      );
      if (written !== undefined) return;
    }
  }

  close(): void {}

  #ended(report: RunReport): RunRecord {
    const count = (status: string) => report.steps.filter((s) => s.status === status).length;
    const started = this.#runs.get(report.runId);
    return {
      runId: report.runId,
      pipeline: report.pipeline,
      mode: report.mode,
      status: report.status,
      startedAt: report.startedAt,
      seconds: report.seconds,
      ran: count("ran"),
      skipped: count("skipped"),
      failed: count("failed"),
      host: started?.host ?? hostname(),
      pid: started?.pid ?? Deno.pid,
      error: report.error ?? null,
      steps: report.steps,
    };
  }

  async #putRun(record: RunRecord): Promise<void> {
    await this.#storage.putTextIf(
      this.#state,
      `${RUNS}${record.runId}.json`,
      JSON.stringify(record),
      (await this.#storage.head(this.#state, `${RUNS}${record.runId}.json`))?.etag ?? null,
    );
  }

  async #readRun(key: string): Promise<RunRecord | undefined> {
    const found = await this.#storage.getText(this.#state, key);
    if (!found) return undefined;
    try {
      return JSON.parse(found.text) as RunRecord;
    } catch {
      throw new StorageError(
        `the ledger record s3://${this.#state}/${key} is not readable: delete it (the run it ` +
          "describes then no longer shows in 'glacier runs')",
      );
    }
  }

  async #endDeadRuns(): Promise<void> {
    for (const summary of await this.runs(20)) {
      if (summary.status !== "running" && summary.status !== "publishing") continue;
      if (await this.#storage.isRunLive(this.#state, summary.runId)) continue;
      const record = await this.run(summary.runId);
      if (!record) continue;
      await this.#putRun({
        ...record,
        status: "failed",
        error: summary.status === "publishing"
          ? "the run ended while it was publishing; the buckets whose data is one of its " +
            "versions hold that version"
          : "the run ended before it finished; nothing was published",
      });
    }
  }

  async #head(): Promise<{ head: Head; etag: string | null }> {
    const found = await this.#storage.getText(this.#state, HEAD);
    if (!found) return { head: { schemaVersion: LEDGER_SCHEMA_VERSION, buckets: {} }, etag: null };
    let head: Head;
    try {
      head = JSON.parse(found.text) as Head;
    } catch (error) {
      throw new StorageError(
        `the ledger ${this.where} is damaged (${
          error instanceof Error ? error.message : error
        }): restore it from the bucket's object versions, or delete it (every step then runs ` +
          "once)",
      );
    }
    if (typeof head.schemaVersion !== "number" || typeof head.buckets !== "object") {
      throw new StorageError(
        `the ledger ${this.where} is not a Glacier ledger: delete it (every step then runs once)`,
      );
    }
    if (head.schemaVersion > LEDGER_SCHEMA_VERSION) {
      throw new StorageError(
        `the ledger ${this.where} was written by a newer Glacier (ledger schema ` +
          `${head.schemaVersion}; this Glacier knows up to ${LEDGER_SCHEMA_VERSION}): upgrade Glacier`,
      );
    }
    return { head, etag: found.etag };
  }

  /** Changes the head with a conditional write, again over a fresh copy when another run won. */
  async #update(change: (head: Head) => void): Promise<void> {
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const { head, etag } = await this.#head();
      change(head);
      const written = await this.#storage.putTextIf(
        this.#state,
        HEAD,
        JSON.stringify({ ...head, schemaVersion: LEDGER_SCHEMA_VERSION }),
        etag,
      );
      if (written !== undefined) return;
      await new Promise((resolve) => setTimeout(resolve, 20 + Math.random() * 80));
    }
    throw new StorageError(
      `the ledger ${this.where} kept changing under this run (${ATTEMPTS} attempts): too many ` +
        "runs are publishing at once; try again",
    );
  }
}
