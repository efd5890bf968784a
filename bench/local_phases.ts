/**
 * Where local mode spends its time: replays what `src/engine/local.ts` does for each step of the
 * `local_overhead` pipeline (the same storage and task calls, in the same order) with a timer
 * around each phase, next to the hand-written scan → sink of the same step. Runs in one process,
 * `--repeat` times after one warm-up, prints the median of each phase and writes them to
 * `bench/local_phases_results.md`.
 *
 * ```sh
 * deno run -A bench/local_phases.ts --rows 10000000 --repeat 5
 * ```
 *
 * @module
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { pl } from "../mod.ts";
import type { Step } from "../src/core/lineage.ts";
import { applyTask } from "../src/core/apply_task.ts";
import { FileStorage } from "../src/io/file_storage.ts";
import { countRows } from "../src/io/formats.ts";
import { planSchema } from "../src/schema/schema.ts";
import { DATA_DIR, ensureInputs } from "./_data.ts";
import { median, waitForIdle, writeReport } from "./_measure.ts";
import {
  cleanOrders,
  glacier,
  glacierPipeline,
  joinCustomers,
  plain,
  revenueByRegion,
} from "./_variants.ts";

const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    rows: { type: "string", default: "10000000" },
    customers: { type: "string", default: "100000" },
    repeat: { type: "string", default: "5" },
    out: {
      type: "string",
      default: join(dirname(fileURLToPath(import.meta.url)), "local_phases_results.md"),
    },
  },
});
const rows = Number(flags.rows.replaceAll("_", ""));
const customers = Number(flags.customers.replaceAll("_", ""));
const repeat = Number(flags.repeat);
const inputs = await ensureInputs(rows, customers);
const base = join(DATA_DIR, "phases", `${rows}x${customers}`);
const timings = new Map<string, number[]>();

function note(name: string, ms: number): void {
  timings.set(name, [...(timings.get(name) ?? []), ms]);
}

async function timed<T>(name: string, work: () => Promise<T> | T): Promise<T> {
  const started = performance.now();
  const result = await work();
  note(name, performance.now() - started);
  return result;
}

/** One run of the pipeline with local.ts's phases timed one by one. */
async function glacierRun(record: boolean): Promise<void> {
  const dir = join(base, "glacier");
  await glacier.prepare(dir, inputs);
  const at = (name: string) => record ? name : "warm-up";
  const started = performance.now();
  const graph = glacierPipeline(dir).graph();
  const storage = new FileStorage(dir);
  const txn = await timed(
    at("begin run (recover, locks, staging dir)"),
    () => storage.beginRun(graph.steps.map((s) => s.target)),
  );
  for (const step of graph.steps as readonly Step[]) {
    const frames: Record<string, pl.LazyDataFrame> = {};
    for (const [name, ref] of Object.entries(step.sources)) {
      frames[name] = await timed(
        at(`${step.task.name}: scan + validate '${ref.path}'`),
        () => storage.scan(ref, txn.readPath(ref)),
      );
    }
    const plan = await timed(
      at(`${step.task.name}: applyTask (output schema check)`),
      () => applyTask(step, frames),
    );
    const staged = txn.stagePath(step.target);
    await timed(at(`${step.task.name}: sink`), () => storage.sinkTo(step.target, plan, staged));
    await timed(
      at(`${step.task.name}: describe (count rows, stat)`),
      () => storage.describe(step.target, staged),
    );
    txn.staged(step.target);
  }
  await timed(at("commit (journal, renames, cleanup)"), () => txn.commit());
  note(at("glacier total"), performance.now() - started);
}

/** One hand-written run, each step's scan → sink timed. */
async function plainRun(record: boolean): Promise<void> {
  const dir = join(base, "plain");
  await plain.prepare(dir, inputs);
  const out = plain.outputs(dir);
  const at = (name: string) => record ? name : "warm-up";
  const started = performance.now();
  await timed(
    at("plain clean: scan → sink"),
    () => cleanOrders(pl.scanParquet(inputs.orders)).sinkParquet(out.cleaned).collect(),
  );
  await timed(
    at("plain join: scan → sink"),
    () =>
      joinCustomers(pl.scanParquet(out.cleaned), pl.scanParquet(inputs.customers))
        .sinkParquet(out.joined).collect(),
  );
  await timed(
    at("plain aggregate: scan → sink"),
    () => revenueByRegion(pl.scanParquet(out.joined)).sinkParquet(out.revenue).collect(),
  );
  note(at("plain total"), performance.now() - started);
  // The two checks Glacier adds, on the plain plans and files, for comparison.
  const joinPlan = joinCustomers(pl.scanParquet(out.cleaned), pl.scanParquet(inputs.customers));
  await timed(at("plain join: planSchema of the plan alone"), () => planSchema(joinPlan));
  await timed(
    at("plain join: countRows of the output alone"),
    () => countRows(out.joined, "parquet", {}),
  );
}

for (let i = 0; i <= repeat; i += 1) {
  const record = i > 0;
  const runs = [glacierRun, plainRun];
  for (const run of i % 2 === 0 ? runs : runs.reverse()) {
    await waitForIdle(0.15, 60);
    await run(record);
  }
}
timings.delete("warm-up");
const overhead = [...timings].filter(([name]) =>
  !name.startsWith("plain") && !name.endsWith(": sink") && name !== "glacier total"
).reduce((sum, [, ms]) => sum + median(ms), 0);
await writeReport([
  '# Local-mode phases: where `run({ mode: "local" })` spends its time',
  "",
  "Each step of the `local_overhead` pipeline replayed with the calls `src/engine/local.ts` makes " +
  "(`FileStorage.scan`, `applyTask`, `FileStorage.sinkTo`, `FileStorage.describe`, " +
  "`FileTransaction.commit`), each timed, next to the hand-written scan → sink of the same step; " +
  `one process, one warm-up round, then the median of ${repeat} rounds; before each run the ` +
  "script waits (up to 60 s) until other processes use less than 0.15 CPU.",
  "",
  `Command: \`${["deno run -A bench/local_phases.ts", ...Deno.args].join(" ")}\``,
  "",
  `| phase (${rows.toLocaleString("en-US")} orders × ${
    customers.toLocaleString("en-US")
  } customers) | median ms |`,
  "| --- | ---: |",
  ...[...timings].map(([name, ms]) => `| ${name} | ${median(ms).toFixed(1)} |`),
  "",
  `Everything local mode does besides the three sinks: ${overhead.toFixed(1)} ms per run.`,
  "",
], flags.out);
