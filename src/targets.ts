/**
 * Installs the targets into the builder's registry. Each target loads on first use, so importing
 * Glacier loads no target's dependencies.
 *
 * @module
 */
import { UnsupportedError } from "./core/errors.ts";
import { installTargets, type ModeHandler } from "./core/targets.ts";

function notBuilt(what: string): () => Promise<never> {
  return () =>
    Promise.reject(
      new UnsupportedError(
        `${what} is not available in this version of Glacier; use { mode: "local" }`,
      ),
    );
}

installTargets({
  modes: {
    local: async (): Promise<ModeHandler> => (await import("./run/local.ts")).runLocal,
    check: async (): Promise<ModeHandler> => (await import("./run/check.ts")).checkGraph,
    cloud: notBuilt("run mode 'cloud' (S3 storage, Lambda and Spark execution)"),
    generate: notBuilt("run mode 'generate' (Terraform generation)"),
    analyze: notBuilt("run mode 'analyze' (cost estimation)"),
  },
  storage: {
    local: async () => (await import("./storage/local_io.ts")).localIo,
    cloud: notBuilt("cloud storage (S3)"),
  },
});
