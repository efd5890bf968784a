/**
 * The import rules of the architecture (DESIGN section 4): one direction of imports,
 * `schema <- core <- io <- engine <- backends <- (generate, analyze, lineage, ui) <- provider <-
 * cli`, `visualize` on core alone, and backends that never import each other. Every relative
 * import (static or dynamic) of every file under `src/` is checked.
 */
import assert from "node:assert/strict";
import { dirname, join, normalize, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url));
const src = join(root, "src");

/** Each part of `src/` and the parts below it that it may import. */
const RANK: Readonly<Record<string, number>> = {
  "polars.ts": 0,
  schema: 1,
  core: 2,
  io: 3,
  engine: 4,
  backends: 5,
  generate: 6,
  analyze: 6,
  lineage: 6,
  ui: 6,
  visualize: 6,
  provider: 7,
  stack: 7,
  cli: 8,
};

/** Parts that may import only some of the parts below them. */
const ONLY: Readonly<Record<string, readonly string[]>> = {
  visualize: ["polars.ts", "schema", "core"],
};

function partOf(file: string): { part: string; backend?: string } {
  const [first, second] = relative(src, file).split("/");
  return first === "backends" ? { part: first, backend: second } : { part: first };
}

function* sourceFiles(dir: string): Generator<string> {
  for (const entry of Deno.readDirSync(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) yield* sourceFiles(path);
    else if (entry.name.endsWith(".ts") && !entry.name.endsWith("_test.ts")) yield path;
  }
}

function importsOf(file: string): string[] {
  const text = Deno.readTextFileSync(file);
  const found: string[] = [];
  for (const m of text.matchAll(/(?:from|import)\s*\(?\s*["'](\.{1,2}\/[^"']+)["']/g)) {
    found.push(normalize(join(dirname(file), m[1])));
  }
  return found;
}

/** What is wrong with one import, or `undefined` when the rules allow it. */
function ruleBreak(file: string, target: string): string | undefined {
  const from = partOf(file);
  const to = partOf(target);
  const what = `${relative(root, file)} imports ${relative(root, target)}`;
  if (RANK[from.part] === undefined || RANK[to.part] === undefined) {
    return `${what}: a part the rules do not know; add it to RANK`;
  }
  if (from.part === "backends" && to.part === "backends") {
    // The list of backends (`src/backends/mod.ts`) is the one file that knows them all.
    const list = from.backend?.endsWith(".ts") ?? false;
    return list || from.backend === to.backend
      ? undefined
      : `${what}: backends never import each other`;
  }
  if (from.part === to.part) return undefined;
  const allowed = ONLY[from.part]?.includes(to.part) ?? RANK[to.part] < RANK[from.part];
  return allowed ? undefined : `${what}: ${from.part} may not import ${to.part}`;
}

Deno.test("every part of src/ imports only the parts below it", () => {
  const broken: string[] = [];
  for (const file of sourceFiles(src)) {
    for (const target of importsOf(file)) {
      const problem = ruleBreak(file, target);
      if (problem) broken.push(problem);
    }
  }
  assert.deepEqual(broken, []);
});

Deno.test("the rules refuse what DESIGN forbids", () => {
  const at = (...path: string[]) => join(src, ...path);
  assert.match(
    ruleBreak(at("backends", "spark", "a.ts"), at("backends", "lambda", "b.ts"))!,
    /backends never import each other/,
  );
  assert.match(ruleBreak(at("core", "a.ts"), at("io", "b.ts"))!, /core may not import io/);
  assert.match(ruleBreak(at("io", "a.ts"), at("engine", "b.ts"))!, /io may not import engine/);
  assert.match(
    ruleBreak(at("visualize", "a.ts"), at("engine", "b.ts"))!,
    /visualize may not import engine/,
  );
  assert.equal(ruleBreak(at("engine", "a.ts"), at("io", "b.ts")), undefined);
  assert.equal(ruleBreak(at("backends", "spark", "a.ts"), at("engine", "b.ts")), undefined);
});

/** Parts that loop over backends and must never test a resource kind themselves. */
const CROSS_CUTTING = ["core", "io", "engine", "generate", "analyze", "lineage", "ui"];

/**
 * A test of one resource kind: `kind === "spark"`, `case "serverless":`, `.has("local")`. (`case
 * "local"` alone is also a run mode; a switch over kinds has the other two as well.)
 */
const KIND_TEST =
  /\bkind\s*[!=]==?\s*["'](local|serverless|spark)["']|\bcase\s+["'](serverless|spark)["']|\.has\(\s*["'](local|serverless|spark)["']\s*\)/;

/** The lines of a source file that test a resource kind. */
function kindTests(file: string, text: string): string[] {
  return text.split("\n").flatMap((line, i) =>
    KIND_TEST.test(line) ? [`${relative(root, file)}:${i + 1}: ${line.trim()}`] : []
  );
}

Deno.test("no cross-cutting part tests a resource kind: that lives in the kind's backend", () => {
  const found: string[] = [];
  for (const file of sourceFiles(src)) {
    if (!CROSS_CUTTING.includes(partOf(file).part)) continue;
    found.push(...kindTests(file, Deno.readTextFileSync(file)));
  }
  assert.deepEqual(found, []);
});

Deno.test("the kind rule catches the usual ways of testing a kind", () => {
  const file = join(src, "generate", "x.ts");
  assert.equal(kindTests(file, 'if (step.task.resource.kind === "spark") {').length, 1);
  assert.equal(kindTests(file, '    case "serverless":').length, 1);
  assert.equal(kindTests(file, 'if (kinds.has("local")) {').length, 1);
  assert.deepEqual(kindTests(file, "backends[step.task.resource.kind].check(step)"), []);
});
