/**
 * Type-check benchmark: how long `deno check` takes on generated pipelines of N steps, and how
 * many type instantiations `tsc --extendedDiagnostics` counts, so that growth can be judged
 * linear (DESIGN section 2: a 200-step pipeline must check within a few seconds).
 *
 * Usage: `deno run -A bench/type_check.ts [--sizes 25,50,100,200] [--runs 3] [--out FILE]
 * [--no-tsc] [--keep]`. Row N = 0 is the library alone (a module that imports `mod.ts`).
 *
 * `deno check` runs with the repository's `deno.json` and a warm module cache, two ways: "fresh",
 * with an empty type-check cache (a `DENO_DIR` of its own that shares only the npm cache), which
 * is what checking a new pipeline costs; and "after an edit", with the usual `DENO_DIR` whose
 * incremental type-check cache already knows the library, after a change to the generated files
 * (a comment), which is what re-checking a pipeline one is working on costs.
 * `tsc` is set up by `_tsc.ts`.
 *
 * @module
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { isJoin } from "./_gen_pipeline.ts";
import { CONFIG, run, setUpTsc, tscCheck, type TscStats, writePipeline } from "./_tsc.ts";

interface Row {
  readonly steps: number;
  readonly joins: number;
  /** Median `deno check` wall time with an empty type-check cache. */
  readonly freshSeconds: number;
  /** Median `deno check` wall time after an edit, with a warm type-check cache. */
  readonly editSeconds: number;
  readonly tsc?: TscStats;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Wall time of one `deno check`, which must pass; `denoDir` overrides `DENO_DIR`. */
function denoCheck(dir: string, denoDir?: string): number {
  const start = performance.now();
  const { code, out } = run(
    Deno.execPath(),
    ["check", "--quiet", "--config", CONFIG, "pipeline.ts"],
    dir,
    denoDir ? { DENO_DIR: denoDir } : {},
  );
  const seconds = (performance.now() - start) / 1000;
  if (code !== 0) throw new Error(`deno check failed in ${dir}:\n${out}`);
  return seconds;
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

function report(rows: readonly Row[], runs: number, tscVersion: string | undefined): string {
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
    "pipeline's files changed.",
    "",
    ...table(
      [
        "N",
        "joins",
        "deno check, fresh (s)",
        "deno check, after an edit (s)",
        ...(withTsc ? ["instantiations", "types", "tsc check time (s)", "tsc errors"] : []),
      ],
      rows.map((r) => [
        `${r.steps}`,
        `${r.joins}`,
        fixed(r.freshSeconds, 2),
        fixed(r.editSeconds, 2),
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
          fixed(per(a.freshSeconds, b.freshSeconds) * 1000, 1),
          fixed(per(a.editSeconds, b.editSeconds) * 1000, 1),
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
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log(
      "deno run -A bench/type_check.ts [--sizes 25,50,100,200] [--runs 3] [--out FILE] " +
        "[--no-tsc] [--keep]",
    );
    return;
  }
  const sizes = [0, ...values.sizes.split(",").map(Number)];
  if (sizes.some((n) => !Number.isInteger(n) || n < 0)) {
    throw new Error(`--sizes takes non-negative integers, got ${values.sizes}`);
  }
  const runs = Number(values.runs);
  const work = await Deno.makeTempDir({ prefix: "glacier-type-check-" });
  const setup = values["no-tsc"] ? undefined : setUpTsc();
  const info = run(Deno.execPath(), ["info", "--json"], work);
  const sharedNpm = join(JSON.parse(info.out).denoDir, "npm");
  const rows: Row[] = [];
  try {
    for (const steps of sizes) {
      const dir = join(work, `n${steps}`);
      await writePipeline(dir, steps, "warm-up");
      denoCheck(dir);
      const fresh: number[] = [];
      const edit: number[] = [];
      for (let i = 0; i < runs; i++) {
        await writePipeline(dir, steps, `run ${i} ${crypto.randomUUID()}`);
        fresh.push(denoCheck(dir, freshDenoDir(work, sharedNpm)));
        await writePipeline(dir, steps, `edit ${i} ${crypto.randomUUID()}`);
        edit.push(denoCheck(dir));
      }
      const tsc = setup ? tscCheck(dir, setup) : undefined;
      let joins = 0;
      for (let i = 1; i <= steps; i++) if (isJoin(i)) joins++;
      rows.push({ steps, joins, freshSeconds: median(fresh), editSeconds: median(edit), tsc });
      const list = (times: number[]) => times.map((t) => t.toFixed(2)).join(", ");
      console.error(
        `N=${steps}: deno check fresh ${list(fresh)} s, after an edit ${list(edit)} s` +
          (tsc ? `; tsc ${tsc.instantiations} instantiations, ${tsc.checkSeconds} s check` : ""),
      );
    }
  } finally {
    if (values.keep) console.error(`kept ${work}`);
    else await Deno.remove(work, { recursive: true });
  }
  const text = report(rows, runs, setup?.version);
  console.log(text);
  if (values.out) await Deno.writeTextFile(values.out, text);
}

if (import.meta.main) await main();
