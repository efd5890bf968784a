/**
 * How a deployed run orders a pipeline's steps around partitions: the steps that write
 * unpartitioned buckets and read no partition (`before`), the steps that write partitioned
 * buckets, run once per selected partition in a `Map` state (`partitioned`), and the steps that
 * read every partition into an unpartitioned bucket, with what reads them (`after`). Each stage
 * is a list of waves, the graph's levels restricted to it.
 *
 * A shape that this order cannot run is refused, naming the task and the bucket: a partitioned
 * step that reads what an `after` step wrote (a second round of partitions), a window of
 * partitions (`lookback`) over a bucket that the same run writes (the `Map` state runs
 * partitions in any order), or partitioned targets with different keys (one `Map` state runs one
 * kind of partition).
 *
 * @module
 */
import { UnsupportedError } from "../errors.ts";
import type { PipelineGraph } from "../graph.ts";
import type { Step } from "../lineage.ts";
import { isPartitioned } from "../partition_map.ts";

/** The stages of a deployed run, each a list of waves. */
export interface DeployedStages {
  /** Unpartitioned steps that read no partition: they run first. */
  readonly before: readonly (readonly Step[])[];
  /** Steps that write partitioned buckets: they run once per selected partition. */
  readonly partitioned: readonly (readonly Step[])[];
  /** Unpartitioned steps downstream of partitioned ones: they run after every partition. */
  readonly after: readonly (readonly Step[])[];
}

/**
 * Splits a pipeline into the stages of a deployed run.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { daily, Provider, schema, t } from "@glacier/glacier";
 * import { deployedStages } from "./stages.ts";
 * const provider = new Provider({ localRoot: await Deno.makeTempDir() });
 * const S = schema({ id: t.int64 });
 * const date = daily({ start: "2026-01-01" });
 * const copy = provider.serverless().task({ name: "copy", input: S, output: S }, (df) => df);
 * const total = provider.serverless().task({ name: "total", input: S, output: S }, (df) => df);
 * const out = provider.bucket({ bucket: "lab", path: "in/{date}.parquet", schema: S, partitions: { date } })
 *   .transform(copy).to(provider.bucket({ bucket: "lab", path: "day/{date}.parquet", schema: S, partitions: { date } }))
 *   .transform(total).to(provider.bucket({ bucket: "lab", path: "total.parquet", schema: S }));
 * const stages = deployedStages(out.graph());
 * assert.deepEqual(stages.partitioned.map((w) => w.map((s) => s.task.name)), [["copy"]]);
 * assert.deepEqual(stages.after.map((w) => w.map((s) => s.task.name)), [["total"]]);
 * ```
 *
 * @param graph the pipeline.
 * @returns its stages.
 * @throws {UnsupportedError} naming the task and the bucket for a shape a deployed run cannot
 *   run yet.
 */
export function deployedStages(graph: PipelineGraph): DeployedStages {
  const producer = new Map(graph.steps.map((s) => [s.target.location, s]));
  const stage = new Map<Step, keyof DeployedStages>();
  const refuse = (step: Step, why: string): never => {
    throw new UnsupportedError(
      `task '${step.task.name}' of pipeline '${graph.name}' (bucket ` +
        `'${step.target.location}') ${why}, which deployed runs do not support yet; run the ` +
        "pipeline in cloud mode from a machine, or split it into pipelines that each deploy",
    );
  };
  let keys: { step: Step; text: string } | undefined;
  for (const step of graph.steps) {
    const upstream = Object.values(step.sources).flatMap((ref) => {
      const p = producer.get(ref.location);
      return p ? [stage.get(p)!] : [];
    });
    if (isPartitioned(step.target)) {
      const after = Object.values(step.sources).find((ref) => {
        const p = producer.get(ref.location);
        return p !== undefined && stage.get(p) === "after";
      });
      if (after) {
        refuse(
          step,
          `writes partitions from bucket '${after.location}', which a step writes after ` +
            "reading every partition (a second round of partitions in one run)",
        );
      }
      for (const [name, window] of Object.entries(step.lookback ?? {})) {
        const ref = step.sources[name];
        if (producer.has(ref.location) && Object.values(window).some((n) => n > 0)) {
          refuse(
            step,
            `reads a window of partitions (lookback) of bucket '${ref.location}', which the ` +
              "same run writes, partition by partition in any order",
          );
        }
      }
      const text = describe(step);
      keys ??= { step, text };
      if (keys.text !== text) {
        refuse(
          step,
          `has partition keys ${describe(step)}, and bucket '${keys.step.target.location}' ` +
            `(task '${keys.step.task.name}') has ${describe(keys.step)}: one run selects one ` +
            "kind of partition",
        );
      }
      stage.set(step, "partitioned");
    } else {
      const reads = Object.values(step.sources).some(isPartitioned) ||
        upstream.some((s) => s !== "before");
      stage.set(step, reads ? "after" : "before");
    }
  }
  const wavesOf = (which: keyof DeployedStages) =>
    graph.levels.map((level) => level.filter((s) => stage.get(s) === which)).filter((w) =>
      w.length > 0
    );
  return {
    before: wavesOf("before"),
    partitioned: wavesOf("partitioned"),
    after: wavesOf("after"),
  };
}

function describe(step: Step): string {
  return Object.entries(step.target.partitions ?? {}).map(([k, def]) =>
    `'${k}' (${def.kind}${def.kind !== "values" && def.timezone ? ` in ${def.timezone}` : ""})`
  ).join(", ");
}
