/**
 * The whole test suite, as the README and CI run it, in stages that can each run alone:
 *
 * - `static`: formatting, lint, type checks of every file, documentation lint, publish dry run;
 * - `unit`: the tests beside the code, `tests/unit/` and the documentation examples;
 * - `types`: the compile-time wiring checks (`tests/types/`: fixtures, message texts, type cost);
 * - `local`: integration tests on the local filesystem and local tools (no server);
 * - `stack`: integration tests against real servers the harness starts (S3, the Lambda runtime
 *   emulator, Spark);
 * - `browser`: the run UI in headless Chromium (Debian's `chromium`, installed first when it is
 *   missing and this runs as root; the stage fails saying so when it cannot be installed).
 *
 * Each stage runs even when an earlier one failed; the time of each is printed, and the exit
 * status is non-zero when any failed.
 *
 * ```sh
 * deno task test               # every stage
 * deno task test unit types    # some stages
 * ```
 *
 * @module
 */

interface Stage {
  readonly name: string;
  readonly commands: readonly (readonly string[])[];
  /** What the stage needs on the machine, set up first; throws saying what is missing. */
  readonly prepare?: () => Promise<void>;
}

const CHROMIUM = "/usr/bin/chromium";

/** Debian's Chromium for the browser tests: installed with apt-get when it is missing. */
async function installChromium(): Promise<void> {
  try {
    await Deno.stat(CHROMIUM);
    return;
  } catch {
    console.log(`\n=== browser: ${CHROMIUM} is missing, installing Debian's chromium`);
  }
  for (const args of [["update"], ["install", "-y", "--no-install-recommends", "chromium"]]) {
    let ok = false;
    try {
      const child = new Deno.Command("apt-get", {
        args,
        env: { DEBIAN_FRONTEND: "noninteractive" },
        stdin: "null",
      }).spawn();
      ok = (await child.status).success;
    } catch (error) {
      console.error(`apt-get cannot be started: ${error}`);
    }
    if (!ok) {
      throw new Error(
        `the browser tests need Debian's chromium at ${CHROMIUM}, and 'apt-get ${
          args.join(" ")
        }' failed: install it as root ('apt-get install -y chromium') and run the stage again`,
      );
    }
  }
}

/** Integration tests that need a server the harness starts. */
const STACK_TESTS = [
  "tests/integration/analyze_test.ts",
  "tests/integration/deployed_partitions_test.ts",
  "tests/integration/deployed_run_test.ts",
  "tests/integration/examples_test.ts",
  "tests/integration/lambda_run_test.ts",
  "tests/integration/lambda_stack_test.ts",
  "tests/integration/ledger_cloud_test.ts",
  "tests/integration/partition_locks_test.ts",
  "tests/integration/partitions_cloud_test.ts",
  "tests/integration/s3_commit_test.ts",
  "tests/integration/s3_ledger_test.ts",
  "tests/integration/s3_server_test.ts",
  "tests/integration/s3_storage_test.ts",
  "tests/integration/spark_batch_test.ts",
  "tests/integration/spark_checks_test.ts",
  "tests/integration/spark_connect_test.ts",
  "tests/integration/spark_run_test.ts",
  "tests/integration/spark_semantics_test.ts",
];

const test = ["test", "-A", "--parallel"];
const stages: readonly Stage[] = [
  {
    name: "static",
    commands: [
      ["fmt", "--check"],
      ["lint"],
      [
        "check",
        "mod.ts",
        "cli.ts",
        "stack.ts",
        "src",
        "examples",
        "tests",
        "!tests/types/fixtures",
        "bench",
        "tools",
      ],
      ["run", "-A", "tools/doc_lint.ts"],
      ["publish", "--dry-run", "--allow-dirty"],
    ],
  },
  {
    name: "unit",
    commands: [[...test, "--doc", "mod.ts", "cli.ts", "stack.ts", "src", "tests/unit"]],
  },
  { name: "types", commands: [[...test, "tests/types"]] },
  {
    name: "local",
    commands: [[
      ...test,
      "tests/integration",
      ...STACK_TESTS.map((file) => `--ignore=${file}`),
    ]],
  },
  // One file at a time: these tests point the process's AWS, state-bucket and Spark variables at
  // the servers they start, and test files run in parallel share one process environment.
  { name: "stack", commands: [["test", "-A", ...STACK_TESTS]] },
  // One browser per test file, one file at a time: the machine has two cores.
  { name: "browser", commands: [["test", "-A", "tests/browser"]], prepare: installChromium },
];

const wanted = Deno.args.filter((a) => !a.startsWith("-"));
const unknown = wanted.filter((name) => !stages.some((s) => s.name === name));
if (unknown.length > 0) {
  console.error(
    `unknown stage '${unknown[0]}'; stages: ${stages.map((s) => s.name).join(", ")}`,
  );
  Deno.exit(2);
}
const selected = wanted.length === 0 ? stages : stages.filter((s) => wanted.includes(s.name));

const deno = Deno.execPath();
const results: { stage: string; ok: boolean; seconds: number }[] = [];
let passed = 0;
let failed = 0;
for (const stage of selected) {
  const started = performance.now();
  let ok = true;
  try {
    await stage.prepare?.();
  } catch (error) {
    console.error(`\n=== ${stage.name}: ${error instanceof Error ? error.message : error}`);
    results.push({ stage: stage.name, ok: false, seconds: (performance.now() - started) / 1000 });
    continue;
  }
  for (const args of stage.commands) {
    console.log(`\n=== ${stage.name}: deno ${args.join(" ")}`);
    const child = new Deno.Command(deno, {
      args: [...args],
      stdout: "piped",
      stderr: "inherit",
      env: { NO_COLOR: "1" },
    }).spawn();
    let output = "";
    const decoder = new TextDecoder();
    for await (const chunk of child.stdout) {
      output += decoder.decode(chunk, { stream: true });
      await Deno.stdout.write(chunk);
    }
    const status = await child.status;
    const counts = output.match(
      /(ok|FAILED) \| (\d+) passed(?: \((\d+) steps?\))? \| (\d+) failed/,
    );
    if (counts) {
      passed += Number(counts[2]);
      failed += Number(counts[4]);
    }
    ok &&= status.success;
  }
  results.push({ stage: stage.name, ok, seconds: (performance.now() - started) / 1000 });
}

console.log("\n=== summary");
for (const r of results) {
  console.log(`${r.ok ? "ok  " : "FAIL"}  ${r.stage.padEnd(9)} ${r.seconds.toFixed(1)} s`);
}
const failedStages = results.filter((r) => !r.ok).length;
console.log(`stages: ${results.length - failedStages} passed, ${failedStages} failed`);
console.log(`tests: ${passed} passed, ${failed} failed`);
Deno.exit(failedStages === 0 ? 0 : 1);
