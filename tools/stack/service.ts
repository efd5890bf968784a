/**
 * What a local stack service is: a definition that starts it detached and checks that it answers.
 * `tools/stack.ts` keeps the list; later services (Lambda runtime emulator, Spark master and
 * worker) are added there as more definitions.
 *
 * @module
 */
import { commandLine } from "./process.ts";
import type { Service, StackPaths } from "./state.ts";

/** The options `stack:up` passes to every service. */
export interface StackOptions {
  /** Where state, logs and data live. */
  readonly paths: StackPaths;
  /** The S3 server's port (`--s3-port`, 7070 by default). */
  readonly s3Port: number;
}

/** How the stack starts one service and tells whether a recorded one still answers. */
export interface ServiceDefinition {
  /** The name recorded in `state.json`, e.g. `s3`. */
  readonly name: string;
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
