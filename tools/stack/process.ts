/**
 * Process helpers for the local stack: whether a pid runs, what it runs, and stopping it by pid.
 *
 * @module
 */

/**
 * Whether `pid` is a live process. A zombie (ended, not yet reaped by its parent) counts as ended.
 *
 * @param pid the process id
 * @returns `true` when the process exists and has not ended
 */
export function isRunning(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // The state follows the command name, which is in parentheses and may itself hold spaces.
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    // No /proc (macOS): ask the kernel with signal 0.
    return new Deno.Command("kill", { args: ["-0", String(pid)], stderr: "null" }).outputSync()
      .success;
  }
}

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
