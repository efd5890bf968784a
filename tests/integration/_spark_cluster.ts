/**
 * Test harness for a real Apache Spark, run by the pinned PySpark in `.glacier/venv-spark`
 * (installed on first use: a minute or two; Java 17 must be installed). There is no skipping:
 * when Java or PySpark cannot be had, the test that asked for Spark fails with the reason.
 *
 * `sharedSparkConnect()` starts a Spark Connect server (`local[2]`, about 6 s) on first use and
 * gives the same one to every later test of the file; the process's `unload` stops it by pid, and
 * the kernel kills it if the process dies first.
 *
 * ```ts ignore
 * const server = await sharedSparkConnect();
 * Deno.env.set("SPARK_REMOTE", server.remote);
 * ```
 *
 * @module
 */
import { type SparkConnectServer, startSparkConnectServer } from "../../src/stack/spark_cluster.ts";
import { ensureSparkVenv, type SparkVenv } from "../../src/stack/spark_venv.ts";

export type { SparkConnectServer } from "../../src/stack/spark_cluster.ts";

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

let connect: Promise<SparkConnectServer> | undefined;

/**
 * The Spark Connect server that the tests of this process share, started on first use and
 * stopped by pid when the process ends.
 *
 * @returns the server: its `remote`, its Spark UI, and `env()` with `SPARK_REMOTE`
 * @throws {Error} when Java or PySpark cannot be had, or the server does not start, with the reason
 * @example
 * ```ts ignore
 * const server = await sharedSparkConnect();
 * Deno.env.set("SPARK_REMOTE", server.remote);
 * ```
 */
export function sharedSparkConnect(): Promise<SparkConnectServer> {
  connect ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "glacier-spark-connect-" });
    let server: SparkConnectServer;
    try {
      server = await startSparkConnectServer({
        venv: await testSparkVenv(),
        logFile: `${dir}/spark-connect.log`,
        memory: "1g",
        background: true,
      });
    } catch (error) {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      throw new Error(`the Spark Connect test server did not start: ${(error as Error).message}`);
    }
    globalThis.addEventListener("unload", () => {
      try {
        Deno.kill(server.pid, "SIGKILL");
      } catch {
        // Already gone.
      }
      Deno.removeSync(dir, { recursive: true });
    });
    return server;
  })();
  connect.catch(() => (connect = undefined));
  return connect;
}
