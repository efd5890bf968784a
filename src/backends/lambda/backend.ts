/**
 * The AWS Lambda backend: tasks on `provider.serverless()` run as Lambda functions in cloud mode,
 * each function built from the pipeline module (`package.ts`) and invoked by `invoke.ts`.
 *
 * @module
 */
import type { Backend } from "../../core/backend.ts";
import { lambdaTerraform } from "./terraform.ts";
import { lambdaCost } from "./cost.ts";

/** Tasks run as AWS Lambda functions. */
export const lambdaBackend: Backend & { readonly kind: "serverless" } = {
  kind: "serverless",
  title: "AWS Lambda",
  check: () => Promise.resolve([]),
  executor: async () => (await import("./invoke.ts")).lambdaExecutor,
  cost: lambdaCost,
  terraform: lambdaTerraform,
  artifactBuilder: async () => (await import("./artifact_builder.ts")).lambdaArtifactBuilder,
};
