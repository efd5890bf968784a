/**
 * Test harness for a real Apache Spark: a standalone master and one worker on free loopback
 * ports, run by the pinned PySpark in `.glacier/venv-spark` (installed on first use: a minute or
 * two; Java 17 must be installed), with their logs in a fresh temporary directory.
 *
 * `withSparkCluster(fn)` starts the cluster (about 5 s), runs `fn`, then stops the worker (with
 * the executors it started) and the master by pid and removes the directory, whatever `fn` does.
 * On Linux both JVMs also get SIGKILL from the kernel when the test process dies, even by
 * SIGKILL, and an `unload` listener kills them by pid when the test process ends, so an
 * interrupted run leaves no Spark behind. There is no skipping: when Java or PySpark cannot be
 * had, the test that asked for a cluster fails with the reason.
 *
 * `sharedSparkConnect()` starts a Spark Connect server (`local[2]`, about 6 s) on first use and
 * gives the same one to every later test of the file; the process's `unload` stops it by pid, and
 * the kernel kills it if the process dies first.
 *
 * ```ts ignore
 * Deno.test("a job on the cluster", () =>
 *   withSparkCluster(async (cluster) => {
 *     // cluster.master is spark://127.0.0.1:PORT; cluster.env() sets SPARK_MASTER and friends
 *   }));
 * ```
 *
 * @module
 */
import {
  type SparkCluster,
  type SparkConnectServer,
  startSparkCluster,
  startSparkConnectServer,
} from "../../src/stack/spark_cluster.ts";
import { ensureSparkVenv, type SparkVenv } from "../../src/stack/spark_venv.ts";

export type { SparkCluster, SparkConnectServer } from "../../src/stack/spark_cluster.ts";

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

/** The pids of running clusters, for the synchronous `unload` listener. */
const running = new Set<SparkCluster>();

function killOnUnload(): void {
  for (const cluster of running) {
    for (const pid of [cluster.workerDaemon.pid, cluster.masterDaemon.pid]) {
      try {
        Deno.kill(pid, "SIGKILL");
      } catch {
        // Already gone.
      }
    }
  }
}

/**
 * Runs `fn` with a fresh master and worker, then stops both by pid and removes their directory.
 *
 * @param fn the test body
 * @param options the worker's cores and memory (2 and `8g` by default)
 * @returns what `fn` returns
 * @example
 * ```ts ignore
 * await withSparkCluster(async (cluster) => {
 *   Deno.env.set("SPARK_MASTER", cluster.master);
 * });
 * ```
 */
export async function withSparkCluster<T>(
  fn: (cluster: SparkCluster) => Promise<T>,
  options: { cores?: number; memory?: string } = {},
): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "glacier-spark-cluster-" });
  let cluster: SparkCluster;
  try {
    cluster = await startSparkCluster({ dir, venv: await testSparkVenv(), ...options });
  } catch (error) {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw new Error(`the Spark test cluster did not start: ${(error as Error).message}`);
  }
  if (running.size === 0) globalThis.addEventListener("unload", killOnUnload);
  running.add(cluster);
  try {
    return await fn(cluster);
  } finally {
    await cluster.stop();
    running.delete(cluster);
    if (running.size === 0) globalThis.removeEventListener("unload", killOnUnload);
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
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
