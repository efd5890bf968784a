/**
 * What a local task becomes in generated Terraform. It has no AWS resource of its own: in AWS it
 * runs as a Lambda function with the default configuration (`new LambdaConfig()`), on the same
 * artifact as the module's serverless tasks, so every task of a deployment can run.
 *
 * @module
 */
import type { BackendTerraform } from "../../core/backend.ts";
import { lambdaFunctionName } from "../../core/naming.ts";
import { DEFAULT_LAMBDA_SETTINGS } from "../../core/resource.ts";

/** A local task, deployed: a Lambda function with 1024 MB and 300 s. */
export const localTerraform: BackendTerraform = {
  deployAs: (step) => ({
    ...step,
    task: {
      ...step.task,
      resource: {
        ...step.task.resource,
        kind: "serverless",
        label: `lambda ${DEFAULT_LAMBDA_SETTINGS.memoryMb} MB`,
        settings: DEFAULT_LAMBDA_SETTINGS,
        maxTimeoutSeconds: DEFAULT_LAMBDA_SETTINGS.timeoutSeconds,
      },
    },
  }),
  note: (step) =>
    `task '${step.task.name}' runs on provider.local(): in AWS it runs as Lambda function ` +
    `'${lambdaFunctionName(step.task)}' with the default ${DEFAULT_LAMBDA_SETTINGS.memoryMb} MB ` +
    `and ${DEFAULT_LAMBDA_SETTINGS.timeoutSeconds} s; when its input may not fit (glacier ` +
    "MODULE analyze says so), declare it on provider.serverless({ config }) or provider.spark()",
};
