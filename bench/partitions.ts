/**
 * Partitions and backfills at scale, each figure from fresh processes:
 *
 * - `plan`: a 3-step daily pipeline over 3 years (1,096 partitions, every input partition
 *   present), planned on a fresh root (everything would run) and after a backfill (everything up
 *   to date). Target: under 1 s.
 * - `backfill`: a 2-step daily pipeline over 365 partitions of 10,000 rows each, run locally on a
 *   fresh root (target: under 30 s), then the same range rerun (target: under 2 s).
 * - `memory`: the peak memory of the same backfill at two sizes (default 91 and 365 partitions),
 *   which should not grow with the number of partitions.
 *
 * Results go to `bench/partitions_results.md`.
 *
 * ```sh
 * deno run -A bench/partitions.ts                  # every part, 3 runs each
 * deno run -A bench/partitions.ts --only plan --runs 1 --out /tmp/p.md
 * ```
 *
 * @module
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { pipeline, seed } from "./_partitions_pipeline.ts";
import { cpuSeconds, median, memory, runChild, waitForIdle, writeReport } from "./_measure.ts";

const SCRIPT = fileURLToPath(import.meta.url);
const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    runs: { type: "string", default: "3" },
    only: { type: "string" },
    rows: { type: "string", default: "10000" },
    "plan-days": { type: "string", default: "1096" },
    "backfill-days": { type: "string", default: "365" },
    "small-days": { type: "string", default: "91" },
    child: { type: "string" },
    root: { type: "string" },
    days: { type: "string" },
    out: { type: "string", default: join(dirname(SCRIPT), "partitions_results.md") },
  },
});

if (flags.child !== undefined) {
  // One measurement in this fresh process, printed as JSON on the last line.
  const root = flags.root!;
  const days = Number(flags.days);
  const steps = flags.child === "backfill" ? 2 : 3;
  const { pipeline: p } = pipeline(root, days, steps);
  const cpuBefore = cpuSeconds();
  const baseline = memory().rssBytes;
  const started = performance.now();
  let detail: Record<string, number>;
  if (flags.child === "plan") {
    const plan = await p.run({ mode: "plan" });
    detail = {
      items: plan.steps.length,
      running: plan.steps.filter((s) => s.action !== "skip").length,
    };
  } else {
    const report = await p.run({ mode: "local", quiet: true });
    detail = {
      items: report.steps.length,
      ran: report.steps.filter((s) => s.status === "ran").length,
    };
  }
  const wallSeconds = (performance.now() - started) / 1000;
  console.log(JSON.stringify({
    variant: flags.child,
    wallSeconds,
    peakRssBytes: memory().peakRssBytes,
    baselineRssBytes: baseline,
    cpuSeconds: cpuSeconds() - cpuBefore,
    processCpuSeconds: cpuSeconds(),
    ...detail,
  }));
  Deno.exit(0);
}

type Result = Awaited<ReturnType<typeof runChild>> & { items: number; ran?: number };

const runs = Number(flags.runs);
const rows = Number(flags.rows);
const parts = (flags.only ?? "plan,backfill,memory").split(",");
const lines: string[] = [];
const mib = (n: number) => (n / 1024 / 1024).toFixed(0);
const range = (xs: number[]) => `${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)}`;
const verdict = (value: number, target: number) =>
  `< ${target} s: ${value < target ? "met" : "**not met**"}`;

async function child(kind: string, root: string, days: number): Promise<Result> {
  const busy = await waitForIdle(0.3, 3);
  const result = await runChild(SCRIPT, [
    "--child",
    kind,
    "--root",
    root,
    "--days",
    String(days),
  ]) as Result;
  console.error(
    `${kind} ${days} days: ${result.wallSeconds.toFixed(2)} s (process ` +
      `${result.processSeconds.toFixed(2)} s), ${result.items} items, peak ${
        mib(result.peakRssBytes)
      } MiB; others used ${result.backgroundCpuSeconds.toFixed(1)} CPU s (busy before: ${
        busy.toFixed(2)
      } CPUs)`,
  );
  return result;
}

const load = (rs: Result[]) =>
  `others used ${range(rs.map((r) => r.backgroundCpuSeconds))} CPU s during the runs`;

async function fresh(days: number, rowsPer: number): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: "glacier-bench-partitions-" });
  await seed(root, days, rowsPer);
  return root;
}

if (parts.includes("plan")) {
  const days = Number(flags["plan-days"]);
  const root = await fresh(days, 10);
  const cold: Result[] = [];
  for (let i = 0; i < runs; i++) cold.push(await child("plan", root, days));
  const warm: Result[] = [];
  const done = await child("backfill3", root, days);
  if (done.ran !== 3 * days) throw new Error(`the backfill ran ${done.ran} of ${3 * days} items`);
  for (let i = 0; i < runs; i++) warm.push(await child("plan", root, days));
  const row = (name: string, rs: Result[]) =>
    `| ${name} | ${rs[0].items} | ${median(rs.map((r) => r.wallSeconds)).toFixed(2)} | ${
      range(rs.map((r) => r.wallSeconds))
    } | ${verdict(median(rs.map((r) => r.wallSeconds)), 1)} |`;
  lines.push(
    "## `plan` over 3 years of daily partitions",
    "",
    `A 3-step daily pipeline over ${days} partitions (10-row inputs, all present), planned with ` +
      '`run({ mode: "plan" })` in a fresh process: on a fresh root (every item would run, each ' +
      "priced) and after a backfill of the whole range (every item up to date). Timed from the " +
      `plan call to its report; ${runs} runs each, ${load([...cold, ...warm])}.`,
    "",
    "| root | items | median (s) | range (s) | target |",
    "| --- | ---: | ---: | ---: | --- |",
    row("fresh", cold),
    row("backfilled", warm),
    "",
  );
  await Deno.remove(root, { recursive: true });
}

// The "backfill3" child is the 3-step pipeline run; "backfill" the 2-step one.
if (parts.includes("backfill")) {
  const days = Number(flags["backfill-days"]);
  const first: Result[] = [];
  const again: Result[] = [];
  for (let i = 0; i < runs; i++) {
    const root = await fresh(days, rows);
    first.push(await child("backfill", root, days));
    if (first.at(-1)!.ran !== 2 * days) throw new Error(`the backfill ran ${first.at(-1)!.ran}`);
    again.push(await child("backfill", root, days));
    if (again.at(-1)!.ran !== 0) throw new Error(`the rerun ran ${again.at(-1)!.ran} items`);
    await Deno.remove(root, { recursive: true });
  }
  const row = (name: string, rs: Result[], target: number) =>
    `| ${name} | ${median(rs.map((r) => r.wallSeconds)).toFixed(2)} | ${
      range(rs.map((r) => r.wallSeconds))
    } | ${median(rs.map((r) => r.processSeconds)).toFixed(2)} | ${
      median(rs.map((r) => r.cpuSeconds)).toFixed(2)
    } | ${mib(median(rs.map((r) => r.peakRssBytes)))} | ${
      verdict(median(rs.map((r) => r.wallSeconds)), target)
    } |`;
  lines.push(
    "## A local backfill of a year of daily partitions",
    "",
    `A 2-step daily pipeline (clean: a filter and the partition's date as a column; by_region: a ` +
      `group-by) over ${days} partitions of ${rows.toLocaleString("en")} rows each, run with ` +
      '`run({ mode: "local", quiet: true })` on a fresh root, then the same range again. Run time ' +
      "from the run call to its report; process time includes Deno's start and loading polars. " +
      `${runs} runs each, ${load([...first, ...again])}.`,
    "",
    "| run | median (s) | range (s) | process median (s) | CPU median (s) | peak RSS (MiB) | target |",
    "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
    row(`backfill (${2 * days} items)`, first, 30),
    row("rerun (nothing runs)", again, 2),
    "",
  );
}

if (parts.includes("memory")) {
  const sizes = [Number(flags["small-days"]), Number(flags["backfill-days"])];
  const table: string[] = [];
  for (const days of sizes) {
    const rs: Result[] = [];
    for (let i = 0; i < runs; i++) {
      const root = await fresh(days, rows);
      rs.push(await child("backfill", root, days));
      await Deno.remove(root, { recursive: true });
    }
    table.push(
      `| ${days} | ${mib(median(rs.map((r) => r.baselineRssBytes)))} | ${
        mib(median(rs.map((r) => r.peakRssBytes)))
      } | ${mib(Math.min(...rs.map((r) => r.peakRssBytes)))}–${
        mib(Math.max(...rs.map((r) => r.peakRssBytes)))
      } | ${median(rs.map((r) => r.wallSeconds)).toFixed(2)} |`,
    );
  }
  lines.push(
    "## Peak memory of a backfill against its number of partitions",
    "",
    `The backfill above at ${sizes.join(" and ")} partitions, ${runs} fresh roots each; peak ` +
      "memory is the process's `VmHWM`, the baseline its resident memory just before the run.",
    "",
    "| partitions | baseline RSS (MiB) | peak RSS median (MiB) | peak range (MiB) | run median (s) |",
    "| ---: | ---: | ---: | ---: | ---: |",
    ...table,
    "",
  );
}

await writeReport([
  "# Partitions and backfills",
  "",
  `Command: \`${["deno run -A bench/partitions.ts", ...Deno.args].join(" ")}\``,
  "",
  ...lines,
], flags.out);
