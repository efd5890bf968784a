/**
 * The artifact builder for Spark tasks that the backend hands to generate: what Terraform generation
 * calls to get the EMR Serverless entry point of a task.
 *
 * The entry point, `artifacts/<task>.py`, is Glacier's runner (`runner.py`) with the task's job
 * embedded: the compiled query and its bindings to the buckets themselves (`s3://bucket/path`).
 * The generated state machine starts it with `--pipeline P --task T`; it reads the inputs, runs
 * the query, and replaces the output object in one step (EMRFS renames the one file Spark wrote).
 * One self-contained file per task, so that its SHA-256 changes exactly when the task's query,
 * its bindings or the runner change.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { UnsupportedError } from "../../core/errors.ts";
import type { PipelineGraph } from "../../core/graph.ts";
import type { Step } from "../../core/lineage.ts";
import type { TaskArtifact } from "../../core/backend.ts";
import { bindSparkJob } from "./_job.ts";
import { runnerSource } from "./_submit.ts";
import { replaceTextFile } from "../../core/files.ts";

/** The runner's line that an entry point replaces with its job. */
const EMBED_LINE = "EMBEDDED_JOB = None\n";

/**
 * Builds a Spark task's entry point into the output directory: the runner with the task's job,
 * bound to the buckets, embedded.
 *
 * @example
 * ```ts ignore
 * import { sparkArtifactBuilder } from "./artifact_builder.ts";
 * const artifact = await sparkArtifactBuilder(graph, step, "./terraform");
 * console.log(artifact.file); // "artifacts/enrich_orders.py", relative to ./terraform
 * ```
 *
 * @param _graph the pipeline's graph (the step carries all the job needs).
 * @param step a step whose task is declared on `provider.spark(...)`.
 * @param outputDir the generation's output directory.
 * @returns the entry point, relative to `outputDir`, with its SHA-256.
 * @throws {UnsupportedError} for a step that is not a Spark step, or a task Spark cannot run.
 */
export async function sparkArtifactBuilder(
  _graph: PipelineGraph,
  step: Step,
  outputDir: string,
): Promise<TaskArtifact> {
  const task = step.task;
  if (task.resource.kind !== "spark") {
    throw new UnsupportedError(
      `task '${task.name}' runs on a ${task.resource.kind} resource; only Spark tasks become EMR Serverless jobs`,
    );
  }
  const text = await sparkEntryPoint(step);
  const file = `artifacts/${task.name}.py`;
  const target = join(outputDir, file);
  await replaceTextFile(target, text);
  return {
    file,
    sha256: createHash("sha256").update(text).digest("hex"),
    entryPoint: file,
  };
}

/**
 * The text of a Spark task's entry point: the runner, with the task's job bound to the buckets
 * embedded as JSON.
 *
 * @param step a Spark step.
 * @returns the Python source.
 * @throws {UnsupportedError} when the task cannot be compiled.
 */
export async function sparkEntryPoint(step: Step): Promise<string> {
  const job = await bindSparkJob(step, {
    input: (ref) => ({ bucket: ref.bucket, key: ref.path }),
    output: (ref) => ({ bucket: ref.bucket, key: ref.path }),
  });
  const runner = await runnerSource();
  if (!runner.includes(EMBED_LINE)) {
    throw new UnsupportedError(
      `the Spark runner has no '${EMBED_LINE.trim()}' line to embed task '${step.task.name}' in`,
    );
  }
  // A JSON string literal is a valid Python string literal.
  const literal = JSON.stringify(JSON.stringify(job, null, 1));
  const header = `# Glacier entry point of Spark task '${step.task.name}': the runner below with ` +
    "the task's job embedded.\n# Generated; do not edit.\n";
  return header + runner.replace(EMBED_LINE, `EMBEDDED_JOB = ${literal}\n`);
}
