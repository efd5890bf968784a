/**
 * The resource plan of a pipeline as plain data: every AWS resource its Terraform declares, and
 * what each backend contributes for one step (`StepDeployment`). `src/generate/` assembles the
 * plan from the backends' parts and turns it into Terraform with cdktf.
 *
 * @module
 */
import type { ResourceKind } from "../resource.ts";
import type { PolicyDocument, PolicyStatement } from "./policies.ts";
import type { AslDefinition, TaskState } from "./state_machine.ts";

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
  /** The input of each execution it starts, JSON: the time it was scheduled for. */
  readonly input: string;
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
  /** The Spark application, when there are Spark tasks. */
  readonly spark?: PlannedSparkApplication;
  /** The state machine. */
  readonly stateMachine: PlannedStateMachine;
  /** The schedule, when one was asked for. */
  readonly schedule?: PlannedSchedule;
  /** The outputs. */
  readonly outputs: readonly PlannedOutput[];
}

/** The Lambda runtime and handler the Terraform declares when no Lambda artifact was built. */
export const DEFAULT_LAMBDA = Object.freeze({ runtime: "provided.al2023", handler: "bootstrap" });

/** A task's artifact as the Terraform uses it. */
export interface PlannedArtifact {
  /** The task's name. */
  readonly task: string;
  /** The kind of resource the task runs on. */
  readonly kind: ResourceKind;
  /** The file to upload, relative to the output directory, with `/` separators. */
  readonly file: string;
  /** Its SHA-256, hex, when it was built; otherwise Terraform hashes the file itself. */
  readonly sha256?: string;
  /** For Lambda: the runtime. */
  readonly runtime?: string;
  /** For Lambda: the handler. */
  readonly handler?: string;
  /** For Spark: the script the job runs, relative to the output directory, when not `file`. */
  readonly entryPoint?: string;
  /** Whether this version of Glacier built it. */
  readonly built: boolean;
}

/** What generate knows of a step when its backend declares the step's part of the Terraform. */
export interface DeploymentContext {
  /** The pipeline's name, as a Terraform literal. */
  readonly pipeline: string;
  /** The start of every resource's name, `glacier-<pipeline>`. */
  readonly prefix: string;
  /** The task's Terraform identifier (`task_<name>`): its role's, function's and log group's. */
  readonly id: string;
  /** What the step reads and writes, for descriptions. */
  readonly what: string;
  /** The task's artifact, built or expected, for the kinds that deploy code. */
  readonly artifact?: PlannedArtifact;
  /** The task's own time limit in seconds (`timeoutSeconds`), when it has one. */
  readonly timeoutSeconds?: number;
  /**
   * Whether the step writes partitions: its state then runs in the state machine's `Map` state,
   * once per partition, and passes the iteration's partition (`$.partition`) on to the step.
   */
  readonly partitioned?: boolean;
  /**
   * Uploads a file of the output directory to the artifacts bucket, once whatever uses it.
   *
   * @param file the file, relative to the output directory.
   * @param sha256 its hash when known; Terraform hashes the file otherwise.
   * @returns the object's Terraform identifier.
   */
  upload(file: string, sha256?: string): string;
}

/** A backend's part of the Terraform of one step. */
export interface StepDeployment {
  /**
   * The task role's trust, what it may do in storage beyond cloud mode's keys (`storage`) and
   * elsewhere (`statements`), and what the task runs on.
   */
  readonly role: {
    readonly trust: PolicyDocument;
    readonly storage?: readonly PolicyStatement[];
    readonly statements: readonly PolicyStatement[];
    readonly runsOn: string;
  };
  /** The Lambda function that runs the task, when it is one. */
  readonly function?: PlannedFunction;
  /** The task's log group, when it has its own. */
  readonly logGroup?: PlannedLogGroup;
  /** The application the task's job runs in (the same one for every step of its kind). */
  readonly application?: PlannedSparkApplication;
  /** How the state machine runs the task. */
  readonly state: TaskState;
}
