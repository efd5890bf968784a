/**
 * The stack's Spark services, run by the pinned PySpark in `.glacier/venv-spark`, which `up`
 * installs when it is missing: a Spark Connect server (`spark-connect`), which Glacier's Spark
 * executor reaches first (`SPARK_REMOTE`, one session per run), and a standalone master
 * (`spark-master`) and one worker (`spark-worker`) for `spark-submit` (`SPARK_MASTER`), all on
 * loopback. Their records carry the variables that point Glacier at them: `SPARK_REMOTE`,
 * `SPARK_MASTER`, `SPARK_HOME`, `PYSPARK_PYTHON`.
 *
 * Ports: the master listens on `--spark-port` (7077 by default), its web UI on the next port,
 * the worker's web UI on the one after, the Spark Connect server's Spark UI on the one after
 * that; the Spark Connect server on `--spark-connect-port` (15002 by default).
 *
 * @module
 */
import { join } from "node:path";
import { answersHttp, type ServiceDefinition, type StackOptions } from "./service.ts";
import {
  answersTcp,
  type SparkDaemon,
  sparkEnv,
  startSparkConnectServer,
  startSparkMaster,
  startSparkWorker,
} from "./spark_cluster.ts";
import { ensureSparkVenv } from "./spark_venv.ts";
import type { Service } from "./state.ts";

/** The master's port when `--spark-port` is not given. */
export const DEFAULT_SPARK_PORT = 7077;

/** The Spark Connect server's port when `--spark-connect-port` is not given (Spark's own). */
export const DEFAULT_SPARK_CONNECT_PORT = 15002;

/** The record of a JVM the stack started, with the variables that point clients at it. */
function record(
  name: string,
  daemon: SparkDaemon,
  log: string,
  env: Record<string, string>,
): Service {
  return {
    name,
    pid: daemon.pid,
    program: daemon.program,
    port: daemon.port,
    startedAt: new Date().toISOString(),
    log,
    env,
  };
}

/** The master's web UI port: the port after the master's. */
function masterWebUi(options: StackOptions): number {
  return options.sparkPort + 1;
}

/** Starts the master detached, its log in `<state dir>/stack/spark-master.log`. */
export const sparkMasterService: ServiceDefinition = {
  name: "spark-master",
  scheme: "spark",
  async start(options: StackOptions): Promise<Service> {
    const venv = await ensureSparkVenv();
    const log = join(options.paths.stack, "spark-master.log");
    const daemon = await startSparkMaster({
      venv,
      port: options.sparkPort,
      webUiPort: masterWebUi(options),
      logFile: log,
      detached: true,
    });
    return record("spark-master", daemon, log, sparkEnv(`spark://127.0.0.1:${daemon.port}`, venv));
  },
  healthy(service: Service): Promise<boolean> {
    return answersTcp(service.port);
  },
};

/** Starts one worker detached for the master, with `--spark-worker-cores` and `-memory`. */
export const sparkWorkerService: ServiceDefinition = {
  name: "spark-worker",
  async start(options: StackOptions): Promise<Service> {
    const venv = await ensureSparkVenv();
    const log = join(options.paths.stack, "spark-worker.log");
    const daemon = await startSparkWorker({
      venv,
      masterPort: options.sparkPort,
      masterWebUiPort: masterWebUi(options),
      webUiPort: options.sparkPort + 2,
      cores: options.sparkWorkerCores,
      memory: options.sparkWorkerMemory,
      workDir: join(options.paths.stack, "spark-work"),
      logFile: log,
      detached: true,
    });
    return record("spark-worker", daemon, log, {});
  },
  healthy(service: Service): Promise<boolean> {
    return answersHttp(service.port);
  },
};

/**
 * Starts the Spark Connect server detached (one executor JVM with the worker's cores, killed and
 * started anew when a cancelled task does not stop: see `startSparkConnectServer`), its log in
 * `<state dir>/stack/spark-connect.log` and its Spark UI on the port after the worker's.
 */
export const sparkConnectService: ServiceDefinition = {
  name: "spark-connect",
  scheme: "sc",
  async start(options: StackOptions): Promise<Service> {
    const venv = await ensureSparkVenv();
    const log = join(options.paths.stack, "spark-connect.log");
    const server = await startSparkConnectServer({
      venv,
      port: options.sparkConnectPort,
      webUiPort: options.sparkPort + 3,
      cores: options.sparkWorkerCores,
      logFile: log,
      detached: true,
    });
    return record("spark-connect", server, log, server.env());
  },
  healthy(service: Service): Promise<boolean> {
    return answersTcp(service.port);
  },
};
