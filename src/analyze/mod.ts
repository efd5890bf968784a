/**
 * Cost analysis (not built yet).
 *
 * @module
 */
import { UnsupportedError } from "../core/errors.ts";
import type { PipelineGraph } from "../core/graph.ts";
import type { Analysis, RunOptions } from "../core/reports.ts";

/**
 * Estimates a pipeline's cost.
 *
 * @param _graph the pipeline.
 * @param _options `{ mode: "analyze" }`.
 * @returns the analysis.
 */
export function analyzePipeline(_graph: PipelineGraph, _options: RunOptions): Promise<Analysis> {
  return Promise.reject(
    new UnsupportedError(
      "run mode 'analyze' (cost estimation) is not available in this version of Glacier; no estimate can be made yet",
    ),
  );
}
