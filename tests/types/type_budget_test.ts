/**
 * The type-cost budget: how many type instantiations each step of a generated pipeline costs,
 * as `tsc --extendedDiagnostics` counts them (the pipeline of `bench/_gen_pipeline.ts`, the one
 * `deno task bench:types` times). Counts are deterministic for one TypeScript version, so this
 * fails as soon as a change makes the wiring checks dearer, however loaded the machine.
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
 * Instantiations one step may cost. Measured with TypeScript 6.0.3: 1,070 (each step its own
 * 5-column schema, task and bucket; a quarter of the steps two-source joins; polars' typed `select`
 * and `join` in every body). Issue 12 sets the ceiling at 2,000; the budget keeps the room for
 * honest growth smaller.
 */
const PER_STEP_BUDGET = 1_500;

/** How far the cost per step may differ between the two halves: growth must stay linear. */
const LINEARITY_TOLERANCE = 0.1;

const SIZES = [0, 50, 100] as const;

Deno.test("type cost: instantiations per step stay within budget and grow linearly", async () => {
  const setup = setUpTsc();
  const work = await Deno.makeTempDir({ prefix: "glacier-type-budget-" });
  try {
    const stats: TscStats[] = [];
    for (const steps of SIZES) {
      const dir = join(work, `n${steps}`);
      await writePipeline(dir, steps, "type budget");
      const result = tscCheck(dir, setup);
      assert.equal(result.pipelineErrors, 0, `tsc found errors in the ${steps}-step pipeline`);
      stats.push(result);
    }
    const perStep = SIZES.slice(1).map((steps, i) =>
      (stats[i + 1].instantiations - stats[i].instantiations) / (steps - SIZES[i])
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
        `between ${SIZES.join(", ")} steps: growth is not linear`,
    );
  } finally {
    await Deno.remove(work, { recursive: true });
  }
});
