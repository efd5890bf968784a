/**
 * Apache Spark on loopback, as the local stack runs it: a standalone master and worker, each a
 * JVM started with the pinned PySpark's `spark-class` (`deploy.master.Master`,
 * `deploy.worker.Worker`), and a Spark Connect server.
 *
 * ```ts ignore
 * import { startSparkConnectServer } from "./spark_cluster.ts";
 *
 * const server = await startSparkConnectServer({ venv, logFile: "spark-connect.log" });
 * console.log(server.remote); // sc://127.0.0.1:PORT
 * ```
 *
 * @module
 */
import { join } from "node:path";
import {
  commandLine,
  freePort,
  isRunning,
  portIsFree,
  spawnService,
  stopTree,
  tail,
} from "./process.ts";
import { ensureSparkVenv, type SparkVenv } from "./spark_venv.ts";

/** Cores the worker offers when not told otherwise. */
export const DEFAULT_WORKER_CORES = 2;

/**
 * Memory the worker offers when not told otherwise: enough for two executors of `SparkConfig`'s
 * default 4g, so that a task with default settings is scheduled rather than left waiting.
 */
export const DEFAULT_WORKER_MEMORY = "8g";

/** One JVM of the cluster. */
export interface SparkDaemon {
  /** Its pid (the JVM's own). */
  readonly pid: number;
  /** The program the pid runs (the `java` binary), for pid-reuse checks. */
  readonly program: string;
  /** Its main port: the master's RPC port, or the worker's web UI port. */
  readonly port: number;
  /** Its web UI port. */
  readonly webUiPort: number;
  /** Its log file. */
  readonly logFile: string;
  /** Settles when the process has ended (this process's child: reaped then). */
  readonly exited: Promise<Deno.CommandStatus>;
}

/** How to start a master; see {@linkcode startSparkMaster}. */
export interface SparkMasterOptions {
  /** The PySpark to run. */
  readonly venv: SparkVenv;
  /** The RPC port. */
  readonly port: number;
  /** The web UI port. */
  readonly webUiPort: number;
  /** The log file. */
  readonly logFile: string;
  /** Whether it outlives this process. */
  readonly detached: boolean;
}

/**
 * Starts a standalone master on 127.0.0.1 and waits until its web UI answers.
 *
 * @param options the PySpark, ports, log file and lifetime
 * @returns the master's JVM
 * @throws {Error} when a port is taken or the JVM does not come up, with the end of its log
 */
export async function startSparkMaster(options: SparkMasterOptions): Promise<SparkDaemon> {
  const daemon = await startDaemon({
    venv: options.venv,
    name: "master",
    args: [
      "org.apache.spark.deploy.master.Master",
      "--host",
      "127.0.0.1",
      "--port",
      String(options.port),
      "--webui-port",
      String(options.webUiPort),
    ],
    port: options.port,
    webUiPort: options.webUiPort,
    logFile: options.logFile,
    detached: options.detached,
  });
  await readyOrStopped(
    daemon,
    async () => (await masterState(options.webUiPort)) !== undefined,
    "the Spark master",
  );
  return daemon;
}

/** How to start a worker; see {@linkcode startSparkWorker}. */
export interface SparkWorkerOptions {
  /** The PySpark to run. */
  readonly venv: SparkVenv;
  /** The master's RPC port on 127.0.0.1. */
  readonly masterPort: number;
  /** The master's web UI port, to see the worker register. */
  readonly masterWebUiPort: number;
  /** The worker's web UI port. */
  readonly webUiPort: number;
  /** Cores it offers. */
  readonly cores: number;
  /** Memory it offers, such as `8g`. */
  readonly memory: string;
  /** Where executors run (their files and logs). */
  readonly workDir: string;
  /** The log file. */
  readonly logFile: string;
  /** Whether it outlives this process. */
  readonly detached: boolean;
}

/**
 * Starts a worker on 127.0.0.1 for a master there, and waits until the master counts it alive.
 *
 * @param options the PySpark, the master, ports, cores, memory, directories and lifetime
 * @returns the worker's JVM
 * @throws {Error} when a port is taken or the worker does not register, with its log's end
 */
export async function startSparkWorker(options: SparkWorkerOptions): Promise<SparkDaemon> {
  await Deno.mkdir(options.workDir, { recursive: true });
  const before = (await masterState(options.masterWebUiPort))?.aliveWorkers ?? 0;
  const daemon = await startDaemon({
    venv: options.venv,
    name: "worker",
    args: [
      "org.apache.spark.deploy.worker.Worker",
      `spark://127.0.0.1:${options.masterPort}`,
      "--host",
      "127.0.0.1",
      "--cores",
      String(options.cores),
      "--memory",
      options.memory,
      "--webui-port",
      String(options.webUiPort),
      "--work-dir",
      options.workDir,
    ],
    port: options.webUiPort,
    webUiPort: options.webUiPort,
    logFile: options.logFile,
    detached: options.detached,
  });
  await readyOrStopped(
    daemon,
    async () => ((await masterState(options.masterWebUiPort))?.aliveWorkers ?? 0) > before,
    "the Spark worker (registered with the master)",
  );
  return daemon;
}

/**
 * The variables that point Glacier's Spark executor at a master and the PySpark that reaches it.
 *
 * @param master the master URL
 * @param venv the PySpark environment
 * @returns `SPARK_MASTER`, `SPARK_HOME`, `PYSPARK_PYTHON`
 */
export function sparkEnv(master: string, venv: SparkVenv): Record<string, string> {
  return { SPARK_MASTER: master, SPARK_HOME: venv.sparkHome, PYSPARK_PYTHON: venv.python };
}

/** How to start a Spark Connect server; see {@linkcode startSparkConnectServer}. */
export interface SparkConnectOptions {
  /** The PySpark to run; {@linkcode ensureSparkVenv} by default. */
  readonly venv?: SparkVenv;
  /** The gRPC port clients connect to; a free one when omitted. */
  readonly port?: number;
  /** The Spark UI's port; a free one when omitted. */
  readonly webUiPort?: number;
  /** Cores its executor computes with; {@linkcode DEFAULT_WORKER_CORES} by default. */
  readonly cores?: number;
  /**
   * The memory of each of its two JVMs (the driver and the executor), such as `2g` or `512m`;
   * {@linkcode DEFAULT_CONNECT_MEMORY} by default.
   */
  readonly memory?: string;
  /** The log file. */
  readonly logFile: string;
  /** Whether it outlives this process (the local stack). */
  readonly detached?: boolean;
  /**
   * A process whose end stops the server (SIGKILL to its process group from a watchdog, even
   * when that process died by SIGKILL), rather than the end of the thread that started it: a
   * server that the test files of one `deno test` process share, each file in its own worker
   * thread. This process may end while it runs. Ignored when `detached` is set.
   */
  readonly watchPid?: number;
}

/** A running Spark Connect server. */
export interface SparkConnectServer extends SparkDaemon {
  /** `sc://127.0.0.1:PORT`: what `SPARK_REMOTE` is set to. */
  readonly remote: string;
  /** Its Spark UI, `http://127.0.0.1:PORT`. */
  readonly ui: string;
  /** The PySpark it runs, whose Python is its clients'. */
  readonly venv: SparkVenv;
  /** The variables that point Glacier at it: `SPARK_REMOTE`, `SPARK_HOME`, `PYSPARK_PYTHON`. */
  env(): Record<string, string>;
  /** Stops it by pid. */
  stop(): Promise<void>;
}

/** The memory of the Spark Connect server's driver and of its executor when not told otherwise. */
export const DEFAULT_CONNECT_MEMORY = "2g";

/**
 * Seconds a task that Spark was told to kill (its job cancelled: a task's timeout) may go on
 * before the executor JVM that runs it is killed, and started anew by the server.
 */
export const TASK_KILL_TIMEOUT_SECONDS = 10;

/**
 * Starts a Spark Connect server on 127.0.0.1 and waits until it takes connections (about 10 s).
 * The server ships with PySpark 4 (`jars/spark-connect_*.jar`); it runs as `spark-submit` of
 * `SparkConnectServer` would.
 *
 * It computes in an executor JVM of its own, a child of the driver's (`local-cluster[1,N,MB]`:
 * an in-process master and worker), rather than in the driver's JVM (`local[N]`), so that a
 * cancelled job cannot keep a core busy for hours. Spark stops a task it was told to kill only
 * when the task next checks for it, and generated code may not check for a long time (a cross
 * join aggregated in one codegen stage loops over a whole input batch first). Spark's task
 * reaper kills an executor whose killed task goes on for {@linkcode TASK_KILL_TIMEOUT_SECONDS},
 * which it never does to a `local[N]` driver, and the worker starts a new executor (about 3 s).
 *
 * @param options the PySpark, ports, cores, memory, log file and lifetime
 * @returns the running server
 * @throws {RangeError} when `memory` is not a size such as `2g` or `512m`
 * @throws {Error} when a port is taken or the server does not come up, with the end of its log
 */
export async function startSparkConnectServer(
  options: SparkConnectOptions,
): Promise<SparkConnectServer> {
  const venv = options.venv ?? await ensureSparkVenv();
  const port = options.port ?? freePort();
  const webUiPort = options.webUiPort ?? freePort();
  const memory = options.memory ?? DEFAULT_CONNECT_MEMORY;
  const cores = options.cores ?? DEFAULT_WORKER_CORES;
  const conf = (key: string, value: string | number) => ["--conf", `${key}=${value}`];
  const daemon = await startDaemon({
    venv,
    name: "Connect server",
    args: [
      "org.apache.spark.deploy.SparkSubmit",
      "--class",
      "org.apache.spark.sql.connect.service.SparkConnectServer",
      "--name",
      "Glacier Spark Connect",
      "--master",
      `local-cluster[1,${cores},${megabytes(memory)}]`,
      "--driver-memory",
      memory,
      ...conf("spark.executor.memory", `${megabytes(memory)}m`),
      ...conf("spark.task.reaper.enabled", "true"),
      ...conf("spark.task.reaper.killTimeout", `${TASK_KILL_TIMEOUT_SECONDS}s`),
      ...conf("spark.task.reaper.pollingInterval", "2s"),
      ...conf("spark.connect.grpc.binding.address", "127.0.0.1"),
      ...conf("spark.connect.grpc.binding.port", port),
      ...conf("spark.ui.port", webUiPort),
      ...conf("spark.driver.host", "127.0.0.1"),
      ...conf("spark.driver.bindAddress", "127.0.0.1"),
      ...conf("spark.sql.session.timeZone", "UTC"),
      "spark-internal",
    ],
    port,
    webUiPort,
    logFile: options.logFile,
    detached: options.detached ?? false,
    ...(options.watchPid === undefined ? {} : { watchPid: options.watchPid }),
  });
  await readyOrStopped(daemon, () => answersTcp(port), "the Spark Connect server");
  const remote = `sc://127.0.0.1:${port}`;
  return {
    ...daemon,
    remote,
    ui: `http://127.0.0.1:${webUiPort}`,
    venv,
    env: () => sparkConnectEnv(remote, venv),
    stop: () => stopDaemon(daemon),
  };
}

/**
 * Megabytes of a JVM memory size as Spark writes it (`2g`, `512m`).
 *
 * @param memory the size
 * @returns whole megabytes
 * @throws {RangeError} when the size is not a number of `m` or `g`
 */
function megabytes(memory: string): number {
  const match = /^(\d+)([mg])$/i.exec(memory.trim());
  if (match === null) {
    throw new RangeError(
      `the Spark Connect server's memory must be a size such as 2g or 512m, got '${memory}'`,
    );
  }
  return Number(match[1]) * (match[2].toLowerCase() === "g" ? 1024 : 1);
}

/**
 * The variables that point Glacier's Spark executor at a Spark Connect server and the PySpark
 * whose Python is its client.
 *
 * @param remote the server's URL
 * @param venv the PySpark environment
 * @returns `SPARK_REMOTE`, `SPARK_HOME`, `PYSPARK_PYTHON`
 */
export function sparkConnectEnv(remote: string, venv: SparkVenv): Record<string, string> {
  return { SPARK_REMOTE: remote, SPARK_HOME: venv.sparkHome, PYSPARK_PYTHON: venv.python };
}

/**
 * What the master's web UI says of its workers, or `undefined` when it does not answer.
 *
 * @param webUiPort the master's web UI port
 * @returns how many workers are alive
 */
export async function masterState(
  webUiPort: number,
): Promise<{ aliveWorkers: number } | undefined> {
  try {
    const response = await fetch(`http://127.0.0.1:${webUiPort}/json/`, {
      signal: AbortSignal.timeout(2000),
    });
    if (!response.ok) {
      await response.body?.cancel();
      return undefined;
    }
    const state = await response.json() as { aliveworkers?: number; workers?: unknown[] };
    return { aliveWorkers: state.aliveworkers ?? 0 };
  } catch {
    return undefined;
  }
}

/**
 * Whether the master's RPC port takes a connection.
 *
 * @param port the master's port
 * @returns `true` when something listens there
 */
export async function answersTcp(port: number): Promise<boolean> {
  try {
    (await Deno.connect({ hostname: "127.0.0.1", port })).close();
    return true;
  } catch {
    return false;
  }
}

interface DaemonSpec {
  readonly venv: SparkVenv;
  readonly name: string;
  readonly args: readonly string[];
  readonly port: number;
  readonly webUiPort: number;
  readonly logFile: string;
  readonly detached: boolean;
  readonly watchPid?: number;
}

/** Starts one JVM through `spark-class`; its pid becomes the JVM's once `spark-class` execs. */
async function startDaemon(spec: DaemonSpec): Promise<SparkDaemon> {
  for (const port of new Set([spec.port, spec.webUiPort])) {
    if (!portIsFree(port)) {
      throw new Error(
        `port ${port} on 127.0.0.1 is in use by another process; the Spark ${spec.name} needs it`,
      );
    }
  }
  const child = await spawnService({
    argv: [join(spec.venv.sparkHome, "bin", "spark-class"), ...spec.args],
    env: {
      SPARK_HOME: spec.venv.sparkHome,
      SPARK_LOCAL_IP: "127.0.0.1",
      SPARK_NO_DAEMONIZE: "1",
      PYSPARK_PYTHON: spec.venv.python,
    },
    logFile: spec.logFile,
    detached: spec.detached,
    ...(spec.watchPid === undefined ? {} : { watchPid: spec.watchPid }),
  });
  // `spark-class` execs the JVM: wait until the pid runs java, then record that program.
  const deadline = Date.now() + 30_000;
  let program: string | undefined;
  while (Date.now() < deadline) {
    const argv = commandLine(child.pid);
    if (argv === undefined) break;
    if (/(^|\/)java$/.test(argv[0])) {
      program = argv[0];
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  if (program === undefined) {
    const log = await Deno.readTextFile(spec.logFile).catch(() => "");
    if (isRunning(child.pid)) await stopTree(child.pid, { exited: child.status });
    await child.status;
    throw new Error(
      `the Spark ${spec.name} did not start its JVM; the end of ${spec.logFile}:\n${tail(log, 20)}`,
    );
  }
  return {
    pid: child.pid,
    program,
    port: spec.port,
    webUiPort: spec.webUiPort,
    logFile: spec.logFile,
    exited: child.status,
  };
}

/**
 * Stops a daemon this process started, with whatever it started (a worker's executors), by pid,
 * and reaps it.
 *
 * @param daemon the daemon
 */
export async function stopDaemon(daemon: SparkDaemon): Promise<void> {
  if (isRunning(daemon.pid)) await stopTree(daemon.pid, { exited: daemon.exited });
  await daemon.exited;
}

/** Waits until `ready()`, or stops the daemon and fails with the end of its log. */
async function readyOrStopped(
  daemon: SparkDaemon,
  ready: () => Promise<boolean>,
  what: string,
): Promise<void> {
  try {
    await waitFor(daemon, ready, what);
  } catch (error) {
    await stopDaemon(daemon);
    throw error;
  }
}

/** Waits until `ready()` or fails with the end of the daemon's log. */
async function waitFor(
  daemon: SparkDaemon,
  ready: () => Promise<boolean>,
  what: string,
): Promise<void> {
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    if (await ready()) return;
    if (!isRunning(daemon.pid)) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const log = await Deno.readTextFile(daemon.logFile).catch(() => "");
  throw new Error(
    `${what} (pid ${daemon.pid}) ${
      isRunning(daemon.pid) ? "did not get ready within 90 s" : "exited"
    }; the end of ${daemon.logFile}:\n${tail(log, 20)}`,
  );
}
