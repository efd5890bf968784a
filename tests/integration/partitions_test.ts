/**
 * Partitions and backfills on local files: a month of daily sales by region is backfilled, rerun
 * (nothing runs), extended by a day (one day runs), broken on one day (only that day fails, the
 * others are published, the report says how to retry it), and cut short by a SIGKILL in the
 * middle of publishing its partitions (each partition is then whole, old or new).
 *
 * @module
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { pl, type RunReport } from "../../mod.ts";
import { parseSelection } from "../../src/cli/main.ts";
import { days, runSales, salesOf, salesPipeline } from "./_sales.ts";
import { failedReport } from "../_failed_run.ts";

const SCRIPT = fileURLToPath(new URL("./_sales.ts", import.meta.url));

async function script(root: string, args: string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", SCRIPT, root, ...args],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, signal: out.signal, stdout: new TextDecoder().decode(out.stdout) };
}

async function seeded(from: string, to: string): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: "glacier-partitions-" });
  const seed = await script(root, ["seed", from, to]);
  assert.equal(seed.code, 0, seed.stdout);
  return root;
}

const ran = (report: RunReport, task?: string) =>
  report.steps.filter((s) => s.status === "ran" && (!task || s.task === task));

Deno.test("a month's backfill runs every partition once; a rerun runs nothing", async () => {
  const root = await seeded("2026-01-01", "2026-01-31");
  const first = await runSales(root);
  assert.equal(first.status, "succeeded");
  assert.equal(ran(first, "clean_sales").length, 62);
  assert.equal(ran(first, "trailing_week").length, 62);
  assert.equal(ran(first, "totals").length, 1);
  assert.ok(
    ran(first, "clean_sales").some((s) =>
      s.partition?.date === "2026-01-01" && s.partition?.region === "north"
    ),
  );

  const { totals, weekly, clean } = salesPipeline(root);
  assert.deepEqual((await totals.read()).toRecords(), [
    { region: "north", amount: 930, partitions: 31 },
    { region: "south", amount: 930, partitions: 31 },
  ]);
  // The task read its partition's key; the window gives a week from the 7th on.
  const one = await clean.read({ partition: { date: "2026-01-05", region: "south" } });
  assert.deepEqual(one.getColumn("day").toArray(), ["2026-01-05", "2026-01-05"]);
  assert.deepEqual(
    (await weekly.read({ partition: { date: "2026-01-03", region: "north" } })).toRecords(),
    [{ amount: 90, days: 3 }],
  );
  assert.deepEqual(
    (await weekly.read({ partition: { date: "2026-01-20", region: "north" } })).toRecords(),
    [{ amount: 210, days: 7 }],
  );
  // Every partition with its keys as columns, or those some keys select.
  const all = await clean.read();
  assert.equal(all.height, 124);
  assert.deepEqual(all.columns, ["order_id", "amount", "day", "date", "region"]);
  assert.equal((await clean.read({ partition: { region: "north" } })).height, 62);

  const again = await runSales(root);
  assert.equal(again.status, "succeeded");
  assert.deepEqual(ran(again), []);
  assert.ok(again.steps.every((s) => s.reason === "up to date"));
});

Deno.test("a changed day recomputes that day, its windows and the totals, nothing else", async () => {
  const root = await seeded("2026-01-01", "2026-01-10");
  await runSales(root);
  const { sales } = salesPipeline(root);
  await sales.write(
    pl.DataFrame({
      order_id: pl.Series("order_id", [1], pl.Int64),
      amount: pl.Series("amount", [1000], pl.Float64),
    }),
    { partition: { date: "2026-01-04", region: "north" } },
  );
  const report = await runSales(root);
  assert.deepEqual(
    ran(report, "clean_sales").map((s) => [s.partition, s.reason]),
    [[{ date: "2026-01-04", region: "north" }, "input changed"]],
  );
  // The windows that hold the 4th: the 4th to the 10th.
  assert.deepEqual(
    ran(report, "trailing_week").map((s) => s.partition?.date).sort(),
    days("2026-01-04", "2026-01-10"),
  );
  assert.equal(ran(report, "totals").length, 1);
});

Deno.test("a new day of input runs that day's partitions", async () => {
  const root = await seeded("2026-01-01", "2026-01-05");
  await runSales(root);
  const { sales } = salesPipeline(root);
  for (const region of ["north", "south"]) {
    await sales.write(salesOf("2026-01-06", region), { partition: { date: "2026-01-06", region } });
  }
  const report = await runSales(root);
  assert.deepEqual(
    ran(report, "clean_sales").map((s) =>
      `${s.partition?.date} ${s.partition?.region}: ${s.reason}`
    )
      .sort(),
    ["2026-01-06 north: no previous run", "2026-01-06 south: no previous run"],
  );
});

Deno.test("one broken day fails alone: the others are published, the retry is exact", async () => {
  const root = await seeded("2026-01-01", "2026-01-08");
  const { sales, clean, totals } = salesPipeline(root);
  // A partition whose file is not parquet: only that partition's steps can fail.
  const broken = `${root}/shop/raw/south/2026-01-05.parquet`;
  await Deno.writeTextFile(broken, "not parquet");
  const report = await failedReport(runSales(root));
  assert.equal(report.status, "failed");
  assert.match(report.error!, /failed for 1 of 16 partitions, and published the others/);
  assert.deepEqual(report.failedPartitions?.map((f) => [f.partition, f.task]), [
    [{ date: "2026-01-05", region: "south" }, "clean_sales"],
  ]);
  assert.match(report.failedPartitions![0].error, /2026-01-05/);
  assert.equal(report.retry, "--partition date=2026-01-05 --partition region=south");
  // Its windows did not run (upstream failed), the totals neither; every other day is published.
  const blocked = report.steps.filter((s) => s.reason === "upstream failed");
  assert.deepEqual(
    blocked.filter((s) => s.task === "trailing_week").map((s) => s.partition?.date).sort(),
    ["2026-01-05", "2026-01-06", "2026-01-07", "2026-01-08"],
  );
  assert.ok(blocked.some((s) => s.task === "totals"));
  assert.equal((await clean.read({ partition: { region: "north" } })).height, 16);
  await assert.rejects(() => totals.read(), /has no data/);

  // The retry, once the input is fixed, computes exactly what is missing.
  await sales.write(salesOf("2026-01-05", "south"), {
    partition: { date: "2026-01-05", region: "south" },
  });
  const retried = await salesPipeline(root).week.run({
    mode: "local",
    quiet: true,
    partitions: parseSelection(report.retry!.split(" ").filter((w) => w !== "--partition"))!,
  });
  assert.deepEqual(
    ran(retried).map((s) => `${s.task} ${s.partition?.date}`).sort(),
    ["clean_sales 2026-01-05", "trailing_week 2026-01-05"],
  );
  const rest = await runSales(root);
  assert.deepEqual(
    ran(rest, "trailing_week").map((s) => s.partition?.date).sort(),
    ["2026-01-06", "2026-01-07", "2026-01-08"],
  );
  assert.equal(ran(rest, "totals").length, 1);
});

Deno.test("an explicit selection fails the partitions whose input is missing, naming them", async () => {
  const root = await seeded("2026-01-01", "2026-01-03");
  await runSales(root);
  const failed = (await failedReport(
    salesPipeline(root).week.run({
      mode: "local",
      quiet: true,
      partitions: { date: { from: "2026-01-03", to: "2026-01-04" }, region: "north" },
    }),
  )).failedPartitions!;
  assert.deepEqual(failed.map((f) => f.partition), [{ date: "2026-01-04", region: "north" }]);
  assert.match(
    failed[0].error,
    /there is no partition 'shop\/raw\/\{region\}\/\{date\}\.parquet' date=2026-01-04\/region=north/,
  );
  // Without a selection, a day without input is not a partition to compute.
  const report = await runSales(root);
  assert.deepEqual(ran(report), []);
});

Deno.test("selections: unknown keys and values are refused, naming them", async () => {
  const root = await seeded("2026-01-01", "2026-01-02");
  const { week } = salesPipeline(root);
  await assert.rejects(
    () => week.run({ mode: "local", quiet: true, partitions: { site: "north" } }),
    /selection names partition key 'site', which no bucket of pipeline '.*' has; its keys are 'date', 'region'/,
  );
  await assert.rejects(
    () => week.run({ mode: "local", quiet: true, partitions: { region: "east" } }),
    /partition key 'region' the value "east", but bucket 'shop\/clean\/\{region\}\/\{date\}\.parquet' takes one of 'north', 'south'/,
  );
  assert.deepEqual(parseSelection(["date=2026-01-01..2026-01-31", "site=north,south"]), {
    date: { from: "2026-01-01", to: "2026-01-31" },
    site: ["north", "south"],
  });
  const { sales } = salesPipeline(root);
  await assert.rejects(
    () => sales.write(salesOf("2026-01-01", "north")),
    /bucket 'shop\/raw\/\{region\}\/\{date\}\.parquet' is partitioned: name its partition with every key/,
  );
  await assert.rejects(
    () => sales.read({ partition: { date: "2026-13-01" } }),
    /partition key 'date' of bucket 'shop\/raw\/\{region\}\/\{date\}\.parquet' cannot be "2026-13-01"/,
  );
});

Deno.test("a run killed while publishing its partitions leaves each partition whole", async () => {
  const root = await seeded("2026-01-01", "2026-01-06");
  // The 9th file placed is in the middle of the fifth partition's outputs.
  const killed = await script(root, ["run"], { GLACIER_FAILPOINT: "local.commit.placed@9" });
  assert.equal(killed.signal, "SIGKILL");
  // The next use of the root rolls the cut commit forward; later partitions were never placed.
  const { clean, weekly } = salesPipeline(root);
  const cleanDays = new Set((await clean.read()).rows().map((r) => `${r[3]}/${r[4]}`));
  const weekDays = new Set((await weekly.read()).rows().map((r) => `${r[2]}/${r[3]}`));
  assert.ok(cleanDays.size > 0 && cleanDays.size < 12, `${cleanDays.size} partitions published`);
  assert.deepEqual([...weekDays].sort(), [...cleanDays].sort());
  // What was published is up to date; the run finishes the rest.
  const report = await runSales(root);
  assert.equal(ran(report, "clean_sales").length, 12 - cleanDays.size);
  assert.ok(
    report.steps.filter((s) => s.task === "clean_sales" && s.status === "skipped").every((s) =>
      s.reason === "up to date"
    ),
  );
  assert.equal((await weekly.read()).height, 12);
});
