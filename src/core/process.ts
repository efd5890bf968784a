/**
 * Whether a process of this host and PID namespace is alive, for the few places that must ask
 * (the local stack's services, a cloud lock written by this host).
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
