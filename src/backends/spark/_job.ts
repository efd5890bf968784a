/**
 * From a step to the Spark job that runs it: the compiler's query (`compile.ts`, loaded on first
 * use), bound to where the inputs are read and the output is written. Cloud mode binds a run's
 * objects (`locate`, `stagingFor`); generated Terraform binds the buckets themselves.
 *
 * @module
 */
import type { BucketRef, Step } from "../../core/lineage.ts";
import type { InputPartition, ObjectAddress } from "../../core/session.ts";
import { formatOf } from "../../io/file_format.ts";
import type { SparkJob } from "./job.ts";

/**
 * `s3://bucket/key`.
 *
 * @param at the object.
 * @returns its URI.
 */
export function s3Uri(at: ObjectAddress): string {
  return `s3://${at.bucket}/${at.key}`;
}

/**
 * Compiles a step and binds it to objects. An input read by partitions (`parts`) is bound to
 * each partition's object, with the partition keys its task reads as columns.
 *
 * @param step a step whose task is declared on `provider.spark(...)`.
 * @param at where each input is read and where the output goes, and the partitions each input
 *   read by partitions reads.
 * @returns the job.
 * @throws {UnsupportedError} naming the task and the polars operation Spark cannot run.
 * @throws {SchemaMismatchError} when the task's output differs from its target bucket.
 */
export async function bindSparkJob(
  step: Step,
  at: {
    input(ref: BucketRef): ObjectAddress;
    output(ref: BucketRef): ObjectAddress;
    parts?: Readonly<Record<string, readonly InputPartition[]>>;
  },
): Promise<SparkJob> {
  const { sparkJob } = await import("./compile.ts");
  return sparkJob(step, {
    inputs: Object.fromEntries(
      Object.entries(step.sources).map(([name, ref]) => {
        const binding = { uri: s3Uri(at.input(ref)), format: formatOf(ref.path) };
        const parts = at.parts?.[name];
        if (parts === undefined) return [name, binding];
        const declared = step.task.kind === "single" ? step.task.input : step.task.inputs[name];
        const keys = Object.keys(ref.partitions ?? {}).filter((key) => key in declared);
        return [name, {
          ...binding,
          parts: parts.map((part) => ({ uri: s3Uri(at.input(part.ref)), values: part.partition })),
          keys,
        }];
      }),
    ),
    output: { uri: s3Uri(at.output(step.target)), format: formatOf(step.target.path) },
  });
}

/**
 * Compiles a step without binding it, to refuse what Spark cannot run before anything runs.
 *
 * @param step a Spark step.
 * @throws {UnsupportedError} naming the task and the polars operation Spark cannot run.
 * @throws {SchemaMismatchError} when the task's output differs from its target bucket.
 */
export async function checkSparkStep(step: Step): Promise<void> {
  const { compileStep } = await import("./compile.ts");
  compileStep(step);
}
