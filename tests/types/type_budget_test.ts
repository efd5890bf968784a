/**
 * The type-cost budget: how many type instantiations the library alone and each step of a
 * generated pipeline cost, as `tsc --extendedDiagnostics` counts them (the pipeline of
 * `bench/_gen_pipeline.ts`, the one `deno task bench:types` times, with imports resolved as
 * `deno check` resolves them). Counts are deterministic for one TypeScript version, so this fails
 * as soon as a change makes the library or the wiring checks dearer, however loaded the machine.
 *
 * The first run installs the TypeScript that Deno uses (6.0.3 with Deno 2.9.6) with `npm` into
 * `$TMPDIR/glacier-bench-tsc-<version>`.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { setUpTsc, tscCheck, type TscStats, writePipeline } from "../../bench/_tsc.ts";

/**
 * Instantiations one step may cost. Measured with TypeScript 6.0.3: 702 (each step its own
 * 5-column schema, task and bucket; a quarter of the steps two-source joins, half of them
 * partitioned; polars' typed `select`, `filter` and `join` in every body); 852 since the
 * unpartitioned buckets declare quality checks whose column names are type-checked (`notNull` and
 * a two-column `unique`, the join steps' buckets `between` and `rowCount` too). Issue 12 sets the
 * ceiling at 2,000; the budget keeps the room for honest growth smaller.
 */
const PER_STEP_BUDGET = 1_000;

/**
 * Instantiations a program that imports `mod.ts` and declares partition keys and one bucket may
 * cost: the library alone. Measured with TypeScript 6.0.3: 11,115; 12,208 with quality checks
 * (their builder, its implementation and the `checks` of a bucket's declaration); issue 12 sets the
 * ceiling at 15,000. A run mode's code where `deno check` follows it (a static import, or a lazy `import()`
 * outside `src/provider/modes.ts`) costs over 30,000 more.
 */
const LIBRARY_BUDGET = 13_000;

/** How far the cost per step may differ between the two halves: growth must stay linear. */
const LINEARITY_TOLERANCE = 0.1;

/**
 * Pipeline sizes. The generated steps repeat every four (a join, two partitioned buckets), so the
 * halves 4..52 and 52..100 hold the same steps; the first four carry the one-time cost of the
 * polars frame types the task bodies use.
 */
const SIZES = [0, 4, 52, 100] as const;

Deno.test("type cost: the library alone and each step stay within budget; growth is linear", async () => {
  const setup = setUpTsc();
  const work = await Deno.makeTempDir({ prefix: "glacier-type-budget-" });
  try {
    const stats: TscStats[] = [];
    for (const steps of SIZES) {
      const dir = join(work, `n${steps}`);
      await writePipeline(dir, steps, "type budget");
      const result = tscCheck(dir, setup);
      assert.equal(
        result.pipelineErrors,
        0,
        `type errors in the ${steps}-step pipeline:\n${result.messages.join("\n")}`,
      );
      stats.push(result);
    }
    const library = stats[0].instantiations;
    assert.ok(
      library <= LIBRARY_BUDGET,
      `the library alone costs ${library} instantiations (${stats[0].modules} modules checked); ` +
        `budget ${LIBRARY_BUDGET}`,
    );
    const perStep = [2, 3].map((i) =>
      (stats[i].instantiations - stats[i - 1].instantiations) / (SIZES[i] - SIZES[i - 1])
    );
    const [first, second] = perStep;
    const shown = perStep.map((n) => Math.round(n)).join(" and ");
    for (const n of perStep) {
      assert.ok(
        n <= PER_STEP_BUDGET,
        `${shown} instantiations per step (${SIZES.join(", ")} steps); budget ${PER_STEP_BUDGET}`,
      );
    }
    assert.ok(
      Math.abs(second - first) <= LINEARITY_TOLERANCE * first,
      `instantiations per step went from ${Math.round(first)} to ${Math.round(second)} ` +
        `between ${SIZES.slice(1).join(", ")} steps: growth is not linear`,
    );
  } finally {
    await Deno.remove(work, { recursive: true });
  }
});
