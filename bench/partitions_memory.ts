/**
 * What the memory of a local backfill does as its number of partitions grows: the 2-step daily
 * pipeline of `partitions.ts` (10,000 rows a partition) at several sizes, each run in a fresh
 * process started with `--v8-flags=--expose-gc`, two ways:
 *
 * - as run: nothing forces a collection, as in any run; the peak RSS (`VmHWM`) then includes the
 *   native memory of polars objects that are garbage but not yet collected (V8 does not see it);
 * - collected: a timer forces a full collection every 250 ms during the run and records the V8
 *   heap still in use after it (the live heap: what the run holds).
 *
 * After the run, with its report still held, a last collection gives the heap the run leaves.
 *
 * ```sh
 * deno run -A bench/partitions_memory.ts --days 91,365,1460 --runs 2   # prints the table
 * deno run -A bench/partitions_memory.ts --out /tmp/memory.md          # and writes it
 * ```
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { machine, median, memory, waitForIdle, writeReport } from "./_measure.ts";
import { pipeline, seed } from "./_partitions_pipeline.ts";

const SCRIPT = fileURLToPath(import.meta.url);
const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    runs: { type: "string", default: "2" },
    days: { type: "string", default: "91,182,365,730" },
    rows: { type: "string", default: "10000" },
    child: { type: "boolean", default: false },
    collect: { type: "boolean", default: false },
    root: { type: "string" },
    out: { type: "string" },
  },
});

/** What one child measured, in bytes. */
interface Sample {
  readonly days: number;
  readonly collect: boolean;
  readonly items: number;
  readonly wallSeconds: number;
  readonly baselineRss: number;
  readonly baselineHeap: number;
  readonly peakRss: number;
  readonly liveHeap: number;
  readonly heapAfter: number;
  readonly externalAfter: number;
  readonly rssAfter: number;
}

if (flags.child) {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error("run the child with --v8-flags=--expose-gc");
  const days = Number(flags.days);
  const { pipeline: p } = pipeline(flags.root!, days, 2);
  gc();
  const baselineRss = memory().rssBytes;
  const baselineHeap = Deno.memoryUsage().heapUsed;
  let liveHeap = 0;
  const timer = flags.collect
    ? setInterval(() => {
      gc();
      liveHeap = Math.max(liveHeap, Deno.memoryUsage().heapUsed);
    }, 250)
    : undefined;
  const started = performance.now();
  const report = await p.run({ mode: "local", quiet: true });
  const wallSeconds = (performance.now() - started) / 1000;
  clearInterval(timer);
  const ran = report.steps.filter((s) => s.status === "ran").length;
  if (ran !== 2 * days) throw new Error(`the backfill ran ${ran} of ${2 * days} items`);
  gc();
  const after = Deno.memoryUsage();
  const sample: Sample = {
    days,
    collect: flags.collect,
    items: report.steps.length,
    wallSeconds,
    baselineRss,
    baselineHeap,
    peakRss: memory().peakRssBytes,
    liveHeap,
    heapAfter: after.heapUsed,
    externalAfter: after.external,
    rssAfter: memory().rssBytes,
  };
  console.log(JSON.stringify(sample));
  Deno.exit(0);
}

const mib = (n: number) => (n / 1024 / 1024).toFixed(1);
const sizes = flags.days!.split(",").map(Number);
const runs = Number(flags.runs);
const rows: string[] = [];
const loads: number[] = [];
/** One backfill on a fresh root, in a fresh process. */
async function measure(days: number, collect: boolean): Promise<Sample> {
  const root = await Deno.makeTempDir({ prefix: "glacier-bench-memory-" });
  await seed(root, days, Number(flags.rows));
  await waitForIdle(0.3, 3);
  loads.push(Number((await Deno.readTextFile("/proc/loadavg")).split(" ")[0]));
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--v8-flags=--expose-gc",
      SCRIPT,
      "--child",
      ...(collect ? ["--collect"] : []),
      "--root",
      root,
      "--days",
      String(days),
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  await Deno.remove(root, { recursive: true });
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
  const sample = JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!);
  console.error(JSON.stringify(sample));
  return sample;
}

for (const days of sizes) {
  const plain: Sample[] = [];
  const collected: Sample[] = [];
  for (let i = 0; i < runs; i++) {
    plain.push(await measure(days, false));
    collected.push(await measure(days, true));
  }
  const m = (samples: Sample[], f: (s: Sample) => number) => mib(median(samples.map(f)));
  const spread = (samples: Sample[]) =>
    `${mib(Math.min(...samples.map((s) => s.peakRss)))}–${
      mib(Math.max(...samples.map((s) => s.peakRss)))
    }`;
  rows.push(
    `| ${days} | ${plain[0].items} | ${m(plain, (s) => s.baselineRss)} | ` +
      `${m(plain, (s) => s.peakRss)} | ${spread(plain)} | ${m(plain, (s) => s.heapAfter)} | ` +
      `${m(collected, (s) => s.peakRss)} | ${spread(collected)} | ` +
      `${m(collected, (s) => s.liveHeap)} | ${m(collected, (s) => s.heapAfter)} | ` +
      `${median(plain.map((s) => s.wallSeconds)).toFixed(1)} |`,
  );
}

const report = [
  "# Memory of a backfill against its number of partitions",
  "",
  `Command: \`${["deno run -A bench/partitions_memory.ts", ...Deno.args].join(" ")}\``,
  "",
  `The 2-step daily pipeline of \`partitions.ts\` (${
    Number(flags.rows).toLocaleString("en")
  } rows a partition) backfilled on a fresh root, ${runs} fresh processes per size and variant ` +
  "(medians; the peak's range). As run: the process as any run is, V8 collecting when it " +
  "decides to. Collected: a timer forces a full collection every 250 ms during the run. " +
  "Baseline RSS: after loading and a full collection, before the run. Live heap: the largest " +
  "V8 heap in use right after a forced collection during the run. Heap after: once the run has " +
  "returned, its report still held, after a full collection. Load average (1 min) before the " +
  `runs: ${Math.min(...loads).toFixed(1)}–${
    Math.max(...loads).toFixed(1)
  } on ${navigator.hardwareConcurrency} CPUs.`,
  "",
  "| partitions | items | baseline RSS (MiB) | as run: peak RSS (MiB) | range (MiB) | heap after (MiB) | collected: peak RSS (MiB) | range (MiB) | live heap (MiB) | heap after (MiB) | run (s) |",
  "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ...rows,
  "",
];
if (flags.out) await writeReport(report, flags.out);
else console.log([...report, "Machine:", "", ...(await machine()).map((l) => `- ${l}`)].join("\n"));
