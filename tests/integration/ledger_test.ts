/**
 * The ledger as a user meets it: a second run skips what is up to date, and each change (an input
 * file, a task's constant, a helper a task calls, an output edited by hand) reruns exactly the
 * steps it affects, each saying why; `plan` predicts what `run` then does.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { pl, Provider, type RunReport, schema, StorageError, t } from "../../mod.ts";
import { main } from "../../src/cli/main.ts";
import { failedReport } from "../_failed_run.ts";

const Raw = schema({ id: t.int64, amount: t.float64 });
const Clean = schema({ id: t.int64, amount: t.float64, doubled: t.float64 });
const Total = schema({ n: t.int64, total: t.float64 });
const Count = schema({ n: t.int64 });

/** How the tasks compute: the knobs a user edits between runs. */
interface Code {
  readonly minimum?: number;
  readonly factor?: number;
  readonly throwIn?: string;
}

/** A helper the clean task calls: a change to it must be seen. */
function scaled(column: string, factor: number): pl.Expr {
  return pl.col(column).mul(pl.lit(factor)).alias("doubled");
}

/** raw -> clean -> total, and raw -> count beside it, on a local root. */
function shop(root: string, code: Code = {}) {
  const provider = new Provider({ localRoot: root });
  const local = provider.local();
  const raw = provider.bucket({ bucket: "shop", path: "raw/orders.parquet", schema: Raw });
  const clean = provider.bucket({ bucket: "shop", path: "clean/orders.parquet", schema: Clean });
  const total = provider.bucket({ bucket: "shop", path: "out/total.parquet", schema: Total });
  const count = provider.bucket({ bucket: "shop", path: "out/count.parquet", schema: Count });
  const cleanTask = local.task({ name: "clean", input: Raw, output: Clean }, (df) => {
    if (code.throwIn === "clean") throw new Error("clean broke");
    return df.filter(pl.col("amount").gt(pl.lit(code.minimum ?? 0)))
      .withColumns(scaled("amount", code.factor ?? 2));
  });
  const totalTask = local.task({ name: "total", input: Clean, output: Total }, (df) => {
    if (code.throwIn === "total") throw new Error("total broke");
    return df.select(pl.len().cast(pl.Int64).alias("n"), pl.col("doubled").sum().alias("total"));
  });
  const countTask = local.task(
    { name: "count", input: Raw, output: Count },
    (df) => df.select(pl.len().cast(pl.Int64).alias("n")),
  );
  const totals = raw.transform(cleanTask).to(clean).transform(totalTask).to(total)
    .withName("totals");
  const counts = raw.transform(countTask).to(count).withName("counts");
  return { provider, raw, clean, total, count, totals, counts };
}

function orders(amounts: number[]): pl.DataFrame {
  return pl.DataFrame({
    id: pl.Series("id", amounts.map((_, i) => i + 1), pl.Int64),
    amount: pl.Series("amount", amounts, pl.Float64),
  });
}

function why(report: RunReport): Record<string, string> {
  return Object.fromEntries(report.steps.map((s) => [s.task, `${s.status}: ${s.reason}`]));
}

async function root(): Promise<string> {
  return await Deno.makeTempDir({ prefix: "glacier-ledger-" });
}

Deno.test("a second run skips every step as up to date, and says so", async () => {
  const dir = await root();
  const s = shop(dir);
  await s.raw.write(orders([5, 10, 20]));
  const first = await s.totals.run({ mode: "local", quiet: true });
  assert.equal(first.status, "succeeded");
  assert.match(first.runId, /^\d{4}-\d\d-\d\dT/);
  assert.deepEqual(why(first), { clean: "ran: no previous run", total: "ran: no previous run" });
  const second = await s.totals.run({ mode: "local", quiet: true });
  assert.deepEqual(why(second), { clean: "skipped: up to date", total: "skipped: up to date" });
  assert.deepEqual(second.steps.map((step) => step.rows), [3, 1]);
  assert.equal(
    Number((await s.total.read()).getColumn("total").get(0)),
    70,
    "the skipped run leaves the data as it was",
  );
});

Deno.test("each change reruns exactly the steps it affects, each with its reason", async (t) => {
  const dir = await root();
  await shop(dir).raw.write(orders([5, 10, 20]));
  await shop(dir).totals.run({ mode: "local", quiet: true });

  await t.step("a new input file reruns its readers", async () => {
    await shop(dir).raw.write(orders([5, 10, 20, 40]));
    const report = await shop(dir).totals.run({ mode: "local", quiet: true });
    assert.deepEqual(why(report), { clean: "ran: input changed", total: "ran: input changed" });
  });

  await t.step("a task's constant reruns it; identical output stops the cascade", async () => {
    // Amounts are all above 1, so the stricter filter keeps every row: the same output.
    const report = await shop(dir, { minimum: 1 }).totals.run({ mode: "local", quiet: true });
    assert.deepEqual(why(report), {
      clean: "ran: task code changed",
      total: "skipped: up to date",
    });
    const stricter = await shop(dir, { minimum: 7 }).totals.run({ mode: "local", quiet: true });
    assert.deepEqual(why(stricter), {
      clean: "ran: task code changed",
      total: "ran: input changed",
    });
  });

  await t.step("a change in a helper the task calls is seen", async () => {
    const report = await shop(dir, { minimum: 7, factor: 3 }).totals.run({
      mode: "local",
      quiet: true,
    });
    assert.deepEqual(why(report), { clean: "ran: task code changed", total: "ran: input changed" });
  });

  await t.step("an edit reverted before the next run reruns nothing", async () => {
    // The edited code is only planned, never run; the run uses the code as it was.
    const edited = await shop(dir, { minimum: 8, factor: 3 }).totals.run({ mode: "plan" });
    assert.deepEqual(edited.steps.map((s) => `${s.action}: ${s.reason}`), [
      "run: task code changed",
      "run: input changed",
    ]);
    const report = await shop(dir, { minimum: 7, factor: 3 }).totals.run({
      mode: "local",
      quiet: true,
    });
    assert.deepEqual(why(report), { clean: "skipped: up to date", total: "skipped: up to date" });
  });

  await t.step("an output edited by hand is recomputed, and nothing else", async () => {
    const s = shop(dir, { minimum: 7, factor: 3 });
    const path = join(dir, "shop", "out", "total.parquet");
    pl.DataFrame({
      n: pl.Series("n", [0], pl.Int64),
      total: pl.Series("total", [0], pl.Float64),
    }).writeParquet(path);
    const report = await s.totals.run({ mode: "local", quiet: true });
    assert.deepEqual(why(report), {
      clean: "skipped: up to date",
      total: "ran: output changed outside Glacier",
    });
    assert.equal(Number((await s.total.read()).getColumn("total").get(0)), 210);
  });

  await t.step("a deleted output is recomputed, and so is what reads it", async () => {
    await Deno.remove(join(dir, "shop", "clean", "orders.parquet"));
    const report = await shop(dir, { minimum: 7, factor: 3 }).totals.run({
      mode: "local",
      quiet: true,
    });
    // With the old file gone there is nothing to compare the new one with: a new version.
    assert.deepEqual(why(report), { clean: "ran: output missing", total: "ran: input changed" });
  });

  await t.step("force recomputes all steps, or the named ones", async () => {
    const s = shop(dir, { minimum: 7, factor: 3 });
    const named = await s.totals.run({ mode: "local", quiet: true, force: ["total"] });
    assert.deepEqual(why(named), { clean: "skipped: up to date", total: "ran: forced" });
    const all = await s.totals.run({ mode: "local", quiet: true, force: true });
    assert.deepEqual(why(all), { clean: "ran: forced", total: "ran: forced" });
  });
});

Deno.test("plan predicts what run then does, with the cost of exactly those steps", async () => {
  const dir = await root();
  const s = shop(dir);
  await s.raw.write(orders([5, 10, 20]));
  const before = await s.totals.run({ mode: "plan" });
  assert.deepEqual(before.steps.map((p) => `${p.task} ${p.action}: ${p.reason}`), [
    "clean run: no previous run",
    "total run: no previous run",
  ]);
  assert.ok(before.estimatedUsd > 0);
  assert.equal(before.estimatedUsd, before.steps.reduce((sum, p) => sum + p.usd, 0));
  const ran = await s.totals.run({ mode: "local", quiet: true });
  assert.deepEqual(
    ran.steps.map((r) => `${r.task} ${r.status}: ${r.reason}`),
    ["clean ran: no previous run", "total ran: no previous run"],
  );
  const after = await s.totals.run({ mode: "plan" });
  assert.deepEqual(after.steps.map((p) => p.action), ["skip", "skip"]);
  assert.equal(after.estimatedUsd, 0);

  await s.raw.write(orders([5, 10, 20, 30]));
  const changed = await s.totals.run({ mode: "plan" });
  assert.deepEqual(changed.steps.map((p) => `${p.task} ${p.action}: ${p.reason}`), [
    "clean run: input changed",
    "total run: input changed",
  ]);
  assert.ok(
    changed.steps[0].usd > 0 &&
      changed.estimatedUsd === changed.steps[0].usd + changed.steps[1].usd,
  );

  const empty = shop(await root());
  const missing = await empty.totals.run({ mode: "plan" });
  assert.deepEqual(missing.steps.map((p) => `${p.task} ${p.action}: ${p.reason}`), [
    "clean fail: input missing",
    "total fail: upstream failed",
  ]);
});

Deno.test("a failed run throws its report: the failed step's error, blocked steps, independent steps ran", async () => {
  const dir = await root();
  const good = shop(dir);
  await good.raw.write(orders([5, 10]));
  const broken = shop(dir, { throwIn: "clean" });
  const both = await import("../../src/core/bucket.ts").then(({ BucketImpl }) =>
    BucketImpl.combine([broken.totals, broken.counts], "both")
  );
  const report = await failedReport(both.run({ mode: "local", quiet: true }));
  assert.equal(report.status, "failed");
  assert.match(report.error!, /no bucket was changed: task 'clean' threw: clean broke/);
  assert.deepEqual(why(report), {
    clean: "failed: task 'clean' threw: clean broke",
    count: "ran: no previous run",
    total: "skipped: upstream failed",
  });
  assert.match(report.steps.find((s) => s.task === "clean")!.error!, /clean broke/);
  assert.equal(
    await Deno.stat(join(dir, "shop", "out", "count.parquet")).catch(() => "none"),
    "none",
  );

  const io = capture();
  assert.equal(await main([moduleOf(dir), "runs"], io), 0);
  assert.match(io.text(), /local\s+failed\s+1\s+1\s+1/);
  assert.equal(await main([moduleOf(dir), "runs", report.runId], io), 0);
  const shown = io.text();
  assert.match(shown, /clean\s+failed\s+task 'clean' threw: clean broke/);
  assert.match(shown, /total\s+skipped\s+upstream failed/);
});

Deno.test("outputs that exist before the first run with a ledger are recomputed once", async () => {
  const dir = await root();
  const s = shop(dir);
  await s.raw.write(orders([1, 2]));
  await s.clean.write(pl.DataFrame({
    id: pl.Series("id", [1], pl.Int64),
    amount: pl.Series("amount", [1], pl.Float64),
    doubled: pl.Series("doubled", [2], pl.Float64),
  }));
  const report = await s.totals.run({ mode: "local", quiet: true });
  assert.deepEqual(why(report), { clean: "ran: no previous run", total: "ran: no previous run" });
});

Deno.test("a damaged ledger or one from a newer Glacier is refused, naming the file; a missing one is rebuilt", async () => {
  const dir = await root();
  const s = shop(dir);
  await s.raw.write(orders([1, 2]));
  await s.totals.run({ mode: "local", quiet: true });
  const file = join(dir, ".glacier", "ledger.sqlite");
  for (const suffix of ["-wal", "-shm"]) await Deno.remove(file + suffix).catch(() => {});

  const { DatabaseSync } = await import("node:sqlite");
  const db = new DatabaseSync(file);
  db.prepare("UPDATE meta SET value = '99' WHERE key = 'schema_version'").run();
  db.close();
  await assert.rejects(
    s.totals.run({ mode: "local", quiet: true }),
    (e: Error) =>
      e instanceof StorageError && e.message.includes(file) &&
      /newer Glacier \(ledger schema 99; this Glacier knows up to 1\)/.test(e.message),
  );

  await Deno.writeTextFile(file, "this is not a database ".repeat(200));
  for (const suffix of ["-wal", "-shm"]) await Deno.remove(file + suffix).catch(() => {});
  await assert.rejects(
    s.totals.run({ mode: "local", quiet: true }),
    (e: Error) =>
      e instanceof StorageError && e.message.includes(file) && /move it away/.test(e.message),
  );
  assert.equal(
    Number((await s.total.read()).getColumn("n").get(0)),
    2,
    "a refused run changes nothing",
  );

  await Deno.remove(file);
  const rebuilt = await s.totals.run({ mode: "local", quiet: true });
  assert.deepEqual(why(rebuilt), { clean: "ran: no previous run", total: "ran: no previous run" });
});

Deno.test("runs lists and shows runs, as text and JSON, and --prune removes old ones", async () => {
  const dir = await root();
  const s = shop(dir);
  await s.raw.write(orders([1, 2, 3]));
  const first = await s.totals.run({ mode: "local", quiet: true });
  await s.totals.run({ mode: "local", quiet: true });
  const module = moduleOf(dir);

  const io = capture();
  assert.equal(await main([module, "runs", "--json"], io), 0);
  const listed = JSON.parse(io.text());
  assert.equal(listed.length, 2);
  assert.deepEqual(listed.map((r: { ran: number; skipped: number }) => [r.ran, r.skipped]), [
    [0, 2],
    [2, 0],
  ]);
  assert.equal(await main([module, "runs", first.runId.slice(0, 26)], io), 0);
  assert.match(io.text(), /clean\s+ran\s+no previous run\s+shop\/clean\/orders.parquet\s+3/);

  assert.equal(await main([module, "plan", "--pipeline", "totals", "--detailed-exitcode"], io), 0);
  assert.equal(
    await main(
      [module, "plan", "--pipeline", "totals", "--detailed-exitcode", "--force", "total"],
      io,
    ),
    2,
  );
  assert.match(io.text(), /total\s+would run\s+forced/);

  assert.equal(await main([module, "runs", "--prune", "--retention", "0"], io), 0);
  assert.match(io.text(), /removed 2 runs/);
  assert.equal(await main([module, "runs"], io), 0);
  assert.match(io.text(), /no runs recorded/);
  const after = await s.totals.run({ mode: "local", quiet: true });
  assert.deepEqual(why(after), { clean: "skipped: up to date", total: "skipped: up to date" });
});

/** A module file exporting the shop pipeline over a root, for the CLI. */
function moduleOf(dir: string): string {
  const file = join(dir, "module.ts");
  const here = new URL(".", import.meta.url).href;
  Deno.writeTextFileSync(
    file,
    `import { pl, Provider, schema, t } from "${new URL("../../mod.ts", here).href}";
const Raw = schema({ id: t.int64, amount: t.float64 });
const Clean = schema({ id: t.int64, amount: t.float64, doubled: t.float64 });
const Total = schema({ n: t.int64, total: t.float64 });
const Count = schema({ n: t.int64 });
const provider = new Provider({ localRoot: ${JSON.stringify(dir)} });
const local = provider.local();
const raw = provider.bucket({ bucket: "shop", path: "raw/orders.parquet", schema: Raw });
const clean = provider.bucket({ bucket: "shop", path: "clean/orders.parquet", schema: Clean });
const total = provider.bucket({ bucket: "shop", path: "out/total.parquet", schema: Total });
const count = provider.bucket({ bucket: "shop", path: "out/count.parquet", schema: Count });
export const totals = raw
  .transform(local.task({ name: "clean", input: Raw, output: Clean }, (df) =>
    df.filter(pl.col("amount").gt(pl.lit(0))).withColumns(pl.col("amount").mul(pl.lit(2)).alias("doubled"))))
  .to(clean)
  .transform(local.task({ name: "total", input: Clean, output: Total }, (df) =>
    df.select(pl.len().cast(pl.Int64).alias("n"), pl.col("doubled").sum().alias("total"))))
  .to(total).withName("totals");
export const counts = raw
  .transform(local.task({ name: "count", input: Raw, output: Count }, (df) =>
    df.select(pl.len().cast(pl.Int64).alias("n"))))
  .to(count).withName("counts");
`,
  );
  return file;
}

function capture() {
  let out: string[] = [];
  return {
    out: (line: string) => out.push(line),
    err: (line: string) => out.push(line),
    text: () => {
      const text = out.join("\n");
      out = [];
      return text;
    },
  };
}
