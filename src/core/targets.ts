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
import type { BucketRef } from "./lineage.ts";
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

const modes = new Map<string, () => Promise<ModeHandler>>();
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
}

/**
 * Installs targets.
 *
 * @param install the modes, storage and renderer to install.
 */
export function installTargets(install: TargetInstall): void {
  for (const [name, load] of Object.entries(install.modes ?? {})) modes.set(name, load);
  for (const [name, load] of Object.entries(install.storage ?? {})) {
    if (load) storage.set(name as StorageMode, load);
  }
  if (install.renderer) renderer = install.renderer;
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
