/**
 * Cloud mode's executor for Spark tasks: each step is compiled to one Spark SQL query (the
 * compiler, `compile.ts`), bound to the run's objects (its inputs where `locate` says, its output
 * at the run's staging key), and run by Glacier's runner (`runner.py`) on a real Spark. The run
 * commits the output with every other one, or drops it.
 *
 * Units of work share jobs: the partitions of a step that must run go to Spark as one batch (one
 * `spark-submit`, one EMR Serverless job run, one request on the run's Spark Connect session), up
 * to {@linkcode UNITS_PER_JOB} of them, each writing its own staged output and ending on its own.
 * Where a job pays for Spark's start (`spark-submit`, EMR Serverless), it also carries the units
 * of the spark steps right downstream that must run anyway, each reading its upstream's staged
 * output.
 *
 * Which Spark, in this order:
 *
 * 1. `SparkConfig({ remote })`: a Spark Connect server (`sc://host:15002`); every spark step of a
 *    run goes through one session on it (`_connect.ts`);
 * 2. `SparkConfig({ master })`: a self-managed Spark at that master (`local[2]`,
 *    `spark://host:7077`), through `spark-submit`;
 * 3. else `SPARK_REMOTE` (PySpark's own variable): a Spark Connect server, as 1 (`glacier stack
 *    up` starts one and writes it to `.glacier/stack.env`);
 * 4. else `SPARK_MASTER`: as 2, at that master;
 * 5. else EMR Serverless, when `GLACIER_EMR_APPLICATION_ID` or `AWS_ENDPOINT_URL_EMR_SERVERLESS`
 *    is set (see `emr_serverless.ts` for the variables it needs);
 * 6. else the run is refused before it reads or writes anything: no Spark is configured. Glacier
 *    never falls back to a Spark on the machine that runs the pipeline on its own accord.
 *
 * Without an S3 connector in the Spark (pip's pyspark has none), data moves through files on the
 * host that Spark and the runner share, as `runner.py` describes; with one, Spark reads S3.
 *
 * @module
 */
import { timeoutOf } from "../../core/task.ts";
import {
  NoDataError,
  remoteErrorFamily,
  StorageError,
  TaskError,
  UnsupportedError,
  WiringError,
} from "../../core/errors.ts";
import type { PipelineGraph } from "../../core/graph.ts";
import type { BucketRef, Step } from "../../core/lineage.ts";
import { objectName } from "../../core/partition_map.ts";
import { settingsOf, type SparkSettings } from "../../core/resource.ts";
import {
  contentHash,
  type Grouping,
  type InputPartition,
  isRemoteSession,
  type RemoteExecutor,
  type RemoteRunSession,
  type RunSession,
  type StepContext,
  type UnitOutcome,
  type WorkUnit,
} from "../../core/session.ts";
import { bindSparkJob, checkSparkStep } from "./_job.ts";
import {
  findSparkInstallation,
  runnerSource,
  sparkErrorLines,
  type SparkInstallation,
  SubmitError,
  type SubmitOutcome,
  submitSparkJob,
} from "./_submit.ts";
import {
  awsDeps,
  EMR_VARIABLES,
  emrServerlessConfig,
  emrServerlessRequested,
  runJobOnEmrServerless,
} from "./emr_serverless.ts";
import type { SparkBatch, SparkBatchUnit } from "./job.ts";
import { connectPython, ConnectSessionError, SparkConnectSession } from "./_connect.ts";
import { enforceChecks } from "../../core/checks_audit.ts";
import { env } from "../../core/env.ts";

/** The Spark a task runs on, by the selection rule of this module. */
export type SparkTarget =
  | {
    /** A Spark Connect server. */
    readonly kind: "connect";
    /** Its URL, `sc://host:port`. */
    readonly remote: string;
    /** Where the URL came from. */
    readonly from: "SparkConfig" | "SPARK_REMOTE";
  }
  | {
    /** A Spark that `spark-submit` reaches. */
    readonly kind: "self-managed";
    /** Its master URL. */
    readonly master: string;
    /** Where the master came from. */
    readonly from: "SparkConfig" | "SPARK_MASTER";
  }
  | {
    /** AWS EMR Serverless. */
    readonly kind: "emr-serverless";
  }
  | {
    /** Nothing is configured. */
    readonly kind: "none";
  };

function sparkSettings(step: Step): SparkSettings {
  return settingsOf(step.task.resource, "spark");
}

/**
 * The Spark a step runs on: `SparkConfig({ remote })`, `SparkConfig({ master })`, else
 * `SPARK_REMOTE`, else `SPARK_MASTER`, else EMR Serverless when its variables are set, else none.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sparkTarget } from "./executor.ts";
 * assert.deepEqual(sparkTarget({ master: "local[2]" }), { kind: "self-managed", master: "local[2]", from: "SparkConfig" });
 * assert.deepEqual(sparkTarget({ remote: "sc://127.0.0.1:15002" }), { kind: "connect", remote: "sc://127.0.0.1:15002", from: "SparkConfig" });
 * ```
 *
 * @param settings the task's Spark settings (its `SparkConfig` as plain data).
 * @returns the target.
 */
export function sparkTarget(
  settings: { readonly master?: string; readonly remote?: string },
): SparkTarget {
  if (settings.remote) return { kind: "connect", remote: settings.remote, from: "SparkConfig" };
  if (settings.master) {
    return { kind: "self-managed", master: settings.master, from: "SparkConfig" };
  }
  const remote = env("SPARK_REMOTE");
  if (remote) return { kind: "connect", remote, from: "SPARK_REMOTE" };
  const master = env("SPARK_MASTER");
  if (master) return { kind: "self-managed", master, from: "SPARK_MASTER" };
  if (emrServerlessRequested()) return { kind: "emr-serverless" };
  return { kind: "none" };
}

/** What to do when no Spark is configured, for messages. */
const CONFIGURE_SPARK = "Set SparkConfig({ remote }) or SPARK_REMOTE for a Spark Connect " +
  "server (glacier stack up starts one and writes SPARK_REMOTE to .glacier/stack.env), " +
  "SparkConfig({ master }) or SPARK_MASTER for spark-submit (local[2] runs one in-process), " +
  `or ${EMR_VARIABLES.join(", ")} for EMR Serverless`;

/** What to do when `spark-submit` is missing, for messages. */
const INSTALL_SPARK = "run glacier stack up, which installs Spark into .glacier/venv-spark, " +
  "or set SPARK_HOME to a Spark 4.0 installation";

/** What to do when the Spark Connect client cannot start, for messages. */
const INSTALL_CONNECT = "run glacier stack up, which installs PySpark with its Spark Connect " +
  "client into .glacier/venv-spark, or set PYSPARK_PYTHON to a Python that imports " +
  "pyspark 4.0 with grpcio, grpcio-status, googleapis-common-protos, pandas, pyarrow and boto3";

/** The most units one Spark job carries of one step. */
export const UNITS_PER_JOB = 100;

/**
 * Cloud mode's executor for Spark tasks, one per run: it holds one Spark Connect session per
 * server for the whole run, opened by the preflight, closed when the run ends, and runs units of
 * work in batches.
 *
 * @returns a fresh executor.
 */
export function sparkExecutor(): RemoteExecutor {
  const sessions = new SessionPool();
  let jobs = 0;
  const runMany = (units: readonly WorkUnit[], session: RunSession, signal?: AbortSignal) =>
    runOnSpark(units, session, signal, sessions, ++jobs);
  return {
    run: async (step, session, context) => {
      const [outcome] = await runMany([{ step, context }], session, context.signal);
      if (!outcome.ok) throw outcome.error;
      return outcome.written;
    },
    grouping: sparkGrouping,
    runMany,
    reads: { all: true, lookback: true },
    preflight: (graph) => preflightSpark(graph, sessions),
    close: () => sessions.close(),
  };
}

/**
 * Which units share a job: those on the same Spark with the same resources; on `spark-submit` and
 * EMR Serverless, which start a Spark for each job, chains of steps too (a Spark Connect session
 * is shared by the whole run already).
 */
function sparkGrouping(step: Step): Grouping | undefined {
  const settings = sparkSettings(step);
  const target = sparkTarget(settings);
  const resources = `${settings.executors}x${settings.executorMemory}`;
  switch (target.kind) {
    case "connect":
      return { key: `connect ${target.remote} ${resources}`, chains: false, size: UNITS_PER_JOB };
    case "self-managed":
      return { key: `submit ${target.master} ${resources}`, chains: true, size: UNITS_PER_JOB };
    case "emr-serverless":
      return {
        key: `emr ${step.target.settings.region} ${resources}`,
        chains: true,
        size: UNITS_PER_JOB,
      };
    case "none":
      return undefined;
  }
}

/** The run's Spark Connect sessions, one per server, opened on first use. */
class SessionPool {
  readonly #sessions = new Map<string, Promise<SparkConnectSession>>();

  /** The session on `remote`, opened now if the run has none there yet. */
  open(remote: string, task: string, from: string): Promise<SparkConnectSession> {
    let session = this.#sessions.get(remote);
    if (session === undefined) {
      session = openSession(remote, task, from);
      this.#sessions.set(remote, session);
      session.catch(() => this.#sessions.delete(remote));
    }
    return session;
  }

  /** Closes every session. */
  async close(): Promise<void> {
    const opened = [...this.#sessions.values()];
    this.#sessions.clear();
    for (const session of opened) await session.then((s) => s.close(), () => {});
  }
}

async function openSession(
  remote: string,
  task: string,
  from: string,
): Promise<SparkConnectSession> {
  const python = connectPython();
  try {
    const session = await SparkConnectSession.open(remote, python);
    if (session.ui) {
      announce(`task '${task}'`, `Spark Connect at ${remote}, Spark UI ${session.ui}`);
    }
    return session;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new UnsupportedError(
        `task '${task}' runs on Spark Connect at ${remote} (${from}), but its client's Python ` +
          `'${python}' was not found. Nothing was read or written: ${INSTALL_CONNECT}`,
      );
    }
    if (error instanceof ConnectSessionError) {
      const missing = /No module named|ModuleNotFoundError|requires? .*(grpc|pandas)/i.test(
        `${error.message}\n${error.stderrTail}`,
      );
      throw new UnsupportedError(
        `task '${task}' runs on Spark Connect at ${remote} (${from}), which could not be ` +
          `reached: ${error.message.split("\n")[0]}. Nothing was read or written. ${
            missing
              ? INSTALL_CONNECT
              : "Start it (glacier stack up, then source .glacier/stack.env) or name a server that runs"
          }`,
      );
    }
    throw error;
  }
}

/**
 * Says what a Spark step is doing (queued, running, where its Spark UI is) on a terminal; the
 * engine's own lines say when it started and ended.
 */
function announce(who: string, text: string): void {
  if (Deno.stderr.isTerminal()) console.error(`  spark: ${who}: ${text}`);
}

/** The tasks a batch runs, for messages: `task 'a'`, or `tasks 'a', 'b'`. */
function tasksOf(batch: SparkBatch): string {
  const names = [...new Set(batch.units.map((u) => `'${u.job.task}'`))];
  return `${names.length > 1 ? "tasks" : "task"} ${names.join(", ")}`;
}

/**
 * Refuses, before the run reads or writes anything, Spark steps that cannot run: no Spark
 * configured, a Spark Connect server that cannot be reached (its session is opened here, for the
 * run), no `spark-submit`, a standalone master that does not answer, EMR Serverless without its
 * variables, or a task the compiler cannot translate.
 *
 * @param graph the pipeline about to run.
 * @param sessions the run's Spark Connect sessions.
 * @throws {UnsupportedError} naming the task and what to do.
 */
async function preflightSpark(graph: PipelineGraph, sessions: SessionPool): Promise<void> {
  const steps = graph.steps.filter((s) => s.task.resource.kind === "spark");
  const none = steps.filter((s) => sparkTarget(sparkSettings(s)).kind === "none");
  if (none.length > 0) {
    const names = none.map((s) => `'${s.task.name}' (spark)`).join(", ");
    throw new UnsupportedError(
      `cloud mode cannot run task ${names} yet: no Spark is configured for ${
        none.length > 1 ? "them" : "it"
      }. Nothing was read or written. ${CONFIGURE_SPARK}`,
    );
  }
  const checked = new Set<string>();
  for (const step of steps) {
    await checkSparkStep(step);
    const target = sparkTarget(sparkSettings(step));
    if (target.kind === "connect") {
      await checkAddress(step, target.remote, /^sc:\/\/\[?([^\]/;]+?)\]?:(\d+)/, target.from);
      await sessions.open(target.remote, step.task.name, target.from);
    }
    if (target.kind === "self-managed" && !checked.has(target.master)) {
      checked.add(target.master);
      if (findSparkInstallation() === undefined) {
        throw new UnsupportedError(
          `task '${step.task.name}' runs on Spark at ${target.master}, but spark-submit was not ` +
            `found (SPARK_HOME, PATH, .glacier/venv-spark). Nothing was read or written: ` +
            INSTALL_SPARK,
        );
      }
      await checkAddress(step, target.master, /^spark:\/\/([^:/,]+):(\d+)$/, target.from);
    }
    if (target.kind === "emr-serverless") {
      emrServerlessConfig(step.target.settings.region, step.task.name);
    }
  }
}

/** Fails when a Spark master's or Connect server's port takes no connection. */
async function checkAddress(step: Step, url: string, pattern: RegExp, from: string): Promise<void> {
  const match = url.match(pattern);
  if (!match) return;
  const what = url.startsWith("sc:") ? "Spark Connect server" : "Spark master";
  try {
    const connection = await Deno.connect({ hostname: match[1], port: Number(match[2]) });
    connection.close();
  } catch (error) {
    throw new UnsupportedError(
      `task '${step.task.name}' runs on the ${what} ${url} (${from}), which takes no ` +
        `connection (${(error as Error).message}). Nothing was read or written. Start it ` +
        "(glacier stack up, then source .glacier/stack.env) or name one that runs",
    );
  }
}

/**
 * Runs units of Spark work in one job: compiles each, binds it to the run's objects (a unit that
 * reads another unit's output reads its staging object), runs the batch on the Spark the
 * selection rule picks for the first unit (the grouping keeps units on one Spark), and records
 * each staged output.
 *
 * @param units the units, each after the ones whose output it reads.
 * @param session the run's storage; it must be S3 (cloud mode).
 * @param signal aborted when the job passes its timeout.
 * @param sessions the run's Spark Connect sessions.
 * @param sequence the job's number in the run, for its name.
 * @returns each unit's outcome: what it wrote (with the results of the checks the job ran on its
 *   output), or its error naming the task and the Spark, with Spark's own error; a failing check
 *   of severity `error` is a `CheckFailedError` (the job then placed nothing).
 */
async function runOnSpark(
  units: readonly WorkUnit[],
  session: RunSession,
  signal: AbortSignal | undefined,
  sessions: SessionPool,
  sequence: number,
): Promise<UnitOutcome[]> {
  const first = units[0].step;
  if (!isRemoteSession(session)) {
    throw new WiringError(
      `task '${first.task.name}' runs on Spark, which reads and writes S3: run it in cloud mode`,
    );
  }
  const outcomes: (UnitOutcome | undefined)[] = units.map(() => undefined);
  const producer = new Map(units.map((u, i) => [objectName(u.step.target), i]));
  const inJob = (ref: BucketRef) => producer.has(objectName(ref));
  /** Each bound unit's position among the units. */
  const bound: number[] = [];
  const batchUnits: SparkBatchUnit[] = [];
  for (const [i, unit] of units.entries()) {
    try {
      const reads = [
        ...Object.values(unit.step.sources),
        ...Object.values(partitionsRead(unit.context) ?? {}).flat().map((part) => part.ref),
      ];
      const after = [
        ...new Set(reads.flatMap((ref) => {
          const from = producer.get(objectName(ref));
          return from === undefined || from === i ? [] : [from];
        })),
      ];
      const failed = after.find((from) => outcomes[from] !== undefined);
      if (failed !== undefined) {
        outcomes[i] = outcomes[failed];
        continue;
      }
      await checkInputs(unit.step, session, unit.context, inJob);
      const job = await bindSparkJob(unit.step, {
        input: (ref) => inJob(ref) ? session.stagingFor(ref) : session.locate(ref),
        output: (ref) => session.stagingFor(ref),
        parts: partitionsRead(unit.context),
      });
      batchUnits.push({
        job,
        ...(after.length > 0 ? { after: after.map((a) => bound.indexOf(a)) } : {}),
      });
      bound.push(i);
    } catch (error) {
      outcomes[i] = { ok: false, error };
    }
  }
  if (batchUnits.length === 0) return outcomes as UnitOutcome[];
  const batch: SparkBatch = {
    glacier: 1,
    task: `${first.task.name}.${sequence}`,
    units: batchUnits,
  };
  const settings = sparkSettings(first);
  const target = sparkTarget(settings);
  const timeouts = bound.map((i) => timeoutOf(units[i].step.task));
  let outcome: SubmitOutcome;
  let where: string;
  if (target.kind === "connect") {
    where = `Spark Connect ${target.remote}`;
    outcome = await runOnConnect(
      batch,
      await sessions.open(target.remote, first.task.name, target.from),
      where,
      signal,
    );
  } else if (target.kind === "self-managed") {
    where = `Spark master ${target.master}`;
    outcome = await runSelfManaged(batch, target.master, settings, signal);
  } else if (target.kind === "emr-serverless") {
    const emr = await runOnEmr(
      batch,
      session,
      settings,
      first.target.settings.region,
      timeouts.includes(undefined) ? undefined : (timeouts as number[]).reduce((a, b) => a + b, 0),
      signal,
    );
    where = emr.where;
    outcome = emr.outcome;
  } else {
    throw new UnsupportedError(
      `task '${first.task.name}' runs on Spark, but none is configured. ${CONFIGURE_SPARK}`,
    );
  }
  for (const [position, i] of bound.entries()) {
    const task = units[i].step.task.name;
    const answer = outcome.ok ? outcome.result.units?.[position] : outcome.failure;
    try {
      if (answer === undefined) {
        throw new TaskError(`task '${task}' failed on ${where}: the runner gave no answer for it`);
      }
      if ("error" in answer) {
        const family = remoteErrorFamily(answer.type);
        throw new family(`task '${task}' failed on ${where}: ${answer.error}`);
      }
      if (answer.checks) enforceChecks(answer.checks);
      await session.stagedRemotely(units[i].step.target);
      const content = contentHash(answer.content);
      outcomes[i] = {
        ok: true,
        written: {
          rows: answer.rows,
          bytes: answer.bytes,
          ...(content ? { content } : {}),
          ...(answer.checks ? { checks: answer.checks } : {}),
        },
      };
    } catch (error) {
      outcomes[i] = { ok: false, error };
    }
  }
  return outcomes as UnitOutcome[];
}

/**
 * Reports a missing input with the run's own words, before a job starts for nothing; an input
 * another unit of the job writes is not looked for.
 */
async function checkInputs(
  step: Step,
  session: RemoteRunSession,
  context: StepContext,
  inJob: (ref: BucketRef) => boolean,
): Promise<void> {
  const { S3Storage } = await import("../../io/s3/s3_storage.ts");
  for (const [name, source] of Object.entries(step.sources)) {
    const refs = partitionsRead(context)?.[name]?.map((part) => part.ref) ?? [source];
    for (const ref of refs) {
      if (inJob(ref)) continue;
      const at = session.locate(ref);
      if (!(await new S3Storage(ref.settings.region).head(at.bucket, at.key))) {
        // Said of the partition that is missing, in the run's words.
        throw new NoDataError(
          context.missing({ ...step, sources: { ...step.sources, [name]: ref } }, name),
        );
      }
    }
  }
}

/**
 * The partitions each input read by partitions reads (its partition, a window, or every
 * partition), with their key values, for an executor that reads the files itself and adds the keys
 * as String columns; an input read whole has none.
 *
 * @param context the step's context.
 * @returns the partitions by input name, or `undefined` when the context says nothing of them.
 */
function partitionsRead(
  context: StepContext,
): Readonly<Record<string, readonly InputPartition[]>> | undefined {
  if (!context.inputs) return undefined;
  return Object.fromEntries(
    Object.entries(context.inputs).flatMap(([name, input]) =>
      input.mapping === "whole" ? [] : [[name, input.parts]]
    ),
  );
}

/** Runs a job in the run's Spark Connect session; maps a client that ended to a clear error. */
async function runOnConnect(
  job: SparkBatch,
  session: SparkConnectSession,
  where: string,
  signal: AbortSignal | undefined,
): Promise<SubmitOutcome> {
  try {
    return await session.run(job, {
      signal,
      onState: (state) =>
        announce(
          tasksOf(job),
          state === "queued" ? "queued: waiting for the same task's job before it" : "running",
        ),
    });
  } catch (error) {
    if (!(error instanceof ConnectSessionError)) throw error;
    throw new TaskError(
      `${tasksOf(job)} failed on ${where}: ${error.message}:\n${sparkErrorLines(error.stderrTail)}`,
    );
  }
}

/** Runs a job with `spark-submit`; maps a Spark that did not start to a clear error. */
async function runSelfManaged(
  job: SparkBatch,
  master: string,
  settings: SparkSettings,
  signal: AbortSignal | undefined,
): Promise<SubmitOutcome> {
  const spark: SparkInstallation | undefined = findSparkInstallation();
  if (spark === undefined) {
    throw new UnsupportedError(
      `${
        tasksOf(job)
      } runs on Spark at ${master}, but spark-submit was not found: ${INSTALL_SPARK}`,
    );
  }
  try {
    return await submitSparkJob(job, {
      master,
      executors: settings.executors,
      executorMemory: settings.executorMemory,
      spark,
      signal,
      onQueued: () =>
        announce(
          tasksOf(job),
          `queued: Spark master ${master} has granted no executor yet (it asks for ` +
            `${settings.executors} of ${settings.executorMemory}; see its workers' free cores ` +
            "and memory)",
        ),
    });
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new UnsupportedError(
        `${tasksOf(job)}: cannot start ${spark.sparkSubmit}: ${INSTALL_SPARK}`,
      );
    }
    if (error instanceof SubmitError) {
      throw new TaskError(
        `${tasksOf(job)} failed on Spark master ${master} before its query ran ` +
          `(spark-submit exited with status ${error.code}):\n${sparkErrorLines(error.stderrTail)}`,
      );
    }
    throw error;
  }
}

/** Runs a job on EMR Serverless, reporting its states on a terminal. */
async function runOnEmr(
  job: SparkBatch,
  session: RemoteRunSession,
  settings: SparkSettings,
  region: string,
  timeout: number | undefined,
  signal: AbortSignal | undefined,
): Promise<{ outcome: SubmitOutcome; where: string }> {
  const config = emrServerlessConfig(region, job.units[0].job.task);
  const interactive = Deno.stderr.isTerminal();
  let outcome: Awaited<ReturnType<typeof runJobOnEmrServerless>>;
  try {
    outcome = await runJobOnEmrServerless(
      job,
      session.runId,
      config,
      {
        executors: settings.executors,
        executorMemory: settings.executorMemory,
        ...(timeout === undefined ? {} : { timeoutSeconds: timeout }),
      },
      await runnerSource(),
      await awsDeps(config),
      {
        onState: (id, state) => {
          if (interactive) console.error(`  spark: ${tasksOf(job)} job run ${id}: ${state}`);
        },
        signal,
      },
    );
  } catch (error) {
    if (error instanceof StorageError) throw error;
    const e = error as { name?: string; message?: string };
    throw new TaskError(
      `running ${tasksOf(job)} on EMR Serverless application ${config.applicationId} at ` +
        `${config.endpoint} failed: ${e.name ?? "Error"}: ${(e.message ?? "").split("\n")[0]}`,
      { cause: error },
    );
  }
  return {
    outcome,
    where: `EMR Serverless application ${config.applicationId} (job run ${outcome.jobRunId})`,
  };
}
