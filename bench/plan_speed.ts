/**
 * How long `plan` takes on a large module: a generated 200-step pipeline (the type-check
 * benchmark's, `bench/_gen_pipeline.ts`), timed from the module being loaded to the plan with its
 * costs, in a fresh process each time (so every task's code fingerprint is computed, as the CLI
 * computes it). Target: under 2 s. Results go to `bench/plan_speed_results.md`.
 *
 * ```sh
 * deno run -A bench/plan_speed.ts                 # 200 steps, 5 processes
 * deno run -A bench/plan_speed.ts --steps 50 --runs 3 --out /tmp/plan.md
 * ```
 *
 * @module
 */
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { generatePipeline } from "./_gen_pipeline.ts";
import { median, writeReport } from "./_measure.ts";

const SCRIPT = fileURLToPath(import.meta.url);
const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    steps: { type: "string", default: "200" },
    runs: { type: "string", default: "5" },
    child: { type: "string" },
    out: { type: "string", default: join(dirname(SCRIPT), "plan_speed_results.md") },
  },
});

if (flags.child !== undefined) {
  // One measurement: load the module, then plan it.
  const loading = performance.now();
  const { pipeline } = await import(pathToFileURL(flags.child).href);
  const loaded = performance.now();
  const plan = await pipeline.run({ mode: "plan" });
  const planned = performance.now();
  console.log(JSON.stringify({
    loadSeconds: (loaded - loading) / 1000,
    planSeconds: (planned - loaded) / 1000,
    steps: plan.steps.length,
    running: plan.steps.filter((s: { action: string }) => s.action !== "skip").length,
  }));
} else {
  const steps = Number(flags.steps);
  const runs = Number(flags.runs);
  const dir = await Deno.makeTempDir({ prefix: "glacier-plan-bench-" });
  const files = generatePipeline(steps, pathToFileURL(join(dirname(SCRIPT), "..", "mod.ts")).href);
  for (const [name, text] of Object.entries(files)) await Deno.writeTextFile(join(dir, name), text);
  const module = join(dir, "pipeline.ts");
  const measured: { loadSeconds: number; planSeconds: number; steps: number }[] = [];
  for (let i = 0; i < runs; i++) {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", SCRIPT, "--child", module],
      stdout: "piped",
      stderr: "inherit",
    }).output();
    if (!out.success) throw new Error(`plan run ${i + 1} failed`);
    const result = JSON.parse(new TextDecoder().decode(out.stdout));
    console.error(
      `run ${i + 1}/${runs}: module loaded in ${result.loadSeconds.toFixed(2)} s, plan of ` +
        `${result.steps} entries (steps, one per partition) in ${result.planSeconds.toFixed(2)} s`,
    );
    measured.push(result);
  }
  const plan = median(measured.map((m) => m.planSeconds));
  await writeReport([
    "# `plan` of a generated module",
    "",
    `A generated ${steps}-step pipeline (\`bench/_gen_pipeline.ts\`: every fourth step a join, ` +
    `half the buckets partitioned; ${
      measured[0].steps
    } plan entries, one per step and partition), ` +
    'planned with `run({ mode: "plan" })` in a fresh process each time: every task\'s code ' +
    "fingerprint computed from its polars plan, every bucket's stored identity looked up, the " +
    "ledger read, and the cost model run for the steps that would run.",
    "",
    `Command: \`${["deno run -A bench/plan_speed.ts", ...Deno.args].join(" ")}\``,
    "",
    "| runs | module load median (s) | plan median (s) | plan range (s) | target |",
    "| ---: | ---: | ---: | ---: | --- |",
    `| ${runs} | ${median(measured.map((m) => m.loadSeconds)).toFixed(2)} | ${plan.toFixed(2)} | ${
      Math.min(...measured.map((m) => m.planSeconds)).toFixed(2)
    }–${Math.max(...measured.map((m) => m.planSeconds)).toFixed(2)} | < 2 s: ${
      plan < 2 ? "met" : "**not met**"
    } |`,
    "",
  ], flags.out);
  await Deno.remove(dir, { recursive: true });
}
