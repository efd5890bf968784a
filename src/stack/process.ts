/**
 * Process helpers for the local stack: starting a service process (logged, detached or tied to
 * this process), waiting until it answers, whether a pid runs and what it runs, and stopping it by
 * pid.
 *
 * @module
 */
import { dirname, join } from "node:path";

import { isRunning } from "../core/process.ts";

export { isRunning };

/**
 * The command line of a live process, or `undefined` when it is not running or cannot be read.
 *
 * @param pid the process id
 * @returns the arguments, program first
 */
export function commandLine(pid: number): string[] | undefined {
  if (!isRunning(pid)) return undefined;
  try {
    const raw = Deno.readTextFileSync(`/proc/${pid}/cmdline`);
    return raw.split("\0").filter((part) => part !== "");
  } catch {
    const output = new Deno.Command("ps", { args: ["-o", "command=", "-p", String(pid)] })
      .outputSync();
    const text = new TextDecoder().decode(output.stdout).trim();
    return output.success && text ? text.split(/\s+/) : undefined;
  }
}

/** How {@linkcode stopPid} stops a process. */
export interface StopOptions {
  /** The first signal: `SIGTERM` (then `SIGKILL` after the grace period) or `SIGKILL` at once. */
  readonly signal?: "SIGTERM" | "SIGKILL";
  /** How long to wait after SIGTERM before SIGKILL; 5 s by default. */
  readonly graceMs?: number;
  /** Settles when the process has ended, for a child of this process (its `status`). */
  readonly exited?: Promise<unknown>;
}

/**
 * Stops the process `pid`: SIGTERM, a grace period, then SIGKILL; resolves once it has ended.
 *
 * @param pid the process id
 * @param options the first signal, the grace period, and the child's status when it is ours
 * @returns whether the process had to be killed with SIGKILL
 */
export async function stopPid(pid: number, options: StopOptions = {}): Promise<boolean> {
  const signal = options.signal ?? "SIGTERM";
  send(pid, signal);
  if (signal === "SIGKILL") {
    await waitForExit(pid, options.exited, 10_000);
    return true;
  }
  if (await waitForExit(pid, options.exited, options.graceMs ?? 5_000)) return false;
  send(pid, "SIGKILL");
  await waitForExit(pid, options.exited, 10_000);
  return true;
}

/** The last `lines` lines of `text`. */
export function tail(text: string, lines: number): string {
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}

function send(pid: number, signal: Deno.Signal): void {
  try {
    Deno.kill(pid, signal);
  } catch (error) {
    // Already gone.
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
}

/** Resolves to `true` once the process has ended, or `false` after `timeoutMs`. */
async function waitForExit(
  pid: number,
  exited: Promise<unknown> | undefined,
  timeoutMs: number,
): Promise<boolean> {
  let done = false;
  exited?.then(() => (done = true), () => (done = true));
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exited ? done : !isRunning(pid)) return true;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return exited ? done : !isRunning(pid);
}

/**
 * The pids of every live descendant of `pid` (children, their children, ...), read from `/proc`;
 * empty where there is no `/proc`.
 *
 * @param pid the process id
 * @returns the descendants' pids, parents before their children
 */
export function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  try {
    for (const entry of Deno.readDirSync("/proc")) {
      if (!/^\d+$/.test(entry.name)) continue;
      try {
        const stat = Deno.readTextFileSync(`/proc/${entry.name}/stat`);
        // The fields after the parenthesised command name: state, then the parent's pid.
        const parent = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
        children.set(parent, [...(children.get(parent) ?? []), Number(entry.name)]);
      } catch {
        // It ended while we looked.
      }
    }
  } catch {
    return [];
  }
  const found: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    for (const child of children.get(queue.shift()!) ?? []) {
      if (isRunning(child)) found.push(child);
      queue.push(child);
    }
  }
  return found;
}

/**
 * Stops `pid` like {@linkcode stopPid}, then kills with SIGKILL whatever it had started that
 * still runs (a Lambda emulator's runtime, say), so that nothing it started outlives it.
 *
 * @param pid the process id
 * @param options as for {@linkcode stopPid}
 * @returns whether the process itself had to be killed with SIGKILL
 */
export async function stopTree(pid: number, options: StopOptions = {}): Promise<boolean> {
  const started = descendants(pid);
  const killed = await stopPid(pid, options);
  for (const child of started) {
    if (isRunning(child)) await stopPid(child, { signal: "SIGKILL" });
  }
  return killed;
}

/** A port on 127.0.0.1 that was free a moment ago. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/**
 * Whether `port` can be bound on 127.0.0.1 right now.
 *
 * @param port the port
 * @returns `false` when another process listens on it
 */
export function portIsFree(port: number): boolean {
  try {
    Deno.listen({ hostname: "127.0.0.1", port }).close();
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.AddrInUse) return false;
    throw error;
  }
}

/**
 * Whether an executable named `name` is on PATH.
 *
 * @param name the program's name
 * @returns `true` when a file of that name is in one of PATH's directories
 */
export function onPath(name: string): boolean {
  const dirs = (Deno.env.get("PATH") ?? "").split(":").filter((dir) => dir !== "");
  return dirs.some((dir) => {
    try {
      return Deno.statSync(join(dir, name)).isFile;
    } catch {
      return false;
    }
  });
}

/** How {@linkcode spawnService} starts a program. */
export interface SpawnServiceOptions {
  /** The program (by absolute path: `/proc/<pid>/cmdline` shows it) and its arguments. */
  readonly argv: readonly string[];
  /** Its environment variables, added to this process's unless `clearEnv` is set. */
  readonly env?: Readonly<Record<string, string>>;
  /** Start it with `env` alone rather than this process's environment plus `env`. */
  readonly clearEnv?: boolean;
  /** Its working directory; this process's by default. */
  readonly cwd?: string;
  /** A file that receives its stdout and stderr (appended); discarded when omitted. */
  readonly logFile?: string;
  /**
   * Start it in its own session so that it outlives this process (the local stack); otherwise
   * it gets SIGKILL from the kernel when this process dies, even by SIGKILL (tests; Linux only).
   */
  readonly detached?: boolean;
  /**
   * A process whose end stops the program, even when it dies by SIGKILL: the program runs in its
   * own session (not tied to the thread that started it, as the parent-death signal is: Deno
   * runs each test file in a worker thread), and a watchdog (`sh`, in a session of its own) polls
   * this pid and kills the program's process group once it is gone. The watchdog ends with the
   * program. Both are unref'd. Ignored when `detached` is set.
   */
  readonly watchPid?: number;
}

/**
 * The watchdog of {@linkcode SpawnServiceOptions.watchPid}: `sh -c WATCHDOG sh WATCHED PROGRAM`
 * kills the process group `PROGRAM` leads with SIGKILL once `WATCHED` has ended, and ends by
 * itself when `PROGRAM` has.
 */
const WATCHDOG =
  'while kill -0 "$1" 2>/dev/null && kill -0 "$2" 2>/dev/null; do sleep 0.5; done; ' +
  'kill -9 "-$2" 2>/dev/null; exit 0';

/**
 * Starts a long-running service program whose pid is the program's own: each wrapper (`setpriv`
 * for the parent-death signal, `sh` for the log redirection) execs the next.
 *
 * @param options the program, its environment, working directory, log file and lifetime
 * @returns the child process; a detached one is unref'd, so that this process can exit before it
 */
export async function spawnService(options: SpawnServiceOptions): Promise<Deno.ChildProcess> {
  const argv = [...options.argv];
  const logged = options.logFile
    ? ["sh", "-c", 'log=$1; shift; exec "$@" >>"$log" 2>&1', "sh", options.logFile, ...argv]
    : argv;
  const watched = !options.detached && options.watchPid !== undefined;
  const detached = (options.detached ?? false) || watched;
  const [command, ...args] = !detached && onPath("setpriv")
    ? ["setpriv", "--pdeathsig", "KILL", "--", ...logged]
    : logged;
  if (options.logFile) await Deno.mkdir(dirname(options.logFile), { recursive: true });
  const child = new Deno.Command(command, {
    args,
    env: { ...options.env },
    clearEnv: options.clearEnv ?? false,
    ...(options.cwd ? { cwd: options.cwd } : {}),
    stdin: "null",
    stdout: "null",
    stderr: "null",
    detached,
  }).spawn();
  if (detached) child.unref();
  if (watched) {
    new Deno.Command("sh", {
      args: ["-c", WATCHDOG, "sh", String(options.watchPid), String(child.pid)],
      stdin: "null",
      stdout: "null",
      stderr: "null",
      detached: true,
    }).spawn().unref();
  }
  return child;
}

/**
 * Resolves when something answers HTTP at `endpoint`, or rejects after `timeoutMs` or as soon as
 * `exited` settles.
 *
 * @param endpoint the URL to fetch
 * @param exited settles when the process that should answer has ended
 * @param timeoutMs how long to wait
 * @throws {Error} "the process exited" or "no HTTP answer within N s"
 */
export async function waitForHttp(
  endpoint: string,
  exited: Promise<unknown>,
  timeoutMs: number,
): Promise<void> {
  let gone = false;
  exited.then(() => (gone = true), () => (gone = true));
  const deadline = Date.now() + timeoutMs;
  while (!gone && Date.now() < deadline) {
    try {
      const response = await fetch(endpoint, { signal: AbortSignal.timeout(1000) });
      await response.body?.cancel();
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
  throw new Error(gone ? "the process exited" : `no HTTP answer within ${timeoutMs / 1000} s`);
}
