/**
 * IAM policy documents as plain data: what each task's role may do, who may assume it, and
 * what the state machine, the schedule and the KMS key allow. References to other resources are
 * Terraform template strings, so a document can be written into any Terraform JSON as it is.
 *
 * A task's S3 access follows what cloud mode does for one step (see `src/io/s3/`): it reads
 * its input objects, uploads its output under `.glacier/staging/<run>/<path>`, keeps the previous
 * object under `.glacier/previous/<run>/<path>` and copies the staged one into place; in the state
 * bucket it takes the lock `locks/<bucket>/<path>.lock` and writes and deletes its run's journal
 * (`journal/`) and run record (`runs/`), and lists both to finish commits cut short. What a kind
 * of resource needs beyond that (Spark's scratch space) comes from its backend. Nothing else: no
 * wildcard action, no `*` resource for S3.
 *
 * @module
 */
import type { BucketRef, Step } from "../lineage.ts";
import { bucketId, byText, literal, ref } from "./names.ts";

/** One statement of an IAM policy. */
export interface PolicyStatement {
  /** An identifier, letters and digits. */
  readonly Sid: string;
  /** `Allow`: Glacier writes no deny statements. */
  readonly Effect: "Allow";
  /** Who the statement is about, for trust and key policies. */
  readonly Principal?: Readonly<Record<string, string>>;
  /** The actions, each named in full. */
  readonly Action: readonly string[];
  /** The resources, as ARNs or Terraform references; absent in trust policies. */
  readonly Resource?: readonly string[];
  /** Conditions, by operator and key. */
  readonly Condition?: Readonly<
    Record<string, Readonly<Record<string, string | readonly string[]>>>
  >;
}

/** An IAM policy document. */
export interface PolicyDocument {
  /** The policy language version. */
  readonly Version: "2012-10-17";
  /** The statements. */
  readonly Statement: readonly PolicyStatement[];
}

/** The AWS partition of the account Terraform applies to (`aws`, `aws-cn`, `aws-us-gov`). */
export const PARTITION = "${data.aws_partition.current.partition}";
/** The account Terraform applies to. */
export const ACCOUNT = "${data.aws_caller_identity.current.account_id}";
/** Where cloud mode keeps its own objects inside a bucket. */
export const META_PREFIX = ".glacier/";
/** The Terraform identifier of the state bucket, where cloud runs keep locks and journals. */
export const STATE_BUCKET_ID = "state";
/** The state bucket's ARN. */
export const STATE_BUCKET_ARN: string = ref("aws_s3_bucket", STATE_BUCKET_ID, "arn");

/**
 * A policy document from its statements.
 *
 * @param statements the statements.
 * @returns the document.
 */
export function policy(statements: readonly PolicyStatement[]): PolicyDocument {
  return { Version: "2012-10-17", Statement: statements };
}

/**
 * The ARN of an S3 bucket that the stack declares.
 *
 * @param bucket the S3 bucket's name.
 * @returns a Terraform reference to its ARN.
 */
export function bucketArn(bucket: string): string {
  return ref("aws_s3_bucket", bucketId(bucket), "arn");
}

/**
 * The ARN of an object, or of objects matching a key pattern, in a bucket the stack declares. A
 * partitioned bucket's path matches each of its partitions: each `{key}` becomes `*`, so the ARN
 * covers exactly the keys under the path's fixed parts (`raw/*` + `/` + `*.parquet` for
 * `raw/{site}/{date}.parquet`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { objectArn } from "./policies.ts";
 * assert.equal(
 *   objectArn("lab", "raw/{site}/{date}.parquet"),
 *   "${aws_s3_bucket.bucket_lab.arn}/raw/*" + "/*.parquet",
 * );
 * ```
 *
 * @param bucket the S3 bucket's name.
 * @param key the key; `*` in it is a wildcard, and so is each `{placeholder}` of a path.
 * @returns the ARN as a Terraform template.
 */
export function objectArn(bucket: string, key: string): string {
  return `${bucketArn(bucket)}/${literal(key.replace(/\{[^{}]*\}/g, "*"))}`;
}

/**
 * The S3 statements of a task's role: its inputs, its output and the keys cloud mode keeps for
 * that output.
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
 * import { taskStorageStatements } from "./policies.ts";
 * const [step] = out.graph().steps;
 * const statements = taskStorageStatements(step, "arn:aws:kms:eu-west-1:1:key/k", "eu-west-1");
 * assert.deepEqual(statements.find((s) => s.Sid === "LockOutput")?.Resource, [
 *   "${aws_s3_bucket.state.arn}/locks/demo-out/b.parquet.lock",
 * ]);
 * ```
 *
 * @param step the task's step.
 * @param keyArn the ARN of the KMS key the buckets are encrypted with.
 * @param region the region of the buckets.
 * @param extra what the task's resource needs in storage beyond cloud mode's keys (Spark's
 *   scratch space, say), from its backend.
 * @returns the statements.
 */
export function taskStorageStatements(
  step: Step,
  keyArn: string,
  region: string,
  extra: readonly PolicyStatement[] = [],
  targets: readonly BucketRef[] = [step.target],
): PolicyStatement[] {
  const out = step.target;
  const inputs = uniqueRefs(Object.values(step.sources));
  return [
    {
      Sid: "ReadInputs",
      Effect: "Allow",
      Action: ["s3:GetObject"],
      // A deployed run's step reads what this run's earlier steps staged.
      Resource: inputs.flatMap((r) => [
        objectArn(r.bucket, r.path),
        objectArn(r.bucket, `${META_PREFIX}staging/*/${r.path}`),
      ]),
    },
    {
      Sid: "WriteOutput",
      Effect: "Allow",
      Action: ["s3:AbortMultipartUpload", "s3:GetObject", "s3:PutObject"],
      Resource: [objectArn(out.bucket, out.path)],
    },
    {
      Sid: "StageOutput",
      Effect: "Allow",
      Action: ["s3:AbortMultipartUpload", "s3:DeleteObject", "s3:GetObject", "s3:PutObject"],
      Resource: [
        objectArn(out.bucket, `${META_PREFIX}previous/*/${out.path}`),
        objectArn(out.bucket, `${META_PREFIX}staging/*/${out.path}`),
      ],
    },
    {
      Sid: "ListRunObjects",
      Effect: "Allow",
      Action: ["s3:ListBucket"],
      Resource: [bucketArn(out.bucket)],
      Condition: {
        StringLike: { "s3:prefix": [`${META_PREFIX}previous/*`, `${META_PREFIX}staging/*`] },
      },
    },
    {
      Sid: "LockOutput",
      Effect: "Allow",
      Action: ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"],
      Resource: [`${STATE_BUCKET_ARN}/${literal(`locks/${out.bucket}/${out.path}.lock`)}`],
    },
    {
      Sid: "KeepJournal",
      Effect: "Allow",
      Action: ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"],
      Resource: [`${STATE_BUCKET_ARN}/journal/*`, `${STATE_BUCKET_ARN}/runs/*`],
    },
    {
      Sid: "ListJournals",
      Effect: "Allow",
      Action: ["s3:ListBucket"],
      Resource: [STATE_BUCKET_ARN],
      Condition: { StringLike: { "s3:prefix": ["deployed/*", "journal/*", "runs/*"] } },
    },
    {
      // A deployed run's step handler: renews the run's locks, reads the ledger's versions,
      // records the step in the run's state.
      Sid: "DeployedStep",
      Effect: "Allow",
      Action: ["s3:GetObject", "s3:PutObject"],
      Resource: [
        `${STATE_BUCKET_ARN}/deployed/*`,
        ...lockArns(targets).filter((arn) =>
          !arn.endsWith(literal(`locks/${out.bucket}/${out.path}.lock`))
        ),
      ],
    },
    {
      Sid: "ReadLedger",
      Effect: "Allow",
      Action: ["s3:GetObject"],
      Resource: [`${STATE_BUCKET_ARN}/ledger/head.json`],
    },
    ...extra,
    encryptionStatement(keyArn, region),
  ];
}

/**
 * The statements of the role of a pipeline's run handlers (begin, decide, record, commit, abort):
 * the locks of every bucket the pipeline writes, the state bucket's journals, run markers, run
 * states and ledger, and in each data bucket the keys a commit reads and writes.
 *
 * @param steps the pipeline's steps.
 * @param keyArn the ARN of the KMS key the buckets are encrypted with.
 * @param region the region of the buckets.
 * @returns the statements.
 */
export function runStatements(
  steps: readonly Step[],
  keyArn: string,
  region: string,
): PolicyStatement[] {
  const targets = uniqueRefs(steps.map((s) => s.target));
  const inputs = uniqueRefs(steps.flatMap((s) => Object.values(s.sources)));
  const buckets = [...new Set([...targets, ...inputs].map((r) => r.bucket))].sort(byText);
  return [
    {
      Sid: "ReadInputs",
      Effect: "Allow",
      Action: ["s3:GetObject"],
      Resource: inputs.map((r) => objectArn(r.bucket, r.path)),
    },
    {
      Sid: "PublishOutputs",
      Effect: "Allow",
      Action: ["s3:AbortMultipartUpload", "s3:DeleteObject", "s3:GetObject", "s3:PutObject"],
      Resource: targets.flatMap((r) => [
        objectArn(r.bucket, r.path),
        objectArn(r.bucket, `${META_PREFIX}previous/*/${r.path}`),
        objectArn(r.bucket, `${META_PREFIX}staging/*/${r.path}`),
      ]),
    },
    {
      // HeadBucket, which a run uses to find each bucket it writes, needs s3:ListBucket on the
      // bucket itself; a run also lists what it staged to remove it.
      Sid: "FindBuckets",
      Effect: "Allow",
      Action: ["s3:ListBucket"],
      Resource: [...buckets.map(bucketArn), STATE_BUCKET_ARN],
    },
    {
      Sid: "KeepRunState",
      Effect: "Allow",
      Action: ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"],
      Resource: [
        ...lockArns(targets),
        `${STATE_BUCKET_ARN}/deployed/*`,
        `${STATE_BUCKET_ARN}/journal/*`,
        `${STATE_BUCKET_ARN}/ledger/*`,
        `${STATE_BUCKET_ARN}/runs/*`,
      ],
    },
    encryptionStatement(keyArn, region),
  ];
}

function lockArns(targets: readonly BucketRef[]): string[] {
  return uniqueRefs(targets).map((r) =>
    `${STATE_BUCKET_ARN}/${literal(`locks/${r.bucket}/${r.path}.lock`)}`
  );
}

/**
 * Use of the pipeline's KMS key through S3 only: decrypting what a role reads, and data keys for
 * what it writes.
 *
 * @param keyArn the key's ARN.
 * @param region the region of the buckets.
 * @returns the statement.
 */
export function encryptionStatement(keyArn: string, region: string): PolicyStatement {
  return {
    Sid: "UseBucketKey",
    Effect: "Allow",
    Action: ["kms:Decrypt", "kms:GenerateDataKey"],
    Resource: [keyArn],
    Condition: { StringEquals: { "kms:ViaService": `s3.${region}.amazonaws.com` } },
  };
}

/**
 * The trust policy of a role that an AWS service assumes.
 *
 * @param service the service principal, such as `lambda.amazonaws.com`.
 * @param scope for services that say on whose behalf they assume the role: the account, and the
 * resource that may use the role (`aws:SourceAccount`, `aws:SourceArn`). Lambda does not, so its
 * execution roles trust the service alone.
 * @returns the document.
 */
export function serviceTrust(
  service: string,
  scope?: { readonly sourceArn?: string },
): PolicyDocument {
  return policy([{
    Sid: "ServiceAssumes",
    Effect: "Allow",
    Principal: { Service: service },
    Action: ["sts:AssumeRole"],
    ...(scope
      ? {
        Condition: {
          StringEquals: { "aws:SourceAccount": ACCOUNT },
          ...(scope.sourceArn ? { ArnLike: { "aws:SourceArn": scope.sourceArn } } : {}),
        },
      }
      : {}),
  }]);
}

/**
 * The policy of the pipeline's KMS key: the account administers it through IAM (the default
 * key policy), and CloudWatch Logs may use it for this account's log groups.
 *
 * @param region the stack's region.
 * @returns the document.
 */
export function keyPolicy(region: string): PolicyDocument {
  return policy([
    {
      Sid: "AccountAdministers",
      Effect: "Allow",
      Principal: { AWS: `arn:${PARTITION}:iam::${ACCOUNT}:root` },
      Action: ["kms:*"],
      Resource: ["*"],
    },
    {
      Sid: "LogsEncrypt",
      Effect: "Allow",
      Principal: { Service: `logs.${region}.amazonaws.com` },
      Action: [
        "kms:Decrypt",
        "kms:DescribeKey",
        "kms:Encrypt",
        "kms:GenerateDataKey",
        "kms:GenerateDataKeyWithoutPlaintext",
        "kms:ReEncryptFrom",
        "kms:ReEncryptTo",
      ],
      Resource: ["*"],
      Condition: {
        ArnLike: {
          "kms:EncryptionContext:aws:logs:arn":
            `arn:${PARTITION}:logs:${region}:${ACCOUNT}:log-group:*`,
        },
      },
    },
  ]);
}

/** Actions that X-Ray allows on `*` only. */
export const TRACING_ACTIONS: readonly string[] = [
  "xray:GetSamplingRules",
  "xray:GetSamplingTargets",
  "xray:PutTelemetryRecords",
  "xray:PutTraceSegments",
];

/** Actions that CloudWatch Logs' vended log delivery allows on `*` only. */
export const LOG_DELIVERY_ACTIONS: readonly string[] = [
  "logs:CreateLogDelivery",
  "logs:DeleteLogDelivery",
  "logs:DescribeLogGroups",
  "logs:DescribeResourcePolicies",
  "logs:GetLogDelivery",
  "logs:ListLogDeliveries",
  "logs:PutResourcePolicy",
  "logs:UpdateLogDelivery",
];

function uniqueRefs(refs: readonly BucketRef[]): BucketRef[] {
  const seen = new Map<string, BucketRef>();
  for (const r of refs) seen.set(r.location, r);
  return [...seen.values()].sort((a, b) => byText(a.location, b.location));
}
