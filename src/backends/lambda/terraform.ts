/**
 * What a serverless task declares in generated Terraform: a Lambda function with its package in
 * the artifacts bucket, a log group, a role Lambda assumes, and a state that invokes its deployed
 * run's step handler (which decides, runs the task in the same invocation and records it), for a
 * step that writes partitions with the partition its `Map` iteration runs.
 *
 * @module
 */
import type { DeclaredTerraform } from "../../core/backend.ts";
import { ascii, ref, taskId } from "../../core/deploy/names.ts";
import { PARTITION, serviceTrust, STATE_BUCKET_ID } from "../../core/deploy/policies.ts";
import { taskState } from "../../core/deploy/state_machine.ts";
import { DEFAULT_LAMBDA } from "../../core/deploy/terraform_plan.ts";
import { lambdaFunctionName } from "../../core/naming.ts";
import { settingsOf } from "../../core/resource.ts";

/** A Lambda function per task, invoked by the state machine. */
export const lambdaTerraform: DeclaredTerraform = {
  deployedOn: "Lambda",
  artifacts: "Lambda packages",
  placeholder: (step) => ({
    task: step.task.name,
    kind: step.task.resource.kind,
    file: `artifacts/${step.task.name}.zip`,
    ...DEFAULT_LAMBDA,
    built: false,
  }),
  deploy(step, { pipeline, id, what, artifact: built, timeoutSeconds, upload, partitioned }) {
    const task = step.task.name;
    const artifact = built ?? lambdaTerraform.placeholder(step)!;
    const settings = settingsOf(step.task.resource, "serverless");
    // The invoker finds the function by this name: the one rule lives in core.
    const name = lambdaFunctionName(step.task);
    const objectId = upload(artifact.file, artifact.sha256);
    return {
      role: {
        trust: serviceTrust("lambda.amazonaws.com"),
        statements: [
          {
            Sid: "WriteLogs",
            Effect: "Allow",
            Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
            Resource: [`${ref("aws_cloudwatch_log_group", id, "arn")}:*`],
          },
          {
            Sid: "Trace",
            Effect: "Allow",
            Action: ["xray:PutTelemetryRecords", "xray:PutTraceSegments"],
            Resource: ["*"],
          },
        ],
        runsOn: "AWS Lambda",
      },
      logGroup: { id, name: `/aws/lambda/${name}` },
      function: {
        id,
        task,
        name,
        description: ascii(`Glacier task '${task}' of pipeline '${pipeline}': ${what}`).slice(
          0,
          256,
        ),
        objectId,
        runtime: artifact.runtime!,
        handler: artifact.handler!,
        memoryMb: settings.memoryMb,
        timeoutSeconds: settings.timeoutSeconds,
      },
      state: taskState(
        task,
        `Lambda function ${name} (${settings.memoryMb} MB, ${settings.timeoutSeconds} s)`,
        `arn:${PARTITION}:states:::lambda:invoke`,
        {
          Parameters: {
            FunctionName: ref("aws_lambda_function", id, "arn"),
            // The step handler: decides, runs the task unless it is up to date, records it.
            Payload: {
              glacier: 1,
              deployed: "step",
              pipeline,
              task,
              "run.$": "$.run.runId",
              ...(partitioned ? { "partition.$": "$.partition" } : {}),
              stateBucket: ref("aws_s3_bucket", STATE_BUCKET_ID, "bucket"),
            },
          },
          TimeoutSeconds: timeoutSeconds === undefined
            ? settings.timeoutSeconds + 60
            : timeoutSeconds,
        },
        [
          {
            errors: [
              "Lambda.AWSLambdaException",
              "Lambda.SdkClientException",
              "Lambda.ServiceException",
              "Lambda.TooManyRequestsException",
            ],
            intervalSeconds: 2,
            maxAttempts: 5,
          },
          { errors: ["States.ALL"], intervalSeconds: 10, maxAttempts: 2 },
        ],
      ),
    };
  },
  machineStatements: (steps) =>
    steps.length === 0 ? [] : [{
      Sid: "InvokeFunctions",
      Effect: "Allow",
      Action: ["lambda:InvokeFunction"],
      Resource: steps.flatMap((s) => {
        const arn = ref("aws_lambda_function", taskId(s.task.name), "arn");
        return [arn, `${arn}:*`];
      }),
    }],
  outputs: () => [],
};
