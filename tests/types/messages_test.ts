/**
 * Checks the words of every wiring error, at compile time and at run time.
 *
 * Each file in `fixtures/` (except `_*.ts`) makes one wiring mistake inside an exported `wire()`
 * and starts with `// expect: <message>`. For each fixture this test asserts that:
 * - `deno check` fails with exactly one error in it, and that error's text contains the message
 *   (one `deno check` runs over all the fixtures at once, its errors split by file);
 * - the same wiring done at run time, where no type checker stands in the way, throws a
 *   `WiringError` whose message contains the same text.
 *
 * The fixtures are imported with a computed specifier, so `deno test` does not type-check them.
 * A fixture may add `// known-bug: <why>` on its second line: its test is then ignored, and the
 * reason is in the test's name, until the bug is fixed.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { WiringError } from "../../mod.ts";
import { messages } from "../../src/schema/messages.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));
const dir = fileURLToPath(new URL("./fixtures/", import.meta.url));

interface Fixture {
  readonly name: string;
  readonly path: string;
  readonly expect: string;
  readonly knownBug?: string;
}

function readFixtures(): Fixture[] {
  const fixtures: Fixture[] = [];
  for (const entry of Deno.readDirSync(dir)) {
    if (!entry.isFile || !entry.name.endsWith(".ts") || entry.name.startsWith("_")) continue;
    const path = join(dir, entry.name);
    const [first = "", second = ""] = Deno.readTextFileSync(path).split("\n");
    const expect = /^\/\/ expect: (.+)$/.exec(first)?.[1];
    if (expect === undefined) {
      throw new Error(`fixture ${entry.name} must start with a line "// expect: <message>"`);
    }
    const knownBug = /^\/\/ known-bug: (.+)$/.exec(second)?.[1];
    fixtures.push({ name: entry.name, path, expect, knownBug });
  }
  return fixtures.sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * Runs one `deno check` over every fixture, from the repository root, without colours, and splits
 * its diagnostics by the fixture they are located in.
 */
async function checkAll(all: readonly Fixture[]): Promise<Map<string, string[]>> {
  const { stderr } = await new Deno.Command(Deno.execPath(), {
    // The fixtures fail on purpose, so deno.json excludes them from the project's own checks;
    // `--no-config` checks them anyway (their imports are relative, their npm specifiers pinned).
    args: ["check", "--quiet", "--no-config", ...all.map((f) => f.path)],
    cwd: root,
    env: { NO_COLOR: "1" },
    stdout: "null",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(stderr);
  const byFixture = new Map<string, string[]>(all.map((f) => [f.name, []]));
  for (const diagnostic of diagnostics(text)) {
    const at = /fixtures\/([^/:]+\.ts):\d+:\d+/.exec(diagnostic)?.[1];
    const list = at === undefined ? undefined : byFixture.get(at);
    if (list) list.push(diagnostic);
    else byFixture.set("(elsewhere)", [...(byFixture.get("(elsewhere)") ?? []), diagnostic]);
  }
  return byFixture;
}

/** The diagnostics in `deno check` output: each starts with `TSnnnn [ERROR]:`. */
function diagnostics(stderr: string): string[] {
  return stderr.split(/^(?=TS\d+ \[ERROR\]: )/m).filter((part) => /^TS\d+ /.test(part));
}

const fixtures = readFixtures();

/**
 * The messages of `messages.ts` that have a twin at the type level (`checks.ts`, `bucket.ts`, and
 * for quality checks `src/core/checks.ts`).
 */
const WIRING_MESSAGES = [
  "missingInputColumn",
  "inputDtype",
  "extraOutputColumn",
  "missingOutputColumn",
  "outputDtype",
  "unknownInput",
  "missingInput",
  "needsPipeline",
  "needsBucket",
  "inputFieldDtype",
  "missingInputField",
  "extraInputField",
  "outputFieldDtype",
  "extraOutputField",
  "missingOutputField",
  "placeholderWithoutKey",
  "keyWithoutPlaceholder",
  "keyIsColumn",
  "keyNotInTarget",
  "keyNotInSource",
  "keyKindDiffers",
  "checkMissingColumn",
  "checkDtype",
] as const satisfies readonly (keyof typeof messages)[];

/**
 * Each wiring message as a pattern, its arguments as wildcards; a function whose last parameter
 * is optional (it prints nothing for it) gives a second pattern without it.
 */
function messagePatterns(): { name: string; pattern: RegExp }[] {
  const patterns: { name: string; pattern: RegExp }[] = [];
  const marker = "\u0000";
  for (const name of WIRING_MESSAGES) {
    const fn = messages[name] as (...args: string[]) => string;
    for (const arity of [fn.length, fn.length - 1]) {
      const text = fn(...Array.from({ length: arity }, () => marker));
      if (arity < fn.length && text.includes("undefined")) continue;
      const source = text.split(marker).map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
        .join("[^']+");
      patterns.push({ name: `${name}/${arity}`, pattern: new RegExp(`^${source}$`) });
    }
  }
  return patterns;
}

Deno.test("fixtures: every wiring message has a fixture", () => {
  const missing = messagePatterns().filter(({ pattern }) =>
    !fixtures.some((f) => !f.knownBug && pattern.test(f.expect))
  );
  assert.deepEqual(missing.map((m) => m.name), [], "messages without a passing fixture");
});

let checked: Promise<Map<string, string[]>> | undefined;
/** The one `deno check` of all fixtures, run when the first fixture's test asks for it. */
function checkedFixtures(): Promise<Map<string, string[]>> {
  checked ??= checkAll(fixtures.filter((f) => !f.knownBug));
  return checked;
}

Deno.test("fixtures: no type error falls outside a fixture", async () => {
  assert.deepEqual((await checkedFixtures()).get("(elsewhere)") ?? [], []);
});

for (const fixture of fixtures) {
  Deno.test({
    name: `fixtures/${fixture.name}: ${fixture.expect}` +
      (fixture.knownBug ? ` (known bug: ${fixture.knownBug})` : ""),
    ignore: fixture.knownBug !== undefined,
    async fn(t) {
      await t.step("deno check fails with exactly this message", async () => {
        const found = (await checkedFixtures()).get(fixture.name) ?? [];
        assert.equal(found.length, 1, `expected one type error, got:\n${found.join("")}`);
        assert.ok(
          found[0].includes(fixture.expect),
          `the type error does not contain\n  ${fixture.expect}\nit is:\n${found[0]}`,
        );
        assert.ok(
          found[0].includes(`fixtures/${fixture.name}:`),
          `the type error is not located in the fixture:\n${found[0]}`,
        );
      });

      await t.step("the same wiring throws a WiringError with the same words", async () => {
        const specifier = new URL(`./fixtures/${fixture.name}`, import.meta.url).href;
        const module = await import(specifier);
        assert.equal(typeof module.wire, "function", `${fixture.name} must export wire()`);
        assert.throws(
          () => module.wire(),
          (error: unknown) => {
            assert.ok(error instanceof WiringError, `not a WiringError: ${error}`);
            assert.ok(
              error.message.includes(fixture.expect),
              `the run-time error does not contain\n  ${fixture.expect}\nit is:\n  ${error.message}`,
            );
            return true;
          },
        );
      });
    },
  });
}
