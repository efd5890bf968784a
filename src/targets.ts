/**
 * Installs the targets into the builder's registry. Run modes and storage load on first use, so
 * importing Glacier loads no heavy dependency; the renderer is small and synchronous.
 *
 * @module
 */
import { UnsupportedError } from "./core/errors.ts";
import { installTargets, type ModeHandler } from "./core/targets.ts";
import { renderGraph } from "./visualize/render.ts";

function notBuilt(what: string, meanwhile: string): () => Promise<never> {
  return () =>
    Promise.reject(
      new UnsupportedError(`${what} is not available in this version of Glacier; ${meanwhile}`),
    );
}

installTargets({
  modes: {
    local: async (): Promise<ModeHandler> => (await import("./run/local.ts")).runLocal,
    check: async (): Promise<ModeHandler> => (await import("./run/check.ts")).checkGraph,
    cloud: async (): Promise<ModeHandler> => (await import("./run/cloud.ts")).runCloud,
    generate: notBuilt(
      "run mode 'generate' (Terraform generation)",
      "nothing was written",
    ),
    analyze: notBuilt(
      "run mode 'analyze' (cost estimation)",
      "no estimate can be made yet",
    ),
  },
  storage: {
    local: async () => (await import("./storage/local_io.ts")).localIo,
    cloud: async () => (await import("./storage/cloud_io.ts")).cloudIo,
  },
  renderer: renderGraph,
});
