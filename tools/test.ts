/**
 * The whole test suite, as the README and CI run it: formatting, lint, type checks of every file
 * (type tests included), documentation lint, unit, integration and documentation tests, and a
 * publish dry run. Each stage runs even when an earlier one failed; the exit status is non-zero
 * when any stage failed.
 *
 * ```sh
 * deno task test            # everything
 * deno task test --only tests  # one stage by name
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";

const { values } = parseArgs({ args: Deno.args, options: { only: { type: "string" } } });

interface Stage {
  readonly name: string;
  readonly args: string[];
}

const deno = Deno.execPath();
const stages: Stage[] = [
  { name: "fmt", args: ["fmt", "--check"] },
  { name: "lint", args: ["lint"] },
  {
    name: "check",
    args: [
      "check",
      "mod.ts",
      "cli.ts",
      "src",
      "examples",
      "tests",
      "!tests/types/fixtures",
      "bench",
      "tools",
    ],
  },
  { name: "doc-lint", args: ["run", "-A", "tools/doc_lint.ts"] },
  {
    name: "tests",
    args: ["test", "-A", "--doc", "--parallel", "mod.ts", "cli.ts", "src", "tests"],
  },
  { name: "publish", args: ["publish", "--dry-run", "--allow-dirty"] },
];

const selected = values.only ? stages.filter((s) => s.name === values.only) : stages;
if (selected.length === 0) {
  console.error(`unknown stage '${values.only}'; stages: ${stages.map((s) => s.name).join(", ")}`);
  Deno.exit(2);
}

const results: { stage: string; ok: boolean; seconds: number }[] = [];
let passed = 0;
let failed = 0;
for (const stage of selected) {
  console.log(`\n=== ${stage.name}: deno ${stage.args.join(" ")}`);
  const started = performance.now();
  const child = new Deno.Command(deno, {
    args: stage.args,
    stdout: "piped",
    stderr: "inherit",
    env: { NO_COLOR: "1" },
  }).spawn();
  let output = "";
  const decoder = new TextDecoder();
  for await (const chunk of child.stdout) {
    const text = decoder.decode(chunk, { stream: true });
    output += text;
    await Deno.stdout.write(chunk);
  }
  const status = await child.status;
  const counts = output.match(/(ok|FAILED) \| (\d+) passed(?: \((\d+) steps?\))? \| (\d+) failed/);
  if (counts) {
    passed += Number(counts[2]);
    failed += Number(counts[4]);
  }
  results.push({
    stage: stage.name,
    ok: status.success,
    seconds: (performance.now() - started) / 1000,
  });
}

console.log("\n=== summary");
for (const r of results) {
  console.log(`${r.ok ? "ok  " : "FAIL"}  ${r.stage.padEnd(9)} ${r.seconds.toFixed(1)} s`);
}
const failedStages = results.filter((r) => !r.ok).length;
console.log(`stages: ${results.length - failedStages} passed, ${failedStages} failed`);
console.log(`tests: ${passed} passed, ${failed} failed`);
Deno.exit(failedStages === 0 ? 0 : 1);
