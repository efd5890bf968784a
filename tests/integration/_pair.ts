/**
 * The two-output pipeline (`seed -> a -> b`) the commit tests run in processes of their own, so
 * that a crash can be a real SIGKILL: a script with commands (`seed N`, `write-b N`, `run`,
 * `why` (a run that prints each step's status and reason), `read`, `loop SECONDS`, and locally
 * `hold SECONDS`) for local or cloud storage.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";

const MOD = new URL("../../mod.ts", import.meta.url).href;
const STORAGE = new URL("../../src/io/file_storage.ts", import.meta.url).href;

/**
 * The script's source. Its first argument is the local root (local) or the S3 bucket (cloud).
 *
 * @param mode where the buckets live.
 * @returns the TypeScript source.
 */
function pairScript(mode: "local" | "cloud"): string {
  const io = mode === "cloud" ? `{ mode: "cloud" }` : "{}";
  return `
import { pl, Provider, schema, t } from "${MOD}";
import { FileStorage } from "${STORAGE}";
const [where, command, arg] = Deno.args;
const cloud = ${mode === "cloud"};
const provider = new Provider({ localRoot: cloud ? Deno.makeTempDirSync() : where });
const bucket = cloud ? where : "lab";
const N = schema({ n: t.int64 });
const seed = provider.bucket({ bucket, path: "seed.parquet", schema: N });
const a = provider.bucket({ bucket, path: "a/a.parquet", schema: N });
const b = provider.bucket({ bucket, path: "b/b.parquet", schema: N });
const local = provider.local();
const toA = local.task({ name: "to_a", input: N, output: N }, (df) => df);
const toB = local.task({ name: "to_b", input: N, output: N }, (df) => df);
const pipeline = seed.transform(toA).to(a).transform(toB).to(b).withName("pair");
const io = ${io};
const value = (n) => pl.DataFrame({ n: pl.Series("n", [n], pl.Int64) });
const one = async (bucket) => Number((await bucket.read(io)).getColumn("n").get(0));
if (command === "seed") {
  await seed.write(value(Number(arg)), io);
} else if (command === "write-b") {
  await b.write(value(Number(arg)), io);
} else if (command === "run") {
  try {
    await pipeline.run({ mode: "${mode}", quiet: true });
    console.log("ok");
  } catch (error) {
    console.log(JSON.stringify({ name: error.name, message: error.message }));
    Deno.exit(3);
  }
} else if (command === "why") {
  const report = await pipeline.run({ mode: "${mode}", quiet: true });
  console.log(JSON.stringify(report.steps.map((s) => s.task + " " + s.status + ": " + s.reason)));
} else if (command === "read") {
  console.log(JSON.stringify([await one(a), await one(b)]));
} else if (command === "hold") {
  const txn = await new FileStorage(where).beginRun([a]);
  console.log("held " + txn.id);
  await new Promise((resolve) => setTimeout(resolve, Number(arg) * 1000));
  await txn.abort();
} else if (command === "loop") {
  const until = Date.now() + Number(arg) * 1000;
  const tally = { tried: 0, clean: 0, problems: [] };
  for (let i = 1; Date.now() < until; i++) {
    tally.tried++;
    try {
      await seed.write(value(i), io);
      await pipeline.run({ mode: "${mode}", quiet: true });
      const got = [await one(a), await one(b)];
      if (got[0] === i && got[1] === i) tally.clean++;
      else tally.problems.push("run " + i + " succeeded but the buckets hold " + got);
    } catch (error) {
      tally.problems.push("run " + i + ": " + error.message);
    }
  }
  console.log(JSON.stringify(tally));
}
`;
}

/** What one command of the script did. */
export interface PairOutput {
  readonly code: number;
  readonly signal: string | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** The script on disk, and a way to run its commands. */
export interface PairScript {
  /** The script's file. */
  readonly file: string;
  /**
   * Runs one command in a new process.
   *
   * @param where the local root, or the S3 bucket.
   * @param command the command and its argument.
   * @param env variables beside the inherited ones (`GLACIER_FAILPOINT`, a server's).
   * @returns its exit and output.
   */
  exec(
    where: string,
    command: readonly string[],
    env?: Record<string, string>,
  ): Promise<PairOutput>;
}

/**
 * Writes the script for one storage mode into a new temporary folder.
 *
 * @param mode where the buckets live.
 * @returns the script.
 */
export async function pairScriptFor(mode: "local" | "cloud"): Promise<PairScript> {
  const file = join(await Deno.makeTempDir({ prefix: "glacier-pair-" }), "pair.ts");
  await Deno.writeTextFile(file, pairScript(mode));
  return {
    file,
    async exec(where, command, env = {}) {
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", file, where, ...command],
        env,
        stdout: "piped",
        stderr: "piped",
      }).output();
      return {
        code: out.code,
        signal: out.signal,
        stdout: new TextDecoder().decode(out.stdout).trim(),
        stderr: new TextDecoder().decode(out.stderr),
      };
    },
  };
}

/**
 * The script's command in a PID namespace of its own (`unshare -pf --mount-proc`, root only),
 * killed with this process's handle on it.
 *
 * @param script the script.
 * @param where the local root.
 * @param command the command and its argument.
 * @returns the command, to spawn or run.
 */
export function inPidNamespace(
  script: PairScript,
  where: string,
  command: readonly string[],
): Deno.Command {
  return new Deno.Command("unshare", {
    args: [
      "-pf",
      "--kill-child",
      "--mount-proc",
      Deno.execPath(),
      "run",
      "-A",
      script.file,
      where,
      ...command,
    ],
    stdout: "piped",
    stderr: "piped",
  });
}

/**
 * Brings a lab to "old published, new seeded": a run publishes 1 to both outputs, then the seed
 * becomes 2, so a run that publishes gives [2, 2] and one that changes nothing leaves [1, 1].
 *
 * @param exec runs one command of the script for the lab.
 * @param read both outputs' values.
 * @throws {AssertionError} when a step of the set-up fails.
 */
export async function publishOldSeedNew(
  exec: (command: string, arg?: string) => Promise<PairOutput>,
  read: () => Promise<[number, number]>,
): Promise<void> {
  assert.equal((await exec("seed", "1")).code, 0);
  const first = await exec("run");
  assert.equal(first.stdout, "ok", first.stderr);
  assert.equal((await exec("seed", "2")).code, 0);
  assert.deepEqual(await read(), [1, 1]);
}
