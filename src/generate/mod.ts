/**
 * Terraform generation: `run({ mode: "generate", outputDir })` writes one Terraform root module
 * per pipeline, `<outputDir>/cdk.tf.json`, synthesized with cdktf.
 *
 * Per pipeline it declares: the S3 buckets (public access blocked, KMS encryption, versioning,
 * lifecycle rules); one IAM role per task that may touch exactly that task's objects; a Lambda
 * function per serverless task, with its package in an artifacts bucket and a log group; an EMR
 * Serverless application for the Spark tasks; a Step Functions activity per local task, which a
 * worker polls; a state machine that runs the steps wave by wave, in parallel where the graph
 * allows, with retries and a `Fail` state naming the failed task; an optional schedule; and the
 * outputs a person needs. The resource plan is plain data (`resource_plan.ts`); cdktf is loaded only here,
 * on first use, from `cdktf_stack.ts`.
 *
 * @module
 */
import { join } from "node:path";
import { UnsupportedError } from "../core/errors.ts";
import type { PipelineGraph } from "../core/graph.ts";
import type { GenerateReport, RunOptions } from "../core/reports.ts";
import type { Backends } from "../core/backend.ts";
import { BACKENDS } from "../backends/mod.ts";
import { collectArtifacts } from "./artifacts.ts";
import { checkDeployable, planTerraform } from "./resource_plan.ts";
import { replaceTextFile } from "../core/files.ts";

/** The file generation writes in the output directory. */
export const TERRAFORM_FILE = "cdk.tf.json";

/**
 * Writes Terraform for a pipeline.
 *
 * @example
 * ```ts
 * import { Provider, schema, t } from "@glacier/glacier";
 * const provider = new Provider({ localRoot: await Deno.makeTempDir() });
 * const S = schema({ id: t.int64 });
 * const copy = provider.serverless().task({ name: "copy", input: S, output: S }, (df) => df);
 * const out = provider.bucket({ bucket: "demo-in", path: "a.parquet", schema: S })
 *   .transform(copy).to(provider.bucket({ bucket: "demo-out", path: "b.parquet", schema: S }));
 * import { generateTerraform } from "./mod.ts";
 * const dir = await Deno.makeTempDir();
 * const report = await generateTerraform(out.graph(), { mode: "generate", outputDir: dir });
 * console.log(report.files); // ["cdk.tf.json"], or the Lambda package too once one can be built
 * ```
 *
 * @param graph the pipeline.
 * @param options `{ mode: "generate", outputDir, schedule?, partitionConcurrency?, module? }`;
 * `module` is the pipeline module that artifacts are built from (default: the main module).
 * @param backends the backends that build each task's artifact (default: Glacier's own).
 * @returns the files written, relative to `outputDir`, and what is still missing before
 * `terraform apply` can work.
 * @throws {UnsupportedError} when the options name no output directory, or the pipeline cannot be
 * expressed in Terraform (see {@link planTerraform}).
 */
export async function generateTerraform(
  graph: PipelineGraph,
  options: RunOptions,
  backends: Backends = BACKENDS,
): Promise<GenerateReport> {
  if (options.mode !== "generate" || typeof options.outputDir !== "string" || !options.outputDir) {
    throw new UnsupportedError(
      'generate needs an output directory: run({ mode: "generate", outputDir: "./terraform" })',
    );
  }
  if (graph.steps.length === 0) {
    throw new UnsupportedError(
      `pipeline '${graph.name}' has no steps, so there is nothing to deploy; generate Terraform ` +
        "for a bucket that a .transform(task).to(bucket) chain returns",
    );
  }
  checkDeployable(graph, options);
  const outputDir = options.outputDir;
  await Deno.mkdir(outputDir, { recursive: true });
  const artifacts = await collectArtifacts(
    graph,
    outputDir,
    options.module ? { module: options.module } : {},
    backends,
  );
  const plan = planTerraform(graph, artifacts.byTask, options, backends);
  const { synthesizeTerraform } = await import("./cdktf_stack.ts");
  const text = await synthesizeTerraform(plan);
  await replaceTextFile(join(outputDir, TERRAFORM_FILE), text);
  const warnings = [
    ...artifacts.warnings,
    ...graph.steps.flatMap((step) => {
      const terraform = backends[step.task.resource.kind].terraform;
      return "note" in terraform ? [terraform.note(step)] : [];
    }),
  ];
  return {
    pipeline: graph.name,
    outputDir,
    files: [...new Set([TERRAFORM_FILE, ...artifacts.files])].sort(),
    warnings,
  };
}
