/**
 * A pipeline module's Lambda artifact, ready for the emulator: built (or reused from the cache) by
 * `src/backends/lambda/package.ts`, the very zip the generated Terraform deploys, and unpacked into a
 * directory named by its SHA-256.
 *
 * @module
 */
import { join } from "node:path";
import {
  buildLambdaArtifact,
  type LambdaArtifact,
  unpackLambdaArtifact,
} from "../backends/lambda/package.ts";

export type { LambdaArtifact, LambdaFunctionSpec } from "../backends/lambda/package.ts";

/** How {@linkcode prepareLambdaArtifact} builds and where it unpacks. */
export interface PrepareLambdaArtifactOptions {
  /** The pipeline module: a path or a `file:` URL. */
  readonly module: string;
  /** Where built zips are kept (the packager's `cacheDir`). */
  readonly cacheDir: string;
  /** Under which the artifact is unpacked, into `<unpackRoot>/<sha256>/`. */
  readonly unpackRoot: string;
  /** Print no progress lines. */
  readonly quiet?: boolean;
}

/** A built artifact and the directory it is unpacked in. */
export interface PreparedLambdaArtifact {
  /** The built zip, its functions and sizes. */
  readonly artifact: LambdaArtifact;
  /** `<unpackRoot>/<sha256>`: the task root, with `bootstrap`. */
  readonly dir: string;
  /** Whether the directory was already unpacked. */
  readonly reused: boolean;
}

/**
 * Builds a module's Lambda artifact and unpacks it under `unpackRoot`, unless a directory of the
 * same SHA-256 is already there (it is content-addressed, so never stale). It unpacks into a
 * private directory and renames it into place, so that concurrent callers never see half of it.
 *
 * @param options the module, the zip cache, where to unpack, whether to print progress
 * @returns the artifact and its directory
 * @throws {Error} when the artifact cannot be built or unpacked, with the packager's reason
 * @example
 * ```ts ignore
 * const { artifact, dir } = await prepareLambdaArtifact({
 *   module: "examples/complete.ts",
 *   cacheDir: ".glacier/artifacts",
 *   unpackRoot: ".glacier/stack/lambda",
 * });
 * ```
 */
export async function prepareLambdaArtifact(
  options: PrepareLambdaArtifactOptions,
): Promise<PreparedLambdaArtifact> {
  const artifact = await buildLambdaArtifact({
    module: options.module,
    cacheDir: options.cacheDir,
    quiet: options.quiet ?? false,
  });
  const dir = join(options.unpackRoot, artifact.sha256);
  if (await isFile(join(dir, "bootstrap"))) return { artifact, dir, reused: true };
  await Deno.mkdir(options.unpackRoot, { recursive: true });
  const partial = join(options.unpackRoot, `.${artifact.sha256}.${crypto.randomUUID()}.partial`);
  try {
    await unpackLambdaArtifact(artifact.file, partial);
    await Deno.rename(partial, dir);
  } catch (error) {
    await Deno.remove(partial, { recursive: true }).catch(() => {});
    // Another process unpacked the same artifact first.
    if (await isFile(join(dir, "bootstrap"))) return { artifact, dir, reused: true };
    throw error;
  }
  return { artifact, dir, reused: false };
}

async function isFile(path: string): Promise<boolean> {
  return await Deno.stat(path).then((s) => s.isFile, () => false);
}
