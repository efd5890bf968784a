/**
 * The DAG built from lineage: what every target consumes.
 *
 * @module
 */
import { describeSchema } from "../schema/schema.ts";
import { sameSchema } from "../schema/compare.ts";
import { WiringError } from "./errors.ts";
import type { BucketRef, Lineage, Step } from "./lineage.ts";

/** A pipeline as targets see it: its buckets and steps in dependency order. */
export interface PipelineGraph {
  /** The pipeline's name. */
  readonly name: string;
  /** What it does. */
  readonly description?: string;
  /** Every bucket the pipeline reads or writes, by location, sources first. */
  readonly buckets: readonly BucketRef[];
  /** Every step, in an order where each step comes after the steps it depends on. */
  readonly steps: readonly Step[];
  /** Steps grouped in waves: the steps of one wave depend only on earlier waves. */
  readonly levels: readonly (readonly Step[])[];
  /** The buckets no step produces: the pipeline's inputs. */
  readonly sources: readonly BucketRef[];
  /** The buckets no step reads: the pipeline's outputs. */
  readonly sinks: readonly BucketRef[];
}

/**
 * Builds and validates the DAG of a lineage.
 *
 * @param name the pipeline's name.
 * @param lineage its steps.
 * @param description what it does.
 * @returns the graph.
 * @throws {WiringError} when two steps write one bucket, two tasks share a name, a bucket is
 * declared with two schemas, or the steps form a cycle.
 */
export function buildGraph(name: string, lineage: Lineage, description?: string): PipelineGraph {
  const buckets = new Map<string, BucketRef>();
  const producer = new Map<string, Step>();
  const taskNames = new Map<string, Step>();
  const note = (ref: BucketRef) => {
    const known = buckets.get(ref.location);
    if (known === undefined) buckets.set(ref.location, ref);
    else if (!sameSchema(known.schema, ref.schema)) {
      throw new WiringError(
        `bucket '${ref.location}' is declared twice with different schemas: ` +
          `${describeSchema(known.schema)} and ${describeSchema(ref.schema)}`,
      );
    }
  };
  for (const step of lineage) {
    for (const ref of Object.values(step.sources)) note(ref);
    note(step.target);
    const other = producer.get(step.target.location);
    if (other !== undefined && other !== step) {
      throw new WiringError(
        `bucket '${step.target.location}' is written by two steps, tasks '${other.task.name}' ` +
          `and '${step.task.name}'; give one of them another target bucket`,
      );
    }
    producer.set(step.target.location, step);
    const sameName = taskNames.get(step.task.name);
    if (sameName !== undefined && sameName.task !== step.task) {
      throw new WiringError(
        `two different tasks are named '${step.task.name}' in pipeline '${name}'; task names must be unique`,
      );
    }
    taskNames.set(step.task.name, step);
  }

  const levelOf = new Map<Step, number>();
  const visiting = new Set<Step>();
  const level = (step: Step, path: string[]): number => {
    const known = levelOf.get(step);
    if (known !== undefined) return known;
    if (visiting.has(step)) {
      throw new WiringError(
        `pipeline '${name}' has a cycle: ${[...path, step.task.name].join(" -> ")}; ` +
          "a task cannot read a bucket that it or a later task writes",
      );
    }
    visiting.add(step);
    let result = 0;
    for (const ref of Object.values(step.sources)) {
      const up = producer.get(ref.location);
      if (up !== undefined) result = Math.max(result, level(up, [...path, step.task.name]) + 1);
    }
    visiting.delete(step);
    levelOf.set(step, result);
    return result;
  };
  for (const step of lineage) level(step, []);

  const levels: Step[][] = [];
  for (const step of lineage) (levels[levelOf.get(step)!] ??= []).push(step);
  const read = new Set(lineage.flatMap((s) => Object.values(s.sources).map((r) => r.location)));
  const all = [...buckets.values()];
  return Object.freeze({
    name,
    description,
    buckets: Object.freeze(all),
    steps: Object.freeze(levels.flat()),
    levels: Object.freeze(levels.map((l) => Object.freeze(l))),
    sources: Object.freeze(all.filter((b) => !producer.has(b.location))),
    sinks: Object.freeze(all.filter((b) => !read.has(b.location))),
  });
}
