/**
 * Runs a pipeline graph on a storage session: steps in dependency order, independent steps at
 * the same time, each on the executor for its task's resource, outputs committed together when
 * every step succeeded and dropped when one failed.
 *
 * @module
 */
import pl from "../polars.ts";
import {
  CheckFailedError,
  CommitError,
  firstLine,
  GlacierError,
  NoDataError,
  StorageError,
  TaskError,
  TaskTimeoutError,
} from "../core/errors.ts";
import type { PipelineGraph } from "../core/graph.ts";
import type { BucketRef, Step } from "../core/lineage.ts";
import type { ObservedRun, RunObserver } from "../core/observer.ts";
import { describeSchema, emptyFrame } from "../schema/schema.ts";
import { codeFingerprint, inputVersionKey, stepFingerprint } from "./fingerprint.ts";
import { whyRun } from "./freshness.ts";
import {
  foundVersion,
  type Ledger,
  versionHeld,
  versionKey,
  type VersionRecord,
  versionSlot,
  writtenKey,
} from "./ledger/ledger.ts";
import { atPartition, objectName } from "../core/partition_map.ts";
import { partitionFromText as partitionOf, partitionText } from "../core/partitions.ts";
import { expandWork, type ItemInput, type WorkItem } from "./partition_work.ts";
import { timeoutOf } from "../core/task.ts";
import type {
  CheckResult,
  ExecuteOptions,
  FailedPartition,
  RunReport,
  StepReport,
} from "../core/reports.ts";
import { VersionAudits } from "./audits.ts";
import type {
  Grouping,
  RemoteExecutor,
  RunSession,
  StepContext,
  StepExecutor,
  WorkUnit,
  Written,
} from "../core/session.ts";
import { type BatchEntry, BatchQueue } from "./_batch.ts";
import { locateParseError } from "../io/text_input.ts";
import { failpoint } from "../io/_failpoint.ts";
import { applyTask } from "../core/apply_task.ts";
import { auditFrame, enforceChecks } from "../core/checks_audit.ts";
import { NativeMemory } from "./native_memory.ts";
import { printer, type Progress, silent } from "./progress.ts";
import { scheduleNodes } from "./schedule.ts";

/** How often a long step reports that it is still running, in seconds. */
const HEARTBEAT_SECONDS = 15;

/** What a run works with besides the graph: its storage, executors, ledger and observers. */
export interface RunContext {
  /** The run's storage. */
  readonly session: RunSession;
  /** The executor of each step. */
  readonly executorFor: (step: Step) => StepExecutor;
  /**
   * Whether a step's executor invokes work elsewhere, so that its partitions run up to the run's
   * `invocations` at once rather than its `concurrency` (default: none does).
   */
  readonly invokes?: (step: Step) => boolean;
  /**
   * The remote executor of a step, when it has one: a step whose executor groups units
   * (`grouping` and `runMany`) has its units that must run handed to it together.
   */
  readonly remoteFor?: (step: Step) => RemoteExecutor | undefined;
  /** Where the run is recorded, and what it consults to skip up-to-date steps. */
  readonly ledger: Ledger;
  /** Who is told of the run's progress (OpenLineage, the run UI). */
  readonly observers?: readonly RunObserver[];
}

/**
 * Runs the graph: skips each step whose output is up to date by the ledger, runs the rest on their
 * executors, and publishes every output together (recorded in the ledger in one transaction) when
 * no step failed.
 *
 * @param graph the pipeline.
 * @param options the mode and its options.
 * @param run the session, executors, ledger and observers.
 * @returns what each step did, and why.
 * @throws {GlacierError} naming the task, bucket or file when a step fails, with the run's report
 *   as `report`; no bucket changes then.
 */
export async function executeGraph(
  graph: PipelineGraph,
  options: ExecuteOptions,
  run: RunContext,
): Promise<RunReport> {
  const { session, ledger } = run;
  const progress = options.quiet ? silent : printer();
  const started = performance.now();
  const startedAt = new Date();
  const observed = observedRun(graph, options, session, startedAt);
  const observers = notifier(run.observers ?? []);
  const producers = new Map(graph.steps.map((s) => [s.target.location, s]));
  const writeHint = options.mode === "cloud"
    ? 'bucket.write(frame, { mode: "cloud" })'
    : "bucket.write(frame)";
  const context: StepContext = {
    pipeline: graph.name,
    missing(step, input) {
      const ref = step.sources[input];
      const producer = producers.get(ref.location);
      return producer
        ? `bucket '${ref.location}' has no data at ${
          session.uriOf(ref)
        }: task '${producer.task.name}' should have produced it`
        : `bucket '${ref.location}' has no data at ${session.uriOf(ref)}; it is an input of ` +
          `pipeline '${graph.name}' (read by task '${step.task.name}'): write it with ${writeHint} first`;
    },
  };
  try {
    await ledger.startRun({
      runId: session.runId,
      pipeline: graph.name,
      mode: options.mode,
      startedAt: startedAt.toISOString(),
    });
  } catch (error) {
    await session.abort();
    throw new StorageError(
      `pipeline '${graph.name}' did not start: the ledger ${ledger.where} could not record the ` +
        `run (${firstLine(error)}); nothing was changed`,
      { cause: error },
    );
  }
  await observers.runStarted(observed);
  const reports: StepReport[] = [];
  const ended = (
    status: RunReport["status"],
    error?: string,
    failures?: readonly FailedPartition[],
  ): RunReport => ({
    runId: session.runId,
    pipeline: graph.name,
    mode: options.mode,
    status,
    startedAt: startedAt.toISOString(),
    steps: reports,
    seconds: (performance.now() - started) / 1000,
    ...(error === undefined ? {} : { error }),
    ...(failures && failures.length > 0
      ? { failedPartitions: failures, retry: retryFlags(failures) }
      : {}),
  });

  let work: WorkItem[];
  try {
    work = await expandWork(graph, {
      selection: options.partitions,
      now: new Date(),
      partitions: (ref) => session.partitions(ref),
    });
    await session.hold?.(work.map((item) => item.target));
  } catch (error) {
    await session.abort();
    const failure = error instanceof GlacierError
      ? error
      : new StorageError(firstLine(error), { cause: error });
    throw await failed(failure, ended("failed", failure.message));
  }
  const partitioned = work.some((item) => item.text !== "");
  const recorded = await ledger.current(graph.buckets.map((b) => b.location));
  const stored = new Map<string, Promise<string | undefined>>();
  const storedOf = (ref: BucketRef) => {
    let found = stored.get(objectName(ref));
    if (!found) stored.set(objectName(ref), found = session.stored(ref));
    return found;
  };
  const slotOf = (ref: BucketRef) => versionSlot(ref.location, partitionText(ref.partition));
  /** The version key of each bucket (or partition) as this run leaves it, once known. */
  const now = new Map<string, string>();
  /** Versions to publish: what items wrote, and inputs seen for the first time, by slot. */
  const versions = new Map<string, VersionRecord>();
  /** The unit each written version is published with, by slot. */
  const unitOf = new Map<string, string>();
  /** An input's version key; `record: false` looks without recording data found as found. */
  const inputKey = async (ref: BucketRef, record = true): Promise<string | undefined> => {
    const slot = slotOf(ref);
    const known = now.get(slot);
    if (known !== undefined) return known;
    const identity = await storedOf(ref);
    if (identity === undefined) return undefined;
    const held = versionHeld(recorded.get(slot), identity);
    if (held) return versionKey(held);
    if (!record) return identity;
    // Data Glacier did not write (seeded, or changed by hand): recorded as found.
    versions.set(
      slot,
      foundVersion(
        ref.location,
        partitionText(ref.partition),
        describeSchema(ref.schema),
        identity,
        session.runId,
      ),
    );
    return identity;
  };
  const inputIdentity = async (input: ItemInput, record = true): Promise<string> => {
    const keys: [string, string | undefined][] = [];
    for (const part of input.parts) {
      keys.push([partitionText(part.partition), await inputKey(part.ref, record)]);
    }
    return inputVersionKey(input.mapping !== "all", keys);
  };
  const forced = (step: Step) =>
    options.force === true ||
    (Array.isArray(options.force) && options.force.includes(step.task.name));

  const audits = new VersionAudits(ledger, session);
  /** The checks of the inputs no step of the run writes, run (or found cached) as they are read. */
  const inputChecks = async (item: WorkItem): Promise<CheckResult[]> => {
    const results: CheckResult[] = [];
    for (const [name, input] of Object.entries(item.inputs)) {
      for (const part of input.parts) {
        if (producers.has(part.ref.location) || !part.ref.checks?.length) continue;
        const key = await inputKey(part.ref);
        if (key === undefined) continue;
        results.push(...await audits.of(part.ref, key, context.missing(item.step, name)));
      }
    }
    return results;
  };
  const reportOf = new Map<WorkItem, StepReport>();
  const backfill = partitioned ? progress.backfill?.(work) : undefined;
  const memory = partitioned ? new NativeMemory() : undefined;
  const finish = async (item: WorkItem, report: StepReport) => {
    reports.push(report);
    reportOf.set(item, report);
    progress.finished(report);
    backfill?.finished(item, report);
    // A backfill records what it computed as it goes; what it skipped, when it ends.
    if (!partitioned || report.status !== "skipped") {
      await ledger.recordStep(session.runId, report);
    }
    await observers.stepFinished(observed, observedSteps.get(item) ?? item.step, report);
  };
  /** Each started item's step as its partition resolves it, for observers. */
  const observedSteps = new Map<WorkItem, Step>();
  /** What the executor of an item knows of the run around it. */
  const itemContext = (item: WorkItem): StepContext => ({
    ...context,
    partition: item.partition,
    inputs: item.inputs,
    read: (name) => readInput(session, item, name, context),
  });
  /** The step an item computes, resolved to its partition's files. */
  const resolvedOf = (item: WorkItem): Step =>
    item.missing
      ? item.step
      : { ...item.step, sources: sourcesOf(item.step, item), target: item.target };
  const workUnit = (item: WorkItem): WorkUnit => ({
    step: resolvedOf(item),
    context: itemContext(item),
  });
  const groupingOf = (step: Step): Grouping | undefined => {
    const executor = run.remoteFor?.(step);
    return executor?.runMany ? executor.grouping?.(step) : undefined;
  };
  const downstream = new Map<WorkItem, WorkItem[]>();
  for (const item of work) {
    for (const up of item.upstream) downstream.set(up, [...(downstream.get(up) ?? []), item]);
  }
  /** Why an item would run if the items upstream of it in the same job wrote nothing new. */
  const reasonBefore = async (item: WorkItem): Promise<string> => {
    const inputs: Record<string, string> = {};
    for (const [name, input] of Object.entries(item.inputs)) {
      inputs[name] = await inputIdentity(input, false);
    }
    const identity = await storedOf(item.target);
    const current = recorded.get(slotOf(item.target));
    const target = { recorded: current, stored: identity, held: versionHeld(current, identity) };
    return whyRun(item.step, codeFingerprint(item.step), target, inputs, forced(item.step));
  };
  /**
   * The items that join a job downstream of its items: on an executor that chains the same
   * grouping, every other item they read settled well, and they must run whatever the job writes
   * upstream of them (so the reason each then gives is true).
   */
  const chainOf = async (items: readonly WorkItem[], grouping: Grouping) => {
    const inJob = new Set(items);
    const joined: BatchEntry[] = [];
    for (let frontier = [...items]; frontier.length > 0;) {
      const next: WorkItem[] = [];
      for (const item of new Set(frontier.flatMap((i) => downstream.get(i) ?? []))) {
        const mine = groupingOf(item.step);
        if (inJob.has(item) || item.missing || mine?.key !== grouping.key || !mine.chains) continue;
        const ready = item.upstream.every((u) => {
          const report = reportOf.get(u);
          return inJob.has(u) ||
            (report !== undefined && report.status !== "failed" &&
              report.reason !== "upstream failed");
        });
        if (!ready || await reasonBefore(item) === "up to date") continue;
        inJob.add(item);
        next.push(item);
        joined.push({ item, unit: workUnit(item) });
      }
      frontier = next;
    }
    return joined;
  };
  const batches = new BatchQueue(work, {
    grouping: groupingOf,
    jobs: options.concurrency ?? 2,
    chain: chainOf,
    run: (entries) => {
      const steps = entries.map((e) => e.item.step);
      const executor = run.remoteFor!(steps[0])!;
      return withHeartbeat(
        steps[0],
        progress,
        () =>
          withTimeout(
            steps,
            (signal) => executor.runMany!(entries.map((e) => e.unit), session, signal),
          ),
      );
    },
  });
  let index = 0;
  const outcome = await scheduleNodes(
    work,
    (item) => item.upstream,
    options.concurrency ?? 2,
    (item) => runItem(item).finally(() => batches.settle(item)),
    {
      pools: {
        of: (item) =>
          batches.grouped(item) ? "grouped" : run.invokes?.(item.step) ? "invocations" : undefined,
        // A grouped item waits for the others of its step; the queue bounds its jobs.
        sizes: { invocations: options.invocations ?? 8, grouped: Number.MAX_SAFE_INTEGER },
      },
      blocked: (item) => batches.settle(item),
    },
  );

  async function runItem(item: WorkItem): Promise<void> {
    const step = item.step;
    const position = ++index;
    const stepStarted = performance.now();
    const startedAtText = new Date().toISOString();
    const code = codeFingerprint(step);
    const inputs: Record<string, string> = {};
    for (const [name, input] of Object.entries(item.inputs)) {
      inputs[name] = await inputIdentity(input);
    }
    const identity = await storedOf(item.target);
    const current = recorded.get(slotOf(item.target));
    const held = versionHeld(current, identity);
    const reason = item.missing ? "input missing" : whyRun(
      step,
      code,
      { recorded: current, stored: identity, held },
      inputs,
      forced(step),
    );
    const fingerprint = stepFingerprint(code, inputs);
    const base = {
      task: step.task.name,
      resource: step.task.resource.label,
      target: step.target.location,
      ...(item.text === "" ? {} : { partition: item.partition }),
      fingerprint,
      startedAt: startedAtText,
    };
    let checks: CheckResult[] = [];
    const failedChecks = async (error: unknown) => {
      await finish(item, {
        ...base,
        status: "failed",
        reason: firstLine(error),
        rows: 0,
        bytes: 0,
        seconds: (performance.now() - stepStarted) / 1000,
        error: error instanceof Error ? error.message : String(error),
        ...(checks.length > 0 ? { checks } : {}),
      });
      throw error;
    };
    try {
      checks = await inputChecks(item);
      enforceChecks(checks);
    } catch (error) {
      await failedChecks(error);
    }
    if (reason === "up to date") {
      now.set(slotOf(item.target), versionKey(held!));
      // The version the target holds is audited for checks it has not met yet.
      try {
        checks = [
          ...checks,
          ...await audits.of(
            item.target,
            versionKey(held!),
            `bucket '${step.target.location}' has no data`,
          ),
        ];
        enforceChecks(checks);
      } catch (error) {
        await failedChecks(error);
      }
      progress.skipped(step, position, work.length, reason, item.partition);
      await finish(item, {
        ...base,
        status: "skipped",
        reason,
        rows: held!.rows ?? 0,
        bytes: held!.bytes ?? 0,
        seconds: (performance.now() - stepStarted) / 1000,
        ...(checks.length > 0 ? { checks } : {}),
      });
      return;
    }
    progress.started(step, position, work.length, reason, item.partition);
    // Observers see the step as this item computes it: a partition's own files.
    const resolved = resolvedOf(item);
    observedSteps.set(item, resolved);
    await observers.stepStarted(observed, resolved);
    let written: Written;
    try {
      if (item.missing) {
        throw new NoDataError(
          `task '${step.task.name}' cannot compute partition ${item.text} of bucket ` +
            `'${step.target.location}': there is no partition ${item.missing.join(", ")}`,
        );
      }
      const early = batches.early(item);
      written = early
        ? await early
        : batches.grouped(item)
        ? await batches.submit(item, workUnit(item))
        : await withHeartbeat(
          step,
          progress,
          () =>
            withTimeout(
              [step],
              (signal) =>
                run.executorFor(step)(resolved, session, { ...itemContext(item), signal }),
            ),
        );
    } catch (error) {
      const audited = [...checks, ...checkResultsOf(error)];
      await finish(item, {
        ...base,
        status: "failed",
        reason: item.missing ? "input missing" : firstLine(error),
        rows: 0,
        bytes: 0,
        seconds: (performance.now() - stepStarted) / 1000,
        error: error instanceof Error ? error.message : String(error),
        ...(audited.length > 0 ? { checks: audited } : {}),
      });
      throw error;
    }
    const slot = slotOf(item.target);
    const content = await writtenKey(
      written,
      held && { key: versionKey(held), bytes: held.bytes },
      session.sameAsStored && (() => session.sameAsStored!(item.target)),
      `run:${session.runId}:${objectName(item.target)}`,
    );
    now.set(slot, content);
    unitOf.set(slot, item.unit);
    versions.set(slot, {
      location: step.target.location,
      partition: item.text,
      content,
      identity: written.identity ?? content,
      rows: written.rows,
      bytes: written.bytes,
      schema: describeSchema(step.target.schema),
      runId: session.runId,
      task: step.task.name,
      fingerprint,
      code: code.parts,
      inputs,
      createdAt: new Date().toISOString(),
    });
    if (written.checks?.length) await audits.record(item.target, content, written.checks);
    checks = [...checks, ...(written.checks ?? [])];
    memory?.computed(written.bytes);
    await finish(item, {
      ...base,
      status: "ran",
      reason,
      rows: written.rows,
      bytes: written.bytes,
      seconds: (performance.now() - stepStarted) / 1000,
      ...(checks.length > 0 ? { checks } : {}),
    });
  }

  for (const item of outcome.blocked) {
    await finish(item, {
      task: item.step.task.name,
      resource: item.step.task.resource.label,
      target: item.step.target.location,
      ...(item.text === "" ? {} : { partition: item.partition }),
      status: "skipped",
      reason: "upstream failed",
      rows: 0,
      bytes: 0,
      seconds: 0,
    });
  }

  // The unit of publishing: one partition's outputs across its buckets. A unit publishes when
  // every item in it ran or was up to date and every unit it read from published.
  const units = new Map<string, WorkItem[]>();
  for (const item of work) units.set(item.unit, [...(units.get(item.unit) ?? []), item]);
  const order = [...units.keys()].sort();
  const whole = new Set<string>();
  for (const unit of order) {
    const items = units.get(unit)!;
    const done = items.every((i) => {
      const status = reportOf.get(i)?.status;
      return (status === "ran" || status === "skipped") &&
        reportOf.get(i)?.reason !== "upstream failed";
    });
    const fed = items.every((i) => i.upstream.every((u) => u.unit === unit || whole.has(u.unit)));
    if (done && fed) whole.add(unit);
  }

  if (outcome.failures.length > 0 && (whole.size === 0 || !partitioned)) {
    await session.abort();
    const failure = outcome.failures[0].error;
    const message = failure instanceof Error ? failure.message : String(failure);
    const more = outcome.failures.length > 1
      ? ` (and ${outcome.failures.length - 1} more failed step${
        outcome.failures.length > 2 ? "s" : ""
      }: ${outcome.failures.slice(1).map((f) => `'${f.node.step.task.name}'`).join(", ")})`
      : "";
    const family = failure instanceof GlacierError
      ? failure.constructor as new (m: string, o?: ErrorOptions) => GlacierError
      : TaskError;
    const error = new family(
      `pipeline '${graph.name}' failed, and no bucket was changed: ${message}${more}`,
      { cause: failure },
    );
    throw await failed(error, ended("failed", error.message, failedPartitions()));
  }

  const publishing = [...versions.entries()].filter(([slot]) => {
    const unit = unitOf.get(slot);
    return unit === undefined || whole.has(unit);
  });
  try {
    failpoint("ledger.prepare");
    await ledger.prepare(session.runId, publishing.map(([, v]) => v));
  } catch (error) {
    await session.abort();
    const failure = new StorageError(
      `pipeline '${graph.name}' computed its outputs but the ledger ${ledger.where} could not ` +
        `record them (${firstLine(error)}), so nothing was published`,
      { cause: error },
    );
    throw await failed(failure, ended("failed", failure.message, failedPartitions()));
  }
  const committed = new Set<string>();
  const dropped = new Set<string>();
  let commitFailure: CommitError | undefined;
  for (const unit of order) {
    const outputs = units.get(unit)!.filter((i) => reportOf.get(i)?.status === "ran");
    const slots = outputs.map((i) => slotOf(i.target));
    const ready = whole.has(unit) && !commitFailure?.changed.length &&
      units.get(unit)!.every((i) =>
        i.upstream.every((u) => u.unit === unit || committed.has(u.unit))
      );
    if (!ready) {
      for (const slot of slots) dropped.add(slot);
      continue;
    }
    try {
      if (outputs.length > 0) await session.publish(outputs.map((i) => i.target));
      committed.add(unit);
    } catch (error) {
      for (const slot of slots) dropped.add(slot);
      const where = partitioned ? ` of partition ${units.get(unit)![0].text || "(none)"}` : "";
      commitFailure = error instanceof CommitError
        ? new CommitError(
          `pipeline '${graph.name}' could not publish its outputs${where}: ${error.reasonText}`,
          error.changed,
          error.unchanged,
          error.pending,
          { cause: error },
        )
        : new CommitError(
          `pipeline '${graph.name}' could not publish its outputs${where}: ${firstLine(error)}`,
          [],
          outputs.map((i) => objectName(i.target)),
          undefined,
          { cause: error },
        );
    }
  }
  if (commitFailure && committed.size === 0) {
    if (commitFailure.changed.length === 0) await session.abort();
    throw await failed(commitFailure, ended("failed", commitFailure.message, failedPartitions()));
  }
  const identities = new Map<string, string>();
  for (const [slot, version] of publishing) {
    if (version.task === null || dropped.has(slot)) continue;
    const ref = graph.buckets.find((b) => b.location === version.location)!;
    const at = version.partition === "" ? ref : atPartition(ref, partitionOf(version.partition));
    const identity = await session.stored(at);
    if (identity !== undefined) identities.set(slot, identity);
  }
  if (!commitFailure?.changed.length) await session.abort();
  const partial = outcome.failures.length > 0 || commitFailure !== undefined;
  const report = partial ? ended("failed", partialError(), failedPartitions()) : ended("succeeded");
  try {
    failpoint("ledger.publish");
    await ledger.publish(report, identities, dropped);
  } catch (error) {
    warn(
      `the outputs were published, but the ledger ${ledger.where} could not record that (${
        firstLine(error)
      }); the next run recognizes them by their data`,
    );
  }
  progress.done(report);
  await observers.runFinished(observed, report);
  if (partial) {
    const error = commitFailure
      ? new CommitError(
        report.error!,
        commitFailure.changed,
        commitFailure.unchanged,
        commitFailure.pending,
        { cause: commitFailure },
      )
      : new TaskError(report.error!, { cause: outcome.failures[0].error });
    error.report = report;
    throw error;
  }
  return report;

  /** The partitions that did not publish because a step failed, each once, with its error. */
  function failedPartitions(): FailedPartition[] | undefined {
    if (!partitioned) return undefined;
    const out: FailedPartition[] = [];
    const seen = new Set<string>();
    for (const item of work) {
      const r = reportOf.get(item);
      if (item.text === "" || seen.has(item.text) || r?.status !== "failed") continue;
      seen.add(item.text);
      out.push({
        partition: item.partition,
        task: item.step.task.name,
        error: r.error ?? r.reason,
      });
    }
    return out;
  }

  function partialError(): string {
    const list = failedPartitions() ?? [];
    const total = new Set(work.filter((i) => i.text !== "").map((i) => i.text)).size;
    const first = list[0];
    const cause = first
      ? `task '${first.task}' failed for partition ${partitionText(first.partition)}: ${
        firstLine(first.error)
      }`
      : commitFailure?.message ?? "";
    return `pipeline '${graph.name}' failed for ${list.length} of ${total} partitions, and ` +
      `published the others: ${cause}`;
  }

  async function failed(error: GlacierError, report: RunReport): Promise<GlacierError> {
    error.report = report;
    try {
      await ledger.fail(report);
    } catch (cause) {
      warn(`the ledger ${ledger.where} could not record the failed run: ${firstLine(cause)}`);
    }
    progress.done(report);
    await observers.runFinished(observed, report);
    return error;
  }
}

/** A warning: printed even for a quiet run, since something did not go as it should. */
/** The check results a failed step's error carries, through its causes. */
function checkResultsOf(error: unknown): readonly CheckResult[] {
  for (let e = error; e instanceof Error; e = e.cause) {
    if (e instanceof CheckFailedError) return e.results;
  }
  return [];
}

function warn(text: string): void {
  console.error(`glacier: warning: ${text}`);
}

function observedRun(
  graph: PipelineGraph,
  options: ExecuteOptions,
  session: RunSession,
  startedAt: Date,
): ObservedRun {
  return {
    runId: session.runId,
    graph,
    mode: options.mode,
    startedAt,
    uriOf: (ref) => session.uriOf(ref),
  };
}

/** Calls every observer; one that throws is a warning, never a failed run. */
function notifier(observers: readonly RunObserver[]): Required<RunObserver> {
  const call = async (event: keyof RunObserver, args: unknown[]) => {
    for (const observer of observers) {
      try {
        await (observer[event] as ((...a: unknown[]) => unknown) | undefined)?.apply(
          observer,
          args,
        );
      } catch (error) {
        warn(`a run observer failed at ${event}: ${firstLine(error)}`);
      }
    }
  };
  return {
    runStarted: (...args) => call("runStarted", args),
    stepStarted: (...args) => call("stepStarted", args),
    stepFinished: (...args) => call("stepFinished", args),
    runFinished: (...args) => call("runFinished", args),
  };
}

/** The sources an executor sees for one item: each input's partition, when it reads one. */
function sourcesOf(step: Step, item: WorkItem): Record<string, BucketRef> {
  return Object.fromEntries(
    Object.entries(item.inputs).map(([name, input]) => [
      name,
      input.mapping === "same" && input.parts.length === 1
        ? input.parts[0].ref
        : step.sources[name],
    ]),
  );
}

/**
 * An input of one item as its task sees it: one partition, a window of partitions, or every
 * partition, each with its keys as String columns.
 */
async function readInput(
  session: RunSession,
  item: WorkItem,
  name: string,
  context: StepContext,
): Promise<pl.LazyDataFrame> {
  const input = item.inputs[name];
  const missing = context.missing(item.step, name);
  if (input.mapping === "whole") return await session.input(input.parts[0].ref, missing);
  const keys = Object.keys(item.step.sources[name].partitions ?? {});
  const frames: pl.LazyDataFrame[] = [];
  for (const part of input.parts) {
    const frame = await session.input(part.ref, missing);
    frames.push(
      frame.withColumns(...keys.map((k) => pl.lit(part.partition[k]).cast(pl.Utf8).alias(k))),
    );
  }
  if (frames.length === 1) return frames[0];
  if (frames.length === 0) {
    return emptyFrame(item.step.sources[name].schema).lazy()
      .withColumns(...keys.map((k) => pl.lit(null).cast(pl.Utf8).alias(k)));
  }
  return pl.concat(frames, { how: "vertical" });
}

/**
 * The `--partition` options that retry exactly some partitions: one option per key when they
 * are every combination of their keys' values, else one run per partition, joined by `;`.
 *
 * @param failures the failed partitions.
 * @returns the options.
 */
export function retryFlags(failures: readonly FailedPartition[]): string {
  const keys = Object.keys(failures[0].partition);
  const valuesOf = keys.map((k) => [...new Set(failures.map((f) => f.partition[k]))]);
  const combinations = valuesOf.reduce((n, v) => n * v.length, 1);
  const flags = (parts: readonly (readonly string[])[]) =>
    keys.map((k, i) => `--partition ${k}=${parts[i].join(",")}`).join(" ");
  if (combinations === new Set(failures.map((f) => partitionText(f.partition))).size) {
    return flags(valuesOf);
  }
  return failures.map((f) => flags(keys.map((k) => [f.partition[k]]))).join(" ; ");
}

/**
 * Runs a step's task in this process: reads its inputs through the session, builds and checks
 * its plan, streams the plan into the target's staged output, and audits that output with the
 * target bucket's quality checks.
 *
 * @param step the step.
 * @param session the run's storage.
 * @param context the run around the step.
 * @returns rows and bytes written, and the checks' results.
 * @throws {CheckFailedError} when a check of severity `error` fails on the staged output.
 */
export async function runInProcess(
  step: Step,
  session: RunSession,
  context: StepContext,
): Promise<Written> {
  const frames: Record<string, Awaited<ReturnType<RunSession["input"]>>> = {};
  for (const [name, ref] of Object.entries(step.sources)) {
    frames[name] = context.read
      ? await context.read(name)
      : await session.input(ref, context.missing(step, name));
  }
  const plan = applyTask(step, frames, context.partition ?? {});
  let written: Written;
  try {
    written = await session.output(step.target, plan);
  } catch (error) {
    if (error instanceof StorageError) throw error;
    const inputs = Object.values(step.sources).map((s) => `'${s.location}'`).join(", ");
    const where = locateParseError(Object.values(frames), error);
    throw new TaskError(
      `task '${step.task.name}' failed while computing bucket '${step.target.location}' ` +
        `from ${inputs}: ${firstLine(error)}${where ? `; ${where}` : ""}`,
      { cause: error },
    );
  }
  if (!step.target.checks?.length) return written;
  const staged = await session.input(step.target, `task '${step.task.name}' staged no output`);
  const checks = await auditFrame(step.target, staged);
  enforceChecks(checks);
  return { ...written, checks };
}

/**
 * Runs a step's work under its task's timeout (a job of several units: their timeouts added
 * up). Past it, the step fails with a {@linkcode TaskTimeoutError} (and so does the run, through
 * its normal failure path: staged outputs dropped, nothing published) and the signal is aborted. Work that cannot be stopped, such
 * as polars computing in this process, is abandoned: it keeps its threads and memory until it ends
 * or the process exits, and whatever it does then is ignored.
 */
function withTimeout<T>(
  steps: readonly Step[],
  work: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const limits = steps.map((s) => timeoutOf(s.task));
  const controller = new AbortController();
  if (limits.some((l) => l === undefined)) return work(controller.signal);
  const seconds = (limits as number[]).reduce((a, b) => a + b, 0);
  const tasks = [...new Set(steps.map((s) => `'${s.task.name}'`))].join(", ");
  const what = steps.length === 1
    ? `task ${tasks} exceeded its timeout of ${seconds} s`
    : `the job of task ${tasks} (${steps.length} units) exceeded its timeout of ${seconds} s ` +
      "(its units' timeouts added up)";
  const running = work(controller.signal);
  running.catch(() => {});
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(
        new TaskTimeoutError(
          `${what}; its work was abandoned (polars work in progress cannot be cancelled from ` +
            "JavaScript) and nothing was published",
        ),
      );
      controller.abort();
    }, seconds * 1000);
  });
  return Promise.race([running, expired]).finally(() => clearTimeout(timer));
}

async function withHeartbeat<T>(
  step: Step,
  progress: Progress,
  work: () => Promise<T>,
): Promise<T> {
  let seconds = 0;
  const timer = setInterval(() => {
    seconds += HEARTBEAT_SECONDS;
    progress.waiting(step, seconds);
  }, HEARTBEAT_SECONDS * 1000);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}
