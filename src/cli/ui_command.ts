/**
 * `glacier MODULE ui` and `glacier MODULE report`: the run UI served over the module's ledger, or
 * written as a static report. Loaded only when one of them runs.
 *
 * @module
 */
import type { PipelineGraph } from "../core/graph.ts";
import { columnLineage } from "../lineage/column_lineage.ts";
import { localStore } from "../ui/local_store.ts";
import { ModuleData, type PipelineInfo } from "../ui/module_data.ts";
import { buildPage } from "../ui/page.ts";
import { writeReport } from "../ui/report.ts";
import { serveUi } from "../ui/server.ts";
import type { CliIo } from "./main.ts";

/** What `ui` and `report` were asked. */
export interface UiRequest {
  /** `ui` or `report`. */
  readonly command: "ui" | "report";
  /** The module as given. */
  readonly module: string;
  /** The name its pipelines go by together. */
  readonly name: string;
  /** Its pipelines. */
  readonly pipelines: readonly PipelineInfo[];
  /** Every pipeline as one graph. */
  readonly graph: PipelineGraph;
  /** `ui`: the address to bind. */
  readonly hostname: string;
  /** `ui`: the port. */
  readonly port: number;
  /** `ui`: the token to ask for when bound beyond loopback. */
  readonly token?: string;
  /** `report`: the directory to write. */
  readonly out: string;
}

/**
 * Serves the run UI until the process is stopped, or writes the static report.
 *
 * @param request what was asked.
 * @param io where to write.
 * @returns the exit status.
 * @throws {GlacierError} when the port is in use or the ledger cannot be read.
 */
export async function uiCommand(request: UiRequest, io: CliIo): Promise<number> {
  const { graph, name } = request;
  const data = new ModuleData(
    { module: request.module, name, pipelines: request.pipelines, graph, columnLineage },
    localStore(graph),
  );
  if (request.command === "report") {
    const file = await writeReport(data, request.out);
    io.out(`wrote the run report of module '${name}' to ${file} (it opens from disk, no server)`);
    return 0;
  }
  const page = await buildPage(name);
  const server = serveUi(data, page, {
    hostname: request.hostname,
    port: request.port,
    ...(request.token === undefined ? {} : { token: request.token }),
  });
  io.out(`glacier ui of module '${name}': ${server.url}`);
  if (server.token !== undefined) {
    io.err(
      `bound to ${request.hostname}, reachable beyond this machine: every request needs the ` +
        "token in the address above",
    );
  }
  io.err("stop it with Ctrl-C");
  await server.finished;
  return 0;
}
