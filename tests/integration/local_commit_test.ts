/**
 * The local commit protocol on the real filesystem: a run's outputs are published all together or
 * not at all, whatever point of the commit a crash or a fault hits; two writers of one bucket never
 * both proceed, across processes and PID namespaces; a reader never breaks a writer; and every
 * message says exactly which buckets changed.
 *
 * Each scenario runs a small two-output pipeline (`seed -> a -> b`) in its own process, so that a
 * crash can be a real SIGKILL, with faults armed through `GLACIER_FAILPOINT`.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { CommitError, pl, Provider, schema, StorageError, t } from "../../mod.ts";
import { FileStorage } from "../../src/io/file_storage.ts";
import { inPidNamespace, type PairScript, pairScriptFor, publishOldSeedNew } from "./_pair.ts";

interface Lab {
  readonly root: string;
  readonly pair: PairScript;
  exec(
    command: string,
    arg?: string,
    env?: Record<string, string>,
  ): Promise<{ code: number; signal: string | null; stdout: string; stderr: string }>;
  read(): Promise<[number, number]>;
  leftovers(): string[];
}

let script: Promise<PairScript> | undefined;

async function lab(): Promise<Lab> {
  const root = await Deno.makeTempDir({ prefix: "glacier-commit-" });
  script ??= pairScriptFor("local");
  const pair = await script;
  const exec = (command: string, arg = "", env: Record<string, string> = {}) =>
    pair.exec(root, arg ? [command, arg] : [command], env);
  return {
    root,
    pair,
    exec,
    async read() {
      const out = await exec("read");
      assert.equal(out.code, 0, out.stderr);
      return JSON.parse(out.stdout);
    },
    leftovers() {
      const found: string[] = [];
      for (const dir of ["staging", "journal", "runs"]) {
        try {
          for (const e of Deno.readDirSync(join(root, ".glacier", dir))) {
            found.push(`${dir}/${e.name}`);
          }
        } catch (error) {
          if (!(error instanceof Deno.errors.NotFound)) throw error;
        }
      }
      return found;
    },
  };
}

/** A lab whose buckets hold 1 (a and b), with the seed at 2: a run that publishes gives [2, 2]. */
async function before(): Promise<Lab> {
  const l = await lab();
  await publishOldSeedNew(l.exec, l.read);
  return l;
}

const KILL_POINTS: readonly [point: string, published: boolean][] = [
  ["local.commit.before-journal", false],
  ["local.commit.journal-written", true],
  ["local.commit.kept-previous@1", true],
  ["local.commit.placed@1", true],
  ["local.commit.kept-previous@2", true],
  ["local.commit.placed@2", true],
  ["local.commit.all-placed", true],
  ["local.commit.journal-removed", true],
];

Deno.test("a run killed at any point of its commit leaves both buckets old or both new, and the ledger tells the truth", async (t) => {
  for (const [point, published] of KILL_POINTS) {
    await t.step(`killed at ${point}: ${published ? "rolled forward" : "dropped"}`, async () => {
      const l = await before();
      const run = await l.exec("run", "", { GLACIER_FAILPOINT: `${point}:kill` });
      assert.equal(run.signal, "SIGKILL", `the run reached ${point}: ${run.stdout}${run.stderr}`);
      // The next Glacier use of the root finishes (or drops) the dead run's commit.
      assert.deepEqual(await l.read(), published ? [2, 2] : [1, 1]);
      assert.deepEqual(l.leftovers(), []);
      // What the dead run published is recognized as its version: nothing is recomputed, and
      // nothing is called changed outside Glacier.
      assert.deepEqual(
        JSON.parse((await l.exec("why")).stdout),
        published
          ? ["to_a skipped: up to date", "to_b skipped: up to date"]
          : ["to_a ran: input changed", "to_b ran: input changed"],
      );
      assert.deepEqual(await l.read(), [2, 2]);
    });
  }
});

Deno.test("a ledger that cannot record the run fails it before anything is published", async () => {
  const l = await before();
  const run = await l.exec("run", "", { GLACIER_FAILPOINT: "ledger.prepare:error" });
  assert.equal(run.code, 3);
  assert.match(
    JSON.parse(run.stdout).message,
    /computed its outputs but the ledger .*ledger\.sqlite could not record them .*nothing was published/,
  );
  assert.deepEqual(await l.read(), [1, 1]);
  assert.deepEqual(l.leftovers(), []);
});

Deno.test("a ledger that cannot record a publish that happened leaves the outputs recognized", async () => {
  const l = await before();
  const run = await l.exec("run", "", { GLACIER_FAILPOINT: "ledger.publish:error" });
  assert.equal(run.stdout, "ok", run.stderr);
  assert.match(run.stderr, /the outputs were published, but the ledger .* could not record that/);
  assert.deepEqual(await l.read(), [2, 2]);
  assert.deepEqual(JSON.parse((await l.exec("why")).stdout), [
    "to_a skipped: up to date",
    "to_b skipped: up to date",
  ]);
});

Deno.test("a bucket that cannot be replaced puts back the ones placed before it, and says so", async () => {
  const l = await before();
  const run = await l.exec("run", "", { GLACIER_FAILPOINT: "local.commit.place@2:error" });
  assert.equal(run.code, 3);
  const error = JSON.parse(run.stdout);
  assert.equal(error.name, "CommitError");
  assert.match(
    error.message,
    /^pipeline 'pair' could not publish its outputs: bucket 'lab\/b\/b.parquet' could not be replaced by its new file \(.*b\.parquet\): injected fault at local\.commit\.place; no bucket was changed$/,
  );
  assert.deepEqual(await l.read(), [1, 1]);
  assert.deepEqual(l.leftovers(), []);
});

Deno.test("a real filesystem refusal while placing puts every bucket back", async () => {
  const l = await before();
  // The second bucket's folder becomes a plain file: its new file cannot be placed.
  const folder = join(l.root, "lab", "b");
  await Deno.remove(folder, { recursive: true });
  await Deno.writeTextFile(folder, "not a folder");
  const run = await l.exec("run");
  assert.equal(run.code, 3);
  const error = JSON.parse(run.stdout);
  assert.match(error.message, /bucket 'lab\/b\/b.parquet' could not be replaced by its new file/);
  assert.match(error.message, /; no bucket was changed$/);
  const a = await new Provider({ localRoot: l.root }).bucket({
    bucket: "lab",
    path: "a/a.parquet",
    schema: schema({ n: t.int64 }),
  }).read();
  assert.deepEqual(a.getColumn("n").toArray(), [1]);
  assert.equal(await Deno.readTextFile(folder), "not a folder");
  assert.deepEqual(l.leftovers(), []);
});

Deno.test("when putting back fails too, the message names the changed bucket and the next use completes the run", async () => {
  const l = await before();
  const run = await l.exec("run", "", {
    GLACIER_FAILPOINT: "local.commit.place@2:error,local.commit.put-back:error",
  });
  assert.equal(run.code, 3);
  const error = JSON.parse(run.stdout);
  assert.match(
    error.message,
    /putting back the outputs placed before it failed too \(injected fault at local\.commit\.put-back\); 'lab\/a\/a.parquet' now hold this run's outputs and 'lab\/b\/b.parquet' kept its previous data; the journal .*\.json completes it on the next use$/,
  );
  assert.doesNotMatch(error.message, /no bucket was changed/);
  // The journal kept the staged data: the next use rolls the run forward.
  assert.deepEqual(await l.read(), [2, 2]);
  assert.deepEqual(l.leftovers(), []);
});

Deno.test("a dead run's journal whose staged file vanished is put back, never counted as committed", async () => {
  const l = await before();
  const run = await l.exec("run", "", { GLACIER_FAILPOINT: "local.commit.placed@1:kill" });
  assert.equal(run.signal, "SIGKILL");
  const staging = join(l.root, ".glacier", "staging");
  const [id] = [...Deno.readDirSync(staging)].map((e) => e.name);
  await Deno.remove(join(staging, id, "new", "lab", "b", "b.parquet"));
  const read = await l.exec("read");
  assert.equal(read.code, 0, read.stderr);
  assert.deepEqual(JSON.parse(read.stdout), [1, 1]);
  assert.match(
    read.stderr,
    /warning: a run that died while publishing could not be completed: the staged output of 'lab\/b\/b.parquet' is gone; its buckets were put back/,
  );
  assert.deepEqual(l.leftovers(), []);
});

Deno.test("a staged output that vanished before the commit fails the run, changing nothing", async () => {
  const root = await Deno.makeTempDir();
  const storage = new FileStorage(root);
  const N = schema({ n: t.int64 });
  const provider = new Provider({ localRoot: root });
  const x = provider.bucket({ bucket: "vanish", path: "x.parquet", schema: N });
  const y = provider.bucket({ bucket: "vanish", path: "y.parquet", schema: N });
  await x.write(pl.DataFrame({ n: pl.Series("n", [1], pl.Int64) }));
  const txn = await storage.beginRun([x, y]);
  for (const ref of [x, y]) {
    await storage.sinkTo(
      ref,
      pl.DataFrame({ n: pl.Series("n", [9], pl.Int64) }).lazy(),
      txn.stagePath(ref),
    );
    txn.staged(ref);
  }
  await Deno.remove(txn.stagePath(y));
  await assert.rejects(txn.commit(), (e: unknown) => {
    assert.ok(e instanceof CommitError);
    assert.match(
      e.message,
      /the output staged for bucket 'vanish\/y.parquet' at .* is gone.*; no bucket was changed$/,
    );
    return true;
  });
  assert.deepEqual((await x.read()).getColumn("n").toArray(), [1]);
});

Deno.test("a second writer of a bucket is refused naming the holder, or waits when asked", async () => {
  const root = await Deno.makeTempDir();
  const N = schema({ n: t.int64 });
  const provider = new Provider({ localRoot: root });
  const src = provider.bucket({ bucket: "wait", path: "src.parquet", schema: N });
  const out = provider.bucket({ bucket: "wait", path: "out.parquet", schema: N });
  const copy = provider.local().task({ name: "copy", input: N, output: N }, (df) => df);
  const pipeline = src.transform(copy).to(out).withName("copy");
  await src.write(pl.DataFrame({ n: pl.Series("n", [5], pl.Int64) }));
  const holder = await new FileStorage(root).beginRun([out]);
  await assert.rejects(
    pipeline.run({ mode: "local", quiet: true }),
    new RegExp(
      `^StorageError: bucket 'wait/out.parquet' is being written by run ${holder.id} \\(pid ${Deno.pid} on .*, since .*\\); nothing was changed`,
    ),
  );
  await assert.rejects(out.write(pl.DataFrame({ n: pl.Series("n", [1], pl.Int64) })), StorageError);
  setTimeout(() => holder.abort(), 300);
  const report = await pipeline.run({ mode: "local", quiet: true, wait: 10 });
  assert.equal(report.steps[0].rows, 1);
  assert.deepEqual((await out.read()).getColumn("n").toArray(), [5]);
});

Deno.test("a writer in another PID namespace is seen: its lock refuses this run, naming it", async () => {
  const l = await before();
  const child = inPidNamespace(l.pair, l.root, ["hold", "20"]).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  while (!seen.includes("held")) {
    const { value, done } = await lines.read();
    if (done) break;
    seen += value;
  }
  try {
    assert.match(seen, /held /, "the holder started in its own PID namespace (unshare needs root)");
    const id = seen.match(/held (\S+)/)![1];
    const run = await l.exec("run");
    assert.equal(run.code, 3);
    const error = JSON.parse(run.stdout);
    // Inside its namespace the holder is a low pid that this host's /proc knows nothing about.
    assert.match(
      error.message,
      new RegExp(`bucket 'lab/a/a.parquet' is being written by run ${id} \\(pid \\d+ on `),
    );
    assert.deepEqual(await l.read(), [1, 1]);
  } finally {
    child.kill("SIGKILL");
    await child.status;
    await lines.cancel();
    await child.stderr.cancel();
  }
  // Its lock died with it: the next run proceeds.
  assert.equal((await l.exec("run")).stdout, "ok");
  assert.deepEqual(await l.read(), [2, 2]);
});

const LOOP_SECONDS = Number(Deno.env.get("GLACIER_TEST_LOOP_SECONDS") ?? 30);

Deno.test(`a reader looping beside a writer in its own PID namespace for ${LOOP_SECONDS} s breaks nothing`, async () => {
  const l = await before();
  const writer = inPidNamespace(l.pair, l.root, ["loop", String(LOOP_SECONDS)]).output();
  let writerDone = false;
  const finished = writer.then((out) => {
    writerDone = true;
    return out;
  });
  const provider = new Provider({ localRoot: l.root });
  const N = schema({ n: t.int64 });
  const a = provider.bucket({ bucket: "lab", path: "a/a.parquet", schema: N });
  const b = provider.bucket({ bucket: "lab", path: "b/b.parquet", schema: N });
  let reads = 0;
  const readerErrors: string[] = [];
  while (!writerDone) {
    for (const bucket of [a, b]) {
      try {
        await bucket.read();
        reads++;
      } catch (error) {
        readerErrors.push(String(error));
      }
    }
  }
  const out = await finished;
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const tally = JSON.parse(new TextDecoder().decode(out.stdout));
  console.log(
    `writer: ${tally.tried} runs tried, ${tally.clean} clean; reader: ${reads} reads, ` +
      `${readerErrors.length} errors`,
  );
  assert.deepEqual(readerErrors, []);
  assert.deepEqual(tally.problems, []);
  assert.ok(tally.tried >= 5, `the writer ran ${tally.tried} times`);
  assert.equal(tally.clean, tally.tried);
  assert.deepEqual(l.leftovers(), []);
});

Deno.test("a run that dies publishing while another run waits for its buckets never overwrites that run", async () => {
  const l = await before();
  // The first run stops half-way through its commit (a placed, b staged), holding its locks.
  const first = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", l.pair.file, l.root, "run"],
    env: { GLACIER_FAILPOINT: "local.commit.placed@1:pause" },
    stdout: "null",
    stderr: "null",
  }).spawn();
  const journals = join(l.root, ".glacier", "journal");
  for (let i = 0; i < 300 && [...readDirOrEmpty(journals)].length === 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.equal([...readDirOrEmpty(journals)].length, 1, "the first run is committing");
  // The second run (seed 3) looks for dead runs while the first is alive, then waits for the
  // locks; the first dies meanwhile, and its journal must be finished before the second writes.
  assert.equal((await l.exec("seed", "3")).code, 0, "a direct write of the seed, not a target");
  const provider = new Provider({ localRoot: l.root });
  const N = schema({ n: t.int64 });
  const seed = provider.bucket({ bucket: "lab", path: "seed.parquet", schema: N });
  const a = provider.bucket({ bucket: "lab", path: "a/a.parquet", schema: N });
  const b = provider.bucket({ bucket: "lab", path: "b/b.parquet", schema: N });
  const copy = (name: string) => provider.local().task({ name, input: N, output: N }, (df) => df);
  const pipeline = seed.transform(copy("to_a")).to(a).transform(copy("to_b")).to(b);
  const second = pipeline.run({ mode: "local", quiet: true, wait: 30 });
  await new Promise((resolve) => setTimeout(resolve, 500));
  first.kill("SIGKILL");
  await first.status;
  await second;
  const read = async (bucket: { read(): Promise<pl.DataFrame> }) =>
    (await bucket.read()).getColumn("n").toArray();
  assert.deepEqual([await read(a), await read(b)], [[3], [3]]);
  // Nothing is left for a later reader to roll forward over the second run.
  assert.deepEqual(l.leftovers(), []);
  assert.deepEqual(await l.read(), [3, 3]);
});

function* readDirOrEmpty(dir: string): Generator<Deno.DirEntry> {
  try {
    yield* Deno.readDirSync(dir);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
}
