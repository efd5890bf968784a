/**
 * The one module that uses cdktf: it turns a resource plan into the typed constructs of
 * `@cdktf/provider-aws`, synthesizes the stack and returns its Terraform JSON, made canonical.
 * cdktf is archived upstream; replacing it with a fork changes this file only.
 *
 * IAM role and trust policies become `aws_iam_policy_document` data sources, so Terraform renders
 * their JSON and policy scanners such as checkov read every action, resource and condition. The KMS
 * key policy stays a JSON string: it is a resource policy whose `Resource: "*"` means the key
 * itself, which identity-policy checks would misread.
 *
 * What cdktf writes that depends on the machine or the run is removed: its `//` metadata blocks
 * (construct paths, stack traces) and the local backend it adds with an absolute state path, so
 * Terraform uses its default backend (state in the working directory) unless the user adds one.
 *
 * @module
 */
import { App, TerraformOutput, type TerraformResource, TerraformStack } from "npm:cdktf@0.21.0";
import { AwsProvider } from "npm:@cdktf/provider-aws@21.22.1/lib/provider/index.js";
import { DataAwsCallerIdentity } from "npm:@cdktf/provider-aws@21.22.1/lib/data-aws-caller-identity/index.js";
import { DataAwsPartition } from "npm:@cdktf/provider-aws@21.22.1/lib/data-aws-partition/index.js";
import { KmsKey } from "npm:@cdktf/provider-aws@21.22.1/lib/kms-key/index.js";
import { KmsAlias } from "npm:@cdktf/provider-aws@21.22.1/lib/kms-alias/index.js";
import { S3Bucket } from "npm:@cdktf/provider-aws@21.22.1/lib/s3-bucket/index.js";
import { S3BucketPublicAccessBlock } from "npm:@cdktf/provider-aws@21.22.1/lib/s3-bucket-public-access-block/index.js";
import { S3BucketOwnershipControls } from "npm:@cdktf/provider-aws@21.22.1/lib/s3-bucket-ownership-controls/index.js";
import { S3BucketServerSideEncryptionConfigurationA } from "npm:@cdktf/provider-aws@21.22.1/lib/s3-bucket-server-side-encryption-configuration/index.js";
import { S3BucketVersioningA } from "npm:@cdktf/provider-aws@21.22.1/lib/s3-bucket-versioning/index.js";
import { S3BucketLifecycleConfiguration } from "npm:@cdktf/provider-aws@21.22.1/lib/s3-bucket-lifecycle-configuration/index.js";
import { S3BucketNotification } from "npm:@cdktf/provider-aws@21.22.1/lib/s3-bucket-notification/index.js";
import { S3Object } from "npm:@cdktf/provider-aws@21.22.1/lib/s3-object/index.js";
import {
  DataAwsIamPolicyDocument,
  type DataAwsIamPolicyDocumentStatement,
} from "npm:@cdktf/provider-aws@21.22.1/lib/data-aws-iam-policy-document/index.js";
import { IamRole } from "npm:@cdktf/provider-aws@21.22.1/lib/iam-role/index.js";
import { IamRolePolicy } from "npm:@cdktf/provider-aws@21.22.1/lib/iam-role-policy/index.js";
import { CloudwatchLogGroup } from "npm:@cdktf/provider-aws@21.22.1/lib/cloudwatch-log-group/index.js";
import { LambdaFunction } from "npm:@cdktf/provider-aws@21.22.1/lib/lambda-function/index.js";
import { SfnStateMachine } from "npm:@cdktf/provider-aws@21.22.1/lib/sfn-state-machine/index.js";
import { EmrserverlessApplication } from "npm:@cdktf/provider-aws@21.22.1/lib/emrserverless-application/index.js";
import { SchedulerSchedule } from "npm:@cdktf/provider-aws@21.22.1/lib/scheduler-schedule/index.js";
import { join } from "node:path";
import { canonicalJson } from "./_json.ts";
import type { PolicyDocument } from "../core/deploy/policies.ts";
import {
  AWS_PROVIDER,
  LOG_RETENTION_DAYS,
  MULTIPART_ABORT_DAYS,
  NONCURRENT_VERSION_DAYS,
  PREVIOUS_EXPIRY_DAYS,
  STAGING_EXPIRY_DAYS,
  type TerraformPlan,
} from "../core/deploy/terraform_plan.ts";

const STACK = "glacier";

/**
 * Synthesizes the Terraform of a plan.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Provider, schema, t } from "@glacier/glacier";
 * const provider = new Provider({ localRoot: await Deno.makeTempDir() });
 * const S = schema({ id: t.int64 });
 * const copy = provider.local().task({ name: "copy", input: S, output: S }, (df) => df);
 * const out = provider.bucket({ bucket: "demo-in", path: "a.parquet", schema: S })
 *   .transform(copy).to(provider.bucket({ bucket: "demo-out", path: "b.parquet", schema: S }));
 * import { planTerraform } from "./resource_plan.ts";
 * import { synthesizeTerraform } from "./cdktf_stack.ts";
 * const tf = JSON.parse(await synthesizeTerraform(planTerraform(out.graph(), new Map())));
 * assert.equal(tf.terraform.required_providers.aws.source, "hashicorp/aws");
 * ```
 *
 * @param plan the resource plan.
 * @returns the Terraform JSON (`cdk.tf.json`), canonical: the same plan gives the same bytes.
 */
export async function synthesizeTerraform(plan: TerraformPlan): Promise<string> {
  const outdir = await Deno.makeTempDir({ prefix: "glacier-cdktf-" });
  try {
    const app = new App({ outdir, stackTraces: false, context: {} });
    declareStack(new TerraformStack(app, STACK), plan);
    app.synth();
    const json = JSON.parse(
      await Deno.readTextFile(join(outdir, "stacks", STACK, "cdk.tf.json")),
    ) as Record<string, unknown>;
    return canonicalJson(withoutRunDetails(json));
  } finally {
    await Deno.remove(outdir, { recursive: true }).catch(() => {});
  }
}

function declareStack(stack: TerraformStack, plan: TerraformPlan): void {
  const named = <T extends TerraformResource>(resource: T, id: string): T => {
    resource.overrideLogicalId(id);
    return resource;
  };
  stack.addOverride("terraform.required_providers.aws", { ...AWS_PROVIDER });
  new AwsProvider(stack, "provider.aws", {
    region: plan.region,
    defaultTags: [{ tags: { "glacier:pipeline": plan.prefix } }],
  });
  new DataAwsCallerIdentity(stack, "data.aws_caller_identity.current").overrideLogicalId("current");
  new DataAwsPartition(stack, "data.aws_partition.current").overrideLogicalId("current");

  const key = named(
    new KmsKey(stack, "aws_kms_key.pipeline", {
      description: plan.key.description,
      enableKeyRotation: true,
      deletionWindowInDays: 30,
      policy: JSON.stringify(plan.key.policy),
    }),
    plan.key.id,
  );
  named(
    new KmsAlias(stack, "aws_kms_alias.pipeline", { name: plan.key.alias, targetKeyId: key.keyId }),
    plan.key.id,
  );

  const buckets = new Map<string, S3Bucket>();
  for (const b of plan.buckets) {
    const bucket = named(
      new S3Bucket(stack, `aws_s3_bucket.${b.id}`, {
        ...(b.bucket !== undefined ? { bucket: b.bucket } : { bucketPrefix: b.bucketPrefix }),
        tags: { "glacier:purpose": b.purpose },
      }),
      b.id,
    );
    buckets.set(b.id, bucket);
    named(
      new S3BucketPublicAccessBlock(stack, `aws_s3_bucket_public_access_block.${b.id}`, {
        bucket: bucket.id,
        blockPublicAcls: true,
        blockPublicPolicy: true,
        ignorePublicAcls: true,
        restrictPublicBuckets: true,
      }),
      b.id,
    );
    named(
      new S3BucketOwnershipControls(stack, `aws_s3_bucket_ownership_controls.${b.id}`, {
        bucket: bucket.id,
        rule: { objectOwnership: "BucketOwnerEnforced" },
      }),
      b.id,
    );
    named(
      new S3BucketServerSideEncryptionConfigurationA(
        stack,
        `aws_s3_bucket_server_side_encryption_configuration.${b.id}`,
        {
          bucket: bucket.id,
          rule: [{
            applyServerSideEncryptionByDefault: {
              sseAlgorithm: "aws:kms",
              kmsMasterKeyId: key.arn,
            },
            bucketKeyEnabled: true,
          }],
        },
      ),
      b.id,
    );
    const versioning = named(
      new S3BucketVersioningA(stack, `aws_s3_bucket_versioning.${b.id}`, {
        bucket: bucket.id,
        versioningConfiguration: { status: "Enabled" },
      }),
      b.id,
    );
    named(
      new S3BucketLifecycleConfiguration(stack, `aws_s3_bucket_lifecycle_configuration.${b.id}`, {
        bucket: bucket.id,
        dependsOn: [versioning],
        rule: [
          {
            id: "abort-incomplete-uploads",
            status: "Enabled",
            filter: [{ prefix: "" }],
            abortIncompleteMultipartUpload: [{ daysAfterInitiation: MULTIPART_ABORT_DAYS }],
          },
          {
            id: "expire-old-versions",
            status: "Enabled",
            filter: [{ prefix: "" }],
            noncurrentVersionExpiration: [{ noncurrentDays: NONCURRENT_VERSION_DAYS }],
          },
          ...(b.staging
            ? [{
              id: "expire-abandoned-staging",
              status: "Enabled",
              filter: [{ prefix: ".glacier/staging/" }],
              expiration: [{ days: STAGING_EXPIRY_DAYS }],
            }, {
              id: "expire-abandoned-previous",
              status: "Enabled",
              filter: [{ prefix: ".glacier/previous/" }],
              expiration: [{ days: PREVIOUS_EXPIRY_DAYS }],
            }]
            : []),
        ],
      }),
      b.id,
    );
    named(
      new S3BucketNotification(stack, `aws_s3_bucket_notification.${b.id}`, {
        bucket: bucket.id,
        eventbridge: true,
      }),
      b.id,
    );
  }

  const document = (id: string, doc: PolicyDocument): DataAwsIamPolicyDocument => {
    const data = new DataAwsIamPolicyDocument(stack, `data.aws_iam_policy_document.${id}`, {
      version: doc.Version,
      statement: doc.Statement.map(statementBlock),
    });
    data.overrideLogicalId(id);
    return data;
  };
  const roles = new Map<string, IamRole>();
  const rolePolicies = new Map<string, IamRolePolicy>();
  for (const r of plan.roles) {
    const role = named(
      new IamRole(stack, `aws_iam_role.${r.id}`, {
        name: r.name,
        description: r.description,
        assumeRolePolicy: document(`trust_${r.id}`, r.trust).json,
      }),
      r.id,
    );
    roles.set(r.id, role);
    rolePolicies.set(
      r.id,
      named(
        new IamRolePolicy(stack, `aws_iam_role_policy.${r.id}`, {
          name: "glacier",
          role: role.name,
          policy: document(`policy_${r.id}`, r.policy).json,
        }),
        r.id,
      ),
    );
  }

  const logGroups = new Map<string, CloudwatchLogGroup>();
  for (const g of plan.logGroups) {
    logGroups.set(
      g.id,
      named(
        new CloudwatchLogGroup(stack, `aws_cloudwatch_log_group.${g.id}`, {
          name: g.name,
          retentionInDays: LOG_RETENTION_DAYS,
          kmsKeyId: key.arn,
        }),
        g.id,
      ),
    );
  }

  const objects = new Map<string, S3Object>();
  for (const o of plan.objects) {
    objects.set(
      o.id,
      named(
        new S3Object(stack, `aws_s3_object.${o.id}`, {
          bucket: buckets.get("artifacts")!.id,
          key: o.key,
          source: o.source,
          sourceHash: o.sourceHash,
        }),
        o.id,
      ),
    );
  }

  for (const f of plan.functions) {
    const object = objects.get(f.objectId)!;
    named(
      new LambdaFunction(stack, `aws_lambda_function.${f.id}`, {
        functionName: f.name,
        description: f.description,
        role: roles.get(f.id)!.arn,
        s3Bucket: object.bucket,
        s3Key: object.key,
        s3ObjectVersion: object.versionId,
        runtime: f.runtime,
        handler: f.handler,
        memorySize: f.memoryMb,
        timeout: f.timeoutSeconds,
        tracingConfig: { mode: "Active" },
        loggingConfig: { logFormat: "Text", logGroup: logGroups.get(f.id)!.name },
        dependsOn: [rolePolicies.get(f.id)!],
      }),
      f.id,
    );
  }

  if (plan.spark) {
    named(
      new EmrserverlessApplication(stack, "aws_emrserverless_application.spark", {
        name: plan.spark.name,
        releaseLabel: plan.spark.releaseLabel,
        type: "spark",
        autoStopConfiguration: { enabled: true, idleTimeoutMinutes: plan.spark.idleMinutes },
      }),
      plan.spark.id,
    );
  }

  const sm = plan.stateMachine;
  const machine = named(
    new SfnStateMachine(stack, "aws_sfn_state_machine.pipeline", {
      name: sm.name,
      type: "STANDARD",
      roleArn: roles.get(sm.id)!.arn,
      definition: JSON.stringify(sm.definition),
      loggingConfiguration: {
        includeExecutionData: true,
        level: "ALL",
        logDestination: `${logGroups.get(sm.id)!.arn}:*`,
      },
      tracingConfiguration: { enabled: true },
      dependsOn: [rolePolicies.get(sm.id)!],
    }),
    sm.id,
  );

  if (plan.schedule) {
    named(
      new SchedulerSchedule(stack, "aws_scheduler_schedule.schedule", {
        name: plan.schedule.name,
        scheduleExpression: plan.schedule.expression,
        flexibleTimeWindow: { mode: "OFF" },
        kmsKeyArn: key.arn,
        target: {
          arn: machine.arn,
          roleArn: roles.get(plan.schedule.id)!.arn,
          input: plan.schedule.input,
        },
      }),
      plan.schedule.id,
    );
  }

  for (const o of plan.outputs) {
    new TerraformOutput(stack, `output.${o.id}`, { value: o.value, description: o.description })
      .overrideLogicalId(o.id);
  }
}

/**
 * A policy statement as an `aws_iam_policy_document` block, so that Terraform renders the JSON and
 * policy scanners read each action, resource and condition.
 */
function statementBlock(
  statement: PolicyDocument["Statement"][number],
): DataAwsIamPolicyDocumentStatement {
  return {
    sid: statement.Sid,
    effect: statement.Effect,
    actions: [...statement.Action],
    ...(statement.Resource ? { resources: [...statement.Resource] } : {}),
    ...(statement.Principal
      ? {
        principals: Object.entries(statement.Principal).map(([type, identifier]) => ({
          type,
          identifiers: [identifier],
        })),
      }
      : {}),
    ...(statement.Condition
      ? {
        condition: Object.entries(statement.Condition).flatMap(([test, byKey]) =>
          Object.entries(byKey).map(([variable, value]) => ({
            test,
            variable,
            values: typeof value === "string" ? [value] : [...value],
          }))
        ),
      }
      : {}),
  };
}

/** The synthesized JSON without cdktf's metadata and the backend it adds with an absolute path. */
function withoutRunDetails(json: Record<string, unknown>): unknown {
  const strip = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(strip);
    if (value !== null && typeof value === "object") {
      return Object.fromEntries(
        Object.entries(value).filter(([k]) => k !== "//").map(([k, v]) => [k, strip(v)]),
      );
    }
    return value;
  };
  const out = strip(json) as Record<string, Record<string, unknown>>;
  if (out.terraform) delete out.terraform.backend;
  return out;
}
