/**
 * What the local stack started, as recorded on disk: `<state dir>/stack/state.json` lists one
 * {@linkcode Service} record per running process, `<state dir>/stack.env` holds the union of
 * their environment variables as `export` lines that bash can source, and
 * `<state dir>/stack/lambda.json` routes Lambda invocations to the functions' emulators.
 *
 * @module
 */
import { join } from "node:path";
import { replaceTextFile } from "../core/files.ts";

/** One process the stack started and owns; `down` stops exactly these, by pid. */
export interface Service {
  /**
   * The service name: `s3`, `lambda:<function>` for a Lambda function's emulator,
   * `lambda-router` for the Lambda API in front of them, `spark-master`, `spark-worker`.
   */
  readonly name: string;
  /** The process id. */
  readonly pid: number;
  /** The executable the process runs, checked before it is signalled (pids get reused). */
  readonly program: string;
  /** The loopback port it listens on. */
  readonly port: number;
  /** When it was started, as an ISO 8601 timestamp. */
  readonly startedAt: string;
  /** The file that receives its output. */
  readonly log: string;
  /** The variables that point clients at it, written to `stack.env`. */
  readonly env: Readonly<Record<string, string>>;
  /** For a Lambda function's emulator: the function it hosts. */
  readonly lambda?: LambdaFunctionRecord;
}

/** The Lambda function an emulator hosts, as `stack:up` started it. */
export interface LambdaFunctionRecord {
  /** The function's name, `glacier-<task>`. */
  readonly function: string;
  /** The task it runs. */
  readonly task: string;
  /** The pipeline module it was built from, as given to `--module`. */
  readonly module: string;
  /** The artifact's SHA-256. */
  readonly sha256: string;
  /** The unpacked artifact, `<state dir>/stack/lambda/<sha256>`. */
  readonly dir: string;
  /** The artifact's handler. */
  readonly handler: string;
  /** The function's memory. */
  readonly memoryMb: number;
  /** The function's timeout. */
  readonly timeoutSeconds: number;
  /** The Runtime API port the function's bootstrap talks to. */
  readonly runtimeApiPort: number;
  /** The S3 endpoint the function was started with. */
  readonly s3Endpoint: string;
}

/** The contents of `state.json`. */
export interface StackState {
  /** The services that were started, in start order. */
  readonly services: readonly Service[];
}

/** The files of one stack, under a state directory (`<repo>/.glacier` by default). */
export interface StackPaths {
  /** The state directory itself. */
  readonly root: string;
  /** `<root>/stack`: state file, logs and service data. */
  readonly stack: string;
  /** `<root>/stack/state.json`. */
  readonly stateFile: string;
  /** `<root>/stack.env`. */
  readonly envFile: string;
  /** `<root>/stack/lambda.json`: the Lambda router's routing table. */
  readonly lambdaRoutes: string;
}

/**
 * The stack's file locations under `root`.
 *
 * @param root the state directory, `<repo>/.glacier` by default
 * @returns the paths of the state file, the env file and the service directory
 */
export function stackPaths(root: string): StackPaths {
  const stack = join(root, "stack");
  return {
    root,
    stack,
    stateFile: join(stack, "state.json"),
    envFile: join(root, "stack.env"),
    lambdaRoutes: join(stack, "lambda.json"),
  };
}

/**
 * Reads `state.json`; a missing file is an empty stack.
 *
 * @param paths the stack's files
 * @returns the recorded services
 */
export async function readState(paths: StackPaths): Promise<StackState> {
  let text: string;
  try {
    text = await Deno.readTextFile(paths.stateFile);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return { services: [] };
    throw error;
  }
  const state = JSON.parse(text) as StackState;
  if (!Array.isArray(state.services)) {
    throw new Error(`'${paths.stateFile}' has no 'services' list; remove it after checking`);
  }
  return state;
}

/**
 * Writes `state.json` and `stack.env` for `state`, each replaced in one rename.
 *
 * @param paths the stack's files
 * @param state the services that run
 */
export async function writeState(paths: StackPaths, state: StackState): Promise<void> {
  await Deno.mkdir(paths.stack, { recursive: true });
  await writeAtomically(paths.stateFile, JSON.stringify(state, null, 2) + "\n");
  await writeAtomically(paths.envFile, envFileText(state));
}

/**
 * Removes `state.json`, `stack.env` and `lambda.json`, if they exist.
 *
 * @param paths the stack's files
 */
export async function removeState(paths: StackPaths): Promise<void> {
  for (const file of [paths.stateFile, paths.envFile, paths.lambdaRoutes]) {
    await Deno.remove(file).catch((error) => {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    });
  }
}

/**
 * The `stack.env` text: one `export NAME='value'` line per variable of every service (the Lambda
 * functions' emulators have none: clients reach them through the `lambda-router`).
 *
 * @param state the services that run
 * @returns text that bash can `source`
 */
export function envFileText(state: StackState): string {
  const lines = ["# Written by `glacier stack up`; load it in bash with `source`."];
  for (const service of state.services) {
    if (Object.keys(service.env).length === 0) continue;
    lines.push(`# ${service.name} (pid ${service.pid})`);
    for (const [name, value] of Object.entries(service.env)) {
      lines.push(`export ${name}='${value.replaceAll("'", `'\\''`)}'`);
    }
  }
  return lines.join("\n") + "\n";
}

function writeAtomically(file: string, text: string): Promise<void> {
  return replaceTextFile(file, text);
}
