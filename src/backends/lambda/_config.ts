/**
 * The user's Deno configuration, as far as a Lambda artifact needs it: its import map, moved to
 * the artifact's `app/` directory.
 *
 * @module
 */
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { fileURLToPath as fromFileUrl } from "node:url";
import { GlacierError } from "../../core/errors.ts";

/** An import map. */
export interface ImportMap {
  /** Specifier to address. */
  readonly imports?: Readonly<Record<string, string>>;
  /** Scope to specifier to address. */
  readonly scopes?: Readonly<Record<string, Readonly<Record<string, string>>>>;
}

/**
 * The nearest `deno.json` or `deno.jsonc` in a directory or above it.
 *
 * @param dir where to start.
 * @returns the file, or `undefined`.
 */
export async function findConfig(dir: string): Promise<string | undefined> {
  for (let at = resolve(dir);; at = dirname(at)) {
    for (const name of ["deno.json", "deno.jsonc"]) {
      const file = join(at, name);
      if (await Deno.stat(file).then((s) => s.isFile, () => false)) return file;
    }
    if (dirname(at) === at) return undefined;
  }
}

/**
 * Parses JSON with comments and trailing commas, as Deno reads `deno.jsonc`.
 *
 * @param text the text.
 * @returns the value.
 */
export function parseJsonc(text: string): unknown {
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      const start = i;
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === "\\") i++;
      out += text.slice(start, i + 1);
    } else if (c === "/" && text[i + 1] === "/") {
      while (i < text.length && text[i] !== "\n") i++;
      out += "\n";
    } else if (c === "/" && text[i + 1] === "*") {
      const end = text.indexOf("*/", i + 2);
      i = end < 0 ? text.length : end + 1;
    } else out += c;
  }
  return JSON.parse(out.replace(/,(\s*[}\]])/g, "$1"));
}

/**
 * The import map of a configuration file, with its addresses rewritten for the artifact: a
 * local address under `root` becomes relative to `app/` (which holds `root`'s contents); a local
 * address outside it is dropped, since no packaged module uses it.
 *
 * @param config the `deno.json` or `deno.jsonc`.
 * @param root the directory that `app/` stands for.
 * @returns the import map, or `undefined` when the file has none.
 * @throws {GlacierError} when the file cannot be read.
 */
export async function movedImportMap(
  config: string,
  root: string,
): Promise<ImportMap | undefined> {
  let parsed: {
    imports?: Record<string, string>;
    scopes?: ImportMap["scopes"];
    importMap?: string;
  };
  let base = dirname(config);
  try {
    parsed = parseJsonc(await Deno.readTextFile(config)) as typeof parsed;
    if (parsed.importMap && !parsed.imports && !parsed.scopes) {
      const file = resolve(base, parsed.importMap);
      parsed = JSON.parse(await Deno.readTextFile(file));
      base = dirname(file);
    }
  } catch (error) {
    throw new GlacierError(
      `cannot read the import map of '${config}': ${(error as Error).message}`,
      { cause: error },
    );
  }
  if (!parsed.imports && !parsed.scopes) return undefined;
  const move = (address: string): string | undefined => {
    const local = address.startsWith("file:")
      ? fromFileUrl(address)
      : /^(\.{1,2}\/|\/)/.test(address)
      ? resolve(base, address)
      : undefined;
    if (local === undefined) return address;
    const rel = relative(root, local);
    if (rel === ".." || rel.startsWith(`..${sep}`) || isAbsolute(rel)) return undefined;
    const moved = `./${rel.split(sep).join("/")}`;
    return address.endsWith("/") && !moved.endsWith("/") ? `${moved}/` : moved;
  };
  const moveAll = (map: Readonly<Record<string, string>>) => {
    const out: Record<string, string> = {};
    for (const [key, address] of Object.entries(map)) {
      const moved = move(address);
      if (moved !== undefined) out[key] = moved;
    }
    return out;
  };
  const result: {
    imports?: Record<string, string>;
    scopes?: Record<string, Record<string, string>>;
  } = {};
  if (parsed.imports) result.imports = moveAll(parsed.imports);
  if (parsed.scopes) {
    const scopes: Record<string, Record<string, string>> = {};
    for (const [scope, map] of Object.entries(parsed.scopes)) {
      const moved = move(scope);
      if (moved !== undefined) scopes[moved] = moveAll(map);
    }
    result.scopes = scopes;
  }
  return result;
}
