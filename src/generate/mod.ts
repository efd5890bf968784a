/**
 * Terraform generation (not built yet).
 *
 * @module
 */
import { UnsupportedError } from "../core/errors.ts";
import type { PipelineGraph } from "../core/graph.ts";
import type { GenerateReport, RunOptions } from "../core/reports.ts";

/**
 * Writes Terraform for a pipeline.
 *
 * @param _graph the pipeline.
 * @param _options `{ mode: "generate", outputDir }`.
 * @returns the files written.
 */
export function generateTerraform(
  _graph: PipelineGraph,
  _options: RunOptions,
): Promise<GenerateReport> {
  return Promise.reject(
    new UnsupportedError(
      "run mode 'generate' (Terraform generation) is not available in this version of Glacier; nothing was written",
    ),
  );
}
