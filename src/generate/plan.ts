/**
 * The resource plan of a pipeline: every AWS resource its Terraform declares, as plain data
 * (names, settings, IAM policy documents, the Step Functions definition). The cdktf module only
 * turns this plan into constructs, so replacing cdktf changes nothing here.
 *
 * Identifiers: a task's resources are `task_<name>` (task names always fit), a bucket's are
 * `bucket_<name>` with `.` as `_`; the pipeline's own resources have fixed names that no task or
 * bucket identifier can take (`pipeline`, `artifacts`, `spark`, `schedule`).
 *
 * @module
 */
import { UnsupportedError } from "../core/errors.ts";
import type { PipelineGraph } from "../core/graph.ts";
import type { BucketRef, Step } from "../core/lineage.ts";
import { lambdaFunctionName } from "../core/naming.ts";
import { settingsOf } from "../core/resource.ts";
import { timeoutOf } from "../core/task.ts";
import type { PlannedArtifact } from "./artifacts.ts";
import { awsName, bucketId, byText, literal, ref, shortHash, slug, taskId } from "./_names.ts";
import {
  ACCOUNT,
  accountTrust,
  ACTIVITY_REPORT_ACTIONS,
  keyPolicy,
  LOG_DELIVERY_ACTIONS,
  PARTITION,
  policy,
  type PolicyDocument,
  type PolicyStatement,
  serviceTrust,
  STATE_BUCKET_ID,
  taskStorageStatements,
  TRACING_ACTIONS,
} from "./policies.ts";
import {
  type AslDefinition,
  stateMachineDefinition,
  type TaskState,
  taskState,
} from "./state_machine.ts";

/** The AWS provider the Terraform requires: the version the cdktf bindings were generated for. */
export const AWS_PROVIDER = Object.freeze({ source: "hashicorp/aws", version: "6.25.0" });
/**
 * The EMR Serverless release of the Spark application: `emr-spark-8.0.0` ships Apache Spark
 * 4.0.2, the Spark 4.0 line that Glacier's Spark target is tested with (pyspark 4.0.x).
 */
export const EMR_RELEASE_LABEL = "emr-spark-8.0.0";
/** Days CloudWatch keeps the logs of functions and of the state machine. */
export const LOG_RETENTION_DAYS = 365;
/** Days S3 keeps an object's replaced or deleted versions. */
export const NONCURRENT_VERSION_DAYS = 30;
/** Days after which S3 removes what a killed run left under `.glacier/staging/`. */
export const STAGING_EXPIRY_DAYS = 7;
/**
 * Days after which S3 removes the previous objects a killed commit kept under
 * `.glacier/previous/`: longer than staging, so a commit whose staging expired can still be put
 * back.
 */
export const PREVIOUS_EXPIRY_DAYS = 14;
/** Days after which S3 aborts an unfinished multipart upload. */
export const MULTIPART_ABORT_DAYS = 7;
/** Seconds a state machine waits for an activity worker to finish a local task. */
export const ACTIVITY_TIMEOUT_SECONDS = 3600;
/** Minutes of idleness after which the Spark application stops. */
export const SPARK_IDLE_MINUTES = 15;

/** An S3 bucket and the settings every generated bucket gets. */
export interface PlannedBucket {
  /** The Terraform identifier. */
  readonly id: string;
  /** The bucket's name, for data buckets. */
  readonly bucket?: string;
  /** A name prefix that Terraform completes, for the artifacts bucket. */
  readonly bucketPrefix?: string;
  /**
   * What the bucket holds: pipeline `data`, deployable `artifacts`, or cloud runs' `state`
   * (locks, journals and run records).
   */
  readonly purpose: "data" | "artifacts" | "state";
  /** Whether cloud mode keeps its staging objects in it, which then expire. */
  readonly staging: boolean;
}

/** An IAM role with one inline policy. */
export interface PlannedRole {
  /** The Terraform identifier. */
  readonly id: string;
  /** The role's name. */
  readonly name: string;
  /** What the role is for. */
  readonly description: string;
  /** Who may assume it. */
  readonly trust: PolicyDocument;
  /** What it may do. */
  readonly policy: PolicyDocument;
  /** The task it belongs to, for task roles. */
  readonly task?: string;
}

/** A CloudWatch log group. */
export interface PlannedLogGroup {
  /** The Terraform identifier. */
  readonly id: string;
  /** The group's name. */
  readonly name: string;
}

/** An object uploaded to the artifacts bucket. */
export interface PlannedObject {
  /** The Terraform identifier. */
  readonly id: string;
  /** The file, relative to the output directory. */
  readonly file: string;
  /** The object's key: the file's path, so one file is uploaded once, whichever tasks use it. */
  readonly key: string;
  /** The local file, a Terraform template relative to the module. */
  readonly source: string;
  /** What changes when the file changes: its SHA-256, or a Terraform expression that hashes it. */
  readonly sourceHash: string;
}

/** A Lambda function of a serverless task. */
export interface PlannedFunction {
  /** The Terraform identifier, shared with the task's role and log group. */
  readonly id: string;
  /** The task's name. */
  readonly task: string;
  /** The function's name. */
  readonly name: string;
  /** What it runs. */
  readonly description: string;
  /** The identifier of the uploaded package. */
  readonly objectId: string;
  /** The Lambda runtime. */
  readonly runtime: string;
  /** The handler. */
  readonly handler: string;
  /** Memory in MB, from `LambdaConfig`. */
  readonly memoryMb: number;
  /** Timeout in seconds, from `LambdaConfig`. */
  readonly timeoutSeconds: number;
}

/** A Step Functions activity: where a local task waits for a worker. */
export interface PlannedActivity {
  /** The Terraform identifier. */
  readonly id: string;
  /** The task's name. */
  readonly task: string;
  /** The activity's name. */
  readonly name: string;
}

/** The EMR Serverless application that runs the Spark tasks. */
export interface PlannedSparkApplication {
  /** The Terraform identifier. */
  readonly id: string;
  /** The application's name. */
  readonly name: string;
  /** The EMR release. */
  readonly releaseLabel: string;
  /** Minutes of idleness before it stops. */
  readonly idleMinutes: number;
}

/** The state machine that runs the pipeline. */
export interface PlannedStateMachine {
  /** The Terraform identifier (of the state machine, its role and its log group). */
  readonly id: string;
  /** The state machine's name. */
  readonly name: string;
  /** The definition. */
  readonly definition: AslDefinition;
}

/** An EventBridge Scheduler schedule that starts the state machine. */
export interface PlannedSchedule {
  /** The Terraform identifier (of the schedule and its role). */
  readonly id: string;
  /** The schedule's name. */
  readonly name: string;
  /** `rate(...)`, `cron(...)` or `at(...)`. */
  readonly expression: string;
}

/** A Terraform output. */
export interface PlannedOutput {
  /** The output's name. */
  readonly id: string;
  /** What it is. */
  readonly description: string;
  /** Its value, a Terraform template. */
  readonly value: string;
}

/** Everything the Terraform of one pipeline declares. */
export interface TerraformPlan {
  /** The pipeline's name. */
  readonly pipeline: string;
  /** The AWS region of every resource. */
  readonly region: string;
  /** The start of every resource's name, `glacier-<pipeline>`; also its `glacier:pipeline` tag. */
  readonly prefix: string;
  /** The KMS key that encrypts the buckets, the logs and the schedule. */
  readonly key: {
    readonly id: string;
    readonly alias: string;
    readonly description: string;
    readonly policy: PolicyDocument;
  };
  /** The S3 buckets: the data buckets, then the artifacts bucket when there is one. */
  readonly buckets: readonly PlannedBucket[];
  /** The IAM roles: one per task, then the state machine's and the schedule's. */
  readonly roles: readonly PlannedRole[];
  /** The log groups: one per function, then the state machine's. */
  readonly logGroups: readonly PlannedLogGroup[];
  /** The artifacts uploaded to the artifacts bucket. */
  readonly objects: readonly PlannedObject[];
  /** The Lambda functions. */
  readonly functions: readonly PlannedFunction[];
  /** The activities of local tasks. */
  readonly activities: readonly PlannedActivity[];
  /** The Spark application, when there are Spark tasks. */
  readonly spark?: PlannedSparkApplication;
  /** The state machine. */
  readonly stateMachine: PlannedStateMachine;
  /** The schedule, when one was asked for. */
  readonly schedule?: PlannedSchedule;
  /** The outputs. */
  readonly outputs: readonly PlannedOutput[];
}

const SCHEDULE =
  /^(rate\(\s*\d+\s+(minute|minutes|hour|hours|day|days)\s*\)|cron\([^()]+\)|at\([0-9T:-]+\))$/;
const IAM_WILDCARDS = /[*?]/;

/**
 * Plans the resources of a pipeline.
 *
 * @example
 * ```ts
 * import { Provider, schema, t } from "@glacier/glacier";
 * const provider = new Provider({ localRoot: await Deno.makeTempDir() });
 * const S = schema({ id: t.int64 });
 * const copy = provider.serverless().task({ name: "copy", input: S, output: S }, (df) => df);
 * const out = provider.bucket({ bucket: "demo-in", path: "a.parquet", schema: S })
 *   .transform(copy).to(provider.bucket({ bucket: "demo-out", path: "b.parquet", schema: S }));
 * import { planTerraform } from "./plan.ts";
 * const artifacts = new Map([["copy", {
 *   task: "copy", kind: "serverless" as const, file: "artifacts/copy.zip",
 *   runtime: "provided.al2023", handler: "bootstrap", built: false,
 * }]]);
 * const plan = planTerraform(out.graph(), artifacts, "rate(1 day)");
 * console.log(plan.roles.map((r) => r.name));
 * // ["glacier-demo-out-b-parquet-task-copy", "glacier-demo-out-b-parquet-pipeline", "glacier-demo-out-b-parquet-schedule"]
 * ```
 *
 * @param graph the pipeline.
 * @param artifacts the artifacts of its serverless and Spark tasks, by task name.
 * @param schedule an EventBridge Scheduler expression, when the pipeline runs on a schedule.
 * @returns the plan.
 * @throws {UnsupportedError} for buckets in several regions, a bucket path that IAM would read
 * as a wildcard, or a schedule expression that is not `rate(...)`, `cron(...)` or `at(...)`.
 */
export function planTerraform(
  graph: PipelineGraph,
  artifacts: ReadonlyMap<string, PlannedArtifact>,
  schedule?: string,
): TerraformPlan {
  const region = regionOf(graph);
  for (const b of graph.buckets) {
    if (IAM_WILDCARDS.test(b.path)) {
      throw new UnsupportedError(
        `bucket '${b.location}' has '*' or '?' in its path, which IAM policies read as ` +
          "wildcards, so no policy can grant exactly that object; rename the path",
      );
    }
  }
  if (schedule !== undefined && !SCHEDULE.test(schedule.trim())) {
    throw new UnsupportedError(
      `schedule ${JSON.stringify(schedule)} is not an EventBridge Scheduler expression; use ` +
        "rate(1 day), cron(0 6 * * ? *) or at(2030-01-01T06:00:00)",
    );
  }
  const prefix = awsName(["glacier", slug(graph.name)], 40);
  const pipeline = literal(graph.name);
  const keyArn = ref("aws_kms_key", "pipeline", "arn");
  const stepsOf = (kind: string) => graph.steps.filter((s) => s.task.resource.kind === kind);
  const deploys = graph.steps.some((s) => s.task.resource.kind !== "local");
  const artifactsBucket = ref("aws_s3_bucket", "artifacts", "bucket");

  const buckets: PlannedBucket[] = dataBuckets(graph).map((bucket) => ({
    id: bucketId(bucket),
    bucket,
    purpose: "data",
    staging: true,
  }));
  const stateName = graph.buckets.find((b) => b.settings.stateBucket)?.settings.stateBucket;
  buckets.push({
    id: STATE_BUCKET_ID,
    ...(stateName ? { bucket: stateName } : { bucketPrefix: `${awsName([prefix, "state"], 36)}-` }),
    purpose: "state",
    staging: false,
  });
  if (deploys) {
    buckets.push({
      id: "artifacts",
      bucketPrefix: `${awsName([prefix, "artifacts"], 36)}-`,
      purpose: "artifacts",
      staging: false,
    });
  }

  const sparkApp: PlannedSparkApplication | undefined = stepsOf("spark").length > 0
    ? {
      id: "spark",
      name: awsName([prefix, "spark"], 64),
      releaseLabel: EMR_RELEASE_LABEL,
      idleMinutes: SPARK_IDLE_MINUTES,
    }
    : undefined;

  const roles: PlannedRole[] = [];
  const logGroups: PlannedLogGroup[] = [];
  const objects: PlannedObject[] = [];
  /** Uploads a file of the output directory once, under its own path; returns the object's id. */
  const upload = (file: string, sha256?: string): string => {
    const known = objects.find((o) => o.file === file);
    if (known) return known.id;
    let id = `file_${file.replace(/[^A-Za-z0-9_-]/g, "_")}`;
    if (objects.some((o) => o.id === id)) id = `${id}_${shortHash(file)}`;
    const source = "${path.module}/" + literal(file);
    objects.push({
      id,
      file,
      key: literal(file),
      source,
      sourceHash: sha256 ?? '${filesha256("' + source + '")}',
    });
    return id;
  };
  const functions: PlannedFunction[] = [];
  const activities: PlannedActivity[] = [];
  const states = new Map<Step, TaskState>();

  for (const step of graph.steps) {
    const task = step.task.name;
    const id = taskId(task);
    const storage = taskStorageStatements(step, keyArn, region);
    const reads = Object.values(step.sources).map((r) => r.location).sort(byText);
    const what = `reads ${reads.map(literal).join(", ")}; writes ${literal(step.target.location)}`;
    const role = (trust: PolicyDocument, extra: PolicyStatement[], runsOn: string) =>
      roles.push({
        id,
        name: awsName([prefix, "task", task], 64),
        description: ascii(
          `Glacier task '${task}' of pipeline '${pipeline}' on ${runsOn}: ${what}`,
        ).slice(0, 1000),
        trust,
        policy: policy([...storage, ...extra]),
        task,
      });
    const kind = step.task.resource.kind;
    const limit = secondsOf(timeoutOf(step.task));
    if (kind === "serverless") {
      const artifact = artifacts.get(task)!;
      const settings = settingsOf(step.task.resource, "serverless");
      // The invoker finds the function by this name: the one rule lives in core.
      const name = lambdaFunctionName(step.task);
      const logGroup = { id, name: `/aws/lambda/${name}` };
      logGroups.push(logGroup);
      const objectId = upload(artifact.file, artifact.sha256);
      functions.push({
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
      });
      role(serviceTrust("lambda.amazonaws.com"), [
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
      ], `AWS Lambda`);
      states.set(
        step,
        taskState(
          task,
          `Lambda function ${name} (${settings.memoryMb} MB, ${settings.timeoutSeconds} s)`,
          `arn:${PARTITION}:states:::lambda:invoke`,
          {
            Parameters: {
              FunctionName: ref("aws_lambda_function", id, "arn"),
              Payload: { pipeline, task, "execution.$": "$$.Execution.Id" },
            },
            TimeoutSeconds: limit === undefined ? settings.timeoutSeconds + 60 : limit,
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
      );
    } else if (kind === "spark") {
      const artifact = artifacts.get(task)!;
      const settings = settingsOf(step.task.resource, "spark");
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
      role(
        serviceTrust("emr-serverless.amazonaws.com", {
          sourceArn: ref("aws_emrserverless_application", "spark", "arn"),
        }),
        [{
          Sid: "ReadJob",
          Effect: "Allow",
          Action: ["s3:GetObject"],
          Resource: keys.map((k) => `${ref("aws_s3_bucket", "artifacts", "arn")}/${literal(k)}`),
        }],
        "EMR Serverless",
      );
      states.set(
        step,
        taskState(
          task,
          `Spark job on EMR Serverless application ${sparkApp!.name} (${settings.executors} ` +
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
                  EntryPointArguments: ["--pipeline", pipeline, "--task", task],
                  SparkSubmitParameters: submit.join(" "),
                },
              },
              ...(limit === undefined
                ? {}
                : { ExecutionTimeoutMinutes: Math.max(1, Math.ceil(limit / 60)) }),
            },
            ...(limit === undefined ? {} : { TimeoutSeconds: limit }),
          },
          [{ errors: ["States.ALL"], intervalSeconds: 30, maxAttempts: 2 }],
        ),
      );
    } else {
      const name = awsName([prefix, task], 80);
      activities.push({ id, task, name });
      role(accountTrust(), [
        {
          Sid: "PollActivity",
          Effect: "Allow",
          Action: ["states:GetActivityTask"],
          Resource: [ref("aws_sfn_activity", id, "arn")],
        },
        {
          Sid: "ReportActivity",
          Effect: "Allow",
          Action: [...ACTIVITY_REPORT_ACTIONS],
          Resource: ["*"],
        },
      ], "an activity worker");
      states.set(
        step,
        taskState(
          task,
          `local task: waits for a worker polling activity ${name}`,
          ref("aws_sfn_activity", id, "arn"),
          { TimeoutSeconds: Math.min(limit ?? ACTIVITY_TIMEOUT_SECONDS, ACTIVITY_TIMEOUT_SECONDS) },
          [{ errors: ["States.TaskFailed"], intervalSeconds: 10, maxAttempts: 2 }],
        ),
      );
    }
  }

  const machineName = awsName([prefix], 80);
  const machineArn = `arn:${PARTITION}:states:${region}:${ACCOUNT}:stateMachine:${machineName}`;
  logGroups.push({ id: "pipeline", name: `/aws/vendedlogs/states/${machineName}` });
  roles.push({
    id: "pipeline",
    name: awsName([prefix, "pipeline"], 64),
    description: ascii(`Glacier pipeline '${pipeline}': the state machine that runs its tasks`),
    trust: serviceTrust("states.amazonaws.com", { sourceArn: machineArn }),
    policy: policy(stateMachineStatements(graph, region)),
  });
  const stateMachine: PlannedStateMachine = {
    id: "pipeline",
    name: machineName,
    definition: stateMachineDefinition(
      pipeline,
      graph.levels.map((level) => level.map((step) => states.get(step)!)),
    ),
  };

  let plannedSchedule: PlannedSchedule | undefined;
  if (schedule !== undefined) {
    plannedSchedule = {
      id: "schedule",
      name: awsName([prefix], 64),
      expression: schedule.trim(),
    };
    roles.push({
      id: "schedule",
      name: awsName([prefix, "schedule"], 64),
      description: ascii(`Glacier pipeline '${pipeline}': starts its state machine on schedule`),
      trust: serviceTrust("scheduler.amazonaws.com", {}),
      policy: policy([
        {
          Sid: "StartPipeline",
          Effect: "Allow",
          Action: ["states:StartExecution"],
          Resource: [ref("aws_sfn_state_machine", "pipeline", "arn")],
        },
        {
          Sid: "DecryptSchedule",
          Effect: "Allow",
          Action: ["kms:Decrypt"],
          Resource: [keyArn],
        },
      ]),
    });
  }

  const outputs: PlannedOutput[] = [
    ...buckets.map((b) => ({
      id: b.purpose === "data" ? b.id : `${b.id}_bucket`,
      description: b.purpose === "artifacts"
        ? "The S3 bucket that holds Lambda packages and Spark jobs"
        : b.purpose === "state"
        ? "The state bucket of cloud runs (locks, journals): set GLACIER_STATE_BUCKET to it"
        : `The S3 bucket ${b.bucket}`,
      value: ref("aws_s3_bucket", b.id, "bucket"),
    })),
    {
      id: "state_machine_arn",
      description: "Start a run: aws stepfunctions start-execution --state-machine-arn <this>",
      value: ref("aws_sfn_state_machine", "pipeline", "arn"),
    },
    ...activities.map((a) => ({
      id: `activity_${a.task}`,
      description: `The activity a worker polls to run local task '${a.task}'`,
      value: ref("aws_sfn_activity", a.id, "arn"),
    })),
    ...(sparkApp
      ? [{
        id: "spark_application_id",
        description: "The EMR Serverless application of the Spark tasks",
        value: ref("aws_emrserverless_application", "spark", "id"),
      }]
      : []),
  ];

  return {
    pipeline: graph.name,
    region,
    prefix,
    key: {
      id: "pipeline",
      alias: `alias/${prefix}`,
      description: ascii(`Glacier pipeline '${pipeline}': buckets, logs and schedule`),
      policy: keyPolicy(region),
    },
    buckets,
    roles,
    logGroups,
    objects,
    functions,
    activities,
    ...(sparkApp ? { spark: sparkApp } : {}),
    stateMachine,
    ...(plannedSchedule ? { schedule: plannedSchedule } : {}),
    outputs,
  };
}

/** What the state machine's role may do: start exactly the pipeline's functions and jobs. */
function stateMachineStatements(graph: PipelineGraph, region: string): PolicyStatement[] {
  const lambdas = graph.steps.filter((s) => s.task.resource.kind === "serverless");
  const sparks = graph.steps.filter((s) => s.task.resource.kind === "spark");
  const out: PolicyStatement[] = [];
  if (lambdas.length > 0) {
    out.push({
      Sid: "InvokeFunctions",
      Effect: "Allow",
      Action: ["lambda:InvokeFunction"],
      Resource: lambdas.flatMap((s) => {
        const arn = ref("aws_lambda_function", taskId(s.task.name), "arn");
        return [arn, `${arn}:*`];
      }),
    });
  }
  if (sparks.length > 0) {
    const app = ref("aws_emrserverless_application", "spark", "arn");
    out.push(
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
        Resource: sparks.map((s) => ref("aws_iam_role", taskId(s.task.name), "arn")),
        Condition: { StringEquals: { "iam:PassedToService": "emr-serverless.amazonaws.com" } },
      },
    );
  }
  out.push(
    { Sid: "DeliverLogs", Effect: "Allow", Action: [...LOG_DELIVERY_ACTIONS], Resource: ["*"] },
    { Sid: "Trace", Effect: "Allow", Action: [...TRACING_ACTIONS], Resource: ["*"] },
  );
  return out;
}

/** The S3 buckets of a pipeline, by name. */
function dataBuckets(graph: PipelineGraph): string[] {
  return [...new Set(graph.buckets.map((b) => b.bucket))].sort(byText);
}

function regionOf(graph: PipelineGraph): string {
  const regions = [...new Set(graph.buckets.map((b: BucketRef) => b.settings.region))].sort(byText);
  if (regions.length !== 1) {
    throw new UnsupportedError(
      `pipeline '${graph.name}' uses buckets of providers in regions ${regions.join(", ")}; ` +
        "generate Terraform for pipelines whose buckets share one provider's region",
    );
  }
  return regions[0];
}

/** IAM and KMS descriptions take printable ASCII only. */
function ascii(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, "?");
}

/** A timeout as Step Functions takes it: whole seconds, rounded up. */
function secondsOf(seconds: number | undefined): number | undefined {
  return seconds === undefined ? undefined : Math.ceil(seconds);
}
