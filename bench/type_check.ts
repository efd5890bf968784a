/**
 * Type-check benchmark: how long `deno check` takes on generated pipelines of N steps, and how
 * many type instantiations `tsc --extendedDiagnostics` counts, so that growth can be judged
 * linear (DESIGN section 2: a 200-step pipeline must check within a few seconds).
 *
 * Usage: `deno run -A bench/type_check.ts [--sizes 25,50,100,200] [--runs 3] [--out FILE]
 * [--no-tsc] [--keep] [--idle-wait SECONDS]`. Row N = 0 is the library alone (a module that
 * imports `mod.ts`). `--idle-wait` waits, before each check, up to that long for the rest of the
 * machine to use less than half a CPU.
 *
 * `deno check` runs with the repository's `deno.json` and a warm module cache, two ways: "fresh",
 * with an empty type-check cache (a `DENO_DIR` of its own that shares only the npm cache), which
 * is what checking a new pipeline costs; and "after an edit", with the usual `DENO_DIR` whose
 * incremental type-check cache already knows the library, after a change to the generated files
 * (a comment), which is what re-checking a pipeline one is working on costs. Each round checks
 * every size, the order flipping every round, so that the machine's load falls on all alike.
 * `tsc` is set up by `_tsc.ts`.
 *
 * @module
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { isJoin } from "./_gen_pipeline.ts";
import { childrenCpuSeconds, machineCpu, median, waitForIdle } from "./_measure.ts";
import { CONFIG, run, setUpTsc, type Tsc, tscCheck, type TscStats, writePipeline } from "./_tsc.ts";

interface Row {
  readonly steps: number;
  readonly joins: number;
  /** Median `deno check` with an empty type-check cache. */
  readonly fresh: Check;
  /** Median `deno check` after an edit, with a warm type-check cache. */
  readonly edit: Check;
  readonly tsc?: TscStats;
}

/** One `deno check`, or the medians of several. */
interface Check {
  /** Wall time. */
  readonly seconds: number;
  /** CPU time of the `deno check` process, user plus system, all threads. */
  readonly cpuSeconds: number;
  /** CPU time the rest of the machine used meanwhile. */
  readonly othersCpuSeconds: number;
}

function medianCheck(checks: readonly Check[]): Check {
  return {
    seconds: median(checks.map((c) => c.seconds)),
    cpuSeconds: median(checks.map((c) => c.cpuSeconds)),
    othersCpuSeconds: median(checks.map((c) => c.othersCpuSeconds)),
  };
}

/** One `deno check`, which must pass; `denoDir` overrides `DENO_DIR`. */
function denoCheck(dir: string, denoDir?: string): Check {
  const [machine, children] = [machineCpu(), childrenCpuSeconds()];
  const start = performance.now();
  const { code, out } = run(
    Deno.execPath(),
    ["check", "--quiet", "--config", CONFIG, "pipeline.ts"],
    dir,
    denoDir ? { DENO_DIR: denoDir } : {},
  );
  const seconds = (performance.now() - start) / 1000;
  const cpuSeconds = childrenCpuSeconds() - children;
  const othersCpuSeconds = Math.max(0, machineCpu().busy - machine.busy - cpuSeconds);
  if (code !== 0) throw new Error(`deno check failed in ${dir}:\n${out}`);
  return { seconds, cpuSeconds, othersCpuSeconds };
}

/** A new `DENO_DIR` with an empty type-check cache that shares the npm cache of the usual one. */
function freshDenoDir(parent: string, sharedNpm: string): string {
  const dir = Deno.makeTempDirSync({ dir: parent, prefix: "deno-dir-" });
  Deno.symlinkSync(sharedNpm, join(dir, "npm"));
  return dir;
}

function fixed(value: number, digits: number): string {
  return value.toFixed(digits);
}

function thousands(value: number): string {
  return Math.round(value).toLocaleString("en-US");
}

function table(header: string[], rows: string[][]): string[] {
  return [
    `| ${header.join(" | ")} |`,
    `| ${header.map(() => "---:").join(" | ")} |`,
    ...rows.map((cells) => `| ${cells.join(" | ")} |`),
  ];
}

/** How much longer the largest pipeline takes than the library alone (N = 0), when measured. */
function overLibrary(rows: readonly Row[]): string[] {
  const [library, largest] = [rows.find((r) => r.steps === 0), rows.at(-1)];
  if (library === undefined || largest === undefined || largest === library) return [];
  const over = (pick: (c: Check) => number) =>
    `${fixed(pick(largest.fresh) - pick(library.fresh), 2)} s fresh and ` +
    `${fixed(pick(largest.edit) - pick(library.edit), 2)} s after an edit`;
  return [
    `N = ${largest.steps} over the library alone: ${over((c) => c.seconds)} of wall time; ` +
    `${over((c) => c.cpuSeconds)} of CPU time.`,
  ];
}

/**
 * What a module that imports nodejs-polars and nothing else costs: the floor under the library
 * alone that Glacier cannot lower.
 */
function polarsFloor(dir: string, setup: Tsc): TscStats {
  Deno.mkdirSync(dir, { recursive: true });
  Deno.writeTextFileSync(
    join(dir, "pipeline.ts"),
    'import pl from "nodejs-polars";\n\nexport const polars = pl;\n',
  );
  return tscCheck(dir, setup);
}

function report(
  rows: readonly Row[],
  runs: number,
  tscVersion: string | undefined,
  floor: TscStats | undefined,
): string {
  const withTsc = rows.every((r) => r.tsc !== undefined);
  const { deno, typescript } = Deno.version;
  const lines = [
    "## Type-check time (`bench/type_check.ts`)",
    "",
    "Generated pipelines of N steps: every fourth step a two-source join of the two previous " +
    "steps' buckets, the others single-source steps; each step its own 5-column schema and " +
    "bucket, all buckets in one module; task bodies use polars' typed `select` and " +
    "`join({ on })`. N = 0 is the library alone.",
    "",
    `deno ${deno} (TypeScript ${typescript})` + (withTsc ? `, tsc ${tscVersion}` : "") +
    `, ${navigator.hardwareConcurrency} CPUs, ${Deno.build.os}-${Deno.build.arch}, ` +
    `${new Date().toISOString().slice(0, 10)}. \`deno check\` times are medians of ${runs} runs ` +
    "with a warm module cache: *fresh* with an empty type-check cache (checking a new " +
    "pipeline), *after an edit* with Deno's incremental type-check cache warm and the " +
    "pipeline's files changed. Each round checks every size, in an order that flips every " +
    "round. CPU is the `deno check` process's user and system time; *others' CPU* is what the " +
    "rest of the machine used during a check (median), a measure of its load. Instantiations, " +
    "types and errors are those of the program `deno check` sees (`_tsc_program.cjs`).",
    "",
    ...table(
      [
        "N",
        "joins",
        "deno check, fresh (s)",
        "fresh, CPU (s)",
        "deno check, after an edit (s)",
        "after an edit, CPU (s)",
        "others' CPU (s)",
        ...(withTsc ? ["instantiations", "types", "tsc check time (s)", "tsc errors"] : []),
      ],
      rows.map((r) => [
        `${r.steps}`,
        `${r.joins}`,
        fixed(r.fresh.seconds, 2),
        fixed(r.fresh.cpuSeconds, 2),
        fixed(r.edit.seconds, 2),
        fixed(r.edit.cpuSeconds, 2),
        fixed((r.fresh.othersCpuSeconds + r.edit.othersCpuSeconds) / 2, 2),
        ...(r.tsc
          ? [
            thousands(r.tsc.instantiations),
            thousands(r.tsc.types),
            fixed(r.tsc.checkSeconds, 2),
            `${r.tsc.errors}`,
          ]
          : []),
      ]),
    ),
    "",
    ...overLibrary(rows),
    ...(floor
      ? [
        "",
        `A module that imports nodejs-polars and nothing else: ${
          thousands(floor.instantiations)
        } instantiations, ${thousands(floor.types)} types.`,
      ]
      : []),
    "",
    "Growth per step between consecutive sizes; a constant cost per step means linear growth:",
    "",
    ...table(
      [
        "N",
        "deno check, fresh (ms/step)",
        "deno check, after an edit (ms/step)",
        ...(withTsc ? ["instantiations/step", "tsc check time (ms/step)"] : []),
      ],
      rows.slice(1).map((b, i) => {
        const a = rows[i];
        const per = (x: number, y: number) => (y - x) / (b.steps - a.steps);
        return [
          `${a.steps} → ${b.steps}`,
          fixed(per(a.fresh.seconds, b.fresh.seconds) * 1000, 1),
          fixed(per(a.edit.seconds, b.edit.seconds) * 1000, 1),
          ...(a.tsc && b.tsc
            ? [
              thousands(per(a.tsc.instantiations, b.tsc.instantiations)),
              fixed(per(a.tsc.checkSeconds, b.tsc.checkSeconds) * 1000, 1),
            ]
            : []),
        ];
      }),
    ),
  ];
  return lines.join("\n") + "\n";
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      sizes: { type: "string", default: "25,50,100,200" },
      runs: { type: "string", default: "3" },
      out: { type: "string" },
      "no-tsc": { type: "boolean", default: false },
      keep: { type: "boolean", default: false },
      "idle-wait": { type: "string", default: "0" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log(
      "deno run -A bench/type_check.ts [--sizes 25,50,100,200] [--runs 3] [--out FILE] " +
        "[--no-tsc] [--keep] [--idle-wait SECONDS]",
    );
    return;
  }
  const sizes = [0, ...values.sizes.split(",").map(Number)];
  if (sizes.some((n) => !Number.isInteger(n) || n < 0)) {
    throw new Error(`--sizes takes non-negative integers, got ${values.sizes}`);
  }
  const runs = Number(values.runs);
  const idleWait = Number(values["idle-wait"]);
  const work = await Deno.makeTempDir({ prefix: "glacier-type-check-" });
  const setup = values["no-tsc"] ? undefined : setUpTsc();
  const info = run(Deno.execPath(), ["info", "--json"], work);
  const sharedNpm = join(JSON.parse(info.out).denoDir, "npm");
  const rows: Row[] = [];
  let floor: TscStats | undefined;
  try {
    const dirOf = (steps: number) => join(work, `n${steps}`);
    const fresh = new Map<number, Check[]>(sizes.map((steps) => [steps, []]));
    const edit = new Map<number, Check[]>(sizes.map((steps) => [steps, []]));
    for (const steps of sizes) {
      await writePipeline(dirOf(steps), steps, "warm-up");
      denoCheck(dirOf(steps));
    }
    const idle = async () => {
      if (idleWait > 0) await waitForIdle(0.5, idleWait);
    };
    // Sizes alternate within each round, the order flipping every round, so that a change in
    // the machine's load falls on every size alike.
    for (let i = 0; i < runs; i++) {
      for (const steps of i % 2 === 0 ? sizes : [...sizes].reverse()) {
        const dir = dirOf(steps);
        await writePipeline(dir, steps, `run ${i} ${crypto.randomUUID()}`);
        await idle();
        fresh.get(steps)!.push(denoCheck(dir, freshDenoDir(work, sharedNpm)));
        await writePipeline(dir, steps, `edit ${i} ${crypto.randomUUID()}`);
        await idle();
        edit.get(steps)!.push(denoCheck(dir));
      }
    }
    for (const steps of sizes) {
      const tsc = setup ? tscCheck(dirOf(steps), setup) : undefined;
      let joins = 0;
      for (let i = 1; i <= steps; i++) if (isJoin(i)) joins++;
      const [f, e] = [fresh.get(steps)!, edit.get(steps)!];
      rows.push({ steps, joins, fresh: medianCheck(f), edit: medianCheck(e), tsc });
      const list = (checks: Check[]) =>
        checks.map((c) =>
          `${fixed(c.seconds, 2)} (CPU ${fixed(c.cpuSeconds, 2)}, others ${
            fixed(c.othersCpuSeconds, 2)
          })`
        ).join(", ");
      console.error(
        `N=${steps}: deno check fresh ${list(f)} s; after an edit ${list(e)} s` +
          (tsc ? `; tsc ${tsc.instantiations} instantiations, ${tsc.checkSeconds} s check` : ""),
      );
    }
    floor = setup ? polarsFloor(join(work, "polars"), setup) : undefined;
  } finally {
    if (values.keep) console.error(`kept ${work}`);
    else await Deno.remove(work, { recursive: true });
  }
  const text = report(rows, runs, setup?.version, floor);
  console.log(text);
  if (values.out) await Deno.writeTextFile(values.out, text);
}

if (import.meta.main) await main();
