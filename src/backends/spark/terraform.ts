/**
 * What a spark task declares in generated Terraform: the pipeline's EMR Serverless application,
 * the task's job (its entry point and Glacier's runner in the artifacts bucket), a role EMR
 * Serverless assumes, and a state that starts the job and waits for it, which the state machine
 * brackets with its deployed run's decide (skipped when up to date) and record handlers.
 *
 * @module
 */
import type { DeclaredTerraform } from "../../core/backend.ts";
import {
  ACCOUNT,
  bucketArn,
  META_PREFIX,
  objectArn,
  PARTITION,
  type PolicyStatement,
  serviceTrust,
} from "../../core/deploy/policies.ts";
import { awsName, literal, ref, taskId } from "../../core/deploy/names.ts";
import {
  DEPLOYED_JOB_SECONDS,
  intrinsicString,
  taskState,
} from "../../core/deploy/state_machine.ts";
import { EMR_RELEASE_LABEL, SPARK_IDLE_MINUTES } from "../../core/deploy/terraform_plan.ts";
import { settingsOf } from "../../core/resource.ts";
import { UnsupportedError } from "../../core/errors.ts";

/** One EMR Serverless application per pipeline; a job per task. */
export const sparkTerraform: DeclaredTerraform = {
  deployedOn: "EMR Serverless",
  artifacts: "Spark jobs",
  placeholder: (step) => ({
    task: step.task.name,
    kind: step.task.resource.kind,
    file: `artifacts/${step.task.name}.py`,
    built: false,
  }),
  deploy(step, { pipeline, prefix, id, artifact: built, timeoutSeconds: limit, upload }) {
    const task = step.task.name;
    // A job is bound to one object per input and its output (`--bind`): no partition's keys,
    // no several partitions of an input.
    const partitioned = [step.target, ...Object.values(step.sources)].find((r) =>
      r.partitions !== undefined && Object.keys(r.partitions).length > 0
    );
    if (partitioned) {
      throw new UnsupportedError(
        `task '${task}' runs on Spark and reads or writes partitioned bucket ` +
          `'${partitioned.location}', and deployed runs do not give a Spark job partitions yet; ` +
          "declare the task on provider.serverless() or provider.local(), or run the pipeline in " +
          "cloud mode from a machine",
      );
    }
    const artifact = built ?? sparkTerraform.placeholder(step)!;
    const settings = settingsOf(step.task.resource, "spark");
    const application = {
      id: "spark",
      name: awsName([prefix, "spark"], 64),
      releaseLabel: EMR_RELEASE_LABEL,
      idleMinutes: SPARK_IDLE_MINUTES,
    };
    const artifactsBucket = ref("aws_s3_bucket", "artifacts", "bucket");
    upload(artifact.file, artifact.sha256);
    const fileKey = artifact.file;
    let entryKey = fileKey;
    const submit = [
      "--conf spark.dynamicAllocation.enabled=false",
      `--conf spark.executor.instances=${settings.executors}`,
      `--conf spark.executor.memory=${literal(settings.executorMemory)}`,
    ];
    if (artifact.entryPoint !== undefined) {
      upload(artifact.entryPoint);
      entryKey = artifact.entryPoint;
      submit.push(`--conf spark.submit.pyFiles=s3://${artifactsBucket}/${literal(fileKey)}`);
    }
    const keys = [...new Set([fileKey, entryKey])];
    return {
      role: {
        trust: serviceTrust("emr-serverless.amazonaws.com", {
          sourceArn: ref("aws_emrserverless_application", "spark", "arn"),
        }),
        statements: [{
          Sid: "ReadJob",
          Effect: "Allow",
          Action: ["s3:GetObject"],
          Resource: keys.map((k) => `${ref("aws_s3_bucket", "artifacts", "arn")}/${literal(k)}`),
        }],
        storage: sparkScratchStatements(step.target.bucket),
        runsOn: "EMR Serverless",
      },
      application,
      state: {
        ...taskState(
          task,
          `Spark job on EMR Serverless application ${application.name} (${settings.executors} ` +
            `executors of ${literal(settings.executorMemory)})`,
          `arn:${PARTITION}:states:::emr-serverless:startJobRun.sync`,
          {
            Parameters: {
              ApplicationId: ref("aws_emrserverless_application", "spark", "id"),
              ExecutionRoleArn: ref("aws_iam_role", id, "arn"),
              Name: task,
              "ClientToken.$": "States.UUID()",
              JobDriver: {
                SparkSubmit: {
                  EntryPoint: `s3://${artifactsBucket}/${literal(entryKey)}`,
                  // Where the run's decision says it reads and writes: this run's staged outputs
                  // and its staging key.
                  "EntryPointArguments.$": `States.Array(${
                    ["--pipeline", pipeline, "--task", task, "--bind"].map(intrinsicString).join(
                      ", ",
                    )
                  }, $.step.bind)`,
                  SparkSubmitParameters: submit.join(" "),
                },
              },
              ExecutionTimeoutMinutes: Math.max(1, Math.ceil((limit ?? DEPLOYED_JOB_SECONDS) / 60)),
            },
            TimeoutSeconds: limit ?? DEPLOYED_JOB_SECONDS,
          },
          [{ errors: ["States.ALL"], intervalSeconds: 30, maxAttempts: 2 }],
        ),
        bracketed: true,
      },
    };
  },
  machineStatements(steps, region) {
    if (steps.length === 0) return [];
    const app = ref("aws_emrserverless_application", "spark", "arn");
    return [
      {
        Sid: "StartSparkJobs",
        Effect: "Allow",
        Action: ["emr-serverless:StartJobRun"],
        Resource: [app],
      },
      {
        Sid: "WatchSparkJobs",
        Effect: "Allow",
        Action: ["emr-serverless:CancelJobRun", "emr-serverless:GetJobRun"],
        Resource: [`${app}/jobruns/*`],
      },
      {
        Sid: "WatchSparkJobEvents",
        Effect: "Allow",
        Action: ["events:DescribeRule", "events:PutRule", "events:PutTargets"],
        Resource: [
          `arn:${PARTITION}:events:${region}:${ACCOUNT}:rule/StepFunctionsGetEventsForEMRServerlessJobRule`,
        ],
      },
      {
        Sid: "PassSparkRoles",
        Effect: "Allow",
        Action: ["iam:PassRole"],
        Resource: steps.map((s) => ref("aws_iam_role", taskId(s.task.name), "arn")),
        Condition: { StringEquals: { "iam:PassedToService": "emr-serverless.amazonaws.com" } },
      },
    ];
  },
  outputs: (steps) =>
    steps.length === 0 ? [] : [{
      id: "spark_application_id",
      description: "The EMR Serverless application of the Spark tasks",
      value: ref("aws_emrserverless_application", "spark", "id"),
    }],
};

/**
 * Where a Spark job that reads and writes S3 itself (EMR Serverless) writes its part files before
 * the runner moves the one output file into place: `.glacier/scratch/` in the output's bucket.
 *
 * @param bucket the output's bucket.
 * @returns the statements.
 */
function sparkScratchStatements(bucket: string): PolicyStatement[] {
  return [
    {
      Sid: "SparkScratch",
      Effect: "Allow",
      Action: ["s3:AbortMultipartUpload", "s3:DeleteObject", "s3:GetObject", "s3:PutObject"],
      Resource: [objectArn(bucket, `${META_PREFIX}scratch/*`)],
    },
    {
      Sid: "ListSparkScratch",
      Effect: "Allow",
      Action: ["s3:ListBucket"],
      Resource: [bucketArn(bucket)],
      Condition: { StringLike: { "s3:prefix": [`${META_PREFIX}scratch/*`] } },
    },
  ];
}
