/**
 * What a kind of execution resource brings: the `Backend` interface. Each kind (local, Lambda,
 * Spark) implements it in its own folder under `src/backends/`, and everything that varies by
 * kind goes through it; the engine, generate and analyze loop over backends and never test a
 * kind. The engine sits below the backends, so it is handed them (`Backends`) by the layer above.
 *
 * @module
 */
import type { BackendCost } from "./cost.ts";
import type { PolicyStatement } from "./deploy/policies.ts";
import type {
  DeploymentContext,
  PlannedArtifact,
  PlannedOutput,
  StepDeployment,
} from "./deploy/terraform_plan.ts";
import type { PipelineGraph } from "./graph.ts";
import type { Step } from "./lineage.ts";
import type { ResourceKind } from "./resource.ts";
import type { RemoteExecutor } from "./session.ts";

/** A deployable artifact for one task: what generated Terraform points at. */
export interface TaskArtifact {
  /** The file, relative to the generation's output directory. */
  readonly file: string;
  /** Its SHA-256, hex, for change detection. */
  readonly sha256: string;
  /** For Lambda: the runtime (`provided.al2023`, `nodejs22.x`) and handler. */
  readonly runtime?: string;
  /** For Lambda: the handler name. */
  readonly handler?: string;
  /** For Spark: the entry point the job runs. */
  readonly entryPoint?: string;
}

/** What an artifact builder knows beyond the graph. */
export interface ArtifactContext {
  /** The pipeline module that defines the graph (a path or URL), when the caller knows it. */
  readonly module?: string;
}

/** Builds a task's artifact into a generation's output directory. */
export type ArtifactBuilder = (
  graph: PipelineGraph,
  step: Step,
  outputDir: string,
  context: ArtifactContext,
) => Promise<TaskArtifact>;

/**
 * A resource's own data-free check of a step, beyond the schema check every task gets: for Spark,
 * that the task compiles to Spark SQL.
 *
 * @param step the step, whose task's plan already matches its target bucket.
 * @returns what is wrong, one message each; empty when the step can run on the resource.
 */
export type ResourceCheck = (step: Step) => string[];

/** A kind of execution resource: what is particular to it, in one place. */
export interface Backend {
  /** The kind it implements. */
  readonly kind: ResourceKind;
  /** How the resource is named in messages and reports: `AWS Lambda`, `Apache Spark`. */
  readonly title: string;
  /**
   * The resource's own data-free check of a step, beyond the schema check every task gets (for
   * Spark: that the task compiles to Spark SQL).
   *
   * @param step the step, whose task's plan already matches its target bucket.
   * @returns what is wrong, one message each; empty when the step can run on the resource.
   */
  check(step: Step): Promise<string[]>;
  /**
   * The cloud-mode executor, loaded on first use.
   *
   * @returns the executor, or `undefined` for a resource whose tasks run in the process that
   *   runs the pipeline.
   */
  executor(): Promise<RemoteExecutor | undefined>;
  /**
   * The builder of a step's deployable artifact, loaded on first use.
   *
   * @returns the builder, or `undefined` when the kind deploys no code of its own.
   */
  artifactBuilder(): Promise<ArtifactBuilder | undefined>;
  /** The kind's part of the cost model: start-up, speed, charges, limits. */
  readonly cost: BackendCost;
  /** The kind's part of generated Terraform. */
  readonly terraform: BackendTerraform;
}

/** What a kind of resource that has AWS resources of its own declares in generated Terraform. */
export interface DeclaredTerraform {
  /** Where its tasks' code runs on AWS, for messages: `Lambda`, `EMR Serverless`. */
  readonly deployedOn: string;
  /** What its artifacts are, for messages: `Lambda packages`, `Spark jobs`. */
  readonly artifacts: string;
  /**
   * The artifact Terraform expects for a step when none was built, for kinds that deploy code.
   *
   * @param step the step.
   * @returns the expected artifact, or `undefined` when the kind deploys no code of its own.
   */
  placeholder(step: Step): PlannedArtifact | undefined;
  /**
   * The step's part: its role's trust and permissions, the resources that run it, its state.
   *
   * @param step the step.
   * @param context what generate knows of it.
   * @returns the deployment.
   */
  deploy(step: Step, context: DeploymentContext): StepDeployment;
  /**
   * What the state machine's role may do to run the steps of this kind.
   *
   * @param steps the pipeline's steps of this kind.
   * @param region the pipeline's region.
   * @returns the statements.
   */
  machineStatements(steps: readonly Step[], region: string): PolicyStatement[];
  /**
   * The Terraform outputs a person needs for the steps of this kind.
   *
   * @param steps the pipeline's steps of this kind.
   * @returns the outputs.
   */
  outputs(steps: readonly Step[]): PlannedOutput[];
}

/**
 * A kind of resource that runs in AWS as another kind does: a local task, which has no AWS
 * resource of its own, runs there as a Lambda function with the default configuration.
 */
export interface BorrowedTerraform {
  /**
   * The step as the kind it is deployed as declares it.
   *
   * @param step the step.
   * @returns the same step on the resource it runs on in AWS.
   */
  deployAs(step: Step): Step;
  /**
   * What to know about a step deployed that way, for generate's warnings.
   *
   * @param step the step.
   * @returns one sentence naming the task and what to change.
   */
  note(step: Step): string;
}

/** What a kind of resource brings to generated Terraform. */
export type BackendTerraform = DeclaredTerraform | BorrowedTerraform;

/** One backend per resource kind. */
export type Backends = { readonly [K in ResourceKind]: Backend & { readonly kind: K } };
