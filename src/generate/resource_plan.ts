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
import type { Backends, DeclaredTerraform } from "../core/backend.ts";
import { UnsupportedError } from "../core/errors.ts";
import type { PipelineGraph } from "../core/graph.ts";
import type { BucketRef, Step } from "../core/lineage.ts";
import { timeoutOf } from "../core/task.ts";
import { BACKENDS } from "../backends/mod.ts";
import { deployedSteps } from "./artifacts.ts";
import {
  ascii,
  awsName,
  bucketId,
  byText,
  literal,
  ref,
  shortHash,
  slug,
  taskId,
} from "../core/deploy/names.ts";
import {
  ACCOUNT,
  keyPolicy,
  LOG_DELIVERY_ACTIONS,
  PARTITION,
  policy,
  type PolicyStatement,
  runStatements,
  serviceTrust,
  STATE_BUCKET_ID,
  taskStorageStatements,
  TRACING_ACTIONS,
} from "../core/deploy/policies.ts";
import {
  DEFAULT_PARTITION_CONCURRENCY,
  stateMachineDefinition,
  type TaskState,
} from "../core/deploy/state_machine.ts";
import { deployedStages } from "../core/deploy/stages.ts";
import type { GenerateOptions } from "../core/reports.ts";
import type {
  PlannedArtifact,
  PlannedBucket,
  PlannedFunction,
  PlannedLogGroup,
  PlannedObject,
  PlannedOutput,
  PlannedRole,
  PlannedSchedule,
  PlannedSparkApplication,
  PlannedStateMachine,
  TerraformPlan,
} from "../core/deploy/terraform_plan.ts";

/** How a pipeline is deployed: when it runs on its own, and how many partitions run at once. */
export type DeployOptions = Pick<GenerateOptions, "schedule" | "partitionConcurrency">;

/** The Terraform identifier of the function, role and log group of the run's handlers. */
const RUN_ID = "run";
/** The memory and time limit of the run's handlers (a Spark step's record reads its output). */
const RUN_MEMORY_MB = 1024;
const RUN_TIMEOUT_SECONDS = 900;

/**
 * What the schedule gives each execution: the time it was scheduled for, which EventBridge
 * Scheduler fills in (its `<aws.scheduler.scheduled-time>` context attribute), so that a late or
 * retried start still runs the partitions of its own time.
 */
const SCHEDULE_INPUT = JSON.stringify({ scheduledTime: "<aws.scheduler.scheduled-time>" });

const SCHEDULE =
  /^(rate\(\s*\d+\s+(minute|minutes|hour|hours|day|days)\s*\)|cron\([^()]+\)|at\([0-9T:-]+\))$/;
const IAM_WILDCARDS = /[*?]/;

/**
 * Refuses, before anything is built, what Terraform cannot express: buckets in several regions, a
 * bucket path that IAM would read as a wildcard, a schedule that is not `rate(...)`, `cron(...)`
 * or `at(...)`, a partition concurrency that is not a positive whole number, and a pipeline
 * shape that deployed runs cannot run (`deployedStages`).
 *
 * @param graph the pipeline.
 * @param options the schedule expression and the partition concurrency, when given.
 * @returns the pipeline's region.
 * @throws {UnsupportedError} naming the bucket, the task or the expression.
 */
export function checkDeployable(graph: PipelineGraph, options: DeployOptions = {}): string {
  const { schedule, partitionConcurrency } = options;
  const region = regionOf(graph);
  deployedStages(graph);
  if (
    partitionConcurrency !== undefined &&
    (!Number.isInteger(partitionConcurrency) || partitionConcurrency < 1)
  ) {
    throw new UnsupportedError(
      `partitionConcurrency ${partitionConcurrency} is not a whole number of partitions at ` +
        `once; give 1 or more (default ${DEFAULT_PARTITION_CONCURRENCY})`,
    );
  }
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
  return region;
}

/**
 * Plans the resources of a pipeline.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Provider, schema, t } from "@glacier/glacier";
 * const provider = new Provider({ localRoot: await Deno.makeTempDir() });
 * const S = schema({ id: t.int64 });
 * const copy = provider.serverless().task({ name: "copy", input: S, output: S }, (df) => df);
 * const out = provider.bucket({ bucket: "demo-in", path: "a.parquet", schema: S })
 *   .transform(copy).to(provider.bucket({ bucket: "demo-out", path: "b.parquet", schema: S }));
 * import { planTerraform } from "./resource_plan.ts";
 * const artifacts = new Map([["copy", {
 *   task: "copy", kind: "serverless" as const, file: "artifacts/copy.zip",
 *   runtime: "provided.al2023", handler: "bootstrap", built: false,
 * }]]);
 * const plan = planTerraform(out.graph(), artifacts, { schedule: "rate(1 day)" });
 * assert.deepEqual(plan.roles.map((r) => r.name), [
 *   "glacier-demo-out-b-parquet-task-copy",
 *   "glacier-demo-out-b-parquet-run",
 *   "glacier-demo-out-b-parquet-pipeline",
 *   "glacier-demo-out-b-parquet-schedule",
 * ]);
 * ```
 *
 * @param graph the pipeline.
 * @param artifacts the artifacts of its serverless and Spark tasks, by task name.
 * @param options an EventBridge Scheduler expression, when the pipeline runs on a schedule, and
 *   how many partitions its `Map` state runs at once.
 * @param backends what each kind of task declares (default: Glacier's own).
 * @returns the plan.
 * @throws {UnsupportedError} for buckets in several regions, a bucket path that IAM would read
 * as a wildcard, a schedule expression that is not `rate(...)`, `cron(...)` or `at(...)`, or a
 * pipeline shape that deployed runs cannot run.
 */
export function planTerraform(
  graph: PipelineGraph,
  artifacts: ReadonlyMap<string, PlannedArtifact>,
  options: DeployOptions = {},
  backends: Backends = BACKENDS,
): TerraformPlan {
  const region = checkDeployable(graph, options);
  const schedule = options.schedule;
  const stages = deployedStages(graph);
  const mapped = new Set(stages.partitioned.flat());
  const prefix = awsName(["glacier", slug(graph.name)], 40);
  const pipeline = literal(graph.name);
  const keyArn = ref("aws_kms_key", "pipeline", "arn");
  const deployed = deployedSteps(graph, backends);
  // Code goes to an artifacts bucket when any step runs code of its own in AWS.
  const deploys = deployed.some((s) => {
    const terraform = backends[s.task.resource.kind].terraform;
    return "placeholder" in terraform && terraform.placeholder(s) !== undefined;
  });

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
  const states = new Map<Step, TaskState>();

  let sparkApp: PlannedSparkApplication | undefined;
  const targets = graph.steps.map((s) => s.target);
  for (const [index, step] of deployed.entries()) {
    const terraform = backends[step.task.resource.kind].terraform;
    if (!("deploy" in terraform)) {
      throw new UnsupportedError(
        `task '${step.task.name}' runs on a resource that deploys as another kind, which ` +
          "deploys as another kind again; a backend's deployAs must name a kind with resources",
      );
    }
    const task = step.task.name;
    const id = taskId(task);
    const reads = Object.values(step.sources).map((r) => r.location).sort(byText);
    const what = `reads ${reads.map(literal).join(", ")}; writes ${literal(step.target.location)}`;
    const limit = timeoutOf(step.task);
    const artifact = artifacts.get(task);
    const part = terraform.deploy(step, {
      pipeline,
      prefix,
      id,
      what,
      ...(artifact ? { artifact } : {}),
      ...(limit === undefined ? {} : { timeoutSeconds: Math.ceil(limit) }),
      partitioned: mapped.has(graph.steps[index]),
      upload,
    });
    roles.push({
      id,
      name: awsName([prefix, "task", task], 64),
      description: ascii(
        `Glacier task '${task}' of pipeline '${pipeline}' on ${part.role.runsOn}: ${what}`,
      ).slice(0, 1000),
      trust: part.role.trust,
      policy: policy([
        ...taskStorageStatements(step, keyArn, region, part.role.storage, targets),
        ...part.role.statements,
      ]),
      task,
    });
    if (part.logGroup) logGroups.push(part.logGroup);
    if (part.function) functions.push(part.function);
    sparkApp ??= part.application;
    states.set(graph.steps[index], part.state);
  }

  // The run's handlers (begin, decide and record around a Spark job, commit, abort) run in a
  // function of their own, from the same Lambda package as the tasks' functions.
  const packaged = functions[0];
  if (packaged === undefined) {
    throw new UnsupportedError(
      `pipeline '${graph.name}' has no task that runs on Lambda, and a deployed run's handlers ` +
        "(begin, commit, abort) run in the pipeline module's Lambda package: declare one task " +
        "on provider.serverless() or provider.local(), or run the pipeline in cloud mode from a " +
        "machine",
    );
  }
  const runFunction: PlannedFunction = {
    id: RUN_ID,
    task: "",
    name: awsName([prefix, "run"], 64),
    description: ascii(
      `Glacier pipeline '${pipeline}': begins, decides, records, commits and aborts its runs`,
    ).slice(0, 256),
    objectId: packaged.objectId,
    runtime: packaged.runtime,
    handler: packaged.handler,
    memoryMb: RUN_MEMORY_MB,
    timeoutSeconds: RUN_TIMEOUT_SECONDS,
  };
  functions.push(runFunction);
  logGroups.push({ id: RUN_ID, name: `/aws/lambda/${runFunction.name}` });
  roles.push({
    id: RUN_ID,
    name: awsName([prefix, "run"], 64),
    description: ascii(`Glacier pipeline '${pipeline}': the handlers of its deployed runs`),
    trust: serviceTrust("lambda.amazonaws.com"),
    policy: policy([
      ...runStatements(graph.steps, keyArn, region),
      {
        Sid: "WriteLogs",
        Effect: "Allow",
        Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
        Resource: [`${ref("aws_cloudwatch_log_group", RUN_ID, "arn")}:*`],
      },
      {
        Sid: "Trace",
        Effect: "Allow",
        Action: ["xray:PutTelemetryRecords", "xray:PutTraceSegments"],
        Resource: ["*"],
      },
    ]),
  });
  const runHandler = (event: Readonly<Record<string, unknown>>) => ({
    Type: "Task",
    Resource: `arn:${PARTITION}:states:::lambda:invoke`,
    Parameters: {
      FunctionName: ref("aws_lambda_function", RUN_ID, "arn"),
      Payload: {
        glacier: 1,
        pipeline,
        stateBucket: ref("aws_s3_bucket", STATE_BUCKET_ID, "bucket"),
        ...event,
      },
    },
    TimeoutSeconds: RUN_TIMEOUT_SECONDS + 60,
    Retry: [{
      ErrorEquals: [
        "Lambda.AWSLambdaException",
        "Lambda.SdkClientException",
        "Lambda.ServiceException",
        "Lambda.TooManyRequestsException",
      ],
      IntervalSeconds: 2,
      MaxAttempts: 5,
      BackoffRate: 2,
      JitterStrategy: "FULL",
    }],
  });

  const machineName = awsName([prefix], 80);
  const machineArn = `arn:${PARTITION}:states:${region}:${ACCOUNT}:stateMachine:${machineName}`;
  logGroups.push({ id: "pipeline", name: `/aws/vendedlogs/states/${machineName}` });
  roles.push({
    id: "pipeline",
    name: awsName([prefix, "pipeline"], 64),
    description: ascii(`Glacier pipeline '${pipeline}': the state machine that runs its tasks`),
    trust: serviceTrust("states.amazonaws.com", { sourceArn: machineArn }),
    policy: policy(stateMachineStatements(deployed, region, backends)),
  });
  const stateMachine: PlannedStateMachine = {
    id: "pipeline",
    name: machineName,
    definition: stateMachineDefinition(
      pipeline,
      {
        before: stages.before.map((wave) => wave.map((step) => states.get(step)!)),
        partitioned: stages.partitioned.map((wave) => wave.map((step) => states.get(step)!)),
        after: stages.after.map((wave) => wave.map((step) => states.get(step)!)),
      },
      runHandler,
      options.partitionConcurrency === undefined
        ? {}
        : { partitionConcurrency: options.partitionConcurrency },
    ),
  };

  let plannedSchedule: PlannedSchedule | undefined;
  if (schedule !== undefined) {
    plannedSchedule = {
      id: "schedule",
      name: awsName([prefix], 64),
      expression: schedule.trim(),
      input: SCHEDULE_INPUT,
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
    ...kindsOf(deployed, backends).flatMap(([terraform, steps]) => terraform.outputs(steps)),
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
    ...(sparkApp ? { spark: sparkApp } : {}),
    stateMachine,
    ...(plannedSchedule ? { schedule: plannedSchedule } : {}),
    outputs,
  };
}

/** What the state machine's role may do: start exactly the pipeline's functions and jobs. */
function stateMachineStatements(
  deployed: readonly Step[],
  region: string,
  backends: Backends,
): PolicyStatement[] {
  return [
    ...kindsOf(deployed, backends).flatMap(([terraform, steps]) =>
      terraform.machineStatements(steps, region)
    ),
    {
      Sid: "InvokeRunHandlers",
      Effect: "Allow",
      Action: ["lambda:InvokeFunction"],
      Resource: [
        ref("aws_lambda_function", RUN_ID, "arn"),
        `${ref("aws_lambda_function", RUN_ID, "arn")}:*`,
      ],
    },
    { Sid: "DeliverLogs", Effect: "Allow", Action: [...LOG_DELIVERY_ACTIONS], Resource: ["*"] },
    { Sid: "Trace", Effect: "Allow", Action: [...TRACING_ACTIONS], Resource: ["*"] },
  ];
}

/** Each backend that declares resources, with the deployed steps of its kind, in order. */
function kindsOf(
  deployed: readonly Step[],
  backends: Backends,
): [DeclaredTerraform, Step[]][] {
  return Object.values(backends).flatMap((backend) =>
    "deploy" in backend.terraform
      ? [[
        backend.terraform,
        deployed.filter((s) => s.task.resource.kind === backend.kind),
      ] as [DeclaredTerraform, Step[]]]
      : []
  );
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
