/**
 * What a local stack service is: a definition that starts it detached and checks that it answers.
 * `stack_command.ts` keeps the list of single-process services (the S3 server, the Spark master and
 * worker); the Lambda functions, one process per function and the router in front, are started
 * by `lambda_service.ts`.
 *
 * @module
 */
import { relative } from "node:path";
import { commandLine } from "./process.ts";
import type { Service, StackPaths } from "./state.ts";

/** The options `stack:up` passes to every service. */
export interface StackOptions {
  /** Where state, logs and data live. */
  readonly paths: StackPaths;
  /** The S3 server's port (`--s3-port`, 7070 by default). */
  readonly s3Port: number;
  /** The Lambda router's port (`--lambda-port`, 7071 by default). */
  readonly lambdaPort: number;
  /** The pipeline modules whose serverless tasks run as Lambda functions (`--module`). */
  readonly modules: readonly string[];
  /** Whether to start the Spark services (`--no-spark` turns it off). */
  readonly spark: boolean;
  /**
   * The Spark master's port (`--spark-port`, 7077 by default); the master's, the worker's and
   * the Spark Connect server's web UIs take the next three.
   */
  readonly sparkPort: number;
  /** Cores the Spark worker offers (`--spark-worker-cores`, 2 by default). */
  readonly sparkWorkerCores: number;
  /** Memory the Spark worker offers (`--spark-worker-memory`, `8g` by default). */
  readonly sparkWorkerMemory: string;
  /** The Spark Connect server's port (`--spark-connect-port`, 15002 by default). */
  readonly sparkConnectPort: number;
}

/** How the stack starts one service and tells whether a recorded one still answers. */
export interface ServiceDefinition {
  /** The name recorded in `state.json`, e.g. `s3`. */
  readonly name: string;
  /** The scheme of its address, for messages: `spark`, `sc`; `http` when omitted. */
  readonly scheme?: string;
  /**
   * Installs what is missing, starts the service so that it outlives this process, and waits
   * until it answers.
   */
  start(options: StackOptions): Promise<Service>;
  /** Whether the recorded service answers on its port. */
  healthy(service: Service): Promise<boolean>;
}

/**
 * Whether `service.pid` still runs the program the stack started (and not a process that was
 * given the same pid later).
 *
 * @param service the recorded service
 * @returns `true` when the pid is alive and runs `service.program`
 */
export function ownsProcess(service: Service): boolean {
  return commandLine(service.pid)?.[0] === service.program;
}

/**
 * Whether anything answers HTTP on `127.0.0.1:port` within two seconds.
 *
 * @param port the loopback port
 * @returns `true` on any HTTP response, error statuses included
 */
export async function answersHttp(port: number): Promise<boolean> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/`, {
      signal: AbortSignal.timeout(2000),
    });
    await response.body?.cancel();
    return true;
  } catch {
    return false;
  }
}

/**
 * A path for messages: relative to the working directory when it lies below it.
 *
 * @param path an absolute path
 * @returns the path as a person would type it from here
 */
export function displayPath(path: string): string {
  const shown = relative(Deno.cwd(), path);
  return shown.startsWith("..") ? path : shown;
}
