/**
 * Named points in the commit protocols where a fault can be injected, so that tests can cut a
 * commit short at every point, the way a crash or a failing disk would.
 *
 * `GLACIER_FAILPOINT=name[@n][:kill|:error|:pause[=S]]` arms one point: on its `n`-th hit (default
 * the first) the process kills itself with SIGKILL (`kill`, the default), throws on that hit and
 * every later one (`error`), like a fault that retrying does not cure, or stops for a minute (or
 * `S` seconds) saying so on stderr (`pause`), so that a test can act while it is in the middle of
 * a commit.
 * Several points are armed with commas between them. Unset, a point costs one comparison.
 *
 * @module
 */
import { env } from "../core/env.ts";

interface Armed {
  readonly name: string;
  readonly hit: number;
  readonly action: "kill" | "error" | "pause";
  readonly seconds: number;
}

let armed: readonly Armed[] | null = null;
const hits = new Map<string, number>();

function arm(): readonly Armed[] {
  return (env("GLACIER_FAILPOINT") ?? "").split(",").filter((p) => p.trim()).map((part) => {
    const match = part.trim().match(
      /^([a-z0-9:.-]+?)(?:@(\d+))?(?::(kill|error|pause)(?:=(\d+))?)?$/,
    );
    if (!match) {
      throw new Error(`GLACIER_FAILPOINT '${part}' is not name[@n][:kill|:error|:pause[=S]]`);
    }
    return {
      name: match[1],
      hit: Number(match[2] ?? 1),
      action: (match[3] ?? "kill") as "kill",
      seconds: Number(match[4] ?? 60),
    };
  });
}

/**
 * Marks a point of a commit protocol; does nothing unless `GLACIER_FAILPOINT` names it.
 *
 * @param name the point, such as `local.commit.placed`.
 * @throws {Error} when the point is armed with `:error`.
 */
export function failpoint(name: string): void {
  if (armed === null) armed = arm();
  if (armed.length === 0) return;
  const point = armed.find((a) => a.name === name);
  if (point === undefined) return;
  const count = (hits.get(name) ?? 0) + 1;
  hits.set(name, count);
  if (count < point.hit) return;
  if (point.action === "error") throw new Error(`injected fault at ${name}`);
  if (count !== point.hit) return;
  if (point.action === "pause") {
    console.error(`glacier: failpoint ${name}: pausing for ${point.seconds} s`);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, point.seconds * 1000);
  } else Deno.kill(Deno.pid, "SIGKILL");
}
