/**
 * Deployed runs: a run of the engine cut into handlers that a state machine calls one after the
 * other, each in its own invocation, with the run's state in the state bucket between them.
 *
 * - `begin` takes the lock of every bucket the run writes (a lease: no process holds it, each
 *   handler renews it), records the run in the ledger, and writes the run's object,
 *   `deployed/<run>/run.json`.
 * - `decide` says whether a step runs or is up to date, exactly as a run from a machine decides
 *   (`freshness.ts`, `fingerprint.ts`, the ledger, and the versions this run's earlier steps
 *   left), and where it reads its inputs (an output this run staged, else the bucket's object) and
 *   writes its output (the run's staging key); an up-to-date step is recorded there and then.
 * - `record` records what a step that ran staged, `deployed/<run>/steps/<task>.json`.
 * - `commit` publishes through the same ledger and journal as every cloud run (`ledger.prepare`,
 *   the journal's commit, `ledger.publish`) and releases the locks.
 * - `abort` drops what the run staged, records the failed run and releases the locks.
 *
 * @module
 */
import {
  CommitError,
  firstLine,
  NoDataError,
  StorageError,
  UnsupportedError,
} from "../core/errors.ts";
import type { PipelineGraph } from "../core/graph.ts";
import type { BucketRef, Step } from "../core/lineage.ts";
import { objectName } from "../core/partition_map.ts";
import type { RunReport, StepReport } from "../core/reports.ts";
import { newRunId, type ObjectAddress, type Written } from "../core/session.ts";
import { timeoutOf } from "../core/task.ts";
import { describeSchema } from "../schema/schema.ts";
import { S3RunSession } from "../io/s3/s3_session.ts";
import { LOCK_TTL, type LockLease, S3Storage, stateBucketOf } from "../io/s3/s3_storage.ts";
import { JOURNAL_PREFIX, removeRunObjects } from "../io/s3/s3_journal.ts";
import { codeFingerprint, stepFingerprint } from "./fingerprint.ts";
import { whyRun } from "./freshness.ts";
import {
  foundVersion,
  versionHeld,
  versionKey,
  type VersionRecord,
  versionSlot,
} from "./ledger/ledger.ts";
import { S3Ledger } from "./ledger/s3_ledger.ts";

/** Where deployed runs keep their state in the state bucket. */
export const DEPLOYED_PREFIX = "deployed/";

/**
 * How long a step that runs outside any handler (a Spark job) may take when its task sets no
 * `timeoutSeconds`: its locks are leased that long, and generated Terraform gives the job that
 * limit.
 */
export const DEPLOYED_JOB_SECONDS = 6 * 60 * 60;

/** A deployed run's object in the state bucket. */
interface RunObject {
  readonly version: 1;
  readonly runId: string;
  readonly pipeline: string;
  readonly startedAt: string;
  /** What holds its locks, for messages: the state machine execution. */
  readonly holder: string;
  readonly force: boolean | readonly string[];
}

/** A step's object in the state bucket: what it did, once it ended. */
interface StepObject {
  readonly report: StepReport;
  /** The version key its target has as this run leaves it, when it ran or was up to date. */
  readonly key?: string;
  /** The version it staged, when it ran. */
  readonly version?: VersionRecord;
  /** Inputs it found that Glacier did not write, recorded as found when the run publishes. */
  readonly found: readonly VersionRecord[];
}

/** What a deployed run's `decide` handler says of a step. */
export interface StepDecision {
  /** The run. */
  readonly runId: string;
  /** The task. */
  readonly task: string;
  /** `run` to compute it, `skip` when it is up to date (and already recorded). */
  readonly action: "run" | "skip";
  /** Why: one of the fixed reasons of a step report. */
  readonly reason: string;
  /** Where each input is read, by input name: an output this run staged, else the bucket. */
  readonly inputs: Readonly<Record<string, ObjectAddress>>;
  /** Where the output goes: the run's staging key of the target. */
  readonly output: ObjectAddress;
  /** The task's code fingerprint: the code that runs it must have been built from it. */
  readonly code: string;
  /** The step's fingerprint. */
  readonly fingerprint: string;
  /** Each input's version key, by input name. */
  readonly inputKeys: Readonly<Record<string, string>>;
  /** Inputs found that Glacier did not write. */
  readonly found: readonly VersionRecord[];
  /** When the step started, ISO 8601. */
  readonly startedAt: string;
  /** The step's report, for a step that is up to date. */
  readonly report?: StepReport;
}

/** One run of a pipeline as a state machine runs it, handler by handler. */
export class DeployedRun {
  readonly #graph: PipelineGraph;
  readonly #run: RunObject;
  readonly #storage: S3Storage;
  readonly #state: string;
  readonly #ledger: S3Ledger;

  private constructor(graph: PipelineGraph, run: RunObject, storage: S3Storage, state: string) {
    this.#graph = graph;
    this.#run = run;
    this.#storage = storage;
    this.#state = state;
    this.#ledger = new S3Ledger(storage, state);
  }

  /**
   * Begins a run: finishes what earlier runs left, takes the lock of every bucket the run writes,
   * records the run in the ledger and writes its object to the state bucket.
   *
   * @param graph the pipeline.
   * @param options what holds the locks (the execution, for messages) and what to recompute.
   * @returns the run.
   * @throws {StorageError} when another run writes one of the same buckets, naming it; nothing
   *   is changed then.
   */
  static async begin(
    graph: PipelineGraph,
    options: { holder?: string; force?: boolean | readonly string[] } = {},
  ): Promise<DeployedRun> {
    const partitioned = graph.buckets.find((b) => b.partitions !== undefined);
    if (partitioned) {
      throw new UnsupportedError(
        `pipeline '${graph.name}' has partitioned bucket '${partitioned.location}', and deployed ` +
          "runs do not select partitions yet; run it in cloud mode from a machine",
      );
    }
    const runId = newRunId();
    const holder = options.holder ?? `deployed run ${runId}`;
    const session = await S3RunSession.begin(graph, {
      runId,
      lease: { holder, ttlMs: LOCK_TTL },
    });
    const run: RunObject = {
      version: 1,
      runId,
      pipeline: graph.name,
      startedAt: new Date().toISOString(),
      holder,
      force: options.force ?? false,
    };
    const deployed = new DeployedRun(graph, run, session.storage, session.stateBucket);
    try {
      await deployed.#ledger.startRun({
        runId,
        pipeline: graph.name,
        mode: "cloud",
        startedAt: run.startedAt,
      });
      const written = await session.storage.putTextIf(
        session.stateBucket,
        deployed.#runKey(),
        JSON.stringify(run),
        null,
      );
      if (written === undefined) throw new Error(`${deployed.#where()} exists already`);
    } catch (error) {
      await session.abort();
      throw new StorageError(
        `pipeline '${graph.name}' did not start: ${firstLine(error)}; nothing was changed`,
        { cause: error },
      );
    }
    await session.detach();
    return deployed;
  }

  /**
   * Takes up a run that `begin` began.
   *
   * @param graph the pipeline.
   * @param runId the run.
   * @returns the run.
   * @throws {StorageError} when the state bucket has no such run of this pipeline.
   */
  static async open(graph: PipelineGraph, runId: string): Promise<DeployedRun> {
    const settings = graph.buckets[0].settings;
    const state = stateBucketOf(settings, `a deployed run of pipeline '${graph.name}'`);
    const storage = new S3Storage(settings.region);
    const key = `${DEPLOYED_PREFIX}${runId}/run.json`;
    const found = await storage.getText(state, key);
    const run = found ? JSON.parse(found.text) as RunObject : undefined;
    if (run?.version !== 1 || run.pipeline !== graph.name) {
      throw new StorageError(
        `deployed run ${runId} of pipeline '${graph.name}' is not in the state bucket ` +
          `(s3://${state}/${key} ${found ? "is another pipeline's" : "does not exist"}): it ` +
          "never began, or it has ended",
      );
    }
    return new DeployedRun(graph, run, storage, state);
  }

  /** The run's id. */
  get runId(): string {
    return this.#run.runId;
  }

  /**
   * Decides a step: skip it when it is up to date (recorded at once), else where it reads and
   * writes. Renews the run's locks for as long as the step may take.
   *
   * @param task the step's task.
   * @param options `holdFor`: seconds the step may take before the run's next handler (default
   *   the task's `timeoutSeconds`, else {@linkcode DEPLOYED_JOB_SECONDS}).
   * @returns the decision.
   * @throws {NoDataError} when an input that no step writes has no data.
   * @throws {StorageError} when the run lost a lock, or a step it reads has not run yet.
   */
  async decide(task: string, options: { holdFor?: number } = {}): Promise<StepDecision> {
    const step = this.#stepOf(task);
    const startedAt = new Date().toISOString();
    await this.#renew(options.holdFor ?? timeoutOf(step.task) ?? DEPLOYED_JOB_SECONDS);
    const steps = await this.#steps();
    const code = codeFingerprint(step);
    const output = {
      bucket: step.target.bucket,
      key: this.#storage.stagingKey(this.runId, step.target),
    };
    const done = steps.get(task);
    if (done && done.report.status !== "failed") {
      // A handler tried again after this step was recorded: it is not computed twice.
      return {
        ...this.#decision(task, "skip", done.report.reason, output, code.value, startedAt),
        fingerprint: done.report.fingerprint ?? "",
        report: done.report,
      };
    }
    const recorded = await this.#ledger.current(this.#graph.buckets.map((b) => b.location));
    const producers = new Map(this.#graph.steps.map((s) => [s.target.location, s]));
    const inputs: Record<string, ObjectAddress> = {};
    const inputKeys: Record<string, string> = {};
    const found: VersionRecord[] = [];
    for (const [name, ref] of Object.entries(step.sources)) {
      const producer = producers.get(ref.location);
      if (producer) {
        const upstream = steps.get(producer.task.name);
        if (upstream?.key === undefined) {
          throw new StorageError(
            `task '${task}' of deployed run ${this.runId} reads bucket '${ref.location}', which ` +
              `task '${producer.task.name}' has not written in this run; the state machine must ` +
              "run it first (regenerate the Terraform from the pipeline module)",
          );
        }
        inputKeys[name] = upstream.key;
        inputs[name] = upstream.report.status === "ran"
          ? { bucket: ref.bucket, key: this.#storage.stagingKey(this.runId, ref) }
          : { bucket: ref.bucket, key: ref.path };
        continue;
      }
      const identity = (await this.#storage.head(ref.bucket, ref.path))?.etag;
      if (identity === undefined) {
        throw new NoDataError(
          `bucket '${ref.location}' has no data at ${this.#storage.uriOf(ref)}; it is an input ` +
            `of pipeline '${this.#graph.name}' (read by task '${task}'): write it with ` +
            'bucket.write(frame, { mode: "cloud" }) first',
        );
      }
      const held = versionHeld(recorded.get(ref.location), identity);
      inputKeys[name] = held ? versionKey(held) : identity;
      inputs[name] = { bucket: ref.bucket, key: ref.path };
      if (!held) found.push(this.#foundVersion(ref, identity));
    }
    const stored = (await this.#storage.head(step.target.bucket, step.target.path))?.etag;
    const current = recorded.get(step.target.location);
    const held = versionHeld(current, stored);
    const reason = whyRun(
      step,
      code,
      { recorded: current, stored, held },
      inputKeys,
      this.#forced(task),
    );
    const fingerprint = stepFingerprint(code, inputKeys);
    const decision: StepDecision = {
      ...this.#decision(
        task,
        reason === "up to date" ? "skip" : "run",
        reason,
        output,
        code.value,
        startedAt,
      ),
      inputs,
      fingerprint,
      inputKeys,
      found,
    };
    if (reason !== "up to date") return decision;
    const report: StepReport = {
      ...this.#reportBase(step, fingerprint, startedAt),
      status: "skipped",
      reason,
      rows: held!.rows ?? 0,
      bytes: held!.bytes ?? 0,
      seconds: (Date.now() - Date.parse(startedAt)) / 1000,
    };
    await this.#putStep(task, { report, key: versionKey(held!), found });
    return { ...decision, report };
  }

  /**
   * Records a step that ran: its output must be at the run's staging key.
   *
   * @param decision what `decide` said of it.
   * @param written rows, bytes and, when the code that ran hashed it, the content.
   * @returns the step's report.
   * @throws {StorageError} when the output is not staged, or the run lost a lock.
   */
  async record(decision: StepDecision, written: Written): Promise<StepReport> {
    const step = this.#stepOf(decision.task);
    await this.#renew(0);
    const staged = await this.#storage.head(decision.output.bucket, decision.output.key);
    if (staged === undefined) {
      throw new StorageError(
        `task '${decision.task}' of deployed run ${this.runId} reported success but left no ` +
          `output at s3://${decision.output.bucket}/${decision.output.key}`,
      );
    }
    const content = written.content ?? `run:${this.runId}:${objectName(step.target)}`;
    const report: StepReport = {
      ...this.#reportBase(step, decision.fingerprint, decision.startedAt),
      status: "ran",
      reason: decision.reason,
      rows: written.rows,
      bytes: written.bytes,
      seconds: (Date.now() - Date.parse(decision.startedAt)) / 1000,
    };
    const version: VersionRecord = {
      location: step.target.location,
      partition: "",
      content,
      identity: content,
      rows: written.rows,
      bytes: written.bytes,
      schema: describeSchema(step.target.schema),
      runId: this.runId,
      task: decision.task,
      fingerprint: decision.fingerprint,
      code: codeFingerprint(step).parts,
      inputs: decision.inputKeys,
      createdAt: new Date().toISOString(),
    };
    await this.#putStep(decision.task, { report, key: content, version, found: decision.found });
    return report;
  }

  /**
   * Records a step that failed (its handler calls this before it reports the error).
   *
   * @param task the step's task.
   * @param error what went wrong.
   * @returns the step's report.
   */
  async fail(task: string, error: unknown): Promise<StepReport> {
    const step = this.#stepOf(task);
    const report: StepReport = {
      ...this.#reportBase(step, undefined, new Date().toISOString()),
      status: "failed",
      reason: firstLine(error),
      rows: 0,
      bytes: 0,
      seconds: 0,
      error: error instanceof Error ? error.message : String(error),
    };
    await this.#putStep(task, { report, found: [] });
    return report;
  }

  /**
   * Publishes every output the run staged, together, through the journal, records the versions
   * in the ledger in one transaction, and releases the locks.
   *
   * @returns the run's report.
   * @throws {StorageError} when a step did not end, a lock was lost, or the ledger or the commit
   *   failed; the run is recorded as failed, naming what changed (nothing, unless the journal
   *   says so).
   */
  async commit(): Promise<RunReport> {
    const steps = await this.#steps();
    const missing = this.#graph.steps.filter((s) => {
      const status = steps.get(s.task.name)?.report.status;
      return status !== "ran" && status !== "skipped";
    });
    if (missing.length > 0) {
      throw new StorageError(
        `deployed run ${this.runId} of pipeline '${this.#graph.name}' cannot publish: ` +
          `${missing.map((s) => `task '${s.task.name}'`).join(", ")} did not run; abort the run`,
      );
    }
    const session = await S3RunSession.resume(this.#graph, this.runId, this.#lease(0));
    const ran = this.#graph.steps.filter((s) => steps.get(s.task.name)!.report.status === "ran");
    const versions = new Map<string, VersionRecord>();
    for (const s of this.#graph.steps) {
      for (const v of steps.get(s.task.name)!.found) versions.set(versionSlot(v.location, ""), v);
    }
    for (const s of ran) versions.set(s.target.location, steps.get(s.task.name)!.version!);
    const report = (status: RunReport["status"], error?: string): RunReport =>
      this.#report(steps, status, error);
    try {
      await this.#ledger.prepare(this.runId, [...versions.values()]);
      for (const s of ran) await session.stagedRemotely(s.target);
      await session.publish(ran.map((s) => s.target));
    } catch (error) {
      const changed = error instanceof CommitError ? error.changed.length > 0 : false;
      if (!changed) await session.abort();
      const failure = new StorageError(
        `deployed run ${this.runId} of pipeline '${this.#graph.name}' could not publish its ` +
          `outputs: ${firstLine(error)}${changed ? "" : "; no bucket was changed"}`,
        { cause: error },
      );
      await this.#ledger.fail(report("failed", failure.message)).catch(() => {});
      if (!changed) await this.#forget();
      throw failure;
    }
    const identities = new Map<string, string>();
    for (const s of ran) {
      const identity = await session.stored(s.target);
      if (identity !== undefined) identities.set(s.target.location, identity);
    }
    await session.abort();
    const done = report("succeeded");
    try {
      await this.#ledger.publish(done, identities);
    } catch (error) {
      console.error(
        `glacier: warning: run ${this.runId} published its outputs, but the ledger ` +
          `${this.#ledger.where} could not record that (${firstLine(error)}); the next run ` +
          "recognizes them by their data",
      );
    }
    await this.#forget();
    return done;
  }

  /**
   * Ends a run that failed: drops what it staged, records it as failed in the ledger with each
   * step's status, and releases its locks. A run whose commit had written its journal is left
   * to that journal, which the next cloud use completes.
   *
   * @param error what went wrong, as the state machine caught it.
   * @returns the run's report.
   */
  async abort(error: string): Promise<RunReport> {
    const steps = await this.#steps();
    const report = this.#report(steps, "failed", error);
    const journal = await this.#storage.head(this.#state, `${JOURNAL_PREFIX}${this.runId}.json`);
    if (journal === undefined) {
      try {
        const session = await S3RunSession.resume(this.#graph, this.runId, this.#lease(0));
        await session.abort();
      } catch (cause) {
        // The locks are gone already (expired or taken over): the staged objects still go.
        console.error(`glacier: warning: ${firstLine(cause)}`);
        const buckets = [...new Set(this.#graph.steps.map((s) => s.target.bucket))];
        await removeRunObjects(this.#storage, this.runId, buckets);
      }
    }
    await this.#ledger.fail(report);
    await this.#forget();
    return report;
  }

  #stepOf(task: string): Step {
    const step = this.#graph.steps.find((s) => s.task.name === task);
    if (!step) {
      throw new StorageError(
        `pipeline '${this.#graph.name}' has no task '${task}' (deployed run ${this.runId}); ` +
          "regenerate the Terraform and redeploy from the current pipeline module",
      );
    }
    return step;
  }

  #forced(task: string): boolean {
    const force = this.#run.force;
    return force === true || (Array.isArray(force) && force.includes(task));
  }

  #lease(seconds: number): LockLease {
    return { holder: this.#run.holder, ttlMs: LOCK_TTL + seconds * 1000 };
  }

  async #renew(seconds: number): Promise<void> {
    const targets = new Map(this.#graph.steps.map((s) => [s.target.location, s.target]));
    for (const target of targets.values()) {
      await this.#storage.renewLease(target, this.runId, this.#lease(seconds));
    }
  }

  #decision(
    task: string,
    action: "run" | "skip",
    reason: string,
    output: ObjectAddress,
    code: string,
    startedAt: string,
  ): StepDecision {
    return {
      runId: this.runId,
      task,
      action,
      reason,
      inputs: {},
      output,
      code,
      fingerprint: "",
      inputKeys: {},
      found: [],
      startedAt,
    };
  }

  #reportBase(step: Step, fingerprint: string | undefined, startedAt: string) {
    return {
      task: step.task.name,
      resource: step.task.resource.label,
      target: step.target.location,
      ...(fingerprint ? { fingerprint } : {}),
      startedAt,
    };
  }

  #foundVersion(ref: BucketRef, identity: string): VersionRecord {
    return foundVersion(ref.location, "", describeSchema(ref.schema), identity, this.runId);
  }

  #report(
    steps: ReadonlyMap<string, StepObject>,
    status: RunReport["status"],
    error?: string,
  ): RunReport {
    const failed = [...steps.values()].some((s) => s.report.status === "failed");
    return {
      runId: this.runId,
      pipeline: this.#graph.name,
      mode: "cloud",
      status,
      startedAt: this.#run.startedAt,
      steps: this.#graph.steps.map((s) =>
        steps.get(s.task.name)?.report ?? {
          ...this.#reportBase(s, undefined, this.#run.startedAt),
          status: "skipped",
          reason: failed ? "upstream failed" : "the run ended before it",
          rows: 0,
          bytes: 0,
          seconds: 0,
        }
      ),
      seconds: (Date.now() - Date.parse(this.#run.startedAt)) / 1000,
      ...(error === undefined ? {} : { error }),
    };
  }

  #runKey(): string {
    return `${DEPLOYED_PREFIX}${this.runId}/run.json`;
  }

  #where(): string {
    return `s3://${this.#state}/${this.#runKey()}`;
  }

  async #steps(): Promise<Map<string, StepObject>> {
    const prefix = `${DEPLOYED_PREFIX}${this.runId}/steps/`;
    const found = new Map<string, StepObject>();
    for (const { key } of await this.#storage.list(this.#state, prefix)) {
      const text = await this.#storage.getText(this.#state, key);
      if (text) found.set(key.slice(prefix.length, -".json".length), JSON.parse(text.text));
    }
    return found;
  }

  /** Writes a step's object once; a handler tried again finds it there and leaves it. */
  async #putStep(task: string, step: StepObject): Promise<void> {
    const key = `${DEPLOYED_PREFIX}${this.runId}/steps/${task}.json`;
    const before = await this.#storage.getText(this.#state, key);
    if (before && (JSON.parse(before.text) as StepObject).report.status !== "failed") return;
    const written = await this.#storage.putTextIf(
      this.#state,
      key,
      JSON.stringify(step),
      before?.etag ?? null,
    );
    if (written === undefined) {
      throw new StorageError(
        `task '${task}' of deployed run ${this.runId} was recorded by another handler at once ` +
          `(s3://${this.#state}/${key}); the state machine runs each step once`,
      );
    }
  }

  /** Removes the run's objects from the state bucket once the ledger has it all. */
  async #forget(): Promise<void> {
    const prefix = `${DEPLOYED_PREFIX}${this.runId}/`;
    for (const { key } of await this.#storage.list(this.#state, prefix)) {
      await this.#storage.deleteObject(this.#state, key).catch(() => {});
    }
  }
}
