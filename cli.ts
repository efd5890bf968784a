/**
 * The `glacier` command.
 *
 * ```sh
 * deno run -A jsr:@glacier/glacier/cli pipelines.ts run
 * deno task glacier examples/complete.ts visualize --format ascii
 * ```
 *
 * It imports MODULE, finds every exported pipeline (a bucket with lineage) and runs COMMAND on
 * each: `run`, `check`, `generate`, `analyze` or `visualize`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { main } from "@glacier/glacier/cli";
 * const status = await main(["--help"], { out: () => {}, err: () => {} });
 * assert.equal(status, 0);
 * ```
 *
 * @module
 */

import { main } from "./src/cli/main.ts";

export { type CliIo, COMMANDS, main, USAGE } from "./src/cli/main.ts";
export { discoverPipelines, type FoundPipeline, isPipeline } from "./src/core/discover.ts";

if (import.meta.main) {
  // No top-level await: a pipeline module that imports this file must not wait on it.
  main(Deno.args).then((status) => Deno.exit(status));
}
