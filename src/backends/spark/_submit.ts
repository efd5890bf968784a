/**
 * A Glacier Spark job on a self-managed Spark: `spark-submit` of the runner (`runner.py`) with
 * the job file, against the master the task's `SparkConfig` or `SPARK_MASTER` names, and the
 * runner's one-line JSON answer.
 *
 * Where `spark-submit` comes from, first found wins: `$SPARK_HOME/bin/spark-submit`, then
 * `spark-submit` on `PATH`, then the PySpark that `glacier stack up` installs into
 * `.glacier/venv-spark` under the working directory. The driver's Python is `PYSPARK_PYTHON` when
 * set, else the Python of the virtual environment that holds that `spark-submit`, if any; it must
 * import pyspark, boto3 and pyarrow.
 *
 * @module
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { SparkBatch, SparkJob } from "./job.ts";
import type { CheckResult } from "../../core/reports.ts";
import { env } from "../../core/env.ts";

/** What the runner answers on its last line when the job succeeded. */
export interface SparkJobResult {
  /** Rows written. */
  readonly rows: number;
  /** Bytes of the output file. */
  readonly bytes: number;
  /** `sha256:HEX` of exactly the bytes the runner placed at the output's URI. */
  readonly content?: string;
  /** Seconds the runner took, Spark's start included. */
  readonly seconds: number;
  /** The results of the target bucket's quality checks, when it has any. */
  readonly checks?: readonly CheckResult[];
  /**
   * For a batch: each unit's answer, in order (`rows` and `bytes` are then the units' totals).
   */
  readonly units?: readonly SparkUnitAnswer[];
}

/** What the runner answers for one unit of a batch: its result, or its own failure. */
export type SparkUnitAnswer = Omit<SparkJobResult, "units"> | SparkJobFailure;

/**
 * The runner's answer as a result, when it is one: its rows and bytes, and what it has of the
 * rest.
 *
 * @param answer the parsed JSON answer.
 * @returns the result, or `undefined` when the answer has no rows and bytes.
 */
export function resultOf(
  answer: Partial<SparkJobResult & SparkJobFailure> | undefined,
): SparkJobResult | undefined {
  if (typeof answer?.rows !== "number" || typeof answer.bytes !== "number") return undefined;
  return {
    rows: answer.rows,
    bytes: answer.bytes,
    ...(typeof answer.content === "string" ? { content: answer.content } : {}),
    seconds: answer.seconds ?? 0,
    ...(answer.checks ? { checks: answer.checks } : {}),
    ...(answer.units ? { units: answer.units } : {}),
  };
}

/** What the runner answers on its last line when the job failed. */
export interface SparkJobFailure {
  /** Spark's own message (a few lines) or the runner's. */
  readonly error: string;
  /** The Glacier error family: `TaskError`, `SchemaMismatchError`, `StorageError`, ... */
  readonly type: string;
}

/** A `spark-submit` and the Python its driver runs on. */
export interface SparkInstallation {
  /** The `spark-submit` script. */
  readonly sparkSubmit: string;
  /** The driver's Python, when one must be named (`PYSPARK_PYTHON`). */
  readonly python?: string;
}

/** How a job is submitted. */
export interface SubmitOptions {
  /** The master URL: `local[2]`, `spark://127.0.0.1:7077`, ... */
  readonly master: string;
  /** `spark.executor.instances` (and, on a standalone master, `spark.cores.max`). */
  readonly executors: number;
  /** `spark.executor.memory`, such as `4g`. */
  readonly executorMemory: string;
  /** The Spark to submit with. */
  readonly spark: SparkInstallation;
  /** Stops `spark-submit` (and with it the driver and its job) when aborted: a task's timeout. */
  readonly signal?: AbortSignal;
  /**
   * Told, once, when Spark says the job waits for resources: no executor has been granted (a
   * standalone master whose workers lack the cores or memory asked for).
   */
  readonly onQueued?: () => void;
}

/** What Spark's driver logs while no executor has been granted to the application. */
const WAITING_FOR_RESOURCES = "Initial job has not accepted any resources";

/** What `spark-submit` did, when the runner answered. */
export type SubmitOutcome =
  | { readonly ok: true; readonly result: SparkJobResult }
  | { readonly ok: false; readonly failure: SparkJobFailure };

function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/**
 * Finds `spark-submit`: `$SPARK_HOME/bin/spark-submit`, then `PATH`, then the stack's venv.
 *
 * @returns the installation, or `undefined` when there is none.
 */
export function findSparkInstallation(): SparkInstallation | undefined {
  const home = env("SPARK_HOME");
  const candidates: string[] = [];
  if (home) candidates.push(join(home, "bin", "spark-submit"));
  for (const dir of (env("PATH") ?? "").split(":").filter((d) => d !== "")) {
    candidates.push(join(dir, "spark-submit"));
  }
  const venv = join(Deno.cwd(), ".glacier", "venv-spark");
  try {
    for (const entry of Deno.readDirSync(join(venv, "lib"))) {
      candidates.push(
        join(venv, "lib", entry.name, "site-packages", "pyspark", "bin", "spark-submit"),
      );
    }
  } catch {
    // No venv here.
  }
  const sparkSubmit = candidates.find(isFile);
  if (sparkSubmit === undefined) return undefined;
  const python = env("PYSPARK_PYTHON") ?? venvPython(sparkSubmit);
  return { sparkSubmit, ...(python ? { python } : {}) };
}

/** The Python of the virtual environment whose site-packages hold `spark-submit`'s pyspark. */
function venvPython(sparkSubmit: string): string | undefined {
  const match = sparkSubmit.match(
    /^(.*)\/lib\/python[^/]+\/site-packages\/pyspark\/bin\/spark-submit$/,
  );
  if (!match) return undefined;
  const python = join(match[1], "bin", "python");
  return isFile(python) ? python : undefined;
}

let runnerFile: Promise<string> | undefined;

/**
 * The runner as a local file: `runner.py` beside this module, or a copy of it when Glacier was
 * loaded from a URL.
 *
 * @returns its path.
 */
export function runnerPath(): Promise<string> {
  runnerFile ??= (async () => {
    const url = new URL("./runner.py", import.meta.url);
    if (url.protocol === "file:") return fileURLToPath(url);
    const response = await fetch(url);
    if (!response.ok) throw new Error(`cannot fetch the Spark runner ${url}: ${response.status}`);
    const dir = await Deno.makeTempDir({ prefix: "glacier-spark-runner-" });
    const file = join(dir, "runner.py");
    await Deno.writeTextFile(file, await response.text());
    return file;
  })();
  runnerFile.catch(() => (runnerFile = undefined));
  return runnerFile;
}

/**
 * The runner's source text.
 *
 * @returns the Python source of `runner.py`.
 */
export async function runnerSource(): Promise<string> {
  return await Deno.readTextFile(await runnerPath());
}

/**
 * The `spark-submit` arguments for a job file.
 *
 * @param job the job (for its task name).
 * @param jobFile the job file.
 * @param runner the runner file.
 * @param options master and resources.
 * @returns the arguments after `spark-submit`.
 */
export function submitArguments(
  job: SparkJob | SparkBatch,
  jobFile: string,
  runner: string,
  options: Omit<SubmitOptions, "spark">,
): string[] {
  const conf = (key: string, value: string | number) => ["--conf", `${key}=${value}`];
  const args = [
    "--master",
    options.master,
    "--name",
    `glacier:${job.task}`,
    ...conf("spark.executor.instances", options.executors),
    ...conf("spark.executor.memory", options.executorMemory),
    ...conf("spark.ui.enabled", "false"),
    ...conf("spark.log.level", "WARN"),
  ];
  if (options.master.startsWith("spark://")) {
    // A standalone master gives an application every free core unless told otherwise: one core
    // per executor, as many executors as the task's SparkConfig asks for.
    args.push(...conf("spark.executor.cores", 1), ...conf("spark.cores.max", options.executors));
  }
  if (/^(local(\[.*\])?|spark:\/\/(127\.0\.0\.1|localhost)(:\d+)?)$/.test(options.master)) {
    // A master on loopback: executors on this host reach the driver on loopback too.
    args.push(...conf("spark.driver.host", "127.0.0.1"));
    args.push(...conf("spark.driver.bindAddress", "127.0.0.1"));
  }
  args.push(runner, jobFile);
  return args;
}

/** Thrown when `spark-submit` ran but the runner gave no answer; carries the output's end. */
export class SubmitError extends Error {
  /** The exit status of `spark-submit`. */
  readonly code: number;
  /** The end of its stderr: Spark's log, Java's errors. */
  readonly stderrTail: string;

  /**
   * A `spark-submit` that ended without the runner's answer.
   *
   * @param message what happened.
   * @param code the exit status.
   * @param stderrTail the end of stderr.
   */
  constructor(message: string, code: number, stderrTail: string) {
    super(message);
    this.name = "SubmitError";
    this.code = code;
    this.stderrTail = stderrTail;
  }
}

/** Bytes of stderr kept for messages. */
const STDERR_KEEP = 64 * 1024;

/**
 * Submits a job (or a batch of them) with `spark-submit` and waits for the runner's answer.
 *
 * @param job the job or batch.
 * @param options master, resources and the Spark to use.
 * @returns the runner's result or its failure.
 * @throws {Deno.errors.NotFound} when `spark-submit` cannot be started.
 * @throws {SubmitError} when the runner gave no answer (Spark did not start, Java is missing).
 */
export async function submitSparkJob(
  job: SparkJob | SparkBatch,
  options: SubmitOptions,
): Promise<SubmitOutcome> {
  const dir = await Deno.makeTempDir({ prefix: "glacier-spark-job-" });
  try {
    const jobFile = join(dir, `${job.task.replace(/[^A-Za-z0-9_.-]/g, "_")}.json`);
    await Deno.writeTextFile(jobFile, JSON.stringify(job));
    const args = submitArguments(job, jobFile, await runnerPath(), options);
    const child = new Deno.Command(options.spark.sparkSubmit, {
      args,
      env: {
        ...(options.spark.python ? { PYSPARK_PYTHON: options.spark.python } : {}),
        // The home of this very spark-submit (symbolic links resolved), so that a SPARK_HOME
        // of another Spark in the environment cannot mix two Sparks' jars.
        SPARK_HOME: dirname(dirname(await Deno.realPath(options.spark.sparkSubmit))),
      },
      cwd: dir,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const stop = () => child.kill("SIGTERM");
    options.signal?.addEventListener("abort", stop, { once: true });
    const [stdout, stderr, status] = await Promise.all([
      new Response(child.stdout).text(),
      keepTail(child.stderr, options.onQueued),
      child.status,
    ]);
    options.signal?.removeEventListener("abort", stop);
    const last = stdout.trimEnd().split("\n").pop() ?? "";
    let answer: Partial<SparkJobResult & SparkJobFailure> | undefined;
    try {
      answer = last.startsWith("{") ? JSON.parse(last) : undefined;
    } catch {
      answer = undefined;
    }
    if (answer?.error !== undefined) {
      return { ok: false, failure: { error: answer.error, type: answer.type ?? "TaskError" } };
    }
    const result = resultOf(answer);
    if (status.success && result) return { ok: true, result };
    throw new SubmitError(
      `spark-submit exited with status ${status.code} without the runner's answer`,
      status.code,
      stderr,
    );
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/**
 * Reads a stream to its end, keeping only its last {@linkcode STDERR_KEEP} bytes as text, and
 * calls `onQueued` the first time Spark says the job waits for resources.
 */
async function keepTail(
  stream: ReadableStream<Uint8Array>,
  onQueued?: () => void,
): Promise<string> {
  let kept = new Uint8Array(0);
  let queued = false;
  const decoder = new TextDecoder();
  for await (const chunk of stream) {
    if (!queued && decoder.decode(chunk).includes(WAITING_FOR_RESOURCES)) {
      queued = true;
      onQueued?.();
    }
    const joined = new Uint8Array(kept.length + chunk.length);
    joined.set(kept);
    joined.set(chunk, kept.length);
    kept = joined.length > STDERR_KEEP ? joined.slice(joined.length - STDERR_KEEP) : joined;
  }
  return new TextDecoder().decode(kept);
}

/**
 * The lines of Spark's stderr worth showing when it failed before the runner could answer:
 * errors and exceptions, without the stack frames, at most `lines` of them.
 *
 * @param stderr the end of stderr.
 * @param lines how many lines at most.
 * @returns the lines, joined.
 */
export function sparkErrorLines(stderr: string, lines = 8): string {
  const useful = stderr.split("\n").map((l) => l.trimEnd()).filter((l) =>
    /error|exception|exit|refused|cannot|could not|not found|unresponsive/i.test(l) &&
    !/^\s+at /.test(l) && !/WARN NativeCodeLoader|incubator modules/.test(l)
  );
  const picked = useful.length > 0 ? useful : stderr.trimEnd().split("\n");
  return picked.slice(-lines).join("\n");
}
