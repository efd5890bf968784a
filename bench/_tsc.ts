/**
 * `tsc --extendedDiagnostics` on generated pipelines, for the type-check benchmark and the
 * type-cost budget test: the TypeScript that this Deno checks with (`Deno.version.typescript`, so
 * that the counts are those of `deno check`) from npm, installed with `npm` (with `@types/node`)
 * once into `$TMPDIR/glacier-bench-tsc-<version>` and reused, given Deno's own declarations
 * (`deno types`) and a
 * `paths` entry for each package in the repository's `node_modules`. The program is checked by
 * `_tsc_program.cjs`, which resolves imports as Deno does where tsc would not (`@ts-types`).
 *
 * @module
 */
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { generatePipeline } from "./_gen_pipeline.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const MOD = join(ROOT, "mod.ts");
const PROGRAM = fileURLToPath(new URL("./_tsc_program.cjs", import.meta.url));
/** The repository's `deno.json`. */
export const CONFIG: string = join(ROOT, "deno.json");
const TYPESCRIPT = `typescript@${Deno.version.typescript}`;

/** A TypeScript installation ready to check generated pipelines. */
export interface Tsc {
  /** The `tsc` script. */
  readonly tsc: string;
  /** Deno's declarations, for tsc. */
  readonly denoTypes: string;
  /** TypeScript's version. */
  readonly version: string;
  /** Where it is installed. */
  readonly dir: string;
}

/** Runs a command to its end; its stdout and stderr, joined. */
export function run(
  cmd: string,
  args: string[],
  cwd: string,
  env: Record<string, string> = {},
): { code: number; out: string } {
  const { code, stdout, stderr } = new Deno.Command(cmd, {
    args,
    cwd,
    env: { NO_COLOR: "1", ...env },
    stdin: "null",
  }).outputSync();
  const text = new TextDecoder();
  return { code, out: text.decode(stdout) + text.decode(stderr) };
}

/**
 * Writes the generated pipeline of `steps` steps (`buckets.ts`, `pipeline.ts`) into `dir`.
 *
 * @param dir the folder, created when missing.
 * @param steps how many steps; 0 is the library alone.
 * @param nonce a comment that makes the files differ between calls.
 */
export async function writePipeline(dir: string, steps: number, nonce: string): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  for (const [file, text] of Object.entries(generatePipeline(steps, MOD, nonce))) {
    await Deno.writeTextFile(join(dir, file), text);
  }
}

/** What `tsc --extendedDiagnostics` reports for one program. */
export interface TscStats {
  /** Type instantiations. */
  readonly instantiations: number;
  /** Types created. */
  readonly types: number;
  /** tsc's own check time. */
  readonly checkSeconds: number;
  /** Error diagnostics. */
  readonly errors: number;
  /** Error diagnostics in the generated files themselves (the rest are the library's). */
  readonly pipelineErrors: number;
  /** The TypeScript modules checked (declaration files aside). */
  readonly modules: number;
  /** Every error diagnostic: the file, relative to the checked folder, and the text. */
  readonly messages: readonly string[];
}

/** Installs TypeScript and @types/node once, and writes Deno's declarations beside them. */
export function setUpTsc(
  dir: string = join(tmpdir(), `glacier-bench-tsc-${Deno.version.typescript}`),
): Tsc {
  const tsc = join(dir, "node_modules", "typescript", "bin", "tsc");
  if (!existsSync(tsc)) {
    Deno.mkdirSync(dir, { recursive: true });
    const { code, out } = run("npm", [
      "install",
      "--prefix",
      dir,
      "--no-audit",
      "--no-fund",
      "--silent",
      TYPESCRIPT,
      "@types/node",
    ], dir);
    if (code !== 0) throw new Error(`npm install ${TYPESCRIPT} failed:\n${out}`);
  }
  const types = run(Deno.execPath(), ["types"], dir);
  if (types.code !== 0) throw new Error(`deno types failed:\n${types.out}`);
  // tsc has no `deno.*` libs; `deno types` inlines what the runtime declares.
  const denoTypes = join(dir, "deno.d.ts");
  Deno.writeTextFileSync(
    denoTypes,
    types.out.replace(/^\/\/\/ <reference (no-default-lib|lib="deno\.[^"]*").*$/gm, ""),
  );
  const version = run("node", [tsc, "--version"], dir).out.replace("Version", "").trim();
  return { tsc, denoTypes, version, dir };
}

/**
 * `paths` for every package in the repository's node_modules, bare and as `npm:` specifiers.
 *
 * Deno types the default import of a CommonJS package as its whole `module.exports`, where tsc
 * would take the package's `export default`; nodejs-polars' default export is a namespace that
 * lacks `Schema` and `DataType`, so it goes through a shim that gives tsc Deno's view.
 */
function packagePaths(shimDir: string): Record<string, string[]> {
  const modules = join(ROOT, "node_modules");
  const names: string[] = [];
  for (const entry of Deno.readDirSync(modules)) {
    if (entry.name.startsWith(".")) continue;
    if (entry.name.startsWith("@")) {
      for (const inner of Deno.readDirSync(join(modules, entry.name))) {
        names.push(`${entry.name}/${inner.name}`);
      }
    } else names.push(entry.name);
  }
  const paths: Record<string, string[]> = {};
  for (const name of names) {
    let target = join(modules, name);
    if (name === "nodejs-polars") {
      target = join(shimDir, "nodejs-polars.d.ts");
      const real = JSON.stringify(join(modules, name));
      Deno.writeTextFileSync(
        target,
        `import * as pl from ${real};\nexport * from ${real};\nexport default pl;\n`,
      );
    }
    paths[name] = [target];
    paths[`npm:${name}`] = [target];
    paths[`npm:${name}@*`] = [target];
    paths[`${name}/*`] = [`${join(modules, name)}/*`];
  }
  return paths;
}

/**
 * Type-checks `pipeline.ts` in `dir` with the repository's compiler options and counts what
 * `tsc --extendedDiagnostics` counts. The options are written to `dir/tsconfig.json`, so
 * `tsc -p tsconfig.json --extendedDiagnostics` can be run by hand; it differs only where the
 * library names a module's types with `@ts-types`, which tsc ignores and `deno check` follows.
 *
 * @param dir a folder holding `pipeline.ts`.
 * @param setup what {@link setUpTsc} returned.
 * @returns the counts.
 */
export function tscCheck(dir: string, setup: Tsc): TscStats {
  const { denoTypes, dir: tscDir } = setup;
  const denoOptions = JSON.parse(Deno.readTextFileSync(CONFIG)).compilerOptions ?? {};
  const tsconfig = {
    compilerOptions: {
      ...denoOptions,
      target: "ESNext",
      module: "ESNext",
      moduleResolution: "Bundler",
      lib: ["ESNext"],
      strict: true,
      noEmit: true,
      allowImportingTsExtensions: true,
      skipLibCheck: true,
      types: ["node"],
      typeRoots: [join(tscDir, "node_modules", "@types")],
      paths: packagePaths(dir),
    },
    files: ["pipeline.ts", denoTypes],
  };
  Deno.writeTextFileSync(join(dir, "tsconfig.json"), JSON.stringify(tsconfig, null, 2));
  const { code, out } = run(
    "node",
    [PROGRAM, join(tscDir, "node_modules", "typescript"), "tsconfig.json"],
    dir,
  );
  if (code !== 0) throw new Error(`type-checking ${dir} failed:\n${out}`);
  const result = JSON.parse(out) as {
    instantiations: number;
    types: number;
    checkSeconds: number;
    modules: number;
    errors: { file: string; message: string }[];
  };
  return {
    instantiations: result.instantiations,
    types: result.types,
    checkSeconds: result.checkSeconds,
    errors: result.errors.length,
    pipelineErrors: result.errors.filter((e) => /^(pipeline|buckets)\.ts$/.test(e.file)).length,
    modules: result.modules,
    messages: result.errors.map((e) => `${e.file}: ${e.message}`),
  };
}
