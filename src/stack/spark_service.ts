/**
 * The stack's Spark services: a standalone master (`spark-master`) and one worker
 * (`spark-worker`) on loopback, run by the pinned PySpark in `.glacier/venv-spark`, which `up`
 * installs when it is missing. The master's record carries the variables that point Glacier's
 * Spark executor at it: `SPARK_MASTER`, `SPARK_HOME`, `PYSPARK_PYTHON`.
 *
 * Ports: the master listens on `--spark-port` (7077 by default), its web UI on the next port,
 * the worker's web UI on the one after.
 *
 * @module
 */
import { join } from "node:path";
import { answersHttp, type ServiceDefinition, type StackOptions } from "./service.ts";
import { answersTcp, sparkEnv, startSparkMaster, startSparkWorker } from "./spark_cluster.ts";
import { ensureSparkVenv } from "./spark_venv.ts";
import type { Service } from "./state.ts";

/** The master's port when `--spark-port` is not given. */
export const DEFAULT_SPARK_PORT = 7077;

/** The master's web UI port: the port after the master's. */
function masterWebUi(options: StackOptions): number {
  return options.sparkPort + 1;
}

/** Starts the master detached, its log in `<state dir>/stack/spark-master.log`. */
export const sparkMasterService: ServiceDefinition = {
  name: "spark-master",
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
    return {
      name: "spark-master",
      pid: daemon.pid,
      program: daemon.program,
      port: daemon.port,
      startedAt: new Date().toISOString(),
      log,
      env: sparkEnv(`spark://127.0.0.1:${daemon.port}`, venv),
    };
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
    return {
      name: "spark-worker",
      pid: daemon.pid,
      program: daemon.program,
      port: daemon.port,
      startedAt: new Date().toISOString(),
      log,
      env: {},
    };
  },
  healthy(service: Service): Promise<boolean> {
    return answersHttp(service.port);
  },
};
