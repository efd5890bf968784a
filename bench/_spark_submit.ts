/**
 * Spark instrumentation for the Spark pipeline benchmark, the same for Glacier and for the
 * hand-written jobs: every `spark-submit` goes through a small shell wrapper that times it and
 * keeps its last line of output (the runner's or the script's JSON answer), and Spark writes an
 * event log per application, from which each submit's time is split into phases.
 *
 * Glacier finds the wrapper as `$SPARK_HOME/bin/spark-submit` (its first choice, see
 * `src/backends/spark/_submit.ts`); the wrapper sets `SPARK_HOME` back to the real PySpark before it runs
 * the real `spark-submit`, so the jobs run exactly as they would without it. Its own cost is two
 * `date` calls and a `tail`, a few milliseconds per submit.
 *
 * @module
 */
import { dirname, join } from "node:path";
import { submitArguments } from "../src/backends/spark/_submit.ts";
import type { SparkJob } from "../src/backends/spark/job.ts";
import { ensureSparkVenv } from "../src/stack/spark_venv.ts";

/** The master every Spark variant uses. */
export const MASTER = "local[2]";
/** Executors and memory: `SparkConfig`'s defaults, which the Glacier variant runs with. */
export const EXECUTORS = 2;
/** Memory per executor, `SparkConfig`'s default. */
export const EXECUTOR_MEMORY = "4g";

/** The wrapper, the Spark configuration directory and where both leave their records. */
export interface SparkTooling {
  /** Variables that route `spark-submit` through the wrapper and turn the event log on. */
  readonly env: Readonly<Record<string, string>>;
  /** The wrapper (`<home>/bin/spark-submit`). */
  readonly sparkSubmit: string;
  /** The venv's Python, which the drivers run on. */
  readonly python: string;
  /** The file the wrapper appends one line per submit to. */
  readonly log: string;
  /** Where Spark writes one event log file per application. */
  readonly eventsDir: string;
}

/**
 * Creates the wrapper and a Spark configuration directory with the event log on, under `dir`.
 *
 * @param dir a fresh directory.
 * @returns the tooling; set its `env` in the process that starts `spark-submit`.
 */
export async function sparkTooling(dir: string): Promise<SparkTooling> {
  const venv = await ensureSparkVenv();
  const realHome = dirname(dirname(await Deno.realPath(venv.sparkSubmit)));
  const home = join(dir, "spark-home");
  const conf = join(dir, "spark-conf");
  const eventsDir = join(dir, "events");
  const log = join(dir, "submits.log");
  for (const d of [join(home, "bin"), conf, eventsDir]) await Deno.mkdir(d, { recursive: true });
  const sparkSubmit = join(home, "bin", "spark-submit");
  await Deno.writeTextFile(
    sparkSubmit,
    [
      "#!/bin/sh",
      '# spark-submit, timed: appends "<start> <end> <status> <last line of stdout>" to the log.',
      "started=$(date +%s.%N)",
      "out=$(mktemp) || exit 1",
      `SPARK_HOME=${shellQuote(realHome)}; export SPARK_HOME`,
      `${shellQuote(join(realHome, "bin", "spark-submit"))} "$@" >"$out"`,
      "code=$?",
      "ended=$(date +%s.%N)",
      'cat "$out"',
      `printf '%s %s %s %s\\n' "$started" "$ended" "$code" "$(tail -n 1 "$out")" >>${
        shellQuote(log)
      }`,
      'rm -f "$out"',
      "exit $code",
      "",
    ].join("\n"),
    { mode: 0o755 },
  );
  await Deno.writeTextFile(
    join(conf, "spark-defaults.conf"),
    [
      "spark.eventLog.enabled true",
      `spark.eventLog.dir file://${eventsDir}`,
      "spark.eventLog.compress false",
      "spark.eventLog.rolling.enabled false",
      "",
    ].join("\n"),
  );
  return {
    env: { SPARK_HOME: home, PYSPARK_PYTHON: venv.python, SPARK_CONF_DIR: conf },
    sparkSubmit,
    python: venv.python,
    log,
    eventsDir,
  };
}

/**
 * Runs a Python script with `spark-submit`, with the options Glacier submits its runner with.
 *
 * @param tooling the wrapper.
 * @param name the application's name.
 * @param script the script.
 * @param args its arguments.
 * @returns the script's last line of output, parsed as JSON.
 * @throws {Error} with the end of Spark's stderr when the submit fails.
 */
export async function submitScript(
  tooling: SparkTooling,
  name: string,
  script: string,
  args: readonly string[],
): Promise<Record<string, unknown>> {
  // Glacier's own arguments (master, executors, memory, UI off, driver on loopback), with this
  // script and its arguments in place of the runner and its job file.
  const job = { task: name } as SparkJob;
  const submit = submitArguments(job, "", script, {
    master: MASTER,
    executors: EXECUTORS,
    executorMemory: EXECUTOR_MEMORY,
  }).slice(0, -1);
  const cwd = await Deno.makeTempDir({ prefix: "bench-spark-submit-" });
  try {
    const out = await new Deno.Command(tooling.sparkSubmit, {
      args: [...submit, ...args],
      env: { ...tooling.env },
      cwd,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(out.stdout).trimEnd();
    if (!out.success) {
      const stderr = new TextDecoder().decode(out.stderr);
      throw new Error(
        `spark-submit ${name} failed (${out.code}):\n${stdout}\n${stderr.slice(-4000)}`,
      );
    }
    return JSON.parse(stdout.split("\n").at(-1) ?? "{}");
  } finally {
    await Deno.remove(cwd, { recursive: true }).catch(() => {});
  }
}

/** One `spark-submit`, timed by the wrapper and split into phases by Spark's event log. */
export interface Submit {
  /** From the wrapper's start to its end, in seconds. */
  readonly wall: number;
  /** The driver script's answer (the runner's `{rows, bytes, seconds}`). */
  readonly answer: Record<string, unknown>;
  /** Start of the JVM and Python until Spark's context starts (`ApplicationStart`). */
  readonly launch: number;
  /** From the context's start to the first query: context and SQL engine set-up, downloads. */
  readonly setup: number;
  /** Spark SQL executions (the queries and their writes), summed. */
  readonly sql: number;
  /** Between the first query's start and the last one's end, outside queries. */
  readonly between: number;
  /** From the last query's end to `ApplicationEnd`: uploads, clean-up. */
  readonly finish: number;
  /** From `ApplicationEnd` to the end of `spark-submit`: the JVM's exit. */
  readonly exit: number;
}

/**
 * Reads the wrapper's log and the event logs of the submits made since the tooling was created.
 *
 * @param tooling the wrapper.
 * @returns each submit with its phases, in order.
 * @throws {Error} when a submit has no event log or the log cannot be parsed.
 */
export async function readSubmits(tooling: SparkTooling): Promise<Submit[]> {
  const lines = (await Deno.readTextFile(tooling.log).catch(() => "")).split("\n")
    .filter((l) => l.trim() !== "");
  const apps: AppEvents[] = [];
  for await (const entry of Deno.readDir(tooling.eventsDir)) {
    if (entry.isFile && !entry.name.startsWith(".")) {
      apps.push(appEvents(await Deno.readTextFile(join(tooling.eventsDir, entry.name))));
    }
  }
  return lines.map((line) => {
    const [started, ended, code, ...rest] = line.split(" ");
    if (code !== "0") throw new Error(`a spark-submit failed with status ${code}: ${rest}`);
    const startMs = Number(started) * 1000;
    const endMs = Number(ended) * 1000;
    const app = apps.find((a) => a.start >= startMs && a.end <= endMs);
    if (app === undefined || app.firstSql === undefined || app.lastSqlEnd === undefined) {
      throw new Error(`no event log with queries for the spark-submit at ${started}`);
    }
    const text = rest.join(" ");
    const s = (ms: number) => ms / 1000;
    return {
      wall: s(endMs - startMs),
      answer: text.startsWith("{") ? JSON.parse(text) : {},
      launch: s(app.start - startMs),
      setup: s(app.firstSql - app.start),
      sql: s(app.sqlMs),
      between: s(app.lastSqlEnd - app.firstSql - app.sqlMs),
      finish: s(app.end - app.lastSqlEnd),
      exit: s(endMs - app.end),
    };
  });
}

/** What one event log says about its application, in epoch milliseconds. */
interface AppEvents {
  readonly start: number;
  readonly end: number;
  readonly firstSql: number | undefined;
  readonly lastSqlEnd: number | undefined;
  /** Root SQL executions that ran jobs (queries), their durations summed. */
  readonly sqlMs: number;
}

function appEvents(text: string): AppEvents {
  let start = NaN;
  let end = NaN;
  /** Root SQL executions: start, end, and whether a Spark job ran for them. */
  const executions = new Map<number, { start: number; end?: number; jobs: boolean }>();
  const roots = new Map<number, number>();
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const event = JSON.parse(line);
    const kind = String(event.Event).split(".").at(-1);
    if (kind === "SparkListenerApplicationStart") {
      start = event.Timestamp;
    } else if (kind === "SparkListenerApplicationEnd") {
      end = event.Timestamp;
    } else if (kind === "SparkListenerSQLExecutionStart") {
      const root = event.rootExecutionId ?? event.executionId;
      roots.set(event.executionId, root);
      // Nested executions (a write's own query) run inside their root's time.
      if (root === event.executionId) {
        executions.set(event.executionId, { start: event.time, jobs: false });
      }
    } else if (kind === "SparkListenerSQLExecutionEnd") {
      const execution = executions.get(event.executionId);
      if (execution !== undefined) execution.end = event.time;
    } else if (kind === "SparkListenerJobStart") {
      const id = event.Properties?.["spark.sql.execution.id"];
      const execution = executions.get(roots.get(Number(id)) ?? NaN);
      if (execution !== undefined) execution.jobs = true;
    }
  }
  // Queries are the executions that ran jobs; commands without jobs (creating a temporary view)
  // count as set-up.
  const queries = [...executions.values()].filter((e) => e.jobs && e.end !== undefined);
  return {
    start,
    end,
    firstSql: queries.length > 0 ? Math.min(...queries.map((q) => q.start)) : undefined,
    lastSqlEnd: queries.length > 0 ? Math.max(...queries.map((q) => q.end!)) : undefined,
    sqlMs: queries.reduce((sum, q) => sum + q.end! - q.start, 0),
  };
}

function shellQuote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}
