/**
 * The artifact builder for serverless tasks that the backend hands to generate: what Terraform
 * generation calls to get the Lambda deployment zip of a task.
 *
 * Every serverless task of a module runs from one zip, so the zip is built once per module and
 * process, and copied once into each generation's output directory, under `lambda/`.
 *
 * @module
 */
import { basename, join } from "node:path";
import { discoverPipelines } from "../../core/discover.ts";
import { UnsupportedError } from "../../core/errors.ts";
import type { PipelineGraph } from "../../core/graph.ts";
import type { Step } from "../../core/lineage.ts";
import type { TaskArtifact } from "../../core/backend.ts";
import { buildLambdaArtifact, type LambdaArtifact, LambdaPackageError } from "./package.ts";
import { replaceFile } from "../../core/files.ts";

/** What the builder may be told besides the graph: the module that defines the pipeline. */
export interface LambdaBuildContext {
  /** The pipeline module (path or URL); default `Deno.mainModule`. */
  readonly module?: string;
}

const builds = new Map<string, Promise<LambdaArtifact>>();
const copies = new Map<string, Promise<void>>();

/**
 * Builds (or reuses) the Lambda zip of the module that defines a serverless step and places it
 * in the output directory.
 *
 * The contract's arguments do not say which module defines the graph, so the module is
 * `context.module` when given, else the main module, which must export a pipeline with the
 * step's task (as when a pipeline module runs itself: `deno run -A pipeline.ts generate`).
 *
 * @example
 * ```ts ignore
 * import { lambdaArtifactBuilder } from "./artifact_builder.ts";
 * const artifact = await lambdaArtifactBuilder(graph, step, "./terraform");
 * console.log(artifact.file); // "lambda/lambda-<key>.zip", relative to ./terraform
 * ```
 *
 * @param _graph the pipeline's graph (unused: the zip serves every task of the module).
 * @param step a step whose task is declared on `provider.serverless(...)`.
 * @param outputDir the generation's output directory.
 * @param context the module that defines the pipeline, when the caller knows it.
 * @returns the zip, relative to `outputDir`, with its SHA-256, runtime and handler.
 * @throws {UnsupportedError} for a step that is not serverless.
 * @throws {LambdaPackageError} when the module is unknown or the zip cannot be built.
 */
export async function lambdaArtifactBuilder(
  _graph: PipelineGraph,
  step: Step,
  outputDir: string,
  context: LambdaBuildContext = {},
): Promise<TaskArtifact> {
  const task = step.task;
  if (task.resource.kind !== "serverless") {
    throw new UnsupportedError(
      `task '${task.name}' runs on a ${task.resource.kind} resource; only serverless tasks become Lambda functions`,
    );
  }
  const module = context.module ?? Deno.mainModule;
  if (!(await definesTask(module, task.name))) {
    throw new LambdaPackageError(
      `cannot tell which module defines task '${task.name}': the Lambda artifact packages a ` +
        `pipeline module, and '${module}' exports no pipeline with that task. Generate from the ` +
        "pipeline module itself (deno run -A pipeline.ts generate, with runExample or main)",
    );
  }
  let build = builds.get(module);
  if (build === undefined) {
    build = buildLambdaArtifact({ module });
    builds.set(module, build);
    build.catch(() => builds.delete(module));
  }
  const artifact = await build;
  const file = `lambda/${basename(artifact.file)}`;
  const target = join(outputDir, file);
  let copy = copies.get(target);
  if (copy === undefined) {
    copy = place(artifact, target);
    copies.set(target, copy);
    copy.catch(() => copies.delete(target));
  }
  await copy;
  return {
    file,
    sha256: artifact.sha256,
    runtime: artifact.runtime,
    handler: artifact.handler,
  };
}

/** Whether a module exports a pipeline with a task of that name. */
async function definesTask(module: string, name: string): Promise<boolean> {
  try {
    return (await discoverPipelines(module)).some((p) =>
      p.bucket.lineage.some((s) => s.task.name === name)
    );
  } catch {
    return false;
  }
}

/** Places a zip at `target`: a hard link to the cached zip, or a copy. */
async function place(artifact: LambdaArtifact, target: string): Promise<void> {
  const present = await Deno.stat(target).then((s) => s.size === artifact.bytes, () => false);
  if (present) return;
  await replaceFile(
    target,
    (partial) =>
      Deno.link(artifact.file, partial).catch(() => Deno.copyFile(artifact.file, partial)),
  );
}
