/**
 * The local ledger: a SQLite database (`node:sqlite`, built into Deno) at
 * `<localRoot>/.glacier/ledger.sqlite`, in WAL mode so several processes read and write it at once.
 *
 * @module
 */
import { DatabaseSync, type SQLInputValue } from "node:sqlite";
import { dirname } from "node:path";
import { hostname } from "node:os";
import { StorageError } from "../../core/errors.ts";
import { partitionText } from "../../core/partitions.ts";
import type { CheckResult, RunReport, StepReport, StorageMode } from "../../core/reports.ts";
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

const SCHEMA_V1 = `
CREATE TABLE runs (
  id TEXT PRIMARY KEY, pipeline TEXT NOT NULL, mode TEXT NOT NULL, status TEXT NOT NULL,
  started_at TEXT NOT NULL, ended_at TEXT, seconds REAL, host TEXT NOT NULL, pid INTEGER NOT NULL,
  error TEXT, ran INTEGER NOT NULL DEFAULT 0, skipped INTEGER NOT NULL DEFAULT 0,
  failed INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX runs_started ON runs (started_at);
CREATE TABLE steps (
  run_id TEXT NOT NULL, seq INTEGER NOT NULL, target TEXT NOT NULL, partition TEXT NOT NULL,
  report TEXT NOT NULL, PRIMARY KEY (run_id, target, partition)
);
CREATE TABLE versions (
  id INTEGER PRIMARY KEY AUTOINCREMENT, location TEXT NOT NULL, partition TEXT NOT NULL,
  state TEXT NOT NULL, content TEXT, identity TEXT NOT NULL, rows INTEGER, bytes INTEGER,
  schema TEXT NOT NULL, run_id TEXT NOT NULL, task TEXT, fingerprint TEXT, code TEXT,
  inputs TEXT, created_at TEXT NOT NULL
);
CREATE INDEX versions_run ON versions (run_id);
CREATE INDEX versions_pending ON versions (state, location);
CREATE TABLE current (
  location TEXT NOT NULL, partition TEXT NOT NULL, version_id INTEGER NOT NULL,
  PRIMARY KEY (location, partition)
);
CREATE TABLE check_results (
  version_key TEXT NOT NULL, check_id TEXT NOT NULL, result TEXT NOT NULL, run_id TEXT NOT NULL,
  PRIMARY KEY (version_key, check_id)
);
`;

/** Migrations, by the version they lead to. */
const MIGRATIONS: Readonly<Record<number, string>> = { 1: SCHEMA_V1 };

interface VersionRow {
  location: string;
  partition: string;
  state: string;
  content: string | null;
  identity: string;
  rows: number | null;
  bytes: number | null;
  schema: string;
  run_id: string;
  task: string | null;
  fingerprint: string | null;
  code: string | null;
  inputs: string | null;
  created_at: string;
}

interface RunRow {
  id: string;
  pipeline: string;
  mode: string;
  status: string;
  started_at: string;
  seconds: number | null;
  host: string;
  pid: number;
  error: string | null;
  ran: number;
  skipped: number;
  failed: number;
}

/** The local ledger. */
export class SqliteLedger implements Ledger {
  readonly where: string;
  readonly #db: DatabaseSync;
  readonly #isLive: (runId: string) => Promise<boolean>;

  private constructor(path: string, db: DatabaseSync, isLive: (runId: string) => Promise<boolean>) {
    this.where = path;
    this.#db = db;
    this.#isLive = isLive;
  }

  /**
   * Opens the ledger, creating it (and its directory) when missing and migrating an older one.
   *
   * @param path the database file.
   * @param isLive whether a run's process is still going, to end runs that died.
   * @returns the ledger.
   * @throws {StorageError} naming the file when it is not a ledger, is damaged, or was written by
   *   a newer Glacier.
   */
  static async open(
    path: string,
    isLive: (runId: string) => Promise<boolean> = () => Promise.resolve(false),
  ): Promise<SqliteLedger> {
    await Deno.mkdir(dirname(path), { recursive: true });
    let db: DatabaseSync | undefined;
    try {
      db = new DatabaseSync(path);
      db.exec("PRAGMA busy_timeout = 10000");
      db.exec("PRAGMA journal_mode = WAL");
      // In WAL mode NORMAL never corrupts the database; a power cut can lose the last
      // transactions, which the next run then treats as data it did not record (and recomputes).
      db.exec("PRAGMA synchronous = NORMAL");
      db.exec("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
      migrate(db, path);
    } catch (error) {
      db?.close();
      if (error instanceof StorageError) throw error;
      throw new StorageError(
        `the ledger ${path} cannot be used: ${
          error instanceof Error ? error.message : error
        }. It is damaged or not a Glacier ledger: move it away (a new, empty ledger is made ` +
          "on the next run, which then recomputes every step once) or restore it from a backup",
        { cause: error },
      );
    }
    return new SqliteLedger(path, db, isLive);
  }

  current(locations: readonly string[]): Promise<Map<string, CurrentVersion>> {
    const found = new Map<string, CurrentVersion>();
    const published = this.#db.prepare(
      "SELECT v.* FROM current c JOIN versions v ON v.id = c.version_id WHERE c.location = ?",
    );
    const pending = this.#db.prepare(
      "SELECT * FROM versions WHERE state = 'pending' AND location = ? ORDER BY id DESC",
    );
    const entry = (slot: string) => {
      let known = found.get(slot);
      if (!known) found.set(slot, known = { pending: [] });
      return known as { published?: VersionRecord; pending: VersionRecord[] };
    };
    for (const location of locations) {
      for (const row of published.all(location) as unknown as VersionRow[]) {
        entry(versionSlot(location, row.partition)).published = toVersion(row);
      }
      for (const row of pending.all(location) as unknown as VersionRow[]) {
        entry(versionSlot(location, row.partition)).pending.push(toVersion(row));
      }
    }
    return Promise.resolve(found);
  }

  async startRun(run: RunStart): Promise<void> {
    await this.#endDeadRuns();
    this.#db.prepare(
      "INSERT INTO runs (id, pipeline, mode, status, started_at, host, pid) " +
        "VALUES (?, ?, ?, 'running', ?, ?, ?)",
    ).run(run.runId, run.pipeline, run.mode, run.startedAt, hostname(), Deno.pid);
  }

  recordStep(runId: string, report: StepReport): Promise<void> {
    this.#db.prepare(
      "INSERT OR REPLACE INTO steps (run_id, seq, target, partition, report) VALUES " +
        "(?, (SELECT count(*) FROM steps WHERE run_id = ?), ?, ?, ?)",
    ).run(runId, runId, report.target, partitionText(report.partition), JSON.stringify(report));
    return Promise.resolve();
  }

  prepare(runId: string, versions: readonly VersionRecord[]): Promise<void> {
    this.#transaction(() => {
      const insert = this.#db.prepare(
        "INSERT INTO versions (location, partition, state, content, identity, rows, bytes, " +
          "schema, run_id, task, fingerprint, code, inputs, created_at) VALUES " +
          "(?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      );
      for (const v of versions) {
        insert.run(
          v.location,
          v.partition,
          v.content,
          v.identity,
          v.rows,
          v.bytes,
          v.schema,
          runId,
          v.task,
          v.fingerprint,
          v.code ? JSON.stringify(v.code) : null,
          v.inputs ? JSON.stringify(v.inputs) : null,
          v.createdAt,
        );
      }
      this.#db.prepare("UPDATE runs SET status = 'publishing' WHERE id = ?").run(runId);
    });
    return Promise.resolve();
  }

  publish(
    report: RunReport,
    identities: ReadonlyMap<string, string>,
    dropped: ReadonlySet<string> = new Set(),
  ): Promise<void> {
    this.#transaction(() => {
      const rows = this.#db.prepare(
        "SELECT id, location, partition FROM versions WHERE run_id = ? AND state = 'pending'",
      ).all(report.runId) as unknown as { id: number; location: string; partition: string }[];
      const identify = this.#db.prepare(
        "UPDATE versions SET state = 'published', identity = coalesce(?, identity) WHERE id = ?",
      );
      const point = this.#db.prepare(
        "INSERT OR REPLACE INTO current (location, partition, version_id) VALUES (?, ?, ?)",
      );
      const drop = this.#db.prepare("UPDATE versions SET state = 'dropped' WHERE id = ?");
      for (const row of rows) {
        const slot = versionSlot(row.location, row.partition);
        if (dropped.has(slot)) {
          drop.run(row.id);
          continue;
        }
        identify.run(identities.get(slot) ?? null, row.id);
        point.run(row.location, row.partition, row.id);
      }
      this.#endRun(report);
    });
    return Promise.resolve();
  }

  fail(report: RunReport): Promise<void> {
    this.#transaction(() => {
      this.#db.prepare(
        "UPDATE versions SET state = 'dropped' WHERE run_id = ? AND state = 'pending'",
      )
        .run(report.runId);
      this.#endRun(report);
    });
    return Promise.resolve();
  }

  runs(limit: number): Promise<RunSummary[]> {
    const rows = this.#db.prepare("SELECT * FROM runs ORDER BY started_at DESC, id DESC LIMIT ?")
      .all(limit) as unknown as RunRow[];
    return Promise.resolve(rows.map(toSummary));
  }

  run(runId: string): Promise<RunRecord | undefined> {
    const rows = this.#db.prepare("SELECT * FROM runs WHERE id LIKE ? ESCAPE '\\' LIMIT 2")
      .all(`${runId.replace(/[\\%_]/g, (c) => `\\${c}`)}%`) as unknown as RunRow[];
    if (rows.length !== 1) return Promise.resolve(undefined);
    const steps = this.#db.prepare("SELECT report FROM steps WHERE run_id = ? ORDER BY seq")
      .all(rows[0].id) as unknown as { report: string }[];
    return Promise.resolve({
      ...toSummary(rows[0]),
      steps: steps.map((s) => JSON.parse(s.report) as StepReport),
    });
  }

  prune(before: Date): Promise<number> {
    let removed = 0;
    this.#transaction(() => {
      const cutoff = before.toISOString();
      const old = "SELECT id FROM runs WHERE started_at < ? AND status IN ('succeeded', 'failed')";
      this.#db.prepare(
        `DELETE FROM versions WHERE run_id IN (${old}) AND id NOT IN (SELECT version_id FROM current)`,
      ).run(cutoff);
      this.#db.prepare(`DELETE FROM steps WHERE run_id IN (${old})`).run(cutoff);
      removed = Number(
        this.#db.prepare(
          "DELETE FROM runs WHERE started_at < ? AND status IN ('succeeded', 'failed')",
        ).run(cutoff).changes,
      );
    });
    return Promise.resolve(removed);
  }

  checkResults(versionKey: string): Promise<Map<string, CheckResult>> {
    const rows = this.#db.prepare(
      "SELECT check_id, result FROM check_results WHERE version_key = ?",
    ).all(versionKey) as unknown as { check_id: string; result: string }[];
    return Promise.resolve(
      new Map(rows.map((r) => [r.check_id, JSON.parse(r.result) as CheckResult])),
    );
  }

  recordChecks(
    runId: string,
    versionKey: string,
    results: ReadonlyMap<string, CheckResult>,
  ): Promise<void> {
    this.#transaction(() => {
      const insert = this.#db.prepare(
        "INSERT OR REPLACE INTO check_results (version_key, check_id, result, run_id) " +
          "VALUES (?, ?, ?, ?)",
      );
      for (const [hash, result] of results) {
        insert.run(versionKey, hash, JSON.stringify(result), runId);
      }
    });
    return Promise.resolve();
  }

  close(): void {
    if (this.#db.isOpen) this.#db.close();
  }

  #endRun(report: RunReport): void {
    const count = (status: string) => report.steps.filter((s) => s.status === status).length;
    this.#db.prepare(
      "UPDATE runs SET status = ?, ended_at = ?, seconds = ?, error = ?, ran = ?, skipped = ?, " +
        "failed = ? WHERE id = ?",
    ).run(
      report.status,
      new Date().toISOString(),
      report.seconds,
      report.error ?? null,
      count("ran"),
      count("skipped"),
      count("failed"),
      report.runId,
    );
    const record = this.#db.prepare(
      "INSERT OR REPLACE INTO steps (run_id, seq, target, partition, report) VALUES (?, ?, ?, ?, ?)",
    );
    for (const [seq, step] of report.steps.entries()) {
      record.run(
        report.runId,
        seq,
        step.target,
        partitionText(step.partition),
        JSON.stringify(step),
      );
    }
  }

  /** Marks runs of this ledger that ended without saying so (their process died) as failed. */
  async #endDeadRuns(): Promise<void> {
    const open = this.#db.prepare(
      "SELECT id, status FROM runs WHERE status IN ('running', 'publishing')",
    )
      .all() as unknown as { id: string; status: string }[];
    for (const run of open) {
      if (await this.#isLive(run.id)) continue;
      this.#transaction(() => {
        this.#db.prepare(
          "UPDATE runs SET status = 'failed', ended_at = ?, error = ? WHERE id = ? AND status = ?",
        ).run(
          new Date().toISOString(),
          run.status === "publishing"
            ? "the run's process ended while it was publishing; the buckets whose data is one of " +
              "its versions hold that version"
            : "the run's process ended before the run finished; nothing was published",
          run.id,
          run.status,
        );
      });
    }
  }

  #transaction(work: () => void): void {
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      work();
      this.#db.exec("COMMIT");
    } catch (error) {
      this.#db.exec("ROLLBACK");
      throw error;
    }
  }
}

function migrate(db: DatabaseSync, path: string): void {
  const row = db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").get() as
    | { value: string }
    | undefined;
  const found = row ? Number(row.value) : 0;
  if (found > LEDGER_SCHEMA_VERSION) {
    throw new StorageError(
      `the ledger ${path} was written by a newer Glacier (ledger schema ${found}; this Glacier ` +
        `knows up to ${LEDGER_SCHEMA_VERSION}): upgrade Glacier, or point this one at another ` +
        "local root",
    );
  }
  if (found === LEDGER_SCHEMA_VERSION) return;
  db.exec("BEGIN IMMEDIATE");
  try {
    const again = db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").get() as
      | { value: string }
      | undefined;
    for (
      let version = again ? Number(again.value) + 1 : 1;
      version <= LEDGER_SCHEMA_VERSION;
      version++
    ) {
      db.exec(MIGRATIONS[version]);
    }
    db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)")
      .run(String(LEDGER_SCHEMA_VERSION) as SQLInputValue);
    db.exec("COMMIT");
  } catch (error) {
    db.exec("ROLLBACK");
    throw error;
  }
}

function toVersion(row: VersionRow): VersionRecord {
  return {
    location: row.location,
    partition: row.partition,
    content: row.content,
    identity: row.identity,
    rows: row.rows,
    bytes: row.bytes,
    schema: row.schema,
    runId: row.run_id,
    task: row.task,
    fingerprint: row.fingerprint,
    code: row.code ? JSON.parse(row.code) : null,
    inputs: row.inputs ? JSON.parse(row.inputs) : null,
    createdAt: row.created_at,
  };
}

function toSummary(row: RunRow): RunSummary {
  return {
    runId: row.id,
    pipeline: row.pipeline,
    mode: row.mode as StorageMode,
    status: row.status as RunSummary["status"],
    startedAt: row.started_at,
    seconds: row.seconds,
    ran: row.ran,
    skipped: row.skipped,
    failed: row.failed,
    host: row.host,
    pid: row.pid,
    error: row.error,
  };
}
