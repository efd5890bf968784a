/**
 * The `glacier` command: imports a module, finds every exported pipeline and runs a command.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { basename, isAbsolute, join, resolve } from "node:path";
import type { Bucket } from "../core/bucket.ts";
import { GlacierError } from "../core/errors.ts";
import { BucketImpl } from "../core/bucket.ts";
import type {
  CheckReport,
  PartitionSelection,
  StorageMode,
  VisualizeFormat,
} from "../core/reports.ts";
import { analysisJson, formatAnalysis, formatPipelineShares } from "../analyze/analysis_text.ts";
import { formatCheck } from "../engine/check.ts";
import { BACKENDS } from "../backends/mod.ts";
import { discoverPipelines, type FoundPipeline } from "../core/discover.ts";
import { DEFAULT_RETENTION_DAYS } from "../engine/ledger/ledger.ts";
import { formatPlan, runs } from "./run_history.ts";

/** The commands the CLI knows. */
export const COMMANDS = [
  "run",
  "plan",
  "runs",
  "check",
  "generate",
  "analyze",
  "visualize",
  "ui",
  "report",
  "lineage",
] as const;

/** The usage text. */
export const USAGE = `glacier: run, check, draw and deploy the pipelines a module exports

Usage:
  glacier MODULE COMMAND [options]
  glacier stack up|down|status [options]   the local stack (glacier stack --help)
  deno task glacier MODULE COMMAND [options]

Commands:
  run         run the pipelines together (each step once, independent steps in parallel),
              skipping every step whose output is up to date; each step says why it ran
  plan        say which steps a run would compute and why, and what they would cost
  runs        list recent runs; 'runs RUN_ID' shows one, with each step's reason
  check       run every task on empty frames and compare its real output schema with its bucket
  visualize   draw the module's pipelines as one graph (Mermaid by default)
  generate    write Terraform for the module's pipelines
  analyze     estimate the cost of a run of the module, and each pipeline's share; a
              partitioned module partition by partition over a range (--partition)
  ui          serve a web page of the module: its graph with what is up to date, stale (and
              why), failed or running; each bucket's schema, versions, rows and column lineage;
              every run with its timeline and errors. It follows runs as they happen
  report      write the same pages as one static file, DIR/index.html (--out DIR), for CI
  lineage     'lineage BUCKET --column NAME': where a column's values come from, through every
              step back to the module's inputs, read from the tasks' polars plans (runs nothing)

visualize, generate and analyze take the module as one graph: every exported pipeline, each
shared step once (--pipeline narrows it to the named pipelines). generate writes one Terraform
root module, in DIR/<module name> (DIR/<pipeline> for one pipeline).

Options:
  --mode local|cloud          storage and execution for 'run', and where 'analyze' looks for
                              the real sizes of existing data (default: local)
  --pipeline NAME             only this pipeline (repeatable)
  --out DIR                   output directory for 'generate' (default: ./terraform) and
                              'report' (default: ./glacier-report)
  --schedule EXPRESSION       'generate': start the state machine on an EventBridge Scheduler
                              expression, 'rate(1 day)' or 'cron(0 6 * * ? *)'; it passes its
                              time, which selects the partitions of a partitioned pipeline
  --partition-concurrency N   'generate': how many partitions the state machine's Map state
                              runs at once (default: 8)
  --port N                    'ui' listens on this port (default: 8080; 0 picks a free one)
  --host ADDRESS              'ui' binds this address (default: 127.0.0.1); any other than
                              loopback asks every request for a token
  --token TEXT                the token 'ui' asks for beyond loopback (default: a random one,
                              printed in the address)
  --format mermaid|dot|ascii  format for 'visualize' (default: mermaid)
  --max-usd N                 'analyze' exits 1 when an estimate is above N dollars
  --wait SECONDS              'run' waits up to SECONDS for another run writing the same
                              buckets (default: refuse at once, naming that run)
  --force [TASK ...]          'run' and 'plan': recompute every step, or the named tasks
  --partition KEY=VALUES      'run', 'plan' and 'analyze': only these partitions (repeatable);
                              VALUES is one value, several joined by ',', or a range FROM..TO
                              (inclusive)
  --detailed-exitcode         'plan' exits 0 when nothing would run, 2 when something would
  --json                      'plan', 'analyze', 'runs' and 'lineage' print JSON
  --column NAME               the column 'lineage' traces
  --prune                     'runs' removes runs older than the retention from the ledger
  --retention DAYS            how long --prune keeps runs (default: 90)
  --limit N                   how many runs 'runs' lists (default: 20)
  --quiet                     print no progress
  -h, --help                  this text

Exit status: 0 on success, 1 when a run or check fails, 2 on a usage error
('plan --detailed-exitcode': 0 nothing to run, 2 something to run, 1 on an error).`;

/** Where the CLI writes. */
export interface CliIo {
  /** Normal output. */
  out(text: string): void;
  /** Errors and progress. */
  err(text: string): void;
}

const consoleIo: CliIo = { out: (t) => console.log(t), err: (t) => console.error(t) };

/**
 * Runs the CLI.
 *
 * @param args the arguments after the program name.
 * @param io where to write (default: the console).
 * @returns the exit status.
 */
export async function main(args: readonly string[], io: CliIo = consoleIo): Promise<number> {
  // `stack` stands where a module path would: the local stack's own command line.
  if (args[0] === "stack") {
    const { stackMain } = await import("../stack/stack_command.ts");
    return await stackMain(args.slice(1));
  }
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      allowPositionals: true,
      options: {
        mode: { type: "string", default: "local" },
        pipeline: { type: "string", multiple: true },
        out: { type: "string" },
        schedule: { type: "string" },
        "partition-concurrency": { type: "string" },
        port: { type: "string", default: "8080" },
        host: { type: "string", default: "127.0.0.1" },
        token: { type: "string" },
        format: { type: "string", default: "mermaid" },
        "max-usd": { type: "string" },
        wait: { type: "string" },
        partition: { type: "string", multiple: true },
        force: { type: "boolean", default: false },
        "detailed-exitcode": { type: "boolean", default: false },
        json: { type: "boolean", default: false },
        column: { type: "string" },
        prune: { type: "boolean", default: false },
        retention: { type: "string" },
        limit: { type: "string" },
        quiet: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    });
  } catch (error) {
    io.err(`error: ${error instanceof Error ? error.message : error}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.out(USAGE);
    return 0;
  }
  const [module, command, ...extra] = positionals;
  const usage = (message: string) => {
    io.err(`error: ${message}\n\n${USAGE}`);
    return 2;
  };
  if (!module || !command) return usage("give a MODULE and a COMMAND");
  // `--force TASK ...`, `runs RUN_ID` and `lineage BUCKET` take the positionals after the command.
  const forceTasks = values.force && (command === "run" || command === "plan") ? extra : [];
  const runId = command === "runs" || command === "lineage" ? extra[0] : undefined;
  if (command === "lineage" && (runId === undefined || values.column === undefined)) {
    return usage("lineage takes a BUCKET (bucket/path) and --column NAME");
  }
  const unexpected = extra.slice(forceTasks.length + (runId === undefined ? 0 : 1));
  if (unexpected.length > 0) return usage(`unexpected argument '${unexpected[0]}'`);
  const force = !values.force ? false : forceTasks.length > 0 ? forceTasks : true;
  const numberOption = (text: string | undefined, fallback: number) =>
    text === undefined ? fallback : Number(text);
  const retention = numberOption(values.retention, DEFAULT_RETENTION_DAYS);
  if (!(retention >= 0)) {
    return usage(`--retention must be a number of days, got '${values.retention}'`);
  }
  const limit = numberOption(values.limit, 20);
  if (!(Number.isInteger(limit) && limit > 0)) {
    return usage(`--limit must be a positive whole number, got '${values.limit}'`);
  }
  if (!(COMMANDS as readonly string[]).includes(command)) {
    return usage(`unknown command '${command}'; use one of ${COMMANDS.join(", ")}`);
  }
  if (values.mode !== "local" && values.mode !== "cloud") {
    return usage(`--mode must be 'local' or 'cloud', got '${values.mode}'`);
  }
  if (!["mermaid", "dot", "ascii"].includes(values.format!)) {
    return usage(`--format must be mermaid, dot or ascii, got '${values.format}'`);
  }
  const wait = values.wait === undefined ? undefined : Number(values.wait);
  if (wait !== undefined && !(wait >= 0)) {
    return usage(`--wait must be a number of seconds, got '${values.wait}'`);
  }
  const port = Number(values.port);
  if (!(Number.isInteger(port) && port >= 0 && port < 65536)) {
    return usage(`--port must be a port number from 0 to 65535, got '${values.port}'`);
  }
  if ((command === "ui" || command === "report") && values.mode !== "local") {
    return usage(`'${command}' reads the ledger of local runs; --mode cloud is not supported yet`);
  }
  let partitions: PartitionSelection | undefined;
  try {
    partitions = parseSelection(values.partition ?? []);
  } catch (error) {
    return usage((error as Error).message);
  }
  const partitionConcurrency = values["partition-concurrency"] === undefined
    ? undefined
    : Number(values["partition-concurrency"]);
  if (
    partitionConcurrency !== undefined &&
    !(Number.isInteger(partitionConcurrency) && partitionConcurrency > 0)
  ) {
    return usage(
      `--partition-concurrency must be a positive whole number, got '${
        values["partition-concurrency"]
      }'`,
    );
  }
  const maxUsd = values["max-usd"] === undefined ? undefined : Number(values["max-usd"]);
  if (maxUsd !== undefined && !(maxUsd >= 0)) {
    return usage(`--max-usd must be a number of dollars, got '${values["max-usd"]}'`);
  }

  try {
    let pipelines = await discoverPipelines(module);
    if (values.pipeline && values.pipeline.length > 0) {
      const wanted = new Set(values.pipeline);
      const unknown = [...wanted].filter((n) => !pipelines.some((p) => p.name === n));
      if (unknown.length > 0) {
        return usage(
          `no pipeline named '${unknown[0]}' in '${module}'; it has: ${
            pipelines.map((p) => p.name).join(", ")
          }`,
        );
      }
      pipelines = pipelines.filter((p) => wanted.has(p.name));
    } else if (!["run", "check", "plan", "runs", "ui", "report", "lineage"].includes(command)) {
      pipelines = outermost(pipelines);
    }
    switch (command) {
      case "run": {
        // The run is named after the module when it runs several pipelines: its lineage job.
        const whole = combined(pipelines, module, moduleName(pipelines, module));
        const names = new Set(whole.lineage.map((s) => s.task.name));
        const unknownTask = Array.isArray(force) ? force.find((t) => !names.has(t)) : undefined;
        if (unknownTask) {
          return usage(`--force names task '${unknownTask}', which no step of '${module}' runs`);
        }
        await whole.run({
          mode: values.mode as StorageMode,
          quiet: values.quiet,
          force,
          ...(wait === undefined ? {} : { wait }),
          ...(partitions ? { partitions } : {}),
        });
        return 0;
      }
      case "plan": {
        const report = await combined(pipelines, module, moduleName(pipelines, module)).run({
          mode: "plan",
          storage: values.mode as StorageMode,
          force,
          ...(partitions ? { partitions } : {}),
        });
        io.out(values.json ? JSON.stringify(report, null, 2) : formatPlan(report));
        if (!values.json) { for (const note of report.notes) io.err(`note: ${note}`); }
        const runs = report.steps.some((s) => s.action !== "skip");
        return values["detailed-exitcode"] ? (runs ? 2 : 0) : 0;
      }
      case "runs":
        return await runs(
          combined(pipelines, module, moduleName(pipelines, module)),
          values.mode as StorageMode,
          { runId, json: values.json, prune: values.prune, retention, limit },
          io,
        );
      case "check":
        return await check(combined(pipelines, module), io);
      case "visualize":
        // One picture of the module: every pipeline, each shared step once.
        io.out(
          combined(pipelines, module, moduleName(pipelines, module)).visualize({
            format: values.format as VisualizeFormat,
          }),
        );
        return 0;
      case "generate": {
        // Pipelines of one module share buckets and upstream steps: one Terraform root module
        // holds them all, so applying it never declares a bucket twice.
        const name = moduleName(pipelines, module);
        const report = await combined(pipelines, module, name).run({
          mode: "generate",
          outputDir: join(values.out ?? "terraform", name),
          ...(values.schedule === undefined ? {} : { schedule: values.schedule }),
          ...(partitionConcurrency === undefined ? {} : { partitionConcurrency }),
          module: isAbsolute(module) || /^[a-z]+:/i.test(module) ? module : resolve(module),
        });
        const which = pipelines.map((p) => `'${p.name}'`).join(", ");
        io.out(`pipeline ${which}: wrote ${report.files.length} files to ${report.outputDir}`);
        for (const warning of report.warnings) io.err(`warning: ${warning}`);
        // Whether what runs in AWS on a configuration nobody chose (a local task as a function
        // with LambdaConfig's defaults) fits there, by the cost model's estimate.
        const whole = combined(pipelines, module, name);
        const local = whole.lineage
          .filter((s) => "deployAs" in BACKENDS[s.task.resource.kind].terraform)
          .map((s) => `task '${s.task.name}'`);
        if (local.length > 0) {
          const deployed = await whole.run({ mode: "analyze", asDeployed: true });
          for (const warning of deployed.warnings) {
            if (local.some((task) => warning.startsWith(task))) io.err(`warning: ${warning}`);
          }
        }
        return 0;
      }
      case "lineage": {
        const { traceColumn, formatTrace } = await import("../lineage/column_trace.ts");
        const graph = combined(pipelines, module, moduleName(pipelines, module)).graph();
        const trace = traceColumn(graph, runId!, values.column!);
        io.out(values.json ? JSON.stringify(trace, null, 2) : formatTrace(trace));
        return 0;
      }
      case "ui":
      case "report": {
        const name = moduleName(pipelines, module);
        const { uiCommand } = await import("./ui_command.ts");
        return await uiCommand({
          command,
          module,
          name,
          pipelines: pipelines.map((p) => ({
            name: p.name,
            ...(p.bucket.description ? { description: p.bucket.description } : {}),
          })),
          graph: combined(pipelines, module, name).graph(),
          hostname: values.host!,
          port,
          ...(values.token === undefined ? {} : { token: values.token }),
          out: values.out ?? "glacier-report",
        }, io);
      }
      case "analyze":
        return await analyze(pipelines, module, io, {
          maxUsd,
          storage: values.mode as StorageMode,
          json: values.json,
          ...(partitions ? { partitions } : {}),
        });
    }
    return 2;
  } catch (error) {
    if (error instanceof GlacierError || error instanceof TypeError) {
      io.err(`error: ${error.message}`);
      const retry = error instanceof GlacierError ? error.report?.retry : undefined;
      if (retry) {
        const mode = values.mode === "cloud" ? " --mode cloud" : "";
        io.err(
          `retry the failed partitions with: ${
            retry.split(" ; ").map((flags) => `glacier ${module} run${mode} ${flags}`).join(" ; ")
          }`,
        );
      }
      return 1;
    }
    throw error;
  }
}

/**
 * The pipelines that are not part of another one: a pipeline whose steps all belong to another
 * exported pipeline is drawn, generated and analyzed as part of that one.
 */
function outermost(pipelines: readonly FoundPipeline[]): FoundPipeline[] {
  const steps = pipelines.map((p) => new Set(p.bucket.lineage));
  return pipelines.filter((_, i) =>
    !steps.some((other, j) =>
      j !== i && [...steps[i]].every((s) => other.has(s)) &&
      (other.size > steps[i].size || j < i)
    )
  );
}

/** One pipeline made of several, so shared upstream steps run once. */
function combined(pipelines: readonly FoundPipeline[], module: string, name?: string): Bucket {
  if (pipelines.length === 1) return pipelines[0].bucket;
  return BucketImpl.combine(
    pipelines.map((p) => p.bucket),
    name ?? `${basename(module)} (${pipelines.length} pipelines)`,
  );
}

async function check(pipeline: Bucket, io: CliIo): Promise<number> {
  const report = await pipeline.run({ mode: "check" }) as CheckReport;
  io.out(formatCheck(report));
  return report.ok ? 0 : 1;
}

/** The name a module's pipelines go by together: the one pipeline's, else the module file's. */
function moduleName(pipelines: readonly FoundPipeline[], module: string): string {
  return pipelines.length === 1 ? pipelines[0].name : basename(module).replace(/\.[^.]+$/, "");
}

/** What `analyze` was asked. */
interface AnalyzeRequest {
  readonly maxUsd?: number;
  readonly storage: StorageMode;
  readonly json: boolean;
  readonly partitions?: PartitionSelection;
}

async function analyze(
  pipelines: readonly FoundPipeline[],
  module: string,
  io: CliIo,
  { maxUsd, storage, json, partitions }: AnalyzeRequest,
): Promise<number> {
  // The module as one graph: shared steps are estimated once, and the total is the module's.
  const name = moduleName(pipelines, module);
  const whole = pipelines.length === 1
    ? pipelines[0].bucket.withName(name, pipelines[0].bucket.description)
    : combined(pipelines, module, name);
  const analysis = await whole.run({
    mode: "analyze",
    storage,
    ...(partitions ? { partitions } : {}),
  });
  const cost = analysis.estimatedCost();
  if (json) io.out(JSON.stringify(analysisJson(analysis), null, 2));
  else io.out(formatAnalysis(analysis));
  if (pipelines.length > 1 && !json) {
    io.out(formatPipelineShares(
      analysis,
      pipelines.map((p) => ({ name: p.name, tasks: p.bucket.lineage.map((s) => s.task.name) })),
    ));
  }
  const total = cost.totalUsd;
  const what = pipelines.length === 1 ? `pipeline '${name}'` : `module '${name}'`;
  if (maxUsd !== undefined && total > maxUsd) {
    io.err(`${what} is estimated at $${total.toFixed(6)} per run, above --max-usd ${maxUsd}`);
    return 1;
  }
  return 0;
}

/**
 * The `--partition KEY=VALUES` options as a selection: `date=2026-01-01..2026-01-31`,
 * `site=north,south`, `site=north`.
 *
 * @param options each option's text.
 * @returns the selection, or `undefined` for none.
 * @throws {TypeError} naming the option that is not `KEY=VALUES`.
 */
export function parseSelection(options: readonly string[]): PartitionSelection | undefined {
  if (options.length === 0) return undefined;
  const selection: Record<string, PartitionSelection[string]> = {};
  for (const option of options) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.+)$/.exec(option);
    if (!m) {
      throw new TypeError(
        `--partition '${option}' is not KEY=VALUES, such as date=2026-01-01..2026-01-31 or ` +
          "site=north,south",
      );
    }
    const [, key, text] = m;
    if (selection[key] !== undefined) {
      throw new TypeError(`--partition names key '${key}' twice; give its values in one option`);
    }
    const range = /^([^,]+)\.\.([^,]+)$/.exec(text);
    selection[key] = range
      ? { from: range[1], to: range[2] }
      : text.includes(",")
      ? text.split(",")
      : text;
  }
  return selection;
}
