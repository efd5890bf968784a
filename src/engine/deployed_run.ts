/**
 * Deployed runs: a run of the engine cut into handlers that a state machine calls one after the
 * other, each in its own invocation, with the run's state in the state bucket between them.
 *
 * - `begin` claims what the run writes of each bucket, the whole bucket or the partitions it
 *   covers (a lease: no process holds it, each handler renews it), selects the partitions the run covers (the selection it is given, else
 *   the ones its time completes: {@linkcode selectionAt}), spreads the graph over them exactly as
 *   a run from a machine does (`partition_work.ts`), records the run in the ledger, and writes
 *   the run's object, `deployed/<run>/run.json`, with that work. It answers the partitions the
 *   state machine's `Map` state runs.
 * - `decide` says whether a step (at one partition) runs or is up to date, exactly as a run from
 *   a machine decides (`freshness.ts`, `fingerprint.ts`, the ledger, and the versions this run's
 *   earlier steps left), and where it reads its inputs (an output this run staged, else the
 *   bucket's object) and writes its output (the run's staging key); an up-to-date step, or one
 *   whose upstream failed, is recorded there and then.
 * - `record` records what a step that ran staged, `deployed/<run>/steps/<task>[/<partition>].json`.
 * - `failPartition` records a partition that failed where no step could record it.
 * - `commit` publishes through the same ledger and journal as every cloud run (`ledger.prepare`,
 *   the journal's commit, `ledger.publish`), one partition's outputs together, the partitions
 *   that failed left out, and releases the locks.
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
import {
  atPartition,
  checkedPartition,
  isPartitioned,
  type Mapping,
  objectName,
} from "../core/partition_map.ts";
import { partitionFromText, partitionText, type PartitionValues } from "../core/partitions.ts";
import type {
  FailedPartition,
  PartitionSelection,
  RunReport,
  StepReport,
} from "../core/reports.ts";
import { deployedStages } from "../core/deploy/stages.ts";
import { newRunId, type ObjectAddress, type Written } from "../core/session.ts";
import { type PartAddress, taskReads } from "../core/read_addresses.ts";
import { timeoutOf } from "../core/task.ts";
import { describeSchema } from "../schema/schema.ts";
import { S3RunSession } from "../io/s3/s3_session.ts";
import { LOCK_TTL, type LockLease, S3Storage, stateBucketOf } from "../io/s3/s3_storage.ts";
import { JOURNAL_PREFIX, removeRunObjects } from "../io/s3/s3_journal.ts";
import { codeFingerprint, inputVersionKey, stepFingerprint } from "./fingerprint.ts";
import { whyRun } from "./freshness.ts";
import {
  foundVersion,
  versionHeld,
  versionKey,
  type VersionRecord,
  versionSlot,
  writtenKey,
} from "./ledger/ledger.ts";
import { S3Ledger } from "./ledger/s3_ledger.ts";
import { expandWork, selectionAt } from "./partition_work.ts";
import { writeScope } from "./write_scope.ts";
import { retryFlags } from "./execute.ts";

/** Where deployed runs keep their state in the state bucket. */
export const DEPLOYED_PREFIX = "deployed/";

/**
 * How long a step that runs outside any handler (a Spark job) may take when its task sets no
 * `timeoutSeconds`: its locks are leased that long, and generated Terraform gives the job that
 * limit.
 */
export const DEPLOYED_JOB_SECONDS = 6 * 60 * 60;

/** One step at one partition, as the run's object keeps it. */
interface ItemRecord {
  readonly task: string;
  /** The partition it computes, as text; empty for an unpartitioned target. */
  readonly partition: string;
  /** The unit it publishes with (as `WorkItem.unit`). */
  readonly unit: string;
  /** What it reads of each input: how, and which partitions (as text; empty for a whole bucket). */
  readonly inputs: Readonly<Record<string, { mapping: Mapping; parts: readonly string[] }>>;
  /** The items of the run whose output it reads, by id. */
  readonly upstream: readonly string[];
  /** For a partition the selection names explicitly: the input partitions it lacks. */
  readonly missing?: readonly string[];
}

/** A deployed run's object in the state bucket. */
interface RunObject {
  readonly version: 2;
  readonly runId: string;
  readonly pipeline: string;
  readonly startedAt: string;
  /** What holds its locks, for messages: the state machine execution. */
  readonly holder: string;
  readonly force: boolean | readonly string[];
  /** Every step at every partition the run covers. */
  readonly work: readonly ItemRecord[];
  /** The partitions its partitioned steps compute, in order: the `Map` state's items. */
  readonly partitions: readonly PartitionValues[];
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
  /** The partition it computes; absent for an unpartitioned target. */
  readonly partition?: PartitionValues;
  /**
   * `run` to compute it, `skip` when it is up to date or its upstream failed (already recorded),
   * or when the run does not cover it at this partition (nothing recorded).
   */
  readonly action: "run" | "skip";
  /** Why: one of the fixed reasons of a step report, or `not in this run`. */
  readonly reason: string;
  /** Where each input read as one object is, by input name: this run's staged output, else the bucket. */
  readonly inputs: Readonly<Record<string, ObjectAddress>>;
  /** For an input read as several partitions (every partition, or a window), each partition. */
  readonly parts?: Readonly<Record<string, readonly PartAddress[]>>;
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
  /**
   * The version the target holds, when the ledger knows it: its key and size, which an output
   * with exactly its bytes keeps (see {@linkcode writtenKey}).
   */
  readonly held?: { readonly key: string; readonly bytes: number | null };
  /** When the step started, ISO 8601. */
  readonly startedAt: string;
  /** The step's report, for a step that is up to date or whose upstream failed. */
  readonly report?: StepReport;
}

/** What starts a deployed run: the execution's input and time. */
export interface BeginOptions {
  /** What holds the locks (the execution, for messages). */
  readonly holder?: string;
  /** Recompute every step (`true`) or the named tasks'. */
  readonly force?: boolean | readonly string[];
  /**
   * The execution's input: `{ "partitions": { ... } }` (as `run({ partitions })`) selects
   * partitions; `{ "scheduledTime": "2026-01-04T06:00:00Z" }` (what the schedule sends) selects
   * the ones that time completes; anything else, the ones `startTime` completes.
   */
  readonly input?: unknown;
  /** When the execution started, ISO 8601 (default: now). */
  readonly startTime?: string;
}

const itemId = (task: string, partition: string): string =>
  partition === "" ? task : `${task}/${partition}`;

/** One run of a pipeline as a state machine runs it, handler by handler. */
export class DeployedRun {
  readonly #graph: PipelineGraph;
  readonly #run: RunObject;
  readonly #storage: S3Storage;
  readonly #state: string;
  readonly #ledger: S3Ledger;
  readonly #items: Map<string, ItemRecord>;

  private constructor(graph: PipelineGraph, run: RunObject, storage: S3Storage, state: string) {
    this.#graph = graph;
    this.#run = run;
    this.#storage = storage;
    this.#state = state;
    this.#ledger = new S3Ledger(storage, state);
    this.#items = new Map(run.work.map((i) => [itemId(i.task, i.partition), i]));
  }

  /**
   * Begins a run: finishes what earlier runs left, takes the lock of every bucket the run writes,
   * selects its partitions, records the run in the ledger and writes its object to the state
   * bucket.
   *
   * @param graph the pipeline.
   * @param options what holds the locks, what to recompute, the execution's input and time.
   * @returns the run.
   * @throws {UnsupportedError} for a pipeline shape deployed runs cannot run, naming the task.
   * @throws {WiringError} for a selection that names a key or value no bucket has.
   * @throws {StorageError} when another run writes one of the same buckets, naming it; nothing
   *   is changed then.
   */
  static async begin(graph: PipelineGraph, options: BeginOptions = {}): Promise<DeployedRun> {
    const stages = deployedStages(graph);
    const mapped = new Set(stages.partitioned.flat().map((s) => s.task.name));
    const { selection, at } = selectionOf(graph, options);
    const runId = newRunId();
    const holder = options.holder ?? `deployed run ${runId}`;
    const scope = new S3Storage(graph.buckets[0].settings.region);
    const writes = await writeScope(graph, selection, at, (ref) => scope.partitions(ref));
    const session = await S3RunSession.begin(graph, {
      runId,
      lease: { holder, ttlMs: LOCK_TTL },
      ...(writes ? { writes } : {}),
    });
    let run: RunObject;
    try {
      const work = await expandWork(graph, {
        ...(selection ? { selection } : {}),
        now: at,
        partitions: (ref) => session.partitions(ref),
      });
      await session.hold(work.map((item) => item.target));
      const partitions = [
        ...new Set(work.filter((i) => mapped.has(i.step.task.name)).map((i) => i.text)),
      ].sort().map(partitionFromText);
      run = {
        version: 2,
        runId,
        pipeline: graph.name,
        startedAt: new Date().toISOString(),
        holder,
        force: options.force ?? false,
        work: work.map((item) => ({
          task: item.step.task.name,
          partition: item.text,
          unit: item.unit,
          inputs: Object.fromEntries(
            Object.entries(item.inputs).map(([name, input]) => [name, {
              mapping: input.mapping,
              parts: input.parts.map((p) => partitionText(p.partition)),
            }]),
          ),
          upstream: item.upstream.map((u) => itemId(u.step.task.name, u.text)),
          ...(item.missing ? { missing: item.missing } : {}),
        })),
        partitions,
      };
    } catch (error) {
      await session.abort();
      throw error;
    }
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
    if (run?.version !== 2 || run.pipeline !== graph.name) {
      throw new StorageError(
        `deployed run ${runId} of pipeline '${graph.name}' is not in the state bucket ` +
          `(s3://${state}/${key} ${
            found ? "is another pipeline's or another version's" : "does not exist"
          }): it ` +
          "never began, or it has ended",
      );
    }
    return new DeployedRun(graph, run, storage, state);
  }

  /** The run's id. */
  get runId(): string {
    return this.#run.runId;
  }

  /** The partitions the run's partitioned steps compute, in order: the `Map` state's items. */
  get partitions(): readonly PartitionValues[] {
    return this.#run.partitions;
  }

  /**
   * Decides a step at a partition: skip it when it is up to date or its upstream failed
   * (recorded at once), else where it reads and writes. Renews the run's locks for as long as
   * the step may take.
   *
   * @param task the step's task.
   * @param options `partition`: the partition it computes (for a partitioned target); `holdFor`:
   *   seconds the step may take before the run's next handler (default the task's
   *   `timeoutSeconds`, else {@linkcode DEPLOYED_JOB_SECONDS}).
   * @returns the decision.
   * @throws {NoDataError} when an input that no step writes has no data, or a partition the
   *   selection names lacks an input partition.
   * @throws {StorageError} when the run lost a lock, or a step it reads has not run yet.
   */
  async decide(
    task: string,
    options: { holdFor?: number; partition?: PartitionValues } = {},
  ): Promise<StepDecision> {
    const step = this.#stepOf(task);
    const startedAt = new Date().toISOString();
    const partition = this.#partitionOf(step, options.partition);
    const text = partitionText(partition);
    const target = isPartitioned(step.target) ? atPartition(step.target, partition) : step.target;
    const code = codeFingerprint(step);
    const output = { bucket: target.bucket, key: this.#storage.stagingKey(this.runId, target) };
    const base = (action: "run" | "skip", reason: string): StepDecision => ({
      runId: this.runId,
      task,
      ...(text === "" ? {} : { partition }),
      action,
      reason,
      inputs: {},
      output,
      code: code.value,
      fingerprint: "",
      inputKeys: {},
      found: [],
      startedAt,
    });
    const item = this.#items.get(itemId(task, text));
    if (item === undefined) return base("skip", "not in this run");
    await this.#renew(options.holdFor ?? timeoutOf(step.task) ?? DEPLOYED_JOB_SECONDS);
    const done = await this.#stepObject(item);
    if (done && done.report.status !== "failed") {
      // A handler tried again after this step was recorded: it is not computed twice.
      return {
        ...base("skip", done.report.reason),
        fingerprint: done.report.fingerprint ?? "",
        report: done.report,
      };
    }
    const upstream = new Map<string, StepObject>();
    for (const id of item.upstream) {
      const found = await this.#stepObject(this.#items.get(id)!);
      const failed = found === undefined
        ? await this.#partitionFailed(this.#items.get(id)!)
        : found.report.status === "failed" || found.report.reason === "upstream failed";
      if (found === undefined && !failed) {
        throw new StorageError(
          `task '${task}' of deployed run ${this.runId} reads what task ` +
            `'${this.#items.get(id)!.task}' writes${
              this.#items.get(id)!.partition ? ` at ${this.#items.get(id)!.partition}` : ""
            }, which has not run yet in this run; the state machine must run it first ` +
            "(regenerate the Terraform from the pipeline module)",
        );
      }
      if (failed) {
        const report: StepReport = {
          ...this.#reportBase(step, text, undefined, startedAt),
          status: "skipped",
          reason: "upstream failed",
          rows: 0,
          bytes: 0,
          seconds: 0,
        };
        await this.#putStep(item, { report, found: [] });
        return { ...base("skip", "upstream failed"), report };
      }
      upstream.set(id, found!);
    }
    if (item.missing) {
      throw new NoDataError(
        `task '${task}' cannot compute partition ${text} of bucket '${step.target.location}': ` +
          `there is no partition ${item.missing.join(", ")}`,
      );
    }
    const recorded = await this.#ledger.current(this.#graph.buckets.map((b) => b.location));
    const producers = new Map(this.#graph.steps.map((s) => [s.target.location, s]));
    const reads: Record<string, { mapping: Mapping; parts: PartAddress[] }> = {};
    const inputKeys: Record<string, string> = {};
    const found: VersionRecord[] = [];
    for (const [name, ref] of Object.entries(step.sources)) {
      const input = item.inputs[name];
      const keys: [string, string][] = [];
      const addresses: PartAddress[] = [];
      for (const part of input.parts) {
        const values = partitionFromText(part);
        const at = part === "" ? ref : atPartition(ref, values);
        const producer = producers.get(ref.location);
        const made = producer ? upstream.get(itemId(producer.task.name, part)) : undefined;
        if (made?.key !== undefined) {
          keys.push([part, made.key]);
          addresses.push({
            bucket: at.bucket,
            key: made.report.status === "ran" ? this.#storage.stagingKey(this.runId, at) : at.path,
            partition: values,
          });
          continue;
        }
        const identity = (await this.#storage.head(at.bucket, at.path))?.etag;
        if (identity === undefined) {
          throw new NoDataError(
            `bucket '${ref.location}' has no data at ${this.#storage.uriOf(at)}${
              part ? ` (partition ${part})` : ""
            }; it is an input of pipeline '${this.#graph.name}' (read by task '${task}'): ` +
              'write it with bucket.write(frame, { mode: "cloud" }) first',
          );
        }
        const held = versionHeld(recorded.get(versionSlot(ref.location, part)), identity);
        keys.push([part, held ? versionKey(held) : identity]);
        addresses.push({ bucket: at.bucket, key: at.path, partition: values });
        if (!held) {
          found.push(
            foundVersion(ref.location, part, describeSchema(ref.schema), identity, this.runId),
          );
        }
      }
      inputKeys[name] = inputVersionKey(input.mapping !== "all", keys);
      reads[name] = { mapping: input.mapping, parts: addresses };
    }
    const { inputs, parts } = taskReads(reads);
    const stored = (await this.#storage.head(target.bucket, target.path))?.etag;
    const current = recorded.get(versionSlot(step.target.location, text));
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
      ...base(reason === "up to date" ? "skip" : "run", reason),
      inputs,
      ...(parts ? { parts } : {}),
      fingerprint,
      inputKeys,
      found,
      ...(held ? { held: { key: versionKey(held), bytes: held.bytes } } : {}),
    };
    if (reason !== "up to date") return decision;
    const report: StepReport = {
      ...this.#reportBase(step, text, fingerprint, startedAt),
      status: "skipped",
      reason,
      rows: held!.rows ?? 0,
      bytes: held!.bytes ?? 0,
      seconds: (Date.now() - Date.parse(startedAt)) / 1000,
    };
    await this.#putStep(item, { report, key: versionKey(held!), found });
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
    const text = partitionText(this.#partitionOf(step, decision.partition));
    const item = this.#itemOf(step, text);
    await this.#renew(0);
    const staged = await this.#storage.head(decision.output.bucket, decision.output.key);
    if (staged === undefined) {
      throw new StorageError(
        `task '${decision.task}' of deployed run ${this.runId} reported success but left no ` +
          `output at s3://${decision.output.bucket}/${decision.output.key}`,
      );
    }
    const target = text === "" ? step.target : atPartition(step.target, partitionFromText(text));
    const content = await writtenKey(
      written,
      decision.held,
      () => this.#storage.sameBytes(target.bucket, decision.output.key, target.path),
      `run:${this.runId}:${objectName(target)}`,
    );
    const report: StepReport = {
      ...this.#reportBase(step, text, decision.fingerprint, decision.startedAt),
      status: "ran",
      reason: decision.reason,
      rows: written.rows,
      bytes: written.bytes,
      seconds: (Date.now() - Date.parse(decision.startedAt)) / 1000,
    };
    const version: VersionRecord = {
      location: step.target.location,
      partition: text,
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
    await this.#putStep(item, { report, key: content, version, found: decision.found });
    return report;
  }

  /**
   * Records a step that failed (its handler calls this before it reports the error).
   *
   * @param task the step's task.
   * @param error what went wrong.
   * @param partition the partition it computed, for a partitioned target.
   * @returns the step's report.
   */
  async fail(task: string, error: unknown, partition?: PartitionValues): Promise<StepReport> {
    const step = this.#stepOf(task);
    const text = partitionText(this.#partitionOf(step, partition));
    const item = this.#itemOf(step, text);
    const report: StepReport = {
      ...this.#reportBase(step, text, undefined, new Date().toISOString()),
      status: "failed",
      reason: item.missing ? "input missing" : firstLine(error),
      rows: 0,
      bytes: 0,
      seconds: 0,
      error: error instanceof Error ? error.message : String(error),
    };
    await this.#putStep(item, { report, found: [] });
    return report;
  }

  /**
   * Records that a partition failed, as the state machine caught it (a step's function that
   * timed out or crashed could not record itself): its outputs are not published, its
   * downstream steps do not run, and the other partitions go on.
   *
   * @param partition the partition.
   * @param error the error the state machine caught.
   */
  async failPartition(partition: PartitionValues, error: string): Promise<void> {
    const text = partitionText(partition);
    if (!this.#run.work.some((i) => i.partition === text)) {
      throw new StorageError(
        `deployed run ${this.runId} of pipeline '${this.#graph.name}' covers no partition ${text}`,
      );
    }
    await this.#storage.putTextIf(
      this.#state,
      this.#failedKey(text),
      JSON.stringify({ partition, error }),
      null,
    );
  }

  /**
   * Publishes what the run staged through the journal, one partition's outputs together (each
   * partition whose steps all ran or were up to date, and whose inputs published), records the
   * versions in the ledger in one transaction, and releases the locks.
   *
   * @returns the run's report: `failed`, listing the failed partitions with their errors, when
   *   some partitions (or an unpartitioned step after them) failed and the others published.
   * @throws {StorageError} when a step of an unpartitioned run did not end, a lock was lost, or
   *   the ledger or the commit failed; the run is recorded as failed, naming what changed
   *   (nothing, unless the journal says so).
   */
  async commit(): Promise<RunReport> {
    const steps = await this.#steps();
    const work = this.#run.work;
    const statusOf = (i: ItemRecord) => steps.get(itemId(i.task, i.partition))?.report;
    const complete = (i: ItemRecord) => {
      const r = statusOf(i);
      return (r?.status === "ran" || r?.status === "skipped") && r.reason !== "upstream failed";
    };
    const partitioned = work.some((i) => i.partition !== "");
    if (!partitioned) {
      const missing = work.filter((i) => !complete(i));
      if (missing.length > 0) {
        throw new StorageError(
          `deployed run ${this.runId} of pipeline '${this.#graph.name}' cannot publish: ` +
            `${missing.map((i) => `task '${i.task}'`).join(", ")} did not run; abort the run`,
        );
      }
    }
    // The unit of publishing: as a run from a machine, one partition's outputs across its
    // buckets; a unit publishes when each of its items ran or was up to date and every unit it
    // reads from published.
    const units = new Map<string, ItemRecord[]>();
    for (const i of work) units.set(i.unit, [...(units.get(i.unit) ?? []), i]);
    const order = [...units.keys()].sort();
    const unitOf = (id: string) => this.#items.get(id)!.unit;
    const whole = new Set<string>();
    for (const unit of order) {
      const items = units.get(unit)!;
      const fed = items.every((i) =>
        i.upstream.every((u) => unitOf(u) === unit || whole.has(unitOf(u)))
      );
      if (items.every(complete) && fed) whole.add(unit);
    }
    const failures = await this.#failures(steps);
    const partial = work.some((i) => !complete(i));
    const session = await S3RunSession.resume(this.#graph, this.runId, this.#lease(0));
    const report = (status: RunReport["status"], error?: string): RunReport =>
      this.#report(steps, status, error, partitioned ? failures : undefined);
    if (partial && whole.size === 0) {
      // Every partition failed: nothing publishes, as when a run from a machine fails whole.
      await session.abort();
      const failed = report("failed", this.#partialError(failures, undefined));
      await this.#ledger.fail(failed);
      await this.#forget();
      return failed;
    }
    const versions = new Map<string, VersionRecord>();
    for (const i of work) {
      for (const v of steps.get(itemId(i.task, i.partition))?.found ?? []) {
        versions.set(versionSlot(v.location, v.partition), v);
      }
    }
    const ran = (unit: string) =>
      units.get(unit)!.filter((i) => statusOf(i)?.status === "ran").map((i) =>
        steps.get(itemId(i.task, i.partition))!
      );
    for (const unit of whole) {
      for (const s of ran(unit)) {
        versions.set(versionSlot(s.version!.location, s.version!.partition), s.version!);
      }
    }
    const committed = new Set<string>();
    const dropped = new Set<string>();
    const identities = new Map<string, string>();
    let commitFailure: unknown;
    try {
      await this.#ledger.prepare(this.runId, [...versions.values()]);
    } catch (error) {
      commitFailure = error;
    }
    for (const unit of order) {
      const outputs = ran(unit).map((s) => this.#refOf(s.version!));
      const ready = whole.has(unit) && commitFailure === undefined &&
        units.get(unit)!.every((i) =>
          i.upstream.every((u) => unitOf(u) === unit || committed.has(unitOf(u)))
        );
      if (!ready) {
        for (const ref of outputs) {
          dropped.add(versionSlot(ref.location, partitionText(ref.partition)));
        }
        continue;
      }
      try {
        for (const ref of outputs) await session.stagedRemotely(ref);
        await session.publish(outputs);
        committed.add(unit);
        for (const ref of outputs) {
          const identity = await session.stored(ref);
          const slot = versionSlot(ref.location, partitionText(ref.partition));
          if (identity !== undefined) identities.set(slot, identity);
        }
      } catch (error) {
        for (const ref of outputs) {
          dropped.add(versionSlot(ref.location, partitionText(ref.partition)));
        }
        commitFailure = error;
      }
    }
    const changed = commitFailure instanceof CommitError && commitFailure.changed.length > 0;
    if (commitFailure !== undefined && committed.size === 0) {
      if (!changed) await session.abort();
      const failure = new StorageError(
        `deployed run ${this.runId} of pipeline '${this.#graph.name}' could not publish its ` +
          `outputs: ${firstLine(commitFailure)}${changed ? "" : "; no bucket was changed"}`,
        { cause: commitFailure },
      );
      await this.#ledger.fail(report("failed", failure.message)).catch(() => {});
      if (!changed) await this.#forget();
      throw failure;
    }
    if (!changed) await session.abort();
    const done = partial || commitFailure !== undefined
      ? report("failed", this.#partialError(failures, commitFailure))
      : report(
        "succeeded",
      );
    try {
      await this.#ledger.publish(done, identities, dropped);
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
    const partitioned = this.#run.work.some((i) => i.partition !== "");
    const report = this.#report(
      steps,
      "failed",
      error,
      partitioned ? await this.#failures(steps) : undefined,
    );
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

  /** A partition given to a handler, checked against the step's target, in its key order. */
  #partitionOf(step: Step, partition: PartitionValues | undefined): PartitionValues {
    if (!isPartitioned(step.target)) return {};
    if (partition === undefined || Object.keys(partition).length === 0) {
      throw new StorageError(
        `task '${step.task.name}' of deployed run ${this.runId} writes partitioned bucket ` +
          `'${step.target.location}', and the state machine named no partition; regenerate the ` +
          "Terraform from the pipeline module",
      );
    }
    return checkedPartition(step.target, partition, true);
  }

  #itemOf(step: Step, text: string): ItemRecord {
    const item = this.#items.get(itemId(step.task.name, text));
    if (item === undefined) {
      throw new StorageError(
        `deployed run ${this.runId} does not run task '${step.task.name}'${
          text ? ` at partition ${text}` : ""
        }`,
      );
    }
    return item;
  }

  /** The bucket or partition a version is of. */
  #refOf(version: VersionRecord): BucketRef {
    const ref = this.#graph.buckets.find((b) => b.location === version.location)!;
    return version.partition === "" ? ref : atPartition(ref, partitionFromText(version.partition));
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

  #reportBase(step: Step, text: string, fingerprint: string | undefined, startedAt: string) {
    return {
      task: step.task.name,
      resource: step.task.resource.label,
      target: step.target.location,
      ...(text === "" ? {} : { partition: partitionFromText(text) }),
      ...(fingerprint ? { fingerprint } : {}),
      startedAt,
    };
  }

  /** The partitions that failed, each once, with the task that failed and its error. */
  async #failures(steps: ReadonlyMap<string, StepObject>): Promise<FailedPartition[]> {
    const out: FailedPartition[] = [];
    const texts = [...new Set(this.#run.work.map((i) => i.partition))].filter((t) => t !== "");
    const caught = new Map<string, string>();
    for (const { key } of await this.#storage.list(this.#state, this.#failedKey(""))) {
      const found = await this.#storage.getText(this.#state, key);
      if (!found) continue;
      const body = JSON.parse(found.text) as { partition: PartitionValues; error: string };
      caught.set(partitionText(body.partition), body.error);
    }
    for (const text of texts) {
      const items = this.#run.work.filter((i) => i.partition === text);
      const failed = items.find((i) => steps.get(itemId(i.task, text))?.report.status === "failed");
      const report = failed && steps.get(itemId(failed.task, text))!.report;
      if (report) {
        out.push({
          partition: partitionFromText(text),
          task: report.task,
          error: report.error ?? report.reason,
        });
      } else if (caught.has(text)) {
        const stopped = items.find((i) => !steps.has(itemId(i.task, text))) ?? items[0];
        out.push({
          partition: partitionFromText(text),
          task: stopped.task,
          error: caught.get(text)!,
        });
      }
    }
    return out;
  }

  #partialError(failures: readonly FailedPartition[], commitFailure: unknown): string {
    const total = new Set(this.#run.work.map((i) => i.partition).filter((t) => t !== "")).size;
    const first = failures[0];
    if (first) {
      return `pipeline '${this.#graph.name}' failed for ${failures.length} of ${total} ` +
        `partitions, and published the others: task '${first.task}' failed for partition ` +
        `${partitionText(first.partition)}: ${firstLine(first.error)}`;
    }
    if (commitFailure !== undefined) {
      return `pipeline '${this.#graph.name}' could not publish all its outputs: ` +
        firstLine(commitFailure);
    }
    return `pipeline '${this.#graph.name}' published its partitions, but a step after them did ` +
      "not complete; see its report";
  }

  #report(
    steps: ReadonlyMap<string, StepObject>,
    status: RunReport["status"],
    error?: string,
    failures?: readonly FailedPartition[],
  ): RunReport {
    const failed = [...steps.values()].some((s) => s.report.status === "failed") ||
      (failures?.length ?? 0) > 0;
    return {
      runId: this.runId,
      pipeline: this.#graph.name,
      mode: "cloud",
      status,
      startedAt: this.#run.startedAt,
      steps: this.#run.work.map((i) =>
        steps.get(itemId(i.task, i.partition))?.report ?? {
          ...this.#reportBase(this.#stepOf(i.task), i.partition, undefined, this.#run.startedAt),
          status: "skipped",
          reason: failed ? "upstream failed" : "the run ended before it",
          rows: 0,
          bytes: 0,
          seconds: 0,
        }
      ),
      seconds: (Date.now() - Date.parse(this.#run.startedAt)) / 1000,
      ...(error === undefined ? {} : { error }),
      ...(failures && failures.length > 0
        ? { failedPartitions: failures, retry: retryFlags(failures) }
        : {}),
    };
  }

  #runKey(): string {
    return `${DEPLOYED_PREFIX}${this.runId}/run.json`;
  }

  #failedKey(text: string): string {
    return `${DEPLOYED_PREFIX}${this.runId}/failed/${text}${text ? ".json" : ""}`;
  }

  #stepKey(item: ItemRecord): string {
    return `${DEPLOYED_PREFIX}${this.runId}/steps/${itemId(item.task, item.partition)}.json`;
  }

  #where(): string {
    return `s3://${this.#state}/${this.#runKey()}`;
  }

  async #stepObject(item: ItemRecord): Promise<StepObject | undefined> {
    const found = await this.#storage.getText(this.#state, this.#stepKey(item));
    return found ? JSON.parse(found.text) as StepObject : undefined;
  }

  async #partitionFailed(item: ItemRecord): Promise<boolean> {
    if (item.partition === "") return false;
    return (await this.#storage.head(this.#state, this.#failedKey(item.partition))) !== undefined;
  }

  /** Every step object of the run, by item id. */
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
  async #putStep(item: ItemRecord, step: StepObject): Promise<void> {
    const key = this.#stepKey(item);
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
        `task '${item.task}'${item.partition ? ` at partition ${item.partition}` : ""} of ` +
          `deployed run ${this.runId} was recorded by another handler at once ` +
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

/**
 * The selection a deployed run covers and the time that decides which partitions are complete:
 * the execution's `partitions`, else those its `scheduledTime` (or its start) completes.
 */
function selectionOf(
  graph: PipelineGraph,
  options: BeginOptions,
): { selection?: PartitionSelection; at: Date } {
  const timeOf = (text: unknown, what: string): Date => {
    const at = typeof text === "string" ? new Date(text) : new Date(NaN);
    if (Number.isNaN(at.getTime())) {
      throw new UnsupportedError(
        `the execution of pipeline '${graph.name}' gives ${what} ${JSON.stringify(text)}, ` +
          'which is not an ISO 8601 time such as "2026-01-04T06:00:00Z"',
      );
    }
    return at;
  };
  const start = options.startTime === undefined
    ? new Date()
    : timeOf(options.startTime, "the start time");
  const input = options.input !== null && typeof options.input === "object"
    ? options.input as { partitions?: unknown; scheduledTime?: unknown }
    : {};
  if (input.partitions !== undefined) {
    if (
      input.partitions === null || typeof input.partitions !== "object" ||
      Array.isArray(input.partitions)
    ) {
      throw new UnsupportedError(
        `the execution of pipeline '${graph.name}' gives "partitions" ` +
          `${JSON.stringify(input.partitions)}; give an object by key, as run({ partitions }): ` +
          '{"partitions": {"date": {"from": "2026-01-01", "to": "2026-01-07"}}}',
      );
    }
    return { selection: input.partitions as PartitionSelection, at: start };
  }
  const at = input.scheduledTime === undefined
    ? start
    : timeOf(input.scheduledTime, "the scheduled time");
  return { selection: selectionAt(graph, at), at };
}
