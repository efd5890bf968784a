/**
 * The visualize target: draws a pipeline graph as Mermaid, Graphviz dot or plain text.
 *
 * @module
 */
import { UnsupportedError } from "../core/errors.ts";
import type { PipelineGraph } from "../core/graph.ts";
import type { VisualizeFormat } from "../core/reports.ts";
import { renderAscii } from "./ascii.ts";
import { renderDot } from "./dot.ts";
import { renderMermaid } from "./mermaid.ts";

/**
 * Draws a pipeline graph in one format; this is the `Renderer` behind `bucket.visualize()`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Provider, schema, t } from "@glacier/glacier";
 * import { renderGraph } from "./render.ts";
 * const provider = new Provider({ localRoot: await Deno.makeTempDir() });
 * const S = schema({ id: t.int64 });
 * const copy = provider.local().task({ name: "copy", input: S, output: S }, (df) => df);
 * const out = provider.bucket({ bucket: "demo", path: "a.parquet", schema: S })
 *   .transform(copy).to(provider.bucket({ bucket: "demo", path: "b.parquet", schema: S }));
 * assert.equal(renderGraph(out.graph(), "dot").startsWith('digraph "demo/b.parquet" {'), true);
 * ```
 *
 * @param graph the pipeline graph, from `bucket.graph()`.
 * @param format `mermaid` (a flowchart), `dot` (a Graphviz digraph) or `ascii` (terminal text).
 * @returns the drawing, ending with a newline; the same graph always gives the same text.
 * @throws {UnsupportedError} for any other format.
 */
export function renderGraph(graph: PipelineGraph, format: VisualizeFormat): string {
  switch (format) {
    case "mermaid":
      return renderMermaid(graph);
    case "dot":
      return renderDot(graph);
    case "ascii":
      return renderAscii(graph);
    default:
      throw new UnsupportedError(
        `visualize format ${JSON.stringify(format)} is not known; use "mermaid", "dot" or "ascii"`,
      );
  }
}
