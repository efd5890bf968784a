/**
 * The local stack: the real software that cloud mode talks to, on loopback. Today it is the S3
 * server (versitygw); each service is a {@linkcode ServiceDefinition} in the list below.
 *
 * ```sh
 * deno task stack:up                  # install what is missing, start, write .glacier/stack.env
 * deno task stack:up --buckets shop   # ... and create buckets
 * source .glacier/stack.env           # AWS_ENDPOINT_URL_S3, keys, region, path style
 * deno run -A tools/stack.ts status   # what runs
 * deno task stack:down                # stop exactly what `up` started, by pid
 * ```
 *
 * `up` is idempotent: a recorded service whose process is alive and answers is kept.
 *
 * @module
 */
import { join, relative } from "node:path";
import { parseArgs } from "node:util";
import { isRunning, stopPid } from "./stack/process.ts";
import { createBuckets, DEFAULT_S3_PORT, s3Service } from "./stack/s3_service.ts";
import { ownsProcess, type ServiceDefinition, type StackOptions } from "./stack/service.ts";
import {
  readState,
  removeState,
  type Service,
  type StackPaths,
  stackPaths,
  writeState,
} from "./stack/state.ts";
import { REPO_ROOT } from "./stack/versitygw.ts";

/** The services `up` starts, in order; `down` stops them in reverse. */
const SERVICES: readonly ServiceDefinition[] = [s3Service];

const HELP = `Usage: deno run -A tools/stack.ts <command> [options]

Commands:
  up       install what is missing, start the stack (kept if already running), and write
           <state dir>/stack.env; the services keep running after the command exits
  down     stop the processes recorded in <state dir>/stack/state.json, by pid, and remove
           state.json and stack.env
  status   print what runs

Options:
  --s3-port PORT     the S3 server's port (default ${DEFAULT_S3_PORT})
  --buckets A,B      with up: create these buckets (existing ones are fine)
  --state-dir DIR    where state, logs and data live (default <repo>/.glacier)
  -h, --help         this text

Services: ${SERVICES.map((s) => s.name).join(", ")}. Load the environment with:
  source .glacier/stack.env`;

/**
 * Runs the stack command line.
 *
 * @param args the arguments after the script name
 * @returns the exit status
 */
export async function main(args: readonly string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...args],
    allowPositionals: true,
    options: {
      "s3-port": { type: "string" },
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
  const paths = stackPaths(values["state-dir"] ?? join(REPO_ROOT, ".glacier"));
  const s3Port = Number(values["s3-port"] ?? DEFAULT_S3_PORT);
  if (!Number.isInteger(s3Port) || s3Port < 1 || s3Port > 65535) {
    console.error(
      `--s3-port expects a port number between 1 and 65535, got '${values["s3-port"]}'`,
    );
    return 2;
  }
  const buckets = (values.buckets ?? "").split(",").map((b) => b.trim()).filter((b) => b !== "");
  switch (command) {
    case "up":
      return await up({ paths, s3Port }, buckets);
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
  for (const definition of SERVICES) {
    const previous = recorded.find((s) => s.name === definition.name);
    if (previous && ownsProcess(previous)) {
      if (await definition.healthy(previous)) {
        console.log(
          `${previous.name}: already running (pid ${previous.pid}, port ${previous.port}, since ${previous.startedAt}); kept`,
        );
        if (definition.name === "s3" && previous.port !== options.s3Port) {
          console.log(
            `${previous.name}: it listens on ${previous.port}, not the requested ${options.s3Port}; run 'down' first to move it`,
          );
        }
        running.push(previous);
        continue;
      }
      console.log(`${previous.name}: pid ${previous.pid} runs but does not answer; restarting it`);
      await stopPid(previous.pid);
    }
    const service = await definition.start(options);
    console.log(
      `${service.name}: started pid ${service.pid} on http://127.0.0.1:${service.port}` +
        ` (log ${show(service.log)})`,
    );
    running.push(service);
    // Record each service as soon as it runs, so that a later failure still leaves it stoppable.
    await writeState(paths, { services: running });
  }
  await writeState(paths, { services: running });
  if (buckets.length > 0) {
    const s3 = running.find((s) => s.name === "s3");
    if (!s3) throw new Error("--buckets needs the s3 service, which is not running");
    for (const [bucket, created] of await createBuckets(s3.env, buckets)) {
      console.log(`s3: bucket '${bucket}' ${created ? "created" : "already exists"}`);
    }
  }
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
      const killed = await stopPid(service.pid);
      console.log(
        `${what} stopped${killed ? " with SIGKILL after SIGTERM was ignored for 5 s" : ""}`,
      );
    }
  }
  await removeState(paths);
  console.log(`removed ${show(paths.stateFile)} and ${show(paths.envFile)}`);
  return 0;
}

async function status(paths: StackPaths): Promise<number> {
  const { services } = await readState(paths);
  if (services.length === 0) {
    console.log(`the stack is not running (no services recorded in ${show(paths.stateFile)})`);
    return 0;
  }
  for (const service of services) {
    const definition = SERVICES.find((d) => d.name === service.name);
    const state = !ownsProcess(service)
      ? "stopped"
      : definition && !(await definition.healthy(service))
      ? "not answering"
      : "running";
    console.log(
      `${service.name.padEnd(6)} ${state.padEnd(13)} pid ${service.pid}  ` +
        `http://127.0.0.1:${service.port}  since ${service.startedAt}  log ${show(service.log)}`,
    );
  }
  console.log(`environment: source ${show(paths.envFile)}`);
  return 0;
}

/** A path relative to the working directory when it lies below it. */
function show(path: string): string {
  const shown = relative(Deno.cwd(), path);
  return shown.startsWith("..") ? path : shown;
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (error) {
    console.error(`stack: ${(error as Error).message}`);
    Deno.exit(1);
  }
}
