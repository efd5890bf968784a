/**
 * Mermaid flowchart rendering of a pipeline graph.
 *
 * @module
 */
import type { PipelineGraph } from "../core/graph.ts";
import { colours, drawPlan, edgeText, titleOf } from "./_drawing.ts";

const ENTITIES: Readonly<Record<string, string>> = {
  '"': "#quot;",
  "#": "#35;",
  "&": "#amp;",
  "<": "#lt;",
  ">": "#gt;",
  "(": "#40;",
  ")": "#41;",
  "[": "#91;",
  "]": "#93;",
  "{": "#123;",
  "}": "#125;",
  "|": "#124;",
  "`": "#96;",
};

const KIND_ORDER = ["bucket", "local", "serverless", "spark"];

/**
 * Escapes text for a quoted Mermaid label: characters Mermaid gives a meaning become entity
 * codes and control characters become spaces.
 *
 * @param text the text.
 * @returns the escaped text, without quotes.
 */
function escapeLabel(text: string): string {
  return text
    .replace(/["#&<>()[\]{}|`]/g, (ch) => ENTITIES[ch])
    // deno-lint-ignore no-control-regex
    .replace(/[\u0000-\u001f\u007f-\u009f]/g, " ");
}

/**
 * Draws a pipeline as a Mermaid flowchart, left to right: buckets are cylinders, tasks are
 * stadium shapes with their resource on a second line, coloured by resource kind, and the
 * edges into a multi-source task carry the input name. A partitioned bucket lists its keys under its
 * location, and an edge says how the task reads the partitions when it is not the same partition
 * (`all partitions`, `lookback 6 days`, `read whole`). The pipeline's name is the title.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Provider, schema, t } from "@glacier/glacier";
 * import { renderMermaid } from "./mermaid.ts";
 * const provider = new Provider({ localRoot: await Deno.makeTempDir() });
 * const S = schema({ id: t.int64 });
 * const copy = provider.local().task({ name: "copy", input: S, output: S }, (df) => df);
 * const out = provider.bucket({ bucket: "demo", path: "a.parquet", schema: S })
 *   .transform(copy).to(provider.bucket({ bucket: "demo", path: "b.parquet", schema: S }));
 * assert.equal(renderMermaid(out.graph()).includes('b_demo_a_parquet[("demo/a.parquet")]'), true);
 * ```
 *
 * @param graph the pipeline graph.
 * @returns Mermaid source, ending with a newline.
 */
export function renderMermaid(graph: PipelineGraph): string {
  const plan = drawPlan(graph);
  const lines = ["---", `title: ${JSON.stringify(titleOf(graph))}`, "---", "flowchart LR"];
  const classes = new Map<string, string[]>([["bucket", []]]);
  for (const node of plan.nodes) {
    if (node.kind === "bucket") {
      const label = [node.ref.location, ...node.keys].map(escapeLabel).join("<br/>");
      lines.push(`  ${node.id}[("${label}")]`);
      classes.get("bucket")!.push(node.id);
    } else {
      const { name, resource } = node.step.task;
      lines.push(`  ${node.id}(["${escapeLabel(name)}<br/>${escapeLabel(resource.label)}"])`);
      const kind = className(resource.kind);
      classes.set(kind, [...(classes.get(kind) ?? []), node.id]);
    }
  }
  for (const edge of plan.edges) {
    const words = edgeText(edge);
    const text = words === undefined ? "" : `|"${escapeLabel(words)}"|`;
    lines.push(`  ${edge.from} -->${text} ${edge.to}`);
  }
  const rank = (name: string) => {
    const known = KIND_ORDER.indexOf(name);
    return known < 0 ? KIND_ORDER.length : known;
  };
  const names = [...classes.keys()].sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : 1));
  for (const name of names) {
    const ids = classes.get(name)!;
    if (ids.length === 0) continue;
    const { fill, stroke } = colours(name);
    lines.push(`  classDef ${name} fill:${fill},stroke:${stroke},color:#212121`);
    lines.push(`  class ${ids.join(",")} ${name}`);
  }
  return lines.join("\n") + "\n";
}

/**
 * A Mermaid class name for a resource kind.
 *
 * @param kind the kind.
 * @returns the kind with anything but letters, digits, `_` and `-` replaced by `_`.
 */
function className(kind: string): string {
  return kind.replace(/[^A-Za-z0-9_-]/g, "_");
}
