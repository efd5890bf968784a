/**
 * The local stack: the real software that cloud mode talks to, on loopback. It is the S3 server
 * (versitygw), a Spark Connect server and a standalone Apache Spark master and worker (the pinned
 * PySpark in `.glacier/venv-spark`), {@linkcode ServiceDefinition}s in the list below, and with `--module`
 * the pipeline modules' serverless tasks as Lambda functions: each under its own AWS Lambda
 * Runtime Interface Emulator, behind a router that serves the Lambda API
 * (`stack/lambda_service.ts`).
 *
 * ```sh
 * glacier stack up                    # install what is missing, start, write .glacier/stack.env
 * glacier stack up --buckets shop     # ... and create buckets
 * glacier stack up --module examples/complete.ts   # ... and its serverless tasks on Lambda
 * glacier stack up --no-spark         # ... without Spark
 * source .glacier/stack.env           # AWS_ENDPOINT_URL_S3, keys, region, path style,
 *                                     # AWS_ENDPOINT_URL_LAMBDA, SPARK_REMOTE, SPARK_MASTER,
 *                                     # SPARK_HOME, PYSPARK_PYTHON
 * glacier stack status                # what runs
 * glacier stack down                  # stop exactly what `up` started, by pid
 * ```
 *
 * `up` is idempotent: a recorded service whose process is alive and answers is kept.
 *
 * @module
 */
import { parseArgs } from "node:util";
import {
  DEFAULT_LAMBDA_PORT,
  describeFunction,
  isLambdaFunction,
  upLambda,
} from "./lambda_service.ts";
import { isRunning, stopPid, stopTree } from "./process.ts";
import { createBuckets, DEFAULT_S3_PORT, s3Service } from "./s3_service.ts";
import { STATE_BUCKET } from "./versitygw.ts";
import { DEFAULT_WORKER_CORES, DEFAULT_WORKER_MEMORY } from "./spark_cluster.ts";
import {
  DEFAULT_SPARK_CONNECT_PORT,
  DEFAULT_SPARK_PORT,
  sparkConnectService,
  sparkMasterService,
  sparkWorkerService,
} from "./spark_service.ts";
import {
  answersHttp,
  displayPath as show,
  ownsProcess,
  type ServiceDefinition,
  type StackOptions,
} from "./service.ts";
import {
  readState,
  removeState,
  type Service,
  type StackPaths,
  stackPaths,
  writeState,
} from "./state.ts";
import { GLACIER_DIR } from "./versitygw.ts";

/** The services `up` starts, in order; `down` stops them in reverse. */
const SERVICES: readonly ServiceDefinition[] = [
  s3Service,
  sparkMasterService,
  sparkWorkerService,
  sparkConnectService,
];

/** The services `--no-spark` leaves out. */
const SPARK_SERVICES = new Set([
  sparkMasterService.name,
  sparkWorkerService.name,
  sparkConnectService.name,
]);

const HELP =
  `Usage: glacier stack <command> [options]   (in this repository also deno task stack:up)

Commands:
  up       install what is missing, start the stack (kept if already running), and write
           <state dir>/stack.env; the services keep running after the command exits
  down     stop the processes recorded in <state dir>/stack/state.json, by pid, and remove
           state.json, stack.env and stack/lambda.json
  status   print what runs

Options:
  --s3-port PORT       the S3 server's port (default ${DEFAULT_S3_PORT})
  --buckets A,B        with up: create these buckets (existing ones are fine)
  --module FILE        with up: run this pipeline module's serverless tasks as Lambda functions,
                       each under the AWS Lambda Runtime Interface Emulator, behind the Lambda
                       router at AWS_ENDPOINT_URL_LAMBDA; repeat for more modules. The functions
                       are then exactly these modules'; without --module, recorded ones are kept
  --lambda-port PORT   the Lambda router's port (default ${DEFAULT_LAMBDA_PORT})
  --no-spark           with up: start no Spark (running Spark services are kept)
  --spark-port PORT    the Spark master's port (default ${DEFAULT_SPARK_PORT}); its web UI listens on
                       the next port, the worker's web UI on the one after, the Spark Connect
                       server's Spark UI on the one after that
  --spark-connect-port PORT  the Spark Connect server's port (default ${DEFAULT_SPARK_CONNECT_PORT}),
                       written to stack.env as SPARK_REMOTE; it computes with the worker's cores
  --spark-worker-cores N     cores the Spark worker offers (default ${DEFAULT_WORKER_CORES})
  --spark-worker-memory MEM  memory the Spark worker offers (default ${DEFAULT_WORKER_MEMORY}: two
                       executors of SparkConfig's default 4g)
  --state-dir DIR      where state, logs, data and artifacts live (default ./.glacier)
  -h, --help           this text

Services: ${SERVICES.map((s) => s.name).join(", ")}; with --module also lambda-router and one
lambda:<function> per serverless task. The first up installs versitygw (Go) and PySpark (pip,
into .glacier/venv-spark; Java 17 must be installed). Load the environment with:
  source .glacier/stack.env`;

/**
 * Runs the stack command line.
 *
 * @param args the arguments after the script name
 * @returns the exit status
 */
export async function stackMain(args: readonly string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...args],
    allowPositionals: true,
    options: {
      "s3-port": { type: "string" },
      "lambda-port": { type: "string" },
      "no-spark": { type: "boolean" },
      "spark-port": { type: "string" },
      "spark-connect-port": { type: "string" },
      "spark-worker-cores": { type: "string" },
      "spark-worker-memory": { type: "string" },
      module: { type: "string", multiple: true },
      buckets: { type: "string" },
      "state-dir": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  const command = positionals[0];
  if (values.help || command === undefined) {
    console.log(HELP);
    return values.help ? 0 : 2;
  }
  const paths = stackPaths(values["state-dir"] ?? GLACIER_DIR);
  const s3Port = Number(values["s3-port"] ?? DEFAULT_S3_PORT);
  const lambdaPort = Number(values["lambda-port"] ?? DEFAULT_LAMBDA_PORT);
  const sparkPort = Number(values["spark-port"] ?? DEFAULT_SPARK_PORT);
  const sparkConnectPort = Number(values["spark-connect-port"] ?? DEFAULT_SPARK_CONNECT_PORT);
  const ports = [
    ["--s3-port", values["s3-port"], s3Port],
    ["--lambda-port", values["lambda-port"], lambdaPort],
    ["--spark-port", values["spark-port"], sparkPort],
    ["--spark-connect-port", values["spark-connect-port"], sparkConnectPort],
  ] as const;
  for (const [flag, given, port] of ports) {
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      console.error(`${flag} expects a port number between 1 and 65535, got '${given}'`);
      return 2;
    }
  }
  if (sparkPort > 65532) {
    console.error(
      `--spark-port leaves no room for the web UIs on the next three ports: ${sparkPort}`,
    );
    return 2;
  }
  const sparkWorkerCores = Number(values["spark-worker-cores"] ?? DEFAULT_WORKER_CORES);
  if (!Number.isInteger(sparkWorkerCores) || sparkWorkerCores < 1) {
    console.error(
      `--spark-worker-cores expects a positive integer, got '${values["spark-worker-cores"]}'`,
    );
    return 2;
  }
  const sparkWorkerMemory = values["spark-worker-memory"] ?? DEFAULT_WORKER_MEMORY;
  if (!/^\d+[mgt]$/i.test(sparkWorkerMemory)) {
    console.error(
      `--spark-worker-memory expects an amount such as 8g or 4096m, got '${sparkWorkerMemory}'`,
    );
    return 2;
  }
  const modules = values.module ?? [];
  const buckets = (values.buckets ?? "").split(",").map((b) => b.trim()).filter((b) => b !== "");
  switch (command) {
    case "up":
      return await up({
        paths,
        s3Port,
        lambdaPort,
        modules,
        spark: !values["no-spark"],
        sparkPort,
        sparkWorkerCores,
        sparkWorkerMemory,
        sparkConnectPort,
      }, buckets);
    case "down":
      return await down(paths);
    case "status":
      return await status(paths);
    default:
      console.error(`unknown command '${command}'; expected up, down or status (see --help)`);
      return 2;
  }
}

async function up(options: StackOptions, buckets: readonly string[]): Promise<number> {
  const { paths } = options;
  const recorded = (await readState(paths)).services;
  const running: Service[] = [];
  // Record each service as soon as it runs, so that a later failure still leaves it stoppable.
  const record = async (service: Service): Promise<void> => {
    running.push(service);
    await writeState(paths, { services: running });
  };
  for (const definition of SERVICES) {
    const previous = recorded.find((s) => s.name === definition.name);
    if (!options.spark && SPARK_SERVICES.has(definition.name)) {
      if (previous && ownsProcess(previous)) {
        console.log(
          `${previous.name}: already running (pid ${previous.pid}); kept, since --no-spark ` +
            "starts none but stops none (use 'down' to stop it)",
        );
        await record(previous);
      }
      continue;
    }
    if (previous && ownsProcess(previous)) {
      if (await definition.healthy(previous)) {
        console.log(
          `${previous.name}: already running (pid ${previous.pid}, port ${previous.port}, since ${previous.startedAt}); kept`,
        );
        const wanted = definition.name === "s3"
          ? options.s3Port
          : definition.name === "spark-master"
          ? options.sparkPort
          : definition.name === "spark-connect"
          ? options.sparkConnectPort
          : previous.port;
        if (previous.port !== wanted) {
          console.log(
            `${previous.name}: it listens on ${previous.port}, not the requested ${wanted}; run 'down' first to move it`,
          );
        }
        await record(previous);
        continue;
      }
      console.log(`${previous.name}: pid ${previous.pid} runs but does not answer; restarting it`);
      await stopPid(previous.pid);
    }
    const started = performance.now();
    const service = await definition.start(options);
    const address = `${definition.scheme ?? "http"}://127.0.0.1:${service.port}`;
    console.log(
      `${service.name}: started pid ${service.pid} on ${address} in ` +
        `${((performance.now() - started) / 1000).toFixed(1)} s (log ${show(service.log)})`,
    );
    await record(service);
  }
  const s3 = running.find((s) => s.name === "s3");
  if (!s3) throw new Error("the s3 service is not running");
  for (const [bucket, created] of await createBuckets(s3.env, [STATE_BUCKET, ...buckets])) {
    console.log(`s3: bucket '${bucket}' ${created ? "created" : "already exists"}`);
  }
  await upLambda(options, { recorded, s3, record });
  await writeState(paths, { services: running });
  console.log(`wrote ${show(paths.envFile)}; load it with: source ${show(paths.envFile)}`);
  return 0;
}

async function down(paths: StackPaths): Promise<number> {
  const { services } = await readState(paths);
  if (services.length === 0) {
    console.log(`nothing to stop: no services recorded in ${show(paths.stateFile)}`);
    await removeState(paths);
    return 0;
  }
  for (const service of [...services].reverse()) {
    const what = `${service.name}: pid ${service.pid} (port ${service.port})`;
    if (!isRunning(service.pid)) {
      console.log(`${what} had already exited`);
    } else if (!ownsProcess(service)) {
      console.log(`${what} now runs another program, which the stack did not start; left alone`);
    } else {
      const killed = await stopTree(service.pid);
      console.log(
        `${what} stopped${killed ? " with SIGKILL after SIGTERM was ignored for 5 s" : ""}`,
      );
    }
  }
  await removeState(paths);
  console.log(
    `removed ${show(paths.stateFile)}, ${show(paths.envFile)} and ${show(paths.lambdaRoutes)}`,
  );
  return 0;
}

async function status(paths: StackPaths): Promise<number> {
  const { services } = await readState(paths);
  if (services.length === 0) {
    console.log(`the stack is not running (no services recorded in ${show(paths.stateFile)})`);
    return 0;
  }
  const width = Math.max(...services.map((s) => s.name.length));
  for (const service of services) {
    const definition = SERVICES.find((d) => d.name === service.name);
    const answers = definition
      ? await definition.healthy(service)
      : await answersHttp(service.port);
    const state = !ownsProcess(service) ? "stopped" : !answers ? "not answering" : "running";
    console.log(
      `${service.name.padEnd(width)} ${state.padEnd(13)} pid ${service.pid}  ` +
        `${
          definition?.scheme ?? "http"
        }://127.0.0.1:${service.port}  since ${service.startedAt}  log ${show(service.log)}` +
        (isLambdaFunction(service) ? `  (${describeFunction(service.lambda!)})` : ""),
    );
  }
  console.log(`environment: source ${show(paths.envFile)}`);
  return 0;
}
