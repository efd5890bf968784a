/**
 * Locks over partitions, with real processes, locally and on a real S3 server (versitygw): two
 * runs over disjoint days of one partitioned pipeline both proceed and the ledger holds both; a
 * run over days another run holds is refused naming that run and the days in conflict, or waits
 * when asked; a writer of the whole bucket and a writer of some of its partitions refuse each
 * other; a run killed (SIGKILL) while it holds its days blocks nobody.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { type RunReport, StorageError, type StorageMode } from "../../mod.ts";
import { FileStorage } from "../../src/io/file_storage.ts";
import { S3Storage } from "../../src/io/s3/s3_storage.ts";
import { ListObjectsV2Command } from "../../src/io/s3/_sdk.ts";
import { openLocalLedger } from "../../src/engine/local.ts";
import { openCloudLedger } from "../../src/engine/cloud.ts";
import { withAwsEnv } from "../_env.ts";
import { s3Client, type S3Server, withS3Server } from "./_s3_server.ts";
import { daysPipeline, runDays, seedDays } from "./_days.ts";
import { days } from "./_sales.ts";

const SCRIPT = new URL("./_days.ts", import.meta.url).pathname;
const BUCKET = "days/out/{date}.parquet";

/** A run in another process that stops before it publishes, holding its locks, for `seconds`. */
interface PausedRun {
  readonly pid: number;
  readonly child: Deno.ChildProcess;
  /** What it printed, once it ended. */
  readonly ended: Promise<{ code: number; out: string; err: string }>;
}

async function pausedRun(
  root: string,
  mode: StorageMode,
  range: [string, string],
  seconds: number,
): Promise<PausedRun> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", SCRIPT, root, mode, ...range],
    env: { GLACIER_FAILPOINT: `ledger.prepare:pause=${seconds}` },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let err = "";
  let paused!: () => void;
  const pausing = new Promise<void>((resolve) => paused = resolve);
  const errors = (async () => {
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
      err += chunk;
      if (err.includes("pausing")) paused();
    }
  })();
  const ended = (async () => {
    let out = "";
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) out += chunk;
    const { code } = await child.status;
    await errors;
    return { code, out, err };
  })();
  const first = await Promise.race([pausing.then(() => "paused"), ended]);
  assert.equal(first, "paused", `the run over ${range.join("..")} should pause holding its locks`);
  return { pid: child.pid, child, ended };
}

const ranDays = (report: RunReport) =>
  report.steps.filter((s) => s.status === "ran").map((s) => s.partition?.date).sort();

/** The same story in either mode; `whole` holds the whole output bucket the way a writer of it does. */
async function story(
  root: string,
  mode: StorageMode,
  whole: () => Promise<{ release(): Promise<void> }>,
  lockKeys: () => Promise<string[]>,
): Promise<void> {
  await seedDays(root, mode, "2026-01-01", "2026-01-06");
  const { pipeline, out } = daysPipeline(root);
  const holder = await pausedRun(root, mode, ["2026-01-01", "2026-01-03"], 20);
  const heldBy = `run (\\S+) \\(pid ${holder.pid} on [^,]+, since [^)]+\\)`;

  // Disjoint days proceed while the first run holds its days.
  const beside = await runDays(root, mode, "2026-01-04", "2026-01-06");
  assert.equal(beside.status, "succeeded");
  assert.deepEqual(ranDays(beside), ["2026-01-04", "2026-01-05", "2026-01-06"]);

  // Overlapping days are refused, naming the holder and the day both write.
  const refusal = await runDays(root, mode, "2026-01-03", "2026-01-04").then(
    () => assert.fail("a run over a day another run holds must be refused"),
    (e: Error) => e,
  );
  assert.ok(refusal instanceof StorageError, `${refusal}`);
  const match = refusal.message.match(
    new RegExp(
      `^bucket '${escape(BUCKET)}' is being written by ${heldBy} at partition ` +
        "date=2026-01-03, which this run writes too; nothing was changed",
    ),
  );
  assert.ok(match, refusal.message);
  const holderId = match[1];

  // A writer of the whole bucket is refused by the days the run holds...
  await assert.rejects(whole(), (e: Error) => {
    assert.ok(e instanceof StorageError, `${e}`);
    assert.match(
      e.message,
      new RegExp(
        `^bucket '${escape(BUCKET)}' is being written by run ${holderId} \\(pid ${holder.pid} ` +
          "on [^)]+\\) at partitions date=2026-01-01, date=2026-01-02, date=2026-01-03, and " +
          "this run writes the whole bucket; nothing was changed",
      ),
    );
    return true;
  });

  // A run over a held day waits when asked, and proceeds once the holder has published: it then
  // finds both days up to date (one published by the holder, the other by the run beside it).
  const waiting = runDays(root, mode, "2026-01-03", "2026-01-04", 60);
  const first = await holder.ended;
  assert.equal(first.code, 0, first.err);
  assert.equal(JSON.parse(first.out).runId, holderId);
  const waited = await waiting;
  assert.equal(waited.status, "succeeded");
  // Steps of one depth end in any order: compare them by day.
  assert.deepEqual(waited.steps.map((s) => [s.partition?.date, s.reason]).sort(), [
    ["2026-01-03", "up to date"],
    ["2026-01-04", "up to date"],
  ]);

  // A writer holding the whole bucket refuses a run over any day of it.
  const wholly = await whole();
  try {
    await assert.rejects(runDays(root, mode, "2026-01-05", "2026-01-05"), (e: Error) => {
      assert.ok(e instanceof StorageError, `${e}`);
      assert.match(
        e.message,
        new RegExp(
          `^bucket '${escape(BUCKET)}' is being written by run \\S+ \\(pid ${Deno.pid} on ` +
            "[^)]+\\) as a whole, which includes the partition date=2026-01-05 that this run " +
            "writes; nothing was changed",
        ),
      );
      return true;
    });
  } finally {
    await wholly.release();
  }

  // The ledger holds all three runs, and every day is published.
  const ledger = mode === "local"
    ? await openLocalLedger(root)
    : await openCloudLedger(pipeline.graph());
  try {
    const runs = await ledger.runs(20);
    const succeeded = runs.filter((r) => r.status === "succeeded").map((r) => r.runId);
    assert.ok(succeeded.includes(holderId), `${holderId} in ${succeeded}`);
    assert.ok(succeeded.includes(beside.runId));
    assert.equal(runs.filter((r) => r.status === "succeeded").length, 3);
  } finally {
    ledger.close();
  }
  assert.deepEqual(
    (await out.read({ mode })).sort("date").toRecords(),
    days("2026-01-01", "2026-01-06").map((date) => ({ n: 2 * Number(date.slice(8)), date })),
  );

  // A run killed while it holds every day blocks nobody: the next run over them proceeds at once.
  assert.deepEqual(await lockKeys(), [], "every run let go of its locks");
  const killed = await pausedRun(root, mode, ["2026-01-01", "2026-01-06"], 60);
  assert.equal((await lockKeys()).length, 1, "the paused run holds its days");
  killed.child.kill("SIGKILL");
  assert.notEqual((await killed.ended).code, 0);
  const next = await runDays(root, mode, "2026-01-01", "2026-01-06");
  assert.equal(next.status, "succeeded");
  assert.equal(next.steps.length, 6);
  assert.deepEqual(await lockKeys(), [], "the dead run's locks are gone");
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

Deno.test("local runs over disjoint days of one bucket both proceed; over the same days, the second is refused or waits", async () => {
  const root = await Deno.makeTempDir({ prefix: "glacier-partition-locks-" });
  const { out } = daysPipeline(root);
  const locks = join(root, ".glacier", "locks");
  await story(
    root,
    "local",
    async () => {
      const txn = await new FileStorage(root).beginRun([out]);
      return { release: () => txn.abort() };
    },
    async () => {
      const left: string[] = [];
      const walk = async (dir: string) => {
        for await (const entry of Deno.readDir(dir)) {
          if (entry.isDirectory) await walk(join(dir, entry.name));
          else if (entry.name.endsWith(".json")) left.push(join(dir, entry.name));
        }
      };
      await walk(locks);
      return left;
    },
  );
});

Deno.test("cloud runs over disjoint days of one bucket both proceed; over the same days, the second is refused or waits", () =>
  withS3Server((server: S3Server) =>
    withAwsEnv(server.env(), async () => {
      const root = await Deno.makeTempDir({ prefix: "glacier-partition-locks-" });
      const { out } = daysPipeline(root);
      const client = s3Client(server);
      try {
        await story(
          root,
          "cloud",
          async () => {
            const lock = await new S3Storage(server.region).lock(out, "whole-bucket-writer");
            return { release: () => lock.release() };
          },
          async () => {
            const listed = await client.send(
              new ListObjectsV2Command({
                Bucket: server.env().GLACIER_STATE_BUCKET,
                Prefix: "locks/",
              }),
            );
            return (listed.Contents ?? []).map((o) => o.Key!);
          },
        );
      } finally {
        client.destroy();
      }
    })
  ));
