/**
 * A private Python environment with a pinned PySpark, `<repo>/.glacier/venv-spark`, for the tests
 * and the local stack that run Spark SQL (`spark.sql` in a local session, or `spark-submit`).
 * Beside PySpark it holds what Glacier's Spark runner (`src/backends/spark/runner.py`) imports: boto3, to
 * stage data through S3-compatible servers that Spark itself cannot read, pyarrow, to convert
 * Arrow IPC files, which Spark has no reader or writer for, and the Spark Connect client's own
 * dependencies (grpcio, grpcio-status, googleapis-common-protos, pandas, zstandard).
 *
 * @module
 */
import { join } from "node:path";
import { isRunning, tail } from "./process.ts";
import { GLACIER_DIR } from "./versitygw.ts";

/** The PySpark version the venv holds; Spark 4.0 runs on Java 17 or 21. */
export const PYSPARK_VERSION = "4.0.1";

/** The boto3 version the venv holds, for the runner's S3 staging. */
export const BOTO3_VERSION = "1.40.76";

/** The pyarrow version the venv holds, for the runner's Arrow IPC conversion. */
export const PYARROW_VERSION = "21.0.0";

/**
 * What PySpark's Spark Connect client needs beyond pyarrow, pinned: Glacier's runner is a Spark
 * Connect client when the Spark it reaches offers Connect (`SPARK_REMOTE`).
 */
export const CONNECT_CLIENT: Readonly<Record<string, string>> = {
  "grpcio": "1.76.0",
  "grpcio-status": "1.76.0",
  "googleapis-common-protos": "1.72.0",
  "pandas": "2.3.3",
  "zstandard": "0.25.0",
};

/** Every pinned package the venv holds, by distribution name. */
const PINNED: Readonly<Record<string, string>> = {
  "pyspark": PYSPARK_VERSION,
  "boto3": BOTO3_VERSION,
  "pyarrow": PYARROW_VERSION,
  ...CONNECT_CLIENT,
};

/** Every pinned package the venv holds, as pip requirements. */
const REQUIREMENTS: readonly string[] = Object.entries(PINNED).map(([name, version]) =>
  `${name}==${version}`
);

/** Where {@linkcode ensureSparkVenv} builds the environment: `<repo>/.glacier/venv-spark`. */
export const SPARK_VENV: string = join(GLACIER_DIR, "venv-spark");

/** A ready PySpark environment. */
export interface SparkVenv {
  /** The venv's Python, which imports `pyspark` {@linkcode PYSPARK_VERSION}. */
  readonly python: string;
  /** `SPARK_HOME`: the installed `pyspark` package, which holds `bin/spark-submit` and `jars/`. */
  readonly sparkHome: string;
  /** `<sparkHome>/bin/spark-submit`. */
  readonly sparkSubmit: string;
}

/**
 * Returns the venv's Python, Spark home and `spark-submit`, creating the venv with
 * `python3 -m venv` when it has no working Python, and installing `pyspark==4.0.1`, `boto3`,
 * `pyarrow` and the Spark Connect client's dependencies (pinned) with pip when one is missing or holds another version (a minute or two on a
 * cold pip cache: the pyspark sdist is about 400 MB; seconds when only boto3 or pyarrow is
 * missing). Concurrent callers (parallel test files) wait for one another through a lock file
 * beside the venv. Java must be on PATH or in `JAVA_HOME`, since Spark runs on the JVM; it is
 * checked first so that a missing JVM fails here rather than in the middle of a test.
 *
 * @param venv where the environment lives; defaults to {@linkcode SPARK_VENV}
 * @returns the venv's Python and the Spark home
 * @throws {Error} when Java or `python3` is missing, or `venv`/`pip` fails, with their output
 * @example
 * ```ts ignore
 * const { python, sparkHome } = await ensureSparkVenv();
 * ```
 */
export async function ensureSparkVenv(venv: string = SPARK_VENV): Promise<SparkVenv> {
  await checkJava();
  const ready = await probe(venv);
  if (ready) return ready;
  const release = await lock(`${venv}.lock`);
  try {
    const again = await probe(venv);
    if (again) return again;
    const python = join(venv, "bin", "python");
    if (!(await runs(python))) {
      await run("python3", ["-m", "venv", "--clear", venv], "python3 -m venv");
    }
    console.error(
      `installing ${REQUIREMENTS.join(" ")} into ${venv} with pip (a minute or two the first ` +
        "time: pyspark is about 400 MB)",
    );
    await run(
      python,
      ["-m", "pip", "install", "--disable-pip-version-check", ...REQUIREMENTS],
      `pip install ${REQUIREMENTS.join(" ")}`,
    );
    const installed = await probe(venv);
    if (!installed) {
      throw new Error(
        `pip installed ${REQUIREMENTS.join(" ")} into '${venv}' but its Python does not ` +
          "import them at those versions: remove the directory and run again",
      );
    }
    return installed;
  } finally {
    await release();
  }
}

/** The probe's Python: the pinned versions it finds, then the Spark home. */
const PROBE = [
  "import boto3, pyarrow, pyspark, pyspark.sql.connect.session",
  "from importlib.metadata import version",
  `print(' '.join(version(p) for p in ${JSON.stringify(Object.keys(PINNED))}))`,
  "print(pyspark.__path__[0])",
].join("; ");

/**
 * The venv's Python, Spark home and `spark-submit` when it imports every pinned package at its
 * version, else `undefined`.
 */
async function probe(venv: string): Promise<SparkVenv | undefined> {
  const python = join(venv, "bin", "python");
  try {
    const output = await new Deno.Command(python, {
      args: ["-c", PROBE],
      stdin: "null",
      stderr: "null",
    }).output();
    if (!output.success) return undefined;
    const [versions, sparkHome] = new TextDecoder().decode(output.stdout).trim().split("\n");
    const pinned = Object.values(PINNED).join(" ");
    if (versions !== pinned || !sparkHome) return undefined;
    return { python, sparkHome, sparkSubmit: join(sparkHome, "bin", "spark-submit") };
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

/** Whether a venv's Python starts at all (a venv that lost its base interpreter does not). */
async function runs(python: string): Promise<boolean> {
  try {
    const output = await new Deno.Command(python, {
      args: ["-c", "import sys"],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).output();
    return output.success;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/** Fails with an actionable message when no JVM can be started. */
async function checkJava(): Promise<void> {
  const javaHome = Deno.env.get("JAVA_HOME");
  const java = javaHome ? join(javaHome, "bin", "java") : "java";
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command(java, { args: ["-version"], stdin: "null" }).output();
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    throw new Error(
      `Spark needs Java 17 or 21, but '${java}' was not found: install a JDK (e.g. ` +
        "'apt-get install openjdk-17-jre-headless') or set JAVA_HOME, and run again",
    );
  }
  const stderr = new TextDecoder().decode(output.stderr);
  if (!output.success) {
    throw new Error(`'${java} -version' failed (exit ${output.code}):\n${tail(stderr, 10)}`);
  }
  const major = javaMajor(stderr);
  if (major !== undefined && major < 17) {
    throw new Error(
      `Spark 4 needs Java 17 or 21, but '${java}' is Java ${major}: install a JDK 17 (e.g. ` +
        "'apt-get install openjdk-17-jre-headless') and put it first on PATH or in JAVA_HOME",
    );
  }
}

/** The major version `java -version` reports (`1.8.0_402` is 8, `17.0.15` is 17). */
function javaMajor(text: string): number | undefined {
  const version = text.match(/version "([^"]+)"/)?.[1];
  if (version === undefined) return undefined;
  const [first, second] = version.split(/[.+-]/).map(Number);
  return first === 1 ? second : first;
}

/** Runs a setup command, throwing with the end of its output when it fails. */
async function run(command: string, args: string[], what: string): Promise<void> {
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command(command, { args, stdin: "null" }).output();
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    throw new Error(`${what} failed: '${command}' is not on PATH; install Python 3.9 or newer`);
  }
  if (!output.success) {
    const text = new TextDecoder().decode(output.stdout) + new TextDecoder().decode(output.stderr);
    throw new Error(`${what} failed (exit ${output.code}):\n${tail(text, 30)}`);
  }
}

/**
 * Takes an exclusive lock file holding this process's id, waiting while another live process holds
 * it and taking over the lock of a process that has ended.
 */
async function lock(path: string): Promise<() => Promise<void>> {
  await Deno.mkdir(join(path, ".."), { recursive: true });
  for (;;) {
    try {
      const file = await Deno.open(path, { write: true, createNew: true });
      await file.write(new TextEncoder().encode(String(Deno.pid)));
      file.close();
      return () => Deno.remove(path).catch(() => {});
    } catch (error) {
      if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
    }
    const holder = Number(await Deno.readTextFile(path).catch(() => ""));
    if (holder > 0 && !isRunning(holder)) {
      await Deno.remove(path).catch(() => {});
      continue;
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}
