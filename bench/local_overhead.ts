/**
 * Local-mode overhead: the same three materialized steps (clean, join, aggregate) over 10M orders
 * and 100k customers, run through Glacier's local mode and hand-written in nodejs-polars. Each run
 * is a fresh child process that reports the pipeline's wall time and the process's peak resident
 * memory; the variants alternate, and the medians and their ratios are written to
 * `bench/local_overhead_results.md`. Targets: wall ratio <= 1.05, peak memory ratio <= 1.10.
 *
 * ```sh
 * deno run -A bench/local_overhead.ts                      # 10M x 100k, 5 runs of each variant
 * deno run -A bench/local_overhead.ts --rows 100000 --runs 2 --out /tmp/smoke.md
 * deno run -A bench/local_overhead.ts --variant plain      # one child run, prints JSON
 * deno run -A bench/local_overhead.ts --variants glacier,plain,duckdb  # DuckDB beside them
 * ```
 *
 * @module
 */
import { dirname, join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { pl } from "../mod.ts";
import { DATA_DIR, ensureInputs, type Inputs } from "./_data.ts";
import {
  type ChildResult,
  cpuSeconds,
  machine,
  type Measurement,
  median,
  memory,
  runChild,
  waitForIdle,
} from "./_measure.ts";
import { type Outputs, type Variant, VARIANTS } from "./_variants.ts";

const SCRIPT = fileURLToPath(import.meta.url);
const BENCH_DIR = dirname(SCRIPT);
const TARGET_WALL = 1.05;
const TARGET_PEAK = 1.10;
const MIB = 1024 * 1024;
/** How often one measurement is retried when other processes disturbed it. */
const MAX_ATTEMPTS = 5;

const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    variant: { type: "string" },
    variants: { type: "string", default: "glacier,plain" },
    rows: { type: "string", default: "10000000" },
    customers: { type: "string", default: "100000" },
    runs: { type: "string", default: "5" },
    warmup: { type: "string", default: "1" },
    idle: { type: "string", default: "0.15" },
    "idle-wait": { type: "string", default: "60" },
    "max-others": { type: "string", default: "0.5" },
    out: { type: "string", default: join(BENCH_DIR, "local_overhead_results.md") },
  },
});
const rows = positiveInt("rows", flags.rows);
const customers = positiveInt("customers", flags.customers);

if (flags.variant !== undefined) {
  console.log(JSON.stringify(await child(flags.variant)));
} else {
  await parent();
}

/** One timed run of one variant, in this process. */
async function child(name: string): Promise<ChildResult> {
  const variant = await variantOf(name);
  const inputs = await ensureInputs(rows, customers);
  const dir = runDir(name);
  await variant.prepare(dir, inputs);
  const baseline = memory();
  const cpuStarted = cpuSeconds();
  const started = performance.now();
  await variant.run(dir, inputs);
  const wallSeconds = (performance.now() - started) / 1000;
  const processCpuSeconds = cpuSeconds();
  const { peakRssBytes } = memory();
  return {
    variant: name,
    wallSeconds,
    peakRssBytes,
    baselineRssBytes: baseline.rssBytes,
    cpuSeconds: processCpuSeconds - cpuStarted,
    processCpuSeconds,
  };
}

/** Alternates child runs of every variant, checks their outputs agree, writes the report. */
async function parent(): Promise<void> {
  const names = flags.variants.split(",").map((s) => s.trim()).filter((s) => s !== "");
  for (const name of names) {
    await variantOf(name);
  }
  const runs = positiveInt("runs", flags.runs);
  const warmup = Number(flags.warmup);
  const idle = Number(flags.idle);
  const idleWait = Number(flags["idle-wait"]);
  const maxOthers = Number(flags["max-others"]);
  const generating = performance.now();
  const inputs = await ensureInputs(rows, customers);
  console.error(
    `inputs ready in ${((performance.now() - generating) / 1000).toFixed(1)} s: ` +
      `${relative(Deno.cwd(), inputs.orders)}, ${relative(Deno.cwd(), inputs.customers)}`,
  );
  const args = (name: string) => [
    "--variant",
    name,
    "--rows",
    String(rows),
    "--customers",
    String(customers),
  ];
  const results = new Map<string, Measurement[]>(names.map((n) => [n, []]));
  let reference: Checked | undefined;
  let discarded = 0;
  for (let round = -warmup; round < runs; round += 1) {
    const order = (round & 1) === 0 ? names : [...names].reverse();
    for (const name of order) {
      for (let attempt = 1;; attempt += 1) {
        const busy = idleWait > 0 ? await waitForIdle(idle, idleWait) : 0;
        const result = await runChild(SCRIPT, args(name));
        const checked = await check((await variantOf(name)).outputs(runDir(name)));
        reference ??= checked;
        if (checked.key !== reference.key) {
          throw new Error(
            `variant '${name}' produced different output:\n${checked.key}\nexpected:\n${reference.key}`,
          );
        }
        const disturbed = result.backgroundCpuSeconds > maxOthers && attempt < MAX_ATTEMPTS;
        const label = round < 0 ? "warm-up" : `run ${round + 1}/${runs}`;
        console.error(
          `${label} ${name}: ${result.wallSeconds.toFixed(2)} s, cpu ` +
            `${result.cpuSeconds.toFixed(2)} s, peak ${(result.peakRssBytes / MIB).toFixed(0)} ` +
            `MiB (machine busy before: ${busy.toFixed(2)} CPUs, others during: ` +
            `${result.backgroundCpuSeconds.toFixed(2)} CPU s)${
              disturbed ? ": discarded, again" : ""
            }`,
        );
        if (disturbed) {
          discarded += 1;
          continue;
        }
        if (round >= 0) results.get(name)!.push(result);
        break;
      }
    }
  }
  const report = await render(names, results, inputs, reference!, runs, warmup, discarded);
  console.log(report);
  await Deno.writeTextFile(flags.out, report);
  console.error(`wrote ${relative(Deno.cwd(), flags.out)}`);
}

/** What the outputs of one run look like, as one comparable string. */
interface Checked {
  readonly key: string;
  readonly cleanedRows: number;
  readonly joinedRows: number;
  readonly revenue: pl.DataFrame;
}

async function check(outputs: Outputs): Promise<Checked> {
  const count = async (path: string) =>
    Number(
      (await pl.scanParquet(path).select(pl.len().alias("n")).collect()).getColumn("n").get(0),
    );
  const cleanedRows = await count(outputs.cleaned);
  const joinedRows = await count(outputs.joined);
  const revenue = (await pl.scanParquet(outputs.revenue).collect()).sort(["region", "segment"]);
  const key = JSON.stringify({ cleanedRows, joinedRows, revenue: revenue.toRecords() });
  return { key, cleanedRows, joinedRows, revenue };
}

async function render(
  names: readonly string[],
  results: ReadonlyMap<string, readonly Measurement[]>,
  inputs: Inputs,
  checked: Checked,
  runs: number,
  warmup: number,
  discarded: number,
): Promise<string> {
  const mib = (bytes: number) => (bytes / MIB).toFixed(0);
  const s2 = (x: number) => x.toFixed(2);
  const of = (name: string, f: (m: Measurement) => number) => results.get(name)!.map(f);
  const med = (name: string, f: (m: Measurement) => number) => median(of(name, f));
  const range = (name: string, f: (m: Measurement) => number, show: (x: number) => string) => {
    const xs = of(name, f);
    return `${show(Math.min(...xs))}–${show(Math.max(...xs))}`;
  };
  const wall = (m: Measurement) => m.wallSeconds;
  const cpu = (m: Measurement) => m.cpuSeconds;
  const peak = (m: Measurement) => m.peakRssBytes;
  const lines = [
    "# Local-mode overhead: Glacier vs hand-written nodejs-polars",
    "",
    `Clean → join → aggregate over ${inputs.rows.toLocaleString("en-US")} orders × ` +
    `${inputs.customerRows.toLocaleString("en-US")} customers, every step materialized as ` +
    "parquet (zstd, statistics: the nodejs-polars `sinkParquet` defaults, which Glacier also " +
    'uses). `glacier` runs the pipeline with `run({ mode: "local", quiet: true })`; `plain` is ' +
    "the same expressions as `scanParquet` → `sinkParquet(...).collect()` per step " +
    "(`bench/_variants.ts`)." +
    (names.includes("duckdb")
      ? " `duckdb` is the same three steps as DuckDB SQL, `COPY (SELECT ...) TO` zstd parquet " +
        "per step, in an in-memory database (`bench/_duckdb.ts`)."
      : ""),
    "",
    "Each run is a fresh `deno run` process; variants alternate (which one goes first flips " +
    `every round), ${warmup} warm-up round(s) discarded, then ${runs} measured run(s) each; ` +
    `before each run the harness waits (up to ${flags["idle-wait"]} s) until other processes ` +
    `use less than ${flags.idle} CPU, and a run during which they used more than ` +
    `${
      flags["max-others"]
    } CPU s is discarded and repeated (${discarded} discarded here). Wall and CPU = the pipeline alone, timed in the child ` +
    "(CPU = user + system of all threads); peak = the child's `VmHWM`; baseline = its `VmRSS` " +
    "just before the pipeline; process = spawn to exit as the parent saw it; others = CPU " +
    "seconds the rest of the machine used while the child ran (interference).",
    "",
    `Command: \`${["deno run -A bench/local_overhead.ts", ...Deno.args].join(" ")}\``,
    "",
    "| variant | wall median (s) | wall range (s) | CPU median (s) | peak RSS median (MiB) | peak RSS range (MiB) | baseline RSS (MiB) | process wall median (s) | others median (CPU s) |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...names.map((name) =>
      `| ${name} | ${s2(med(name, wall))} | ${range(name, wall, s2)} | ${s2(med(name, cpu))} | ${
        mib(med(name, peak))
      } | ${range(name, peak, mib)} | ${mib(med(name, (m) => m.baselineRssBytes))} | ${
        s2(med(name, (m) => m.processSeconds))
      } | ${s2(med(name, (m) => m.backgroundCpuSeconds))} |`
    ),
    "",
  ];
  const against = (name: string, base: string, target: number, what: string) => {
    if (!results.has(name) || !results.has(base)) return;
    const ratio = med(name, wall) / med(base, wall);
    lines.push(
      `- ${what}: ${name} / ${base} wall ratio of medians ${
        ratio.toFixed(3)
      } (target ≤ ${target}: ${ratio <= target ? "met" : "**not met**"}).`,
    );
  };
  against("glacier-rerun", "glacier", 0.03, "A rerun with nothing changed against the full run");
  for (const name of names.filter((n) => n.startsWith("glacier@"))) {
    against("glacier", name, 1.02, `The full run against the same run at ${name.slice(8)}`);
  }
  if (lines.at(-1) !== "") lines.push("");
  if (results.has("plain")) {
    const verdict = (ratio: number, target: number) =>
      `${ratio.toFixed(3)} ${ratio <= target ? "(met)" : "(**not met**)"}`;
    lines.push(
      "| variant / plain | wall ratio of medians (target ≤ 1.05) | median of per-round wall ratios | CPU ratio | peak RSS ratio of medians (target ≤ 1.10) |",
      "| --- | ---: | ---: | ---: | ---: |",
    );
    for (const name of names.filter((n) => n !== "plain")) {
      const ratio = (f: (m: Measurement) => number) => med(name, f) / med("plain", f);
      const base = of("plain", wall);
      const paired = median(of(name, wall).map((w, i) => w / base[i]));
      lines.push(
        `| ${name} | ${verdict(ratio(wall), TARGET_WALL)} | ${paired.toFixed(3)} | ${
          ratio(cpu).toFixed(3)
        } | ${verdict(ratio(peak), TARGET_PEAK)} |`,
      );
    }
    lines.push("");
  }
  lines.push(
    `Outputs agree across every run and variant: ${
      checked.cleanedRows.toLocaleString("en-US")
    } cleaned rows, ${checked.joinedRows.toLocaleString("en-US")} joined rows, ` +
      `${checked.revenue.height} revenue rows (compared sorted by region, segment).`,
    "",
    "Runs in order (wall s / CPU s / peak MiB / others CPU s):",
    "",
    ...names.map((name) =>
      `- ${name}: ${
        results.get(name)!.map((m) =>
          `${m.wallSeconds.toFixed(3)} / ${s2(m.cpuSeconds)} / ${mib(m.peakRssBytes)} / ${
            s2(m.backgroundCpuSeconds)
          }`
        ).join(", ")
      }`
    ),
    "",
    "Machine:",
    "",
    ...(await machine()).map((line) => `- ${line}`),
    "",
  );
  return lines.join("\n");
}

/**
 * A variant by name. `duckdb` has a heavy dependency, so it is loaded only by the processes that
 * run or check it. `glacier@REF` is Glacier's local mode as of a git commit (a detached worktree
 * under `bench/data/baselines/`, made on first use), to compare a change with what came before.
 */
async function variantOf(name: string): Promise<Variant> {
  if (name.startsWith("glacier@")) {
    const dir = await baseline(name.slice("glacier@".length));
    return (await import(pathToFileURL(join(dir, "bench", "_variants.ts")).href)).glacier;
  }
  const variant = name === "duckdb" ? (await import("./_duckdb.ts")).duckdb : VARIANTS[name];
  if (variant === undefined) throw new Error(`unknown variant '${name}'`);
  return variant;
}

/** A detached worktree of the repository at a commit, for `glacier@REF`. */
async function baseline(ref: string): Promise<string> {
  const dir = join(DATA_DIR, "baselines", ref.replace(/[^A-Za-z0-9._-]/g, "_"));
  try {
    await Deno.stat(join(dir, "mod.ts"));
    return dir;
  } catch {
    // made below
  }
  const out = await new Deno.Command("git", {
    args: ["worktree", "add", "--detach", dir, ref],
    cwd: BENCH_DIR,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(
      `cannot check out '${ref}' for variant glacier@${ref}: ${
        new TextDecoder().decode(out.stderr)
      }`,
    );
  }
  return dir;
}

function runDir(variant: string): string {
  return join(DATA_DIR, "runs", `${rows}x${customers}`, variant);
}

function positiveInt(name: string, value: string): number {
  const n = Number(value.replaceAll("_", ""));
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer`);
  return n;
}
