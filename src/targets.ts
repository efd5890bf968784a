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
    check: async (): Promise<ModeHandler> => (await import("./engine/check.ts")).checkGraph,
    cloud: async (): Promise<ModeHandler> => (await import("./engine/cloud.ts")).runCloud,
    generate: async (): Promise<ModeHandler> =>
      (await import("./generate/mod.ts")).generateTerraform,
    analyze: async (): Promise<ModeHandler> => (await import("./analyze/mod.ts")).analyzePipeline,
  },
  storage: {
    local: async () => (await import("./io/local_io.ts")).localIo,
    cloud: async () => (await import("./io/cloud_io.ts")).cloudIo,
  },
  renderer: renderGraph,
  executors: {
    serverless: async () => (await import("./backends/lambda/invoke.ts")).lambdaExecutor,
    spark: async () => (await import("./backends/spark/executor.ts")).sparkExecutor,
  },
  artifacts: {
    serverless: async () =>
      (await import("./backends/lambda/artifact_builder.ts")).lambdaArtifactBuilder,
    spark: async () => (await import("./backends/spark/artifact_builder.ts")).sparkArtifactBuilder,
  },
  checks: {
    spark: async () => (await import("./backends/spark/check.ts")).sparkCheck,
  },
});
