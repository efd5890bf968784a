/**
 * The cloud commit protocol against a real S3 server (versitygw, started by the harness): a run's
 * outputs are published all together or not at all whatever point of the commit a crash or a
 * fault hits, journals and locks live in the state bucket that every cloud use consults, and
 * every message says exactly which buckets changed.
 *
 * Each scenario runs a small two-output pipeline (`seed -> a -> b`) in its own process, so that a
 * crash is a real SIGKILL, with faults armed through `GLACIER_FAILPOINT`.
 */
import assert from "node:assert/strict";
import { ListObjectsV2Command } from "../../src/io/s3/_sdk.ts";
import { pl, Provider, schema, StorageError, t } from "../../mod.ts";
import { s3Client, type S3Server, sharedS3Server, stopSharedS3Server } from "./_s3_server.ts";
import { type PairOutput, type PairScript, pairScriptFor, publishOldSeedNew } from "./_pair.ts";

const LOOP_SECONDS = Number(Deno.env.get("GLACIER_TEST_LOOP_SECONDS") ?? 20);

let script: Promise<PairScript> | undefined;
let labs = 0;

interface Lab {
  readonly bucket: string;
  readonly server: S3Server;
  exec(
    command: string,
    arg?: string,
    env?: Record<string, string>,
  ): Promise<PairOutput>;
  read(): Promise<[number, number]>;
  /** Glacier's own objects left in the data bucket and journals or locks in the state bucket. */
  leftovers(): Promise<string[]>;
}

/** A fresh bucket whose a and b hold 1, with the seed at 2: a run that publishes gives [2, 2]. */
async function before(): Promise<Lab> {
  const server = await sharedS3Server();
  script ??= pairScriptFor("cloud");
  const pair = await script;
  const bucket = `pair-${++labs}-${crypto.randomUUID().slice(0, 6)}`;
  const exec = (command: string, arg = "", env: Record<string, string> = {}) =>
    pair.exec(bucket, arg ? [command, arg] : [command], { ...server.env(), ...env });
  const keys = async (b: string, prefix: string) => {
    const out = await s3Client(server).send(
      new ListObjectsV2Command({ Bucket: b, Prefix: prefix }),
    );
    return (out.Contents ?? []).map((o) => `${b}/${o.Key}`);
  };
  const lab: Lab = {
    bucket,
    server,
    exec,
    async read() {
      const out = await exec("read");
      assert.equal(out.code, 0, out.stderr);
      return JSON.parse(out.stdout);
    },
    async leftovers() {
      const state = server.env().GLACIER_STATE_BUCKET;
      return [
        ...await keys(bucket, ".glacier/"),
        ...(await keys(state, "journal/")).filter((k) => k.includes("journal/")),
        ...(await keys(state, `locks/${bucket}/`)),
      ];
    },
  };
  await publishOldSeedNew(exec, lab.read);
  return lab;
}

const KILL_POINTS: readonly [point: string, published: boolean][] = [
  ["s3.commit.before-journal", false],
  ["s3.commit.journal-written", true],
  ["s3.commit.placed@1", true],
  ["s3.commit.placed@2", true],
  ["s3.commit.all-placed", true],
  ["s3.commit.journal-removed", true],
];

Deno.test("cloud commits on a real S3 server", async (t) => {
  try {
    for (const [point, published] of KILL_POINTS) {
      await t.step(`killed at ${point}: ${published ? "rolled forward" : "dropped"}`, async () => {
        const l = await before();
        const run = await l.exec("run", "", { GLACIER_FAILPOINT: `${point}:kill` });
        assert.equal(run.signal, "SIGKILL", `the run reached ${point}: ${run.stdout}${run.stderr}`);
        // The next cloud use finishes (or drops) the dead run's commit: the journal is in the
        // state bucket, which every cloud read, write and run consults first.
        assert.deepEqual(await l.read(), published ? [2, 2] : [1, 1]);
        if (published) assert.deepEqual(await l.leftovers(), []);
        assert.equal((await l.exec("run")).stdout, "ok");
        assert.deepEqual(await l.read(), [2, 2]);
        assert.deepEqual(await l.leftovers(), []);
      });
    }

    await t.step(
      "an object that cannot be replaced puts back the ones placed before it",
      async () => {
        const l = await before();
        const run = await l.exec("run", "", { GLACIER_FAILPOINT: "s3.commit.place@2:error" });
        assert.equal(run.code, 3, run.stderr);
        const error = JSON.parse(run.stdout);
        assert.equal(error.name, "CommitError");
        assert.match(
          error.message,
          new RegExp(
            `^pipeline 'pair' could not publish its outputs: bucket '${l.bucket}/b/b.parquet' could ` +
              `not be replaced by its new object \\(s3://${l.bucket}/b/b.parquet\\): injected fault ` +
              "at s3.commit.place; no bucket was changed$",
          ),
        );
        assert.deepEqual(await l.read(), [1, 1]);
        assert.deepEqual(await l.leftovers(), []);
      },
    );

    await t.step(
      "when putting back fails too, the message is true and the next use completes the run",
      async () => {
        const l = await before();
        const run = await l.exec("run", "", {
          GLACIER_FAILPOINT: "s3.commit.place@2:error,s3.commit.put-back:error",
        });
        assert.equal(run.code, 3, run.stderr);
        const error = JSON.parse(run.stdout);
        assert.match(
          error.message,
          new RegExp(
            `; '${l.bucket}/a/a.parquet' now hold this run's outputs and '${l.bucket}/b/b.parquet' ` +
              "kept its previous data; the journal s3://glacier-state/journal/.*\\.json completes it " +
              "on the next use$",
          ),
        );
        assert.deepEqual(await l.read(), [2, 2]);
        assert.deepEqual(await l.leftovers(), []);
      },
    );

    await t.step(
      "a newer write of B waits for the dead run that was publishing A and B",
      async () => {
        const l = await before();
        const run = await l.exec("run", "", { GLACIER_FAILPOINT: "s3.commit.placed@1:kill" });
        assert.equal(run.signal, "SIGKILL");
        // The direct write finishes the dead run first, so the dead run cannot overwrite it later.
        assert.equal((await l.exec("write-b", "7")).code, 0);
        assert.deepEqual(await l.read(), [2, 7]);
        assert.deepEqual(await l.read(), [2, 7]);
      },
    );

    await t.step(
      "a journal whose staged objects expired is put back, and a warning says so",
      async () => {
        const l = await before();
        const run = await l.exec("run", "", { GLACIER_FAILPOINT: "s3.commit.placed@1:kill" });
        assert.equal(run.signal, "SIGKILL");
        const client = s3Client(l.server);
        const { DeleteObjectCommand } = await import("../../src/io/s3/_sdk.ts");
        const staged = await client.send(
          new ListObjectsV2Command({ Bucket: l.bucket, Prefix: ".glacier/staging/" }),
        );
        assert.equal(staged.Contents?.length, 2);
        for (const o of staged.Contents ?? []) {
          await client.send(new DeleteObjectCommand({ Bucket: l.bucket, Key: o.Key }));
        }
        const read = await l.exec("read");
        assert.equal(read.code, 0, read.stderr);
        assert.deepEqual(JSON.parse(read.stdout), [1, 1]);
        assert.match(
          read.stderr,
          /warning: run \S+ died while publishing and cannot be completed: the staged output of .* is gone \(staging expires after 7 days\); its buckets were put back as they were before it/,
        );
        assert.deepEqual(await l.leftovers(), []);
      },
    );

    await t.step(
      `a reader looping beside a writer for ${LOOP_SECONDS} s breaks nothing`,
      async () => {
        const l = await before();
        let done = false;
        const writer = l.exec("loop", String(LOOP_SECONDS)).finally(() => (done = true));
        const reads = { ok: 0, errors: [] as string[] };
        while (!done) {
          const out = await l.exec("read");
          if (out.code === 0) reads.ok++;
          else reads.errors.push(out.stderr);
        }
        const out = await writer;
        assert.equal(out.code, 0, out.stderr);
        const tally = JSON.parse(out.stdout);
        console.log(
          `writer: ${tally.tried} cloud runs tried, ${tally.clean} clean; reader: ${reads.ok} ` +
            `processes read both buckets, ${reads.errors.length} failed`,
        );
        assert.deepEqual(reads.errors, []);
        assert.deepEqual(tally.problems, []);
        assert.ok(tally.tried >= 3, `the writer ran ${tally.tried} times`);
        assert.deepEqual(await l.leftovers(), []);
      },
    );
  } finally {
    await stopSharedS3Server();
  }
});

Deno.test("cloud mode without a state bucket is refused before anything is read or written", async () => {
  const saved = Deno.env.get("GLACIER_STATE_BUCKET");
  Deno.env.delete("GLACIER_STATE_BUCKET");
  try {
    const provider = new Provider({ localRoot: await Deno.makeTempDir() });
    const b = provider.bucket({
      bucket: "nostate",
      path: "x.parquet",
      schema: schema({ n: t.int64 }),
    });
    await assert.rejects(
      b.write(pl.DataFrame({ n: pl.Series("n", [1], pl.Int64) }), { mode: "cloud" }),
      (e: unknown) => {
        assert.ok(e instanceof StorageError);
        assert.match(
          e.message,
          /^writing bucket 'nostate\/x.parquet' in cloud mode needs a state bucket, .* Nothing was read or written\. Name one with new AwsConfig\(\{ stateBucket: "my-glacier-state" \}\) or GLACIER_STATE_BUCKET/,
        );
        return true;
      },
    );
  } finally {
    if (saved !== undefined) Deno.env.set("GLACIER_STATE_BUCKET", saved);
  }
});
