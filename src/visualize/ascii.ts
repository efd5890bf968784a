/**
 * Plain-text rendering of a pipeline graph, for a terminal.
 *
 * @module
 */
import type { PipelineGraph } from "../core/graph.ts";
import type { Step } from "../core/lineage.ts";
import { type BucketNode, drawPlan, titleOf } from "./_plan.ts";

/** Lines longer than this are wrapped before the task arrow. */
const WIDTH = 100;
const INDENT = "  ";
const CONTINUATION = "      ";

const LEGEND = [
  ["[bucket/path]", "a bucket"],
  ["name=[bucket/path]", "a named input of a multi-source task"],
  ["[a] + [b] --(task @ resource)--> [c]", "task reads a and b on resource, writes c"],
  ["=> task, ...", "the tasks that read the bucket next"],
  ["(output)", "a bucket no task reads: a result of the pipeline"],
];

/**
 * Makes text safe to print on a terminal: control characters become escapes such as `\n` or
 * `\u001b`.
 *
 * @param text the text.
 * @returns the printable text.
 */
function printable(text: string): string {
  // deno-lint-ignore no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (ch) => {
    const named = JSON.stringify(ch).slice(1, -1);
    return named.startsWith("\\") ? named : `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`;
  });
}

function box(location: string): string {
  return `[${printable(location)}]`;
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? "" : "s"}`;
}

/** Where a bucket goes next: the tasks that read it, or `(output)`. */
function next(node: BucketNode): string {
  return node.readers.length > 0 ? `=> ${node.readers.map(printable).join(", ")}` : "(output)";
}

/** The inputs of a step: `[a]`, or `name=[a] + name=[b]` for a multi-source task. */
function inputs(step: Step): string[] {
  return Object.entries(step.sources).map(([name, ref]) =>
    step.task.kind === "multi" ? `${printable(name)}=${box(ref.location)}` : box(ref.location)
  );
}

/**
 * Draws a pipeline as text: a title, the source buckets and the tasks that read them, one
 * section per level with one line per step (`[in] --(task @ resource)--> [out]`, arrows aligned
 * within a level, and where the output goes next), the outputs, and a legend. Steps too long for
 * 100 columns wrap before the arrow. Only control characters are escaped.
 *
 * @example
 * ```ts
 * import { Provider, schema, t } from "../../mod.ts";
 * import { renderAscii } from "./ascii.ts";
 * const provider = new Provider({ localRoot: await Deno.makeTempDir() });
 * const S = schema({ id: t.int64 });
 * const copy = provider.local().task({ name: "copy", input: S, output: S }, (df) => df);
 * const out = provider.bucket({ bucket: "demo", path: "a.parquet", schema: S })
 *   .transform(copy).to(provider.bucket({ bucket: "demo", path: "b.parquet", schema: S }));
 * const text = renderAscii(out.graph());
 * console.log(text.includes("[demo/a.parquet] --(copy @ local)--> [demo/b.parquet]")); // true
 * ```
 *
 * @param graph the pipeline graph.
 * @returns the text, ending with a newline.
 */
export function renderAscii(graph: PipelineGraph): string {
  const plan = drawPlan(graph);
  const byLocation = new Map(plan.buckets.map((node) => [node.ref.location, node]));
  const lines = [`Pipeline ${printable(titleOf(graph))}`];
  if (graph.steps.length === 0) {
    lines.push("", "(no steps: this bucket has no lineage)");
    return lines.join("\n") + "\n";
  }
  lines.push(
    `${plural(plan.buckets.length, "bucket")} (${graph.sources.length} in, ` +
      `${graph.sinks.length} out), ${plural(graph.steps.length, "step")} in ` +
      plural(plan.levels.length, "level"),
  );

  lines.push("", "Sources");
  const sources = graph.sources.map((ref) => box(ref.location));
  const sourceWidth = Math.max(...sources.map((s) => s.length));
  graph.sources.forEach((ref, i) => {
    lines.push(
      `${INDENT}${sources[i].padEnd(sourceWidth)}  ${next(byLocation.get(ref.location)!)}`,
    );
  });

  plan.levels.forEach((tasks, level) => {
    lines.push("", `Level ${level + 1} (${plural(tasks.length, "step")})`);
    const rows = tasks.map(({ step }) => {
      const target = byLocation.get(step.target.location)!;
      return {
        left: inputs(step),
        right: `--(${printable(step.task.name)} @ ${printable(step.task.resource.label)})--> ` +
          `${box(step.target.location)}  ${next(target)}`,
      };
    });
    const fits = (left: string, right: string) => INDENT.length + left.length + 1 + right.length;
    const single = rows.filter(({ left, right }) => fits(left.join(" + "), right) <= WIDTH);
    const leftWidth = Math.max(0, ...single.map(({ left }) => left.join(" + ").length));
    const aligned = single.every(({ right }) => fits(" ".repeat(leftWidth), right) <= WIDTH);
    for (const { left, right } of rows) {
      const joined = left.join(" + ");
      if (fits(joined, right) <= WIDTH) {
        lines.push(`${INDENT}${aligned ? joined.padEnd(leftWidth) : joined} ${right}`);
      } else if (INDENT.length + joined.length <= WIDTH) {
        lines.push(`${INDENT}${joined}`, `${CONTINUATION}${right}`);
      } else {
        lines.push(...left.map((input, i) => `${INDENT}${i === 0 ? "" : "+ "}${input}`));
        lines.push(`${CONTINUATION}${right}`);
      }
    }
  });

  lines.push("", "Outputs");
  const sinks = graph.sinks.map((ref) => box(ref.location));
  const sinkWidth = Math.max(...sinks.map((s) => s.length));
  graph.sinks.forEach((ref, i) => {
    const writer = byLocation.get(ref.location)!.writer;
    lines.push(`${INDENT}${sinks[i].padEnd(sinkWidth)}  <= ${printable(writer ?? "")}`);
  });

  lines.push("", "Legend");
  const legendWidth = Math.max(...LEGEND.map(([sign]) => sign.length));
  for (const [sign, meaning] of LEGEND) {
    lines.push(`${INDENT}${sign.padEnd(legendWidth)}  ${meaning}`);
  }
  return lines.join("\n") + "\n";
}
