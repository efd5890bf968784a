/**
 * Finding the pipelines a module exports.
 *
 * @module
 */
import { isAbsolute, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { Bucket } from "./bucket.ts";
import { GlacierError } from "./errors.ts";

/** A pipeline found in a module: the exported bucket that ends it, and its name. */
export interface FoundPipeline {
  /** The pipeline's name: its `withName` name, else the export's name. */
  readonly name: string;
  /** The export's name. */
  readonly exportName: string;
  /** The bucket with lineage. */
  readonly bucket: Bucket;
}

/**
 * Whether a value is a bucket that carries lineage.
 *
 * @param value anything.
 * @returns `true` for a pipeline.
 */
export function isPipeline(value: unknown): value is Bucket {
  const b = value as Bucket;
  return b !== null && typeof b === "object" && typeof b.graph === "function" &&
    Array.isArray(b.lineage) && b.lineage.length > 0 && typeof b.location === "string";
}

/**
 * Imports a module and lists every exported pipeline, in export order.
 *
 * @param module a path or URL.
 * @returns the pipelines.
 * @throws {GlacierError} when the module cannot be imported or exports no pipeline.
 */
export async function discoverPipelines(module: string): Promise<FoundPipeline[]> {
  const url = /^[a-z]+:/i.test(module) && !/^[a-z]:[\\/]/i.test(module)
    ? module
    : pathToFileURL(isAbsolute(module) ? module : resolve(module)).href;
  let exports: Record<string, unknown>;
  try {
    exports = await import(url);
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    throw new GlacierError(`cannot import module '${module}': ${detail}`, { cause: error });
  }
  const found: FoundPipeline[] = [];
  const names = new Set<string>();
  for (const [exportName, value] of Object.entries(exports)) {
    if (!isPipeline(value)) continue;
    const name = value.pipelineName ?? exportName;
    if (names.has(name)) {
      throw new GlacierError(
        `module '${module}' exports two pipelines named '${name}'; give one another name with .withName()`,
      );
    }
    names.add(name);
    found.push({ name, exportName, bucket: value });
  }
  if (found.length === 0) {
    throw new GlacierError(
      `module '${module}' exports no pipeline; export the bucket a chain returns, e.g. ` +
        "export const report = raw.transform(task).to(out)",
    );
  }
  return found;
}
