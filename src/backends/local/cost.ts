/**
 * What a local task costs: polars in the process that starts the run, which AWS does not bill.
 *
 * @module
 */
import type { BackendCost } from "../../core/cost.ts";

/** In-process work: no start-up, no compute charge. */
export const localCost: BackendCost = {
  startupSeconds: (figures) => figures.settings.startupSeconds.local,
  computeMBps: (_step, figures) => figures.settings.localMBps,
  computeUsd: () => 0,
  warnings: () => [],
  notes: () => ["local tasks run in the process that starts the run: no compute charge"],
};
