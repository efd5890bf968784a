/**
 * Graphviz dot rendering of a pipeline graph.
 *
 * @module
 */
import type { PipelineGraph } from "../core/graph.ts";
import { colours, drawPlan, edgeText, titleOf } from "./_drawing.ts";

const ESCAPES: Readonly<Record<string, string>> = {
  "\\": "\\\\",
  '"': '\\"',
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  "\n": "\\n",
};

/**
 * Quotes text as a dot string: backslashes and quotes are escaped, `&`, `<` and `>` become the
 * entities Graphviz decodes in labels, a line break becomes `\n` and other control characters
 * become spaces.
 *
 * @param text the text.
 * @returns the quoted string.
 */
function quote(text: string): string {
  const escaped = text
    .replace(/\r\n?/g, "\n")
    .replace(/[\\"&<>\n]/g, (ch) => ESCAPES[ch])
    // deno-lint-ignore no-control-regex
    .replace(/[\u0000-\u001f\u007f-\u009f]/g, " ");
  return `"${escaped}"`;
}

/**
 * Draws a pipeline as a Graphviz digraph, left to right: buckets are cylinders, tasks are rounded
 * boxes with their resource on a second line, filled by resource kind, and the edges into a
 * multi-source task carry the input name. A partitioned bucket lists its keys under its location,
 * and an edge says how the task reads the partitions when it is not the same partition. The
 * pipeline's name is the graph's label.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Provider, schema, t } from "@glacier/glacier";
 * import { renderDot } from "./dot.ts";
 * const provider = new Provider({ localRoot: await Deno.makeTempDir() });
 * const S = schema({ id: t.int64 });
 * const copy = provider.local().task({ name: "copy", input: S, output: S }, (df) => df);
 * const out = provider.bucket({ bucket: "demo", path: "a.parquet", schema: S })
 *   .transform(copy).to(provider.bucket({ bucket: "demo", path: "b.parquet", schema: S }));
 * assert.equal(renderDot(out.graph()).includes("b_demo_a_parquet -> t_copy;"), true);
 * ```
 *
 * @param graph the pipeline graph.
 * @returns dot source, ending with a newline.
 */
export function renderDot(graph: PipelineGraph): string {
  const plan = drawPlan(graph);
  const lines = [
    `digraph ${quote(graph.name)} {`,
    `  label=${quote(titleOf(graph))};`,
    "  labelloc=t;",
    "  rankdir=LR;",
    '  fontname="Helvetica";',
    '  node [fontname="Helvetica"];',
    '  edge [fontname="Helvetica", fontsize=10];',
  ];
  for (const node of plan.nodes) {
    if (node.kind === "bucket") {
      const { fill, stroke } = colours("bucket");
      lines.push(
        `  ${node.id} [label=${
          quote([node.ref.location, ...node.keys].join("\n"))
        }, shape=cylinder, style=filled, ` +
          `fillcolor="${fill}", color="${stroke}"];`,
      );
    } else {
      const { name, resource } = node.step.task;
      const { fill, stroke } = colours(resource.kind);
      lines.push(
        `  ${node.id} [label=${quote(`${name}\n${resource.label}`)}, shape=box, ` +
          `style="rounded,filled", fillcolor="${fill}", color="${stroke}"];`,
      );
    }
  }
  for (const edge of plan.edges) {
    const words = edgeText(edge);
    const attrs = words === undefined ? "" : ` [label=${quote(words)}]`;
    lines.push(`  ${edge.from} -> ${edge.to}${attrs};`);
  }
  lines.push("}");
  return lines.join("\n") + "\n";
}
