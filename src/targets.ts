/**
 * Installs the targets into the builder's registry. Run modes and storage load on first use, so
 * importing Glacier loads no heavy dependency; the renderer is small and synchronous.
 *
 * @module
 */
import { installTargets, type ModeHandler } from "./core/targets.ts";
import { renderGraph } from "./visualize/render.ts";

installTargets({
  modes: {
    local: async (): Promise<ModeHandler> => (await import("./engine/local.ts")).runLocal,
    check: async (): Promise<ModeHandler> => {
      const [{ checkGraph }, { BACKENDS }] = await Promise.all([
        import("./engine/check.ts"),
        import("./backends/mod.ts"),
      ]);
      return (graph, options) => checkGraph(graph, options, BACKENDS);
    },
    cloud: async (): Promise<ModeHandler> => {
      const [{ runCloud }, { BACKENDS }] = await Promise.all([
        import("./engine/cloud.ts"),
        import("./backends/mod.ts"),
      ]);
      return (graph, options) => runCloud(graph, options, BACKENDS);
    },
    generate: async (): Promise<ModeHandler> =>
      (await import("./generate/mod.ts")).generateTerraform,
    analyze: async (): Promise<ModeHandler> => (await import("./analyze/mod.ts")).analyzePipeline,
  },
  storage: {
    local: async () => (await import("./io/local_io.ts")).localIo,
    cloud: async () => (await import("./io/cloud_io.ts")).cloudIo,
  },
  renderer: renderGraph,
});
