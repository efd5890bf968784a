/**
 * The table of modes the provider hands to every bucket it makes: each mode a plain function over
 * the graph, loaded on first use, so importing Glacier loads no heavy dependency (cdktf, the AWS
 * SDK, the engine) until a mode needs it. The drawing is small and synchronous.
 *
 * @module
 */
import type { Modes } from "../core/modes.ts";
import type { RunObserver } from "../core/observer.ts";
import { renderGraph } from "../visualize/render.ts";

async function backends() {
  return (await import("../backends/mod.ts")).BACKENDS;
}

/** Who watches a run: OpenLineage, when its environment variables configure a transport. */
async function observers(): Promise<readonly RunObserver[]> {
  // Without OpenLineage settings the observer (and the column lineage it reads) is not loaded.
  const { lineageSettings } = await import("../lineage/transport.ts");
  try {
    if (lineageSettings() === undefined) return [];
  } catch {
    // Settings that are wrong: the observer's loader says what is wrong, as a warning.
  }
  return (await import("../lineage/observer.ts")).lineageObservers();
}

/** Glacier's modes. */
export const MODES: Modes = Object.freeze(
  {
    local: async (graph, options) =>
      (await import("../engine/local.ts")).runLocal(graph, options, await observers()),
    cloud: async (graph, options) =>
      (await import("../engine/cloud.ts")).runCloud(
        graph,
        options,
        await backends(),
        await observers(),
      ),
    check: async (graph, options) =>
      (await import("../engine/check.ts")).checkGraph(graph, options, await backends()),
    generate: async (graph, options) =>
      (await import("../generate/mod.ts")).generateTerraform(graph, options),
    analyze: async (graph, options) =>
      (await import("../analyze/mod.ts")).analyzePipeline(graph, options),
    plan: async (graph, options) =>
      (await import("../analyze/plan_cost.ts")).planWithCost(graph, options),
    io: async (mode) =>
      mode === "local"
        ? (await import("../io/local_io.ts")).localIo
        : (await import("../io/cloud_io.ts")).cloudIo,
    render: renderGraph,
  } satisfies Modes,
);
