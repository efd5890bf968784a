/**
 * The deployable artifacts the Terraform points at: built by the Lambda and Spark backends'
 * builders (`Backend.artifactBuilder`), otherwise expected at a fixed place in the output
 * directory, with a warning that says so.
 *
 * @module
 */
import type { ArtifactContext, Backends, TaskArtifact } from "../core/backend.ts";
import type { PlannedArtifact } from "../core/deploy/terraform_plan.ts";
import { UnsupportedError } from "../core/errors.ts";
import type { PipelineGraph } from "../core/graph.ts";
import type { Step } from "../core/lineage.ts";

/** The artifacts of a pipeline, and what is still missing. */
export interface ArtifactSet {
  /** By task name. */
  readonly byTask: ReadonlyMap<string, PlannedArtifact>;
  /** Files written to the output directory, relative to it. */
  readonly files: readonly string[];
  /** What is missing before `terraform apply` can work. */
  readonly warnings: readonly string[];
}

/**
 * Builds the artifacts of the pipeline's serverless and Spark tasks, or plans where they must be.
 * A task whose kind has no builder, or whose builder fails, gets a placeholder path and a warning
 * that says why: the Terraform is still written, and says plainly what it waits for.
 *
 * @example
 * ```ts ignore
 * const { byTask, warnings } = await collectArtifacts(graph, "./terraform");
 * console.log(byTask.get("normalize_customers")?.file); // "artifacts/normalize_customers.zip"
 * ```
 *
 * @param graph the pipeline.
 * @param outputDir the generation's output directory.
 * @param context the module that defines the pipeline, when known.
 * @param backends the backends whose builders build the artifacts.
 * @returns the artifacts, the files written and the warnings.
 */
export async function collectArtifacts(
  graph: PipelineGraph,
  outputDir: string,
  context: ArtifactContext,
  backends: Backends,
): Promise<ArtifactSet> {
  const byTask = new Map<string, PlannedArtifact>();
  const files: string[] = [];
  const warnings: string[] = [];
  for (const step of deployedSteps(graph, backends)) {
    const backend = backends[step.task.resource.kind];
    if (!("placeholder" in backend.terraform)) continue;
    const placeholder = backend.terraform.placeholder(step);
    if (placeholder === undefined) continue;
    const terraform = backend.terraform;
    const what = terraform.deployedOn;
    const builder = await backend.artifactBuilder();
    let artifact: TaskArtifact | undefined;
    let reason = `this version of Glacier cannot build ${terraform.artifacts} yet`;
    if (builder !== undefined) {
      try {
        artifact = await builder(graph, step, outputDir, context);
      } catch (error) {
        reason = `its ${what} artifact could not be built (${
          error instanceof Error ? error.message : String(error)
        })`;
      }
    }
    if (artifact === undefined) {
      byTask.set(step.task.name, placeholder);
      warnings.push(
        `task '${step.task.name}' (${what}): ${reason}, so the Terraform expects ` +
          `${placeholder.file} in ${outputDir}; 'terraform plan' and 'terraform apply' fail ` +
          "until that file exists",
      );
      continue;
    }
    const planned = builtArtifact(step, placeholder, artifact);
    byTask.set(step.task.name, planned);
    files.push(planned.file);
    if (planned.entryPoint !== undefined) files.push(planned.entryPoint);
  }
  return { byTask, files: [...new Set(files)], warnings };
}

function builtArtifact(
  step: Step,
  placeholder: PlannedArtifact,
  artifact: TaskArtifact,
): PlannedArtifact {
  const file = relativeFile(step, artifact.file);
  if (!/^[0-9a-f]{64}$/.test(artifact.sha256)) {
    throw new UnsupportedError(
      `the ${placeholder.kind} artifact builder gave task '${step.task.name}' a SHA-256 that is ` +
        `not 64 hexadecimal digits: ${JSON.stringify(artifact.sha256)}; nothing was written`,
    );
  }
  const entryPoint = artifact.entryPoint === undefined
    ? undefined
    : relativeFile(step, artifact.entryPoint);
  return {
    ...placeholder,
    file,
    sha256: artifact.sha256,
    ...(artifact.runtime === undefined ? {} : { runtime: artifact.runtime }),
    ...(artifact.handler === undefined ? {} : { handler: artifact.handler }),
    ...(entryPoint !== undefined && entryPoint !== file ? { entryPoint } : {}),
    built: true,
  };
}

function relativeFile(step: Step, file: string): string {
  const posix = file.replaceAll("\\", "/");
  if (
    posix === "" || posix.startsWith("/") || /^[A-Za-z]:/.test(posix) ||
    posix.split("/").some((p) => p === ".." || p === "")
  ) {
    throw new UnsupportedError(
      `the artifact of task '${step.task.name}' is ${JSON.stringify(file)}, which is not a ` +
        "path inside the output directory; an artifact builder must return a relative path",
    );
  }
  return posix.replace(/^(\.\/)+/, "");
}

/**
 * The steps as they are deployed: a step whose kind runs in AWS as another kind does (a local
 * task, as a Lambda function) on that kind's resource.
 *
 * @param graph the pipeline.
 * @param backends the backends.
 * @returns the steps, in the graph's order.
 */
export function deployedSteps(graph: PipelineGraph, backends: Backends): Step[] {
  return graph.steps.map((step) => {
    const terraform = backends[step.task.resource.kind].terraform;
    return "deployAs" in terraform ? terraform.deployAs(step) : step;
  });
}
