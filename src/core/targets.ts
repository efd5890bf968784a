/**
 * Where the builder meets the targets. The builder only records lineage; what a run, a read,
 * a write or a drawing does is installed here by the target modules (see `src/targets.ts`), so
 * the builder never imports a target and targets never import each other.
 *
 * @module
 */
import type pl from "../polars.ts";
import { UnsupportedError } from "./errors.ts";
import type { PipelineGraph } from "./graph.ts";
import type { BucketRef, Step } from "./lineage.ts";
import type { ResourceKind } from "./resource.ts";
import type { RemoteExecutor } from "./session.ts";
import type { RunOptions, StorageMode, VisualizeFormat, WriteReport } from "./reports.ts";

/** Runs a pipeline graph in one mode. */
export type ModeHandler = (graph: PipelineGraph, options: RunOptions) => Promise<unknown>;

/** Reads and writes buckets directly in one storage mode. */
export interface BucketIo {
  /** Reads the whole bucket, validated against its schema. */
  read(ref: BucketRef): Promise<pl.DataFrame>;
  /** Writes a frame to the bucket atomically, validated against its schema. */
  write(ref: BucketRef, frame: pl.DataFrame): Promise<WriteReport>;
}

/** Draws a pipeline graph. */
export type Renderer = (graph: PipelineGraph, format: VisualizeFormat) => string;

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

const modes = new Map<string, () => Promise<ModeHandler>>();
const checks = new Map<ResourceKind, () => Promise<ResourceCheck>>();
const artifacts = new Map<"serverless" | "spark", () => Promise<ArtifactBuilder>>();
const executors = new Map<"serverless" | "spark", () => Promise<RemoteExecutor>>();
const storage = new Map<StorageMode, () => Promise<BucketIo>>();
let renderer: Renderer | undefined;

/** The pieces a target module installs. */
export interface TargetInstall {
  /** Run modes, each loaded on first use. */
  readonly modes?: Readonly<Record<string, () => Promise<ModeHandler>>>;
  /** Direct bucket access per storage mode, each loaded on first use. */
  readonly storage?: Readonly<Partial<Record<StorageMode, () => Promise<BucketIo>>>>;
  /** The graph renderer. */
  readonly renderer?: Renderer;
  /** Cloud-mode executors of the remote resources, each loaded on first use. */
  readonly executors?: Readonly<
    Partial<Record<"serverless" | "spark", () => Promise<RemoteExecutor>>>
  >;
  /** Artifact builders for the resources that deploy code, each loaded on first use. */
  readonly artifacts?: Readonly<
    Partial<Record<"serverless" | "spark", () => Promise<ArtifactBuilder>>>
  >;
  /** Data-free checks of the steps on a resource kind, each loaded on first use. */
  readonly checks?: Readonly<Partial<Record<ResourceKind, () => Promise<ResourceCheck>>>>;
}

/**
 * Installs targets.
 *
 * @param install the modes, storage, renderer, executors, artifact builders and checks to install.
 */
export function installTargets(install: TargetInstall): void {
  for (const [name, load] of Object.entries(install.modes ?? {})) modes.set(name, load);
  for (const [name, load] of Object.entries(install.storage ?? {})) {
    if (load) storage.set(name as StorageMode, load);
  }
  if (install.renderer) renderer = install.renderer;
  for (const [kind, load] of Object.entries(install.executors ?? {})) {
    if (load) executors.set(kind as "serverless" | "spark", load);
  }
  for (const [kind, load] of Object.entries(install.artifacts ?? {})) {
    if (load) artifacts.set(kind as "serverless" | "spark", load);
  }
  for (const [kind, load] of Object.entries(install.checks ?? {})) {
    if (load) checks.set(kind as ResourceKind, load);
  }
}

/**
 * The data-free check of a resource kind, when one is installed.
 *
 * @param kind `local`, `serverless` or `spark`.
 * @returns the check, or `undefined` when the kind has none beyond the schema check.
 */
export async function resourceCheck(kind: ResourceKind): Promise<ResourceCheck | undefined> {
  const load = checks.get(kind);
  return load ? await load() : undefined;
}

/**
 * The cloud-mode executor for a remote resource kind, when one is installed.
 *
 * @param kind `serverless` or `spark`.
 * @returns the executor, or `undefined` when this version cannot run that kind in the cloud.
 */
export async function remoteExecutor(
  kind: "serverless" | "spark",
): Promise<RemoteExecutor | undefined> {
  const load = executors.get(kind);
  return load ? await load() : undefined;
}

/**
 * The artifact builder for a resource kind, when one is installed.
 *
 * @param kind `serverless` or `spark`.
 * @returns the builder, or `undefined` when this version cannot build that kind of artifact.
 */
export async function artifactBuilder(
  kind: "serverless" | "spark",
): Promise<ArtifactBuilder | undefined> {
  const load = artifacts.get(kind);
  return load ? await load() : undefined;
}

/**
 * The handler of a run mode.
 *
 * @param mode the mode's name.
 * @returns its handler.
 */
export async function modeHandler(mode: string): Promise<ModeHandler> {
  const load = modes.get(mode);
  if (load === undefined) {
    throw new UnsupportedError(
      `run mode '${mode}' is not known; use one of: ${[...modes.keys()].join(", ")}`,
    );
  }
  return await load();
}

/**
 * Direct bucket access for a storage mode.
 *
 * @param mode `local` or `cloud`.
 * @returns the reader and writer.
 */
export async function bucketIo(mode: StorageMode): Promise<BucketIo> {
  const load = storage.get(mode);
  if (load === undefined) {
    throw new UnsupportedError(`storage mode '${mode}' is not known; use 'local' or 'cloud'`);
  }
  return await load();
}

/**
 * The installed graph renderer.
 *
 * @returns the renderer.
 */
export function graphRenderer(): Renderer {
  if (renderer === undefined) {
    throw new UnsupportedError("no graph renderer is installed; import Glacier from its mod.ts");
  }
  return renderer;
}
