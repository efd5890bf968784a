/**
 * Test harness for a real Apache Spark, run by the pinned PySpark in `.glacier/venv-spark`
 * (installed on first use: a minute or two; Java 17 must be installed). There is no skipping:
 * when Java or PySpark cannot be had, the test that asked for Spark fails with the reason.
 *
 * `sharedSparkConnect()` starts a Spark Connect server (one executor with 2 cores, about 10 s) on
 * first use and gives the same one to every later test of the `deno test` process, whichever file
 * it is in; a watchdog kills it once that process has ended, however it ended.
 *
 * ```ts ignore
 * const server = await sharedSparkConnect();
 * Deno.env.set("SPARK_REMOTE", server.remote);
 * ```
 *
 * @module
 */
import { tmpdir } from "node:os";
import { join } from "node:path";
import { commandLine, isRunning, stopTree } from "../../src/stack/process.ts";
import {
  answersTcp,
  sparkConnectEnv,
  type SparkConnectServer,
  startSparkConnectServer,
} from "../../src/stack/spark_cluster.ts";
import { ensureSparkVenv, type SparkVenv } from "../../src/stack/spark_venv.ts";

/** No Spark configuration leaks in from the shell that runs the tests. */
export const NO_SPARK: Readonly<Record<string, undefined>> = {
  SPARK_REMOTE: undefined,
  SPARK_MASTER: undefined,
  GLACIER_EMR_APPLICATION_ID: undefined,
  AWS_ENDPOINT_URL_EMR_SERVERLESS: undefined,
};

/**
 * The variables that make Glacier use the test venv's `spark-submit` (with a master the task's
 * `SparkConfig` names), and no other Spark from the shell.
 *
 * @param venv the test venv.
 * @returns the variables, for `withEnv`.
 */
export function submitEnv(venv: SparkVenv): Record<string, string | undefined> {
  return { ...NO_SPARK, SPARK_HOME: venv.sparkHome, PYSPARK_PYTHON: venv.python };
}

/**
 * A directory for `SPARK_CONF_DIR` whose `spark-defaults.conf` holds `settings` (what every
 * `spark-submit` given it starts with), removed when disposed.
 *
 * @param settings Spark settings by name.
 * @returns the directory, to dispose of with `await using`.
 */
export async function sparkConfDir(
  settings: Readonly<Record<string, string>>,
): Promise<{ readonly dir: string } & AsyncDisposable> {
  const dir = await Deno.makeTempDir({ prefix: "glacier-spark-conf-" });
  const lines = Object.entries(settings).map(([key, value]) => `${key} ${value}\n`);
  await Deno.writeTextFile(join(dir, "spark-defaults.conf"), lines.join(""));
  return { dir, [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }) };
}

let venv: Promise<SparkVenv> | undefined;

/**
 * The pinned PySpark environment, installed once per test process.
 *
 * @returns the venv's Python, Spark home and `spark-submit`
 * @throws {Error} when Java is missing or pip fails, with the reason
 */
export function testSparkVenv(): Promise<SparkVenv> {
  venv ??= ensureSparkVenv();
  venv.catch(() => (venv = undefined));
  return venv;
}

/** The shared Connect server as every test file of this process sees it. */
export type SharedSparkConnect = Omit<SparkConnectServer, "exited" | "stop">;

/** What the registry file records of the shared server. */
interface Entry {
  readonly pid: number;
  readonly program: string;
  readonly port: number;
  readonly webUiPort: number;
  readonly logFile: string;
  readonly python: string;
  readonly sparkHome: string;
}

/** The registry directory of the `deno test` process `pid`: its entry, lock and server log. */
function registryDir(pid: number): string {
  return join(tmpdir(), `${REGISTRY_PREFIX}${pid}`);
}

const REGISTRY_PREFIX = "glacier-spark-connect-";

let connect: Promise<SharedSparkConnect> | undefined;

/**
 * The Spark Connect server that every test file of this `deno test` process shares: the first
 * file that asks starts it, later files (each in its own worker thread) find it through a
 * registry file named by this process's pid (`<tmp>/glacier-spark-connect-<pid>/server.json`,
 * written under an exclusive lock file) and reuse it when its pid still runs Java and its port
 * answers; a stale entry is replaced. A watchdog kills it once this process has ended, also by
 * SIGKILL. Each Glacier run opens its own Connect session, so no temp view or session setting
 * passes from one test to the next. Registries of processes that have ended are removed.
 *
 * @returns the server: its `remote`, its Spark UI, and `env()` with `SPARK_REMOTE`
 * @throws {Error} when Java or PySpark cannot be had, or the server does not start, with the reason
 * @example
 * ```ts ignore
 * const server = await sharedSparkConnect();
 * Deno.env.set("SPARK_REMOTE", server.remote);
 * ```
 */
export function sharedSparkConnect(): Promise<SharedSparkConnect> {
  connect ??= (async () => {
    const venv = await testSparkVenv();
    await removeStaleRegistries();
    const dir = registryDir(Deno.pid);
    await Deno.mkdir(dir, { recursive: true });
    const release = await lock(join(dir, "lock"));
    try {
      const found = await liveEntry(dir, venv);
      if (found) return shared(found, venv);
      const logFile = join(dir, `spark-connect-${Date.now()}.log`);
      let server: SparkConnectServer;
      try {
        server = await startSparkConnectServer({
          venv,
          logFile,
          memory: "1g",
          watchPid: Deno.pid,
        });
      } catch (error) {
        throw new Error(`the Spark Connect test server did not start: ${(error as Error).message}`);
      }
      const entry: Entry = {
        pid: server.pid,
        program: server.program,
        port: server.port,
        webUiPort: server.webUiPort,
        logFile,
        python: venv.python,
        sparkHome: venv.sparkHome,
      };
      await Deno.writeTextFile(join(dir, "server.json.tmp"), JSON.stringify(entry));
      await Deno.rename(join(dir, "server.json.tmp"), join(dir, "server.json"));
      return shared(entry, venv);
    } finally {
      await release();
    }
  })();
  connect.catch(() => (connect = undefined));
  return connect;
}

function shared(entry: Entry, venv: SparkVenv): SharedSparkConnect {
  const remote = `sc://127.0.0.1:${entry.port}`;
  return {
    pid: entry.pid,
    program: entry.program,
    port: entry.port,
    webUiPort: entry.webUiPort,
    logFile: entry.logFile,
    remote,
    ui: `http://127.0.0.1:${entry.webUiPort}`,
    venv,
    env: () => sparkConnectEnv(remote, venv),
  };
}

/**
 * The registry's entry when its server is alive (its pid runs the recorded Java, its port
 * answers) and runs `venv`; otherwise the entry is removed (and its server, if it still runs
 * but does not answer, killed) and `undefined` returned.
 */
async function liveEntry(dir: string, venv: SparkVenv): Promise<Entry | undefined> {
  let entry: Entry;
  try {
    entry = JSON.parse(await Deno.readTextFile(join(dir, "server.json")));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
  const runs = commandLine(entry.pid)?.[0] === entry.program;
  if (runs && entry.python === venv.python && await answersTcp(entry.port)) return entry;
  if (runs) await stopTree(entry.pid, { signal: "SIGKILL" });
  await Deno.remove(join(dir, "server.json"));
  return undefined;
}

/** Removes the registries of `deno test` processes that have ended (their servers went too). */
async function removeStaleRegistries(): Promise<void> {
  for await (const entry of Deno.readDir(tmpdir())) {
    if (!entry.isDirectory || !entry.name.startsWith(REGISTRY_PREFIX)) continue;
    const pid = Number(entry.name.slice(REGISTRY_PREFIX.length));
    if (!Number.isInteger(pid) || pid === Deno.pid || isRunning(pid)) continue;
    await Deno.remove(join(tmpdir(), entry.name), { recursive: true }).catch(() => {});
  }
}

/**
 * Takes the lock file `path` (created exclusively; polled while another worker of this process
 * holds it) and returns its release.
 */
async function lock(path: string): Promise<() => Promise<void>> {
  const deadline = Date.now() + 180_000;
  while (true) {
    try {
      (await Deno.open(path, { write: true, createNew: true })).close();
      return () => Deno.remove(path);
    } catch (error) {
      if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
      if (Date.now() > deadline) {
        throw new Error(
          `'${path}' has been held for 180 s: another test file is still starting the shared ` +
            "Spark Connect server, or one stopped while starting it (remove the file)",
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
