/**
 * Packages a pipeline module's serverless tasks into one AWS Lambda deployment zip: a Deno
 * custom runtime for `provided.al2023`, which the generated Terraform deploys and the local stack
 * runs under the Lambda Runtime Interface Emulator.
 *
 * The zip holds:
 * - `bootstrap`, the shell script Lambda runs: it starts `bin/deno` on Glacier's Lambda runtime
 *   (`src/backends/lambda/runtime_main.ts`), which serves the module's tasks by name;
 * - `bin/deno`, from the npm package `@deno/linux-x64-glibc` at the building Deno's version;
 * - `app/`, the local files of the module's graph and of the runtime's, laid out as they are
 *   relative to their common directory, with a `deno.json` (`nodeModulesDir: "auto"` and the
 *   project's import map) and the `node_modules` that `deno install` makes of them, so the
 *   function runs `deno run --cached-only` with no network, from Lambda's read-only task
 *   directory, with `DENO_DIR` under `/tmp`.
 *
 * In `node_modules`, a package a function never loads is kept as a stub (its `package.json` and
 * Deno's `.initialized` marker, which satisfy Deno's install check): the native packages built
 * for another platform than Linux x86-64 with glibc (nodejs-polars' musl build alone is 115 MB),
 * and the packages that only Glacier's lazily loaded targets import (such as Terraform
 * generation). The zip is deterministic (sorted entries, fixed timestamps, fixed modes) and
 * cached by a SHA-256 over every packaged file's path, mode and content and the Deno version.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { fileURLToPath as fromFileUrl, pathToFileURL } from "node:url";
import { discoverPipelines } from "../../core/discover.ts";
import { GlacierError } from "../../core/errors.ts";
import { lambdaFunctionName } from "../../core/naming.ts";
import { findConfig, movedImportMap } from "./_config.ts";
import { linuxDenoBinary } from "./_deno_binary.ts";
import {
  absoluteImports,
  type InfoPackage,
  loadedPackages,
  localFiles,
  moduleGraph,
} from "./_graph.ts";
import {
  contentOf,
  extractEntries,
  readZip,
  S_IFLNK,
  S_IFREG,
  writeZip,
  type ZipSource,
} from "./_zip.ts";
import { replaceFile } from "../../core/files.ts";
import { runDeno } from "./_deno.ts";

/** Lambda's limit on a function's unzipped deployment package: 250 MB. */
export const LAMBDA_UNZIPPED_LIMIT = 262_144_000;

/** Lambda's limit on a zip uploaded directly rather than through S3: 50 MB. */
export const LAMBDA_DIRECT_UPLOAD_LIMIT = 52_428_800;

/** Bump when the artifact's layout changes, so that cached zips of the old layout are not reused. */
const LAYOUT_VERSION = "glacier-lambda-artifact/1";

/** A Lambda artifact that cannot be built: a module without serverless tasks, a size over the limit. */
export class LambdaPackageError extends GlacierError {}

/** One Lambda function of an artifact: a serverless task. */
export interface LambdaFunctionSpec {
  /** The function's name, `lambdaFunctionName(task)`. */
  readonly name: string;
  /** The task it runs. */
  readonly task: string;
  /** Its memory, from the task's `LambdaConfig`. */
  readonly memoryMb: number;
  /** Its timeout, from the task's `LambdaConfig`. */
  readonly timeoutSeconds: number;
}

/** A built Lambda deployment zip. */
export interface LambdaArtifact {
  /** The zip's absolute path. */
  readonly file: string;
  /** The zip's SHA-256, hex. */
  readonly sha256: string;
  /** The zip's size in bytes. */
  readonly bytes: number;
  /** The size of its files once unzipped, which Lambda limits to 250 MB. */
  readonly unzippedBytes: number;
  /** Whether the zip was already in the cache. */
  readonly cached: boolean;
  /** The functions the zip serves, one per serverless task. */
  readonly functions: readonly LambdaFunctionSpec[];
  /** The Lambda runtime. */
  readonly runtime: "provided.al2023";
  /** The handler: the packaged pipeline module, informative only (the bootstrap serves it). */
  readonly handler: string;
}

/** How to build a Lambda artifact. */
export interface BuildLambdaOptions {
  /** The pipeline module: a path or a `file:` URL. */
  readonly module: string;
  /** Where built zips are kept; default `.glacier/artifacts` under the current directory. */
  readonly cacheDir?: string;
  /** Print no progress lines. */
  readonly quiet?: boolean;
  /** The unzipped size limit in bytes; default Lambda's, {@linkcode LAMBDA_UNZIPPED_LIMIT}. */
  readonly limitBytes?: number;
}

/** One file of the artifact, with its size. */
interface Part extends ZipSource {
  readonly size: number;
}

const MB = 1024 * 1024;
const mb = (bytes: number) => `${(bytes / MB).toFixed(1)} MB`;
const posix = (path: string) => path.split(sep).join("/");
const shown = (file: string) => {
  const rel = relative(Deno.cwd(), file);
  return rel.startsWith("..") || isAbsolute(rel) ? file : rel;
};
const shQuote = (text: string) => `'${text.replaceAll("'", `'"'"'`)}'`;

/**
 * Builds (or reuses from the cache) the Lambda deployment zip of a pipeline module's serverless
 * tasks. Must run on Linux x86-64, since `deno install` installs the native packages of the
 * machine it runs on.
 *
 * @example
 * ```ts ignore
 * import { buildLambdaArtifact } from "./package.ts";
 * const artifact = await buildLambdaArtifact({ module: "examples/complete.ts" });
 * console.log(artifact.file, artifact.bytes, artifact.unzippedBytes);
 * console.log(artifact.functions.map((f) => f.name)); // ["glacier-clean_orders", ...]
 * ```
 *
 * @param options the module, the cache directory, whether to print progress, the size limit.
 * @returns the artifact.
 * @throws {LambdaPackageError} when the module has no serverless task, the unzipped size exceeds
 * the limit (the message lists the largest parts), or this is not Linux x86-64.
 * @throws {GlacierError} when the module's graph does not resolve or cannot be installed.
 */
export async function buildLambdaArtifact(options: BuildLambdaOptions): Promise<LambdaArtifact> {
  const started = performance.now();
  const say = options.quiet ? () => {} : (line: string) => console.error(`glacier: ${line}`);
  const module = options.module.startsWith("file:")
    ? fromFileUrl(options.module)
    : resolve(options.module);
  const cacheDir = resolve(options.cacheDir ?? join(Deno.cwd(), ".glacier", "artifacts"));
  const limit = options.limitBytes ?? LAMBDA_UNZIPPED_LIMIT;
  if (Deno.build.os !== "linux" || Deno.build.arch !== "x86_64") {
    throw new LambdaPackageError(
      `a Lambda artifact is built on Linux x86-64, not ${Deno.build.os} ${Deno.build.arch}: ` +
        "deno install only installs the native packages (such as polars') of the machine it runs on",
    );
  }
  if (!import.meta.url.startsWith("file:")) {
    throw new LambdaPackageError(
      `a Lambda artifact packages Glacier from local files, but Glacier was loaded from ${import.meta.url}`,
    );
  }
  const functions = await serverlessFunctions(module);
  say(
    `packaging ${module} for AWS Lambda (provided.al2023, deno ${Deno.version.deno}): ` +
      `${functions.length} function${functions.length === 1 ? "" : "s"}: ${
        functions.map((f) => f.name).join(", ")
      }`,
  );

  const runtimeMain = fromFileUrl(new URL("./runtime_main.ts", import.meta.url));
  const glacierSrc = fromFileUrl(new URL("../../", import.meta.url));
  const config = await findConfig(dirname(module));
  const graphs = [
    await moduleGraph(module, config ? dirname(config) : dirname(module)),
    await moduleGraph(runtimeMain, dirname(runtimeMain)),
  ];
  const files = new Set(graphs.flatMap(localFiles));
  const root = commonDir([...files]);
  const moduleRel = posix(relative(root, module));
  const mainRel = posix(relative(root, runtimeMain));

  const staging = await Deno.makeTempDir({ prefix: "glacier-lambda-" });
  try {
    const app = join(staging, "app");
    for (const file of files) {
      const to = join(app, relative(root, file));
      await Deno.mkdir(dirname(to), { recursive: true });
      await Deno.copyFile(file, to);
    }
    const importMap = config ? await movedImportMap(config, root) : undefined;
    const imports: Record<string, string> = { ...importMap?.imports };
    for (const url of new Set(graphs.flatMap((g) => [...absoluteImports(g)]))) {
      imports[url] = `./${posix(relative(root, fromFileUrl(url)))}`;
    }
    await Deno.writeTextFile(
      join(app, "deno.json"),
      JSON.stringify(
        {
          nodeModulesDir: "auto",
          ...(Object.keys(imports).length > 0 ? { imports } : {}),
          ...(importMap?.scopes ? { scopes: importMap.scopes } : {}),
        },
        null,
        2,
      ) + "\n",
    );
    await denoInstall(app, [moduleRel, mainRel]);
    const lazyDir = pathToFileURL(join(app, relative(root, glacierSrc))).href + "/";
    const stubs = await stubbedFolders(app, [moduleRel, mainRel], lazyDir);

    const script = new TextEncoder().encode(bootstrap(moduleRel, mainRel));
    const parts: Part[] = [
      { path: "bootstrap", mode: S_IFREG | 0o755, content: { bytes: script }, size: script.length },
      await filePart("bin/deno", await linuxDenoBinary(), 0o755),
      ...await appParts(app, stubs),
    ].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    const unzippedBytes = parts.reduce((sum, p) => sum + p.size, 0);
    const groups = sizeGroups(parts);
    const total = (test: (name: string) => boolean) =>
      mb(groups.filter(([name]) => test(name)).reduce((sum, [, size]) => sum + size, 0));
    say(
      `${files.size} local modules, ${stubs.kept} npm packages, ${stubs.folders.size} stubbed ` +
        "(not loaded by a function, or built for another platform); " +
        `unzipped ${mb(unzippedBytes)} of ${mb(limit)}: bin/deno ${
          total((n) => n === "bin/deno")
        }, ` +
        `node_modules ${total((n) => n.startsWith("npm ") || n === "node_modules links")}, ` +
        `sources ${total((n) => n === "sources")}`,
    );
    if (unzippedBytes > limit) {
      throw new LambdaPackageError(
        `the Lambda artifact of '${module}' is ${mb(unzippedBytes)} (${unzippedBytes} bytes) ` +
          `unzipped, over the limit of ${mb(limit)} (${limit} bytes). Largest parts: ${
            groups.slice(0, 8).map(([name, size]) => `${name} ${mb(size)}`).join(", ")
          }. Import fewer or smaller npm packages in the pipeline module`,
      );
    }

    const key = await cacheKey(parts);
    const file = join(cacheDir, `lambda-${key}.zip`);
    const cached = await Deno.stat(file).then((s) => s.isFile, () => false);
    if (!cached) {
      await replaceFile(file, (partial) => writeZip(partial, parts));
    }
    const zipped = await Deno.readFile(file);
    const sha256 = createHash("sha256").update(zipped).digest("hex");
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    say(
      `${cached ? "reused" : "wrote"} ${shown(file)}${cached ? " (cached)" : ""}: ` +
        `${mb(zipped.length)} zipped, ${mb(unzippedBytes)} unzipped, in ${seconds} s` +
        (zipped.length > LAMBDA_DIRECT_UPLOAD_LIMIT
          ? `; over the ${
            mb(LAMBDA_DIRECT_UPLOAD_LIMIT)
          } of a direct upload, so deploy it through S3`
          : ""),
    );
    return Object.freeze({
      file,
      sha256,
      bytes: zipped.length,
      unzippedBytes,
      cached,
      functions,
      runtime: "provided.al2023",
      handler: `app/${moduleRel}`,
    });
  } finally {
    await Deno.remove(staging, { recursive: true }).catch(() => {});
  }
}

/**
 * Extracts a Lambda artifact the way Lambda does, for running it locally (under the Lambda
 * Runtime Interface Emulator): files keep their modes (`bootstrap` and `bin/deno` are
 * executable) and `node_modules`' symlinks are recreated.
 *
 * @example
 * ```ts ignore
 * import { buildLambdaArtifact, unpackLambdaArtifact } from "./package.ts";
 * const artifact = await buildLambdaArtifact({ module: "examples/complete.ts", quiet: true });
 * await unpackLambdaArtifact(artifact.file, ".glacier/stack/lambda");
 * // .glacier/stack/lambda/bootstrap is the function's entry point
 * ```
 *
 * @param zip the artifact's zip.
 * @param dir where to extract it: a directory that is empty or does not exist yet.
 * @throws {LambdaPackageError} when the directory is not empty or the zip is damaged or unsafe.
 */
export async function unpackLambdaArtifact(zip: string, dir: string): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  for await (const _ of Deno.readDir(dir)) {
    throw new LambdaPackageError(
      `cannot unpack a Lambda artifact into '${dir}': it is not empty; remove it or choose another directory`,
    );
  }
  try {
    await extractEntries(readZip(await Deno.readFile(zip)), dir);
  } catch (error) {
    throw new LambdaPackageError(
      `cannot unpack the Lambda artifact '${zip}': ${(error as Error).message}`,
      { cause: error },
    );
  }
}

/**
 * The functions a module's zip serves on the local stack: one per serverless task of its
 * pipelines, in pipeline order. The zip runs any task of the module by name, so in AWS it also
 * serves the module's local tasks (which generated Terraform deploys as functions of their own).
 */
async function serverlessFunctions(module: string): Promise<LambdaFunctionSpec[]> {
  const functions = new Map<string, LambdaFunctionSpec>();
  for (const pipeline of await discoverPipelines(module)) {
    for (const step of pipeline.bucket.lineage) {
      const { resource, name } = step.task;
      if (resource.kind !== "serverless" || functions.has(name)) continue;
      functions.set(name, {
        name: lambdaFunctionName(step.task),
        task: name,
        memoryMb: resource.settings.memoryMb,
        timeoutSeconds: resource.settings.timeoutSeconds,
      });
    }
  }
  return [...functions.values()];
}

/** The deepest directory that holds every file. */
function commonDir(files: readonly string[]): string {
  let dir = dirname(files[0]);
  for (const file of files) {
    while (relative(dir, file).startsWith(`..${sep}`) || isAbsolute(relative(dir, file))) {
      dir = dirname(dir);
    }
  }
  return dir;
}

/** The bootstrap script. */
function bootstrap(moduleRel: string, mainRel: string): string {
  return [
    "#!/bin/sh",
    "# Glacier's AWS Lambda bootstrap (provided.al2023), generated by src/backends/lambda/package.ts:",
    "# serves the pipeline module's tasks with the Deno in bin/, offline, from a read-only copy.",
    'ROOT=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd) || exit 1',
    'export DENO_DIR="${TMPDIR:-/tmp}/glacier-deno" DENO_NO_UPDATE_CHECK=1 NO_COLOR=1',
    `export GLACIER_MODULE="$ROOT/app/"${shQuote(moduleRel)}`,
    'cd "$ROOT/app" || exit 1',
    `exec "$ROOT/bin/deno" run --cached-only --frozen -A --no-prompt "$ROOT/app/"${
      shQuote(mainRel)
    }`,
    "",
  ].join("\n");
}

/** Runs `deno install` for the entry points in `app/`, from Deno's cache when it can. */
async function denoInstall(app: string, entries: readonly string[]): Promise<void> {
  await runDeno(
    ["install", "--entrypoint", ...entries],
    `install the Lambda artifact's modules (${entries.join(", ")})`,
    app,
  );
}

/** Whether a package.json's `os`, `cpu` or `libc` list admits a value. */
function admits(list: unknown, value: string): boolean {
  if (!Array.isArray(list) || list.length === 0) return true;
  if (list.includes(`!${value}`)) return false;
  const positive = list.filter((v) => typeof v === "string" && !v.startsWith("!"));
  return positive.length === 0 || positive.includes(value);
}

/** The `node_modules/.deno` folders to stub, and how many packages are kept whole. */
async function stubbedFolders(
  app: string,
  entries: readonly string[],
  lazyDir: string,
): Promise<{ folders: Set<string>; kept: number }> {
  const loaded = new Set<string>();
  const packages: Record<string, InfoPackage> = {};
  for (const entry of entries) {
    const graph = await moduleGraph(join(app, entry), app);
    const outside = localFiles(graph).filter((file) => relative(app, file).startsWith(".."));
    if (outside.length > 0) {
      throw new LambdaPackageError(
        `the packaged copy of '${entry}' still imports files outside the artifact: ${
          outside.join(", ")
        }; import them by relative paths or through the project's import map`,
      );
    }
    Object.assign(packages, graph.npmPackages);
    for (const id of loadedPackages(graph, lazyDir)) loaded.add(id);
  }
  const store = join(app, "node_modules", ".deno");
  const folderOf = (path: string) => relative(store, path).split(sep)[0];
  const keep = new Set<string>();
  for (const id of loaded) {
    const path = packages[id]?.localPath;
    if (path === undefined) continue;
    const manifest = await Deno.readTextFile(join(path, "package.json")).then(
      (text) => JSON.parse(text) as Record<string, unknown>,
      () => undefined,
    );
    if (manifest === undefined) continue;
    if (
      admits(manifest.os, "linux") && admits(manifest.cpu, "x64") && admits(manifest.libc, "glibc")
    ) keep.add(folderOf(path));
  }
  const folders = new Set<string>();
  const present = await Deno.stat(store).then((s) => s.isDirectory, () => false);
  for await (const entry of present ? Deno.readDir(store) : []) {
    if (entry.isDirectory && entry.name !== "node_modules" && !keep.has(entry.name)) {
      folders.add(entry.name);
    }
  }
  return { folders, kept: keep.size };
}

/** A file of the artifact. */
async function filePart(path: string, file: string, mode: number): Promise<Part> {
  return { path, mode: S_IFREG | mode, content: { file }, size: (await Deno.stat(file)).size };
}

/** Every file and symlink under `app/`, with stubbed packages reduced to their stubs. */
async function appParts(app: string, stubs: { folders: Set<string> }): Promise<Part[]> {
  const parts: Part[] = [];
  const encoder = new TextEncoder();
  const stubFile =
    /^node_modules\/\.deno\/([^/]+)\/(?:\.initialized|node_modules\/(?:@[^/]+\/)?[^/]+\/package\.json)$/;
  const walk = async (dir: string): Promise<void> => {
    for await (const entry of Deno.readDir(dir)) {
      const path = join(dir, entry.name);
      const rel = posix(relative(app, path));
      const folder = /^node_modules\/\.deno\/([^/]+)\//.exec(rel)?.[1];
      if (folder !== undefined && stubs.folders.has(folder)) {
        if (entry.isDirectory) await walk(path);
        else if (entry.isFile && stubFile.test(rel)) {
          parts.push(await filePart(`app/${rel}`, path, 0o644));
        }
        continue;
      }
      if (entry.isSymlink) {
        let target = await Deno.readLink(path);
        if (isAbsolute(target)) {
          const inside = relative(app, target);
          if (inside.startsWith("..") || isAbsolute(inside)) {
            throw new GlacierError(`'${rel}' links outside the artifact, to '${target}'`);
          }
          target = relative(dirname(path), target);
        }
        const bytes = encoder.encode(posix(target));
        parts.push({
          path: `app/${rel}`,
          mode: S_IFLNK | 0o777,
          content: { bytes },
          size: bytes.length,
        });
      } else if (entry.isDirectory) await walk(path);
      else if (entry.isFile) parts.push(await filePart(`app/${rel}`, path, 0o644));
    }
  };
  await walk(app);
  return parts;
}

/** Sizes by part (the Deno binary, each npm package, the sources), largest first. */
function sizeGroups(parts: readonly Part[]): [string, number][] {
  const groups = new Map<string, number>();
  for (const part of parts) {
    const folder = /^app\/node_modules\/\.deno\/([^/]+)\//.exec(part.path)?.[1];
    const name = part.path === "bin/deno"
      ? "bin/deno"
      : folder !== undefined
      ? `npm ${folder}`
      : part.path.startsWith("app/node_modules/")
      ? "node_modules links"
      : "sources";
    groups.set(name, (groups.get(name) ?? 0) + part.size);
  }
  return [...groups].sort((a, b) => b[1] - a[1]);
}

/** The cache key: a SHA-256 over the layout version, the Deno version and every part. */
async function cacheKey(parts: readonly Part[]): Promise<string> {
  const hash = createHash("sha256");
  hash.update(`${LAYOUT_VERSION}\ndeno ${Deno.version.deno}\n`);
  for (const part of parts) {
    const content = await contentOf(part);
    hash.update(`${part.path}\0${part.mode.toString(8)}\0${content.length}\n`);
    hash.update(content);
  }
  return hash.digest("hex");
}
