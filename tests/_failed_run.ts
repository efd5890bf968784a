/**
 * The report of a run that must fail.
 *
 * ```ts ignore
 * const report = await failedReport(pipeline.run({ mode: "cloud", quiet: true }));
 * ```
 *
 * @module
 */
import assert from "node:assert/strict";
import { GlacierError, type RunReport } from "../mod.ts";

/**
 * Awaits a run that must fail and gives its report.
 *
 * @param run the run.
 * @returns the report its GlacierError carries.
 * @throws {assert.AssertionError} when the run succeeds, or fails otherwise than with a
 * GlacierError carrying a report.
 */
export async function failedReport(run: Promise<unknown>): Promise<RunReport> {
  const error = await run.then(() => assert.fail("the run should fail"), (e: unknown) => e);
  assert.ok(error instanceof GlacierError, `${error}`);
  assert.ok(error.report, `${error.name} carries no run report: ${error.message}`);
  return error.report;
}
