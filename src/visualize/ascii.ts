/**
 * Plain-text rendering of a pipeline graph, for a terminal.
 *
 * @module
 */
import type { PipelineGraph } from "../core/graph.ts";
import type { Step } from "../core/lineage.ts";
import { mappingSummary } from "../core/partition_map.ts";
import { type BucketNode, drawPlan, titleOf } from "./_drawing.ts";

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

const PARTITION_LEGEND = [
  ["[a] (all partitions)", "every partition of a, as one frame"],
  ["[a] (lookback 6 days)", "each partition with the 6 before it"],
  ["[a] (read whole)", "an unpartitioned a, read whole for each partition"],
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

/**
 * The inputs of a step: `[a]`, or `name=[a] + name=[b]` for a multi-source task, each followed by
 * how its partitions are read when it is not the same partition (`[a] (lookback 6 days)`).
 */
function inputs(step: Step): string[] {
  return Object.entries(step.sources).map(([name, ref]) => {
    const mapping = mappingSummary(step, name);
    return (step.task.kind === "multi"
      ? `${printable(name)}=${box(ref.location)}`
      : box(ref.location)) +
      (mapping === undefined ? "" : ` (${mapping})`);
  });
}

/**
 * Lays out one step over as few lines of at most {@link WIDTH} columns as it can: the inputs
 * (joined by ` + `), then the task arrow and the target, then where the target goes next, each
 * piece moving to an indented continuation line when the current line is full.
 *
 * @param inputs the step's inputs.
 * @param rest the arrow with the target, and the tail.
 * @returns the lines.
 */
function wrap(inputs: readonly string[], rest: readonly string[]): string[] {
  const lines = [INDENT + inputs[0]];
  const add = (piece: string, separator: string, indent: string) => {
    const last = lines[lines.length - 1];
    if (last.length + separator.length + piece.length <= WIDTH) {
      lines[lines.length - 1] = last + separator + piece;
    } else lines.push(indent + piece.trimStart());
  };
  for (const input of inputs.slice(1)) add(`+ ${input}`, " ", INDENT);
  for (const piece of rest) add(piece, " ", CONTINUATION);
  return lines;
}

/**
 * Draws a pipeline as text: a title, the source buckets and the tasks that read them, one
 * section per level with one line per step (`[in] --(task @ resource)--> [out]`, arrows aligned
 * within a level, and where the output goes next), the outputs, and a legend. Steps too long for
 * 100 columns wrap onto indented lines. A partitioned pipeline adds how each input's partitions
 * are read (when it is not the same partition) and a section of the partitioned buckets with
 * their keys. Only control characters are escaped.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Provider, schema, t } from "@glacier/glacier";
 * import { renderAscii } from "./ascii.ts";
 * const provider = new Provider({ localRoot: await Deno.makeTempDir() });
 * const S = schema({ id: t.int64 });
 * const copy = provider.local().task({ name: "copy", input: S, output: S }, (df) => df);
 * const out = provider.bucket({ bucket: "demo", path: "a.parquet", schema: S })
 *   .transform(copy).to(provider.bucket({ bucket: "demo", path: "b.parquet", schema: S }));
 * const text = renderAscii(out.graph());
 * assert.equal(text.includes("[demo/a.parquet] --(copy @ local)--> [demo/b.parquet]"), true);
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
      const parts = inputs(step);
      return {
        parts,
        left: parts.join(" + "),
        arrow: `--(${printable(step.task.name)} @ ${printable(step.task.resource.label)})--> ` +
          box(step.target.location),
        tail: next(byLocation.get(step.target.location)!),
      };
    });
    const fits = (left: string, arrow: string) =>
      INDENT.length + left.length + 1 + arrow.length <= WIDTH;
    const single = rows.filter(({ left, arrow }) => fits(left, arrow));
    const leftWidth = Math.max(0, ...single.map(({ left }) => left.length));
    const aligned = single.every(({ arrow }) => fits(" ".repeat(leftWidth), arrow));
    for (const { parts, left, arrow, tail } of rows) {
      const pad = aligned && fits(left, arrow) ? " ".repeat(leftWidth - left.length) : "";
      lines.push(
        ...wrap([...parts.slice(0, -1), parts[parts.length - 1] + pad], [arrow, ` ${tail}`]),
      );
    }
  });

  lines.push("", "Outputs");
  const sinks = graph.sinks.map((ref) => box(ref.location));
  const sinkWidth = Math.max(...sinks.map((s) => s.length));
  graph.sinks.forEach((ref, i) => {
    const writer = byLocation.get(ref.location)!.writer;
    lines.push(`${INDENT}${sinks[i].padEnd(sinkWidth)}  <= ${printable(writer ?? "")}`);
  });

  const partitioned = plan.buckets.filter((node) => node.keys.length > 0);
  if (partitioned.length > 0) {
    lines.push("", "Partitions");
    const boxes = partitioned.map((node) => box(node.ref.location));
    const width = Math.max(...boxes.map((b) => b.length));
    partitioned.forEach((node, i) => {
      lines.push(`${INDENT}${boxes[i].padEnd(width)}  ${node.keys.map(printable).join(", ")}`);
    });
  }

  lines.push("", "Legend");
  const legend = partitioned.length > 0 ? [...LEGEND, ...PARTITION_LEGEND] : LEGEND;
  const legendWidth = Math.max(...legend.map(([sign]) => sign.length));
  for (const [sign, meaning] of legend) {
    lines.push(`${INDENT}${sign.padEnd(legendWidth)}  ${meaning}`);
  }
  return lines.join("\n") + "\n";
}
