/**
 * The module graph of a Lambda artifact, from `deno info --json`: the local files to copy and
 * the npm packages a function loads.
 *
 * @module
 */
import { fileURLToPath as fromFileUrl } from "node:url";
import { GlacierError } from "../../core/errors.ts";
import { runDeno } from "./_deno.ts";

/** An import as `deno info --json` reports it. */
interface InfoDependency {
  readonly specifier: string;
  readonly code?: { readonly specifier?: string };
  readonly isDynamic?: boolean;
  readonly npmPackage?: string;
}

/** A module as `deno info --json` reports it. */
interface InfoModule {
  readonly specifier: string;
  readonly kind?: string;
  readonly error?: string;
  readonly npmPackage?: string;
  readonly dependencies?: readonly InfoDependency[];
}

/** An npm package as `deno info --json` reports it. */
export interface InfoPackage {
  /** Its name. */
  readonly name: string;
  /** Its version. */
  readonly version: string;
  /** The ids of the packages it depends on. */
  readonly dependencies: readonly string[];
  /** Where it is installed, with a local `node_modules` directory. */
  readonly localPath?: string;
}

/** What `deno info --json` reports for one entry point. */
export interface ModuleGraph {
  /** The entry point's URL. */
  readonly root: string;
  /** Every module, by URL. */
  readonly modules: ReadonlyMap<string, InfoModule>;
  /** Specifier redirects. */
  readonly redirects: Readonly<Record<string, string>>;
  /** The npm packages of the resolution, by id. */
  readonly npmPackages: Readonly<Record<string, InfoPackage>>;
}

/**
 * Runs `deno info --json` on an entry point.
 *
 * @param entry the entry point's path.
 * @param cwd where to run it, which decides the configuration file Deno finds.
 * @returns the graph.
 * @throws {GlacierError} when Deno cannot read the graph.
 */
export async function moduleGraph(entry: string, cwd: string): Promise<ModuleGraph> {
  const text = await runDeno(
    ["info", "--json", entry],
    `read the module graph of '${entry}'`,
    cwd,
  );
  const info = JSON.parse(text) as {
    roots: string[];
    modules: InfoModule[];
    redirects?: Record<string, string>;
    npmPackages?: Record<string, InfoPackage>;
  };
  return {
    root: info.roots[0],
    modules: new Map(info.modules.map((m) => [m.specifier, m])),
    redirects: info.redirects ?? {},
    npmPackages: info.npmPackages ?? {},
  };
}

/**
 * Every local file of a graph, checking that the graph resolves and has no remote module.
 *
 * @param graph the graph.
 * @returns the files' absolute paths.
 * @throws {GlacierError} naming the modules that do not resolve or are remote.
 */
export function localFiles(graph: ModuleGraph): string[] {
  const files: string[] = [];
  const broken: string[] = [];
  const remote: string[] = [];
  for (const module of graph.modules.values()) {
    if (module.error) broken.push(`${module.specifier}: ${module.error}`);
    else if (module.specifier.startsWith("file:")) files.push(fromFileUrl(module.specifier));
    else if (!/^(npm|node|data):/.test(module.specifier)) remote.push(module.specifier);
  }
  if (broken.length > 0) {
    throw new GlacierError(
      `the module graph of '${fromFileUrl(graph.root)}' does not resolve: ${broken.join("; ")}`,
    );
  }
  if (remote.length > 0) {
    throw new GlacierError(
      `a Lambda artifact packages local files and npm packages only; '${
        fromFileUrl(graph.root)
      }' imports remote modules: ${
        remote.join(", ")
      }. Import them from npm or copy them into the project`,
    );
  }
  return files;
}

/**
 * The local modules a graph imports by an absolute path or a `file:` URL, which an import map
 * must point at their copies in the artifact.
 *
 * @param graph the graph.
 * @returns the imported modules' `file:` URLs.
 */
export function absoluteImports(graph: ModuleGraph): Set<string> {
  const urls = new Set<string>();
  for (const module of graph.modules.values()) {
    for (const dep of module.dependencies ?? []) {
      const to = dep.code?.specifier;
      if (to?.startsWith("file:") && /^(\/|file:)/.test(dep.specifier)) urls.add(to);
    }
  }
  return urls;
}

/**
 * The npm packages a graph loads at run time, with their dependencies: every package reached
 * from the root, except through the dynamic imports of modules under `lazyDir` (Glacier's own
 * lazily loaded targets, such as Terraform generation, which a function never runs).
 *
 * @param graph the graph.
 * @param lazyDir the `file:` URL of the directory whose dynamic imports are not followed.
 * @returns the package ids.
 */
export function loadedPackages(graph: ModuleGraph, lazyDir: string): Set<string> {
  const resolve = (specifier: string) => graph.redirects[specifier] ?? specifier;
  const seen = new Set<string>();
  const packages = new Set<string>();
  const queue = [resolve(graph.root)];
  while (queue.length > 0) {
    const specifier = queue.pop()!;
    if (seen.has(specifier)) continue;
    seen.add(specifier);
    const module = graph.modules.get(specifier);
    if (module === undefined) continue;
    if (module.npmPackage) packages.add(module.npmPackage);
    for (const dep of module.dependencies ?? []) {
      if (dep.code?.specifier === undefined) continue;
      if (dep.isDynamic && specifier.startsWith(lazyDir)) continue;
      if (dep.npmPackage) packages.add(dep.npmPackage);
      queue.push(resolve(dep.code.specifier));
    }
  }
  const closure = new Set<string>();
  const pending = [...packages];
  while (pending.length > 0) {
    const id = pending.pop()!;
    if (closure.has(id)) continue;
    closure.add(id);
    pending.push(...(graph.npmPackages[id]?.dependencies ?? []));
  }
  return closure;
}
