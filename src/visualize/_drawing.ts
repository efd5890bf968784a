/**
 * What every rendering draws: the nodes of a pipeline graph with stable identifiers, in
 * topological order, and the edges between them.
 *
 * @module
 */
import type { PipelineGraph } from "../core/graph.ts";
import type { BucketRef, Step } from "../core/lineage.ts";
import { keySummaries, mappingSummary } from "../core/partition_map.ts";

/** A bucket as a node of the drawing. */
export interface BucketNode {
  /** `bucket`. */
  readonly kind: "bucket";
  /** A valid identifier, derived from the bucket's location. */
  readonly id: string;
  /** The bucket. */
  readonly ref: BucketRef;
  /** The names of the tasks that read the bucket, in step order, each once. */
  readonly readers: readonly string[];
  /** The name of the task that writes the bucket; undefined for a source. */
  readonly writer?: string;
  /** Its partition keys, each as `date: daily from 2026-01-01`; empty when unpartitioned. */
  readonly keys: readonly string[];
}

/** A step as a node of the drawing: the task, where it runs and what it reads and writes. */
export interface TaskNode {
  /** `task`. */
  readonly kind: "task";
  /** A valid identifier, derived from the task's name. */
  readonly id: string;
  /** The step. */
  readonly step: Step;
  /** The wave of the graph the step belongs to, from 0. */
  readonly level: number;
}

/** An edge of the drawing: bucket to task, or task to bucket. */
export interface Edge {
  /** The id of the node it starts at. */
  readonly from: string;
  /** The id of the node it ends at. */
  readonly to: string;
  /** The input name, on the edges into a multi-source task. */
  readonly label?: string;
  /**
   * How the task reads the input's partitions, when it is not the same partition:
   * `all partitions`, `lookback 6 days`, `read whole`.
   */
  readonly mapping?: string;
}

/** The nodes and edges of a pipeline graph, as every rendering draws them. */
export interface DrawPlan {
  /** Every node, sources first, then each level's tasks each followed by its target bucket. */
  readonly nodes: readonly (BucketNode | TaskNode)[];
  /** The bucket nodes, in node order. */
  readonly buckets: readonly BucketNode[];
  /** The task nodes, by level. */
  readonly levels: readonly (readonly TaskNode[])[];
  /** Every edge, step by step: the inputs of a task, then its output. */
  readonly edges: readonly Edge[];
}

/**
 * Lays out a pipeline graph for drawing. Node identifiers are the location or task name with
 * everything but ASCII letters, digits and `_` replaced by `_`, prefixed with `b_` (bucket) or
 * `t_` (task), and numbered `_2`, `_3`, ... when two would collide (a task used in two steps).
 *
 * @param graph the pipeline graph.
 * @returns the nodes and edges, in a deterministic order.
 */
export function drawPlan(graph: PipelineGraph): DrawPlan {
  const used = new Set<string>();
  const fresh = (prefix: string, name: string): string => {
    const base = prefix + name.replace(/[^A-Za-z0-9_]+/g, "_");
    let id = base;
    for (let n = 2; used.has(id); n++) id = `${base}_${n}`;
    used.add(id);
    return id;
  };

  const readers = new Map<string, string[]>();
  const writer = new Map<string, string>();
  for (const step of graph.steps) {
    for (const ref of Object.values(step.sources)) {
      const names = readers.get(ref.location) ?? [];
      if (!names.includes(step.task.name)) names.push(step.task.name);
      readers.set(ref.location, names);
    }
    writer.set(step.target.location, step.task.name);
  }

  const nodes: (BucketNode | TaskNode)[] = [];
  const buckets: BucketNode[] = [];
  const bucketIds = new Map<string, string>();
  const addBucket = (ref: BucketRef): void => {
    if (bucketIds.has(ref.location)) return;
    const node: BucketNode = {
      kind: "bucket",
      id: fresh("b_", ref.location),
      ref,
      readers: readers.get(ref.location) ?? [],
      writer: writer.get(ref.location),
      keys: keySummaries(ref),
    };
    bucketIds.set(ref.location, node.id);
    nodes.push(node);
    buckets.push(node);
  };

  for (const ref of graph.sources) addBucket(ref);
  const levels: TaskNode[][] = [];
  const edges: Edge[] = [];
  graph.levels.forEach((steps, level) => {
    const row: TaskNode[] = [];
    for (const step of steps) {
      for (const ref of Object.values(step.sources)) addBucket(ref);
      const task: TaskNode = { kind: "task", id: fresh("t_", step.task.name), step, level };
      nodes.push(task);
      row.push(task);
      addBucket(step.target);
      for (const [input, ref] of Object.entries(step.sources)) {
        const from = bucketIds.get(ref.location)!;
        const mapping = mappingSummary(step, input);
        edges.push({
          from,
          to: task.id,
          ...(step.task.kind === "multi" ? { label: input } : {}),
          ...(mapping === undefined ? {} : { mapping }),
        });
      }
      edges.push({ from: task.id, to: bucketIds.get(step.target.location)! });
    }
    levels.push(row);
  });
  return { nodes, buckets, levels, edges };
}

/**
 * What an edge says: the input name, how the partitions are read, or both (`sites: read whole`).
 *
 * @param edge the edge.
 * @returns the text, or undefined for an edge that says nothing.
 */
export function edgeText(edge: Edge): string | undefined {
  const words = [edge.label, edge.mapping].filter((w) => w !== undefined);
  return words.length === 0 ? undefined : words.join(": ");
}

/**
 * The title of a drawing: the pipeline's name, and its description when it has one.
 *
 * @param graph the pipeline graph.
 * @returns `name` or `name - description`.
 */
export function titleOf(graph: PipelineGraph): string {
  return graph.description ? `${graph.name} - ${graph.description}` : graph.name;
}

/** Fill and stroke colours of bucket nodes and of task nodes by resource kind. */
const PALETTE: Readonly<Record<string, { readonly fill: string; readonly stroke: string }>> = {
  bucket: { fill: "#eceff1", stroke: "#546e7a" },
  local: { fill: "#e8f5e9", stroke: "#2e7d32" },
  serverless: { fill: "#fff3e0", stroke: "#ef6c00" },
  spark: { fill: "#e3f2fd", stroke: "#1565c0" },
};

/**
 * The colours of a node class, with a neutral fallback for an unknown resource kind.
 *
 * @param name `bucket` or a resource kind.
 * @returns its fill and stroke colours.
 */
export function colours(name: string): { readonly fill: string; readonly stroke: string } {
  return PALETTE[name] ?? { fill: "#f5f5f5", stroke: "#757575" };
}
