/**
 * `analyze` and `plan` price a partitioned pipeline partition by partition, on real files: a
 * month of daily readings (every day the same file), joined to an unpartitioned table of sites
 * read whole for each day, then averaged over a trailing week with `lookback`.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { pl } from "../../mod.ts";
import type { Analysis, Bucket, PlanReport, StepEstimate } from "../../mod.ts";
import { main } from "../../src/cli/main.ts";
import { formatBytes } from "../../src/core/units.ts";

const MOD = new URL("../../mod.ts", import.meta.url).href;

/** Writes the pipeline's module under a fresh directory; its data lives beside it. */
async function moduleIn(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "glacier-partition-cost-" });
  const file = join(dir, "readings.ts");
  await Deno.writeTextFile(
    file,
    `import { daily, Pipeline, pl, Provider, schema, t } from "${MOD}";
const provider = new Provider({ localRoot: new URL("./data", import.meta.url).pathname });
const local = provider.local();
const Reading = schema({ sensor: t.int64, celsius: t.float64 });
const Site = schema({ sensor: t.int64, site: t.string });
const Enriched = schema({ sensor: t.int64, celsius: t.float64, site: t.string });
const Week = schema({ site: t.string, celsius: t.float64 });
const keys = { date: daily({ start: "2026-01-01", end: "2026-01-31" }) };
export const readings = provider.bucket({
  bucket: "lab", path: "raw/{date}.parquet", schema: Reading, partitions: keys,
});
export const sites = provider.bucket({ bucket: "lab", path: "ref/sites.parquet", schema: Site });
const enriched = provider.bucket({
  bucket: "lab", path: "enriched/{date}.parquet", schema: Enriched, partitions: keys,
});
const weekly = provider.bucket({
  bucket: "lab", path: "weekly/{date}.parquet", schema: Week, partitions: keys,
});
const enrich = local.task(
  { name: "enrich", inputs: { readings: Reading, sites: Site }, output: Enriched },
  ({ readings, sites }) => readings.join(sites, { on: "sensor" }),
);
const week = local.task(
  { name: "week", input: schema({ site: t.string, celsius: t.float64 }), output: Week },
  (df) => df.groupBy("site").agg(pl.col("celsius").mean().alias("celsius")).sort("site"),
);
export const lab = new Pipeline({ readings, sites })
  .transform(enrich).to(enriched)
  .lookback({ date: 6 }).transform(week).to(weekly)
  .withName("lab");
`,
  );
  return file;
}

interface LabModule {
  readonly readings: Bucket;
  readonly sites: Bucket;
  readonly lab: Bucket;
}

/** The module, its days from the first to `last` written (each the same 2,000 readings). */
async function seeded(last: number): Promise<{ file: string; m: LabModule; dir: string }> {
  const file = await moduleIn();
  const m = await import(file) as LabModule;
  const sensors = Array.from({ length: 2000 }, (_, i) => i);
  const day = pl.DataFrame({
    sensor: pl.Series("sensor", sensors, pl.Int64),
    celsius: pl.Series("celsius", sensors.map((i) => (i % 40) - 5.5), pl.Float64),
  });
  for (let d = 1; d <= last; d++) {
    await m.readings.write(day, { partition: { date: dayOf(d) } });
  }
  await m.sites.write(pl.DataFrame({
    sensor: pl.Series("sensor", sensors, pl.Int64),
    site: pl.Series("site", sensors.map((i) => (i % 2 === 0 ? "north" : "south"))),
  }));
  return { file, m, dir: join(file, "..") };
}

const dayOf = (d: number) => `2026-01-${String(d).padStart(2, "0")}`;
const stepOf = (a: Analysis, task: string): StepEstimate => a.steps.find((s) => s.task === task)!;
const size = (dir: string, path: string) => Deno.statSync(join(dir, "data", "lab", path)).size;

Deno.test("a month is priced as 31 days, each reading its day, the whole sites table and a week", async () => {
  const { m, dir } = await seeded(31);
  const one = await m.lab.run({ mode: "analyze", partitions: { date: "2026-01-10" } });
  const month = await m.lab.run({
    mode: "analyze",
    partitions: { date: { from: "2026-01-01", to: "2026-01-31" } },
  });
  assert.equal(one.partitions, 1);
  assert.equal(month.partitions, 31);

  // One day reads its own file and the whole sites table; a month reads both 31 times.
  const day = stepOf(one, "enrich");
  assert.equal(day.partitions, 1);
  assert.equal(
    day.inputBytes,
    size(dir, "raw/2026-01-10.parquet") + size(dir, "ref/sites.parquet"),
  );
  const all = stepOf(month, "enrich");
  assert.equal(all.partitions, 31);
  assert.equal(all.perPartition!.length, 31);
  assert.equal(all.inputBytes, 31 * day.inputBytes);
  assert.ok(Math.abs(all.usd / day.usd - 31) < 1e-6, `${all.usd} / ${day.usd}`);

  // The trailing week reads 7 days' output, fewer at the start of the keys: 1 + 2 + ... + 7 on
  // the first seven days, then 7 on each of the other 24.
  const week = stepOf(month, "week");
  const bytesOn = (date: string) =>
    week.perPartition!.find((p) => p.partition.date === date)!.inputBytes;
  assert.equal(bytesOn("2026-01-10"), 7 * bytesOn("2026-01-01"));
  assert.equal(bytesOn("2026-01-03"), 3 * bytesOn("2026-01-01"));
  assert.equal(week.inputBytes, (28 + 24 * 7) * bytesOn("2026-01-01"));
  assert.ok(
    month.estimatedCost().assumptions.some((a) =>
      /^input 'lab\/raw\/\{date\}\.parquet': 31 partitions read, /.test(a)
    ),
    month.estimatedCost().assumptions.join("\n"),
  );
});

Deno.test("a day without data yet is priced as a typical day, and the estimate says so", async () => {
  const { m, dir } = await seeded(20);
  const month = await m.lab.run({
    mode: "analyze",
    partitions: { date: { from: "2026-01-01", to: "2026-01-31" } },
  });
  const days = stepOf(month, "enrich").perPartition!;
  assert.equal(days.length, 31);
  const bytesOn = (date: string) => days.find((p) => p.partition.date === date)!.inputBytes;
  assert.equal(bytesOn("2026-01-25"), bytesOn("2026-01-05"));
  const raw = size(dir, "raw/2026-01-05.parquet");
  assert.ok(
    month.estimatedCost().assumptions.some((a) =>
      a.startsWith("input 'lab/raw/{date}.parquet': 11 partitions read without data yet") &&
      a.endsWith(`each assumed ${formatBytes(raw)}: the median of its 20 existing partitions`)
    ),
    month.estimatedCost().assumptions.join("\n"),
  );
});

Deno.test("after a backfill of half the month, the plan prices exactly the other half", async () => {
  const { m } = await seeded(31);
  const range = { date: { from: "2026-01-01", to: "2026-01-31" } };
  const before = await m.lab.run({ mode: "plan", partitions: range });
  assert.equal(before.partitions, 31);
  await m.lab.run({
    mode: "local",
    quiet: true,
    partitions: { date: { from: "2026-01-01", to: "2026-01-15" } },
  });
  const after = await m.lab.run({ mode: "plan", partitions: range });
  assert.equal(after.partitions, 16);
  const running = after.steps.filter((s) => s.action === "run");
  assert.deepEqual(
    [...new Set(running.map((s) => s.partition!.date))].sort(),
    Array.from({ length: 16 }, (_, i) => dayOf(16 + i)),
  );
  assert.ok(after.steps.every((s) => (s.action === "run") === s.usd > 0));
  // What the plan would spend is what the other half costs, step by step.
  const half = await m.lab.run({
    mode: "analyze",
    partitions: { date: { from: "2026-01-16", to: "2026-01-31" } },
  });
  const halfUsd = half.steps.reduce((sum, s) => sum + s.usd, 0);
  assert.ok(Math.abs(after.estimatedUsd - halfUsd) < 1e-12, `${after.estimatedUsd} ${halfUsd}`);
  assert.ok(
    Math.abs(after.estimatedUsd / before.estimatedUsd - 16 / 31) < 0.05,
    `${after.estimatedUsd} of ${before.estimatedUsd}`,
  );
});

Deno.test("glacier analyze and plan show the partitions, the cost per partition and the total", async () => {
  const { file } = await seeded(31);
  let out: string[] = [];
  const io = { out: (t: string) => out.push(t), err: (t: string) => out.push(t) };
  const run = async (...args: string[]) => {
    out = [];
    assert.equal(await main([file, ...args], io), 0, out.join("\n"));
    return out.join("\n");
  };
  const range = ["--partition", "date=2026-01-01..2026-01-31"];
  const json = JSON.parse(await run("analyze", ...range, "--json"));
  assert.equal(json.partitions, 31);
  const enrich = json.steps.find((s: { task: string }) => s.task === "enrich");
  assert.equal(enrich.partitions, 31);
  assert.equal(enrich.perPartition.length, 31);
  assert.ok(Math.abs(enrich.usdPerPartition * 31 - enrich.usd) < 1e-12);
  assert.ok(json.estimatedCost.totalUsd > enrich.usd);

  const text = await run("analyze", ...range);
  assert.match(text, /^pipeline 'lab': \$[\d.]+ for 31 partitions/);
  assert.match(text, /partitions +per partition +cost/);
  assert.match(text, /enrich .* 31 +\$[\d.]+ +\$[\d.]+\n/);

  const plan = JSON.parse(await run("plan", ...range, "--json")) as PlanReport;
  assert.equal(plan.partitions, 31);
  const planText = await run("plan", "--partition", "date=2026-01-01..2026-01-02");
  assert.match(
    planText,
    /4 of 4 steps would run, in 2 partitions \(\$[\d.]+ per partition\), estimated \$/,
  );
  assert.match(planText, /enrich +date=2026-01-01 +would run/);
});
