/**
 * Lambda invocation latency and per-task overhead. A real versitygw S3 server and the Lambda test
 * stack (the module's artifact under the AWS Lambda Runtime Interface Emulator, behind the stack's
 * router) run on loopback; the pipeline module (`bench/_lambda_module.ts`) has one serverless task,
 * a filter and `withColumns` over orders, and the identical task on `provider.local()`.
 *
 * - cold: the first invocation after the function's emulator starts (the runtime's init, then the
 *   run), a fresh stack per sample; also a re-init whose Deno cache survived (runtime killed, the
 *   emulator starts it again), which isolates what an empty `DENO_DIR` costs;
 * - warm: later invocations, by four routes (SDK with a new client per call as cloud mode does, SDK
 *   with one client, `fetch` through the router, `fetch` to the emulator) with a payload that names
 *   no task (the runtime answers at once), and the real task over 1 and 10,000 rows;
 * - cold-start breakdown: the artifact's Deno loading more and more of the runtime, with an empty
 *   and a warm `DENO_DIR`, in child processes;
 * - per-task overhead: the one-step pipeline in cloud mode with the task on Lambda and on
 *   `provider.local()` (in this process, against the same S3), alternating, per input size.
 *
 * Medians, p90 and the Lambda / in-process ratios go to `bench/lambda_latency_results.md`.
 *
 * ```sh
 * deno run -A bench/lambda_latency.ts                     # 7 cold, 50 warm, 10k and 1M rows x 11
 * deno run -A bench/lambda_latency.ts --cold 2 --warm 5 --sizes 10000 --runs 2 --out /tmp/smoke.md
 * ```
 *
 * @module
 */
import { dirname, join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { pl } from "../mod.ts";
import type { RunReport } from "../src/core/reports.ts";
import { lambdaFunctionName } from "../src/core/naming.ts";
import { stepsOf } from "../src/backends/lambda/runtime.ts";
import type { TaskResult } from "../src/backends/lambda/protocol.ts";
import { type S3Server, withS3Server } from "../tests/integration/_s3_server.ts";
import {
  type LambdaStack,
  type LambdaStackOptions,
  startLambdaStack,
} from "../tests/integration/_lambda_stack.ts";
import { ordersFrame } from "./_data.ts";
import {
  BUCKET,
  INVOKE_OUTPUT_KEY,
  LAMBDA_TASK,
  SMALL_KEY,
  TINY_KEY,
  writeLatencyModule,
} from "./_lambda_module.ts";
import {
  closeSharedClient,
  emulatorTiming,
  emulatorTimings,
  initSteps,
  invoke,
  type Route,
  runtimePid,
  summarize,
  type Summary,
  type Target,
  timeInitStep,
} from "./_lambda_measure.ts";
import { machine, waitForIdle } from "./_measure.ts";

const SCRIPT = fileURLToPath(import.meta.url);
const BENCH_DIR = dirname(SCRIPT);
const FUNCTION = lambdaFunctionName({ name: LAMBDA_TASK });
const SMALL_ROWS = 10_000;

const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    cold: { type: "string", default: "7" },
    warm: { type: "string", default: "50" },
    "init-runs": { type: "string", default: "5" },
    sizes: { type: "string", default: "10000,1000000" },
    runs: { type: "string", default: "11" },
    warmup: { type: "string", default: "2" },
    idle: { type: "string", default: "0.15" },
    "idle-wait": { type: "string", default: "10" },
    out: { type: "string", default: join(BENCH_DIR, "lambda_latency_results.md") },
  },
});
const coldRuns = positiveInt("cold", flags.cold);
const warmRuns = positiveInt("warm", flags.warm);
const initRuns = positiveInt("init-runs", flags["init-runs"]);
const sizes = flags.sizes.split(",").map((s) => positiveInt("sizes", s.trim()));
const runs = positiveInt("runs", flags.runs);
const warmup = Number(flags.warmup);
const idle = Number(flags.idle);
const idleWait = Number(flags["idle-wait"]);

/** The pipeline module's exports that the benchmark uses. */
interface LatencyModule {
  readonly tiny: Writable;
  readonly small: Writable;
  readonly orders: Writable;
  readonly lambdaPipeline: Runnable;
  readonly inProcessPipeline: Runnable;
}
interface Writable {
  write(frame: pl.DataFrame, options: { mode: "cloud" }): Promise<unknown>;
}
interface Runnable {
  run(options: { mode: "cloud"; quiet: true }): Promise<RunReport>;
  read(options: { mode: "cloud" }): Promise<pl.DataFrame>;
}

/** What one kind of invocation sends. */
interface Payloads {
  readonly noTask: unknown;
  readonly tiny: unknown;
  readonly small: unknown;
}

/** One cold sample. */
interface ColdSample {
  readonly kind: string;
  readonly clientMs: number;
  readonly initMs: number;
  readonly invokeMs: number;
  readonly functionMs?: number;
  readonly stackStartMs?: number;
  readonly busy: number;
}

/** One warm sample. */
interface WarmSample {
  readonly kind: string;
  readonly clientMs: number;
  readonly requestId: string;
  readonly functionMs?: number;
  readonly busy: number;
}

/** One cloud-mode pipeline run. */
interface RunSample {
  readonly rows: number;
  readonly variant: "lambda" | "in-process";
  readonly round: number;
  readonly wallMs: number;
  readonly stepMs: number;
  readonly invokeMs?: number;
  readonly outputRows: number;
  readonly busy: number;
}

const log = (line: string) => console.error(line);

const work = await Deno.makeTempDir({ prefix: "glacier-bench-lambda-" });
try {
  await Deno.mkdir(join(work, "module"));
  const module = await writeLatencyModule(join(work, "module"));
  const m = (await import(pathToFileURL(module).href)) as LatencyModule;
  const step = (await stepsOf(module)).get(LAMBDA_TASK);
  if (step === undefined) throw new Error(`the benchmark module has no task '${LAMBDA_TASK}'`);
  const input = Object.keys(step.sources)[0];
  const event = (key: string, task = LAMBDA_TASK) => ({
    glacier: 1,
    task,
    run: "bench",
    inputs: { [input]: { bucket: BUCKET, key } },
    output: { bucket: BUCKET, key: INVOKE_OUTPUT_KEY },
  });
  const payloads: Payloads = {
    noTask: event(TINY_KEY, "no_such_task"),
    tiny: event(TINY_KEY),
    small: event(SMALL_KEY),
  };
  const report = await withS3Server(async (s3) => {
    for (const [k, v] of Object.entries(s3.env())) Deno.env.set(k, v);
    await m.tiny.write(await ordersFrame(1, 1).collect(), { mode: "cloud" });
    await m.small.write(await ordersFrame(SMALL_ROWS, 1000).collect(), { mode: "cloud" });
    const options: LambdaStackOptions = { module, s3, unpackRoot: join(work, "unpack") };
    const stack = await startLambdaStack(options);
    try {
      log(
        `artifact ${stack.artifact.sha256.slice(0, 12)}: ${mb(stack.artifact.bytes)} zipped, ` +
          `${mb(stack.artifact.unzippedBytes)} unzipped`,
      );
      const init = await initBreakdown(stack.dir);
      const cold = await coldPhase(options, s3, payloads);
      const warm = await warmPhase(stack, s3, payloads);
      for (const [k, v] of Object.entries(stack.env())) Deno.env.set(k, v);
      const perTask = await perTaskPhase(stack, m);
      return await render(stack, init, cold, warm, perTask);
    } finally {
      closeSharedClient();
      await stack.stop();
    }
  });
  console.log(report);
  await Deno.writeTextFile(flags.out, report);
  log(`wrote ${relative(Deno.cwd(), flags.out)}`);
} finally {
  await Deno.remove(work, { recursive: true }).catch(() => {});
}

/** Child processes of the artifact's Deno: each step with an empty and with a warm DENO_DIR. */
async function initBreakdown(
  dir: string,
): Promise<Map<string, { empty: number[]; warm: number[] }>> {
  const steps = await initSteps(dir, await Deno.makeTempDir({ dir: work, prefix: "init-" }));
  const times = new Map(
    steps.map((s) => [s.label, { empty: [] as number[], warm: [] as number[] }]),
  );
  const warmDir = await Deno.makeTempDir({ prefix: "glacier-bench-deno-dir-" });
  try {
    for (const s of steps) await timeInitStep(dir, s, warmDir);
    for (let round = 0; round < initRuns; round += 1) {
      await waitForIdle(idle, idleWait);
      for (const s of (round & 1) === 0 ? steps : [...steps].reverse()) {
        const empty = await Deno.makeTempDir({ prefix: "glacier-bench-deno-dir-" });
        try {
          const order = (round & 1) === 0 ? ["empty", "warm"] : ["warm", "empty"];
          for (const which of order) {
            const ms = await timeInitStep(dir, s, which === "empty" ? empty : warmDir);
            times.get(s.label)![which as "empty" | "warm"].push(ms);
          }
        } finally {
          await Deno.remove(empty, { recursive: true });
        }
      }
      log(`init breakdown round ${round + 1}/${initRuns}`);
    }
  } finally {
    await Deno.remove(warmDir, { recursive: true });
  }
  return times;
}

/** First invocations after the emulator starts: a fresh stack per sample. */
async function coldPhase(
  options: LambdaStackOptions,
  s3: S3Server,
  payloads: Payloads,
): Promise<ColdSample[]> {
  const samples: ColdSample[] = [];
  const kinds = ["no task", `task, ${SMALL_ROWS.toLocaleString("en-US")} rows`];
  for (let round = 0; round < coldRuns; round += 1) {
    for (const kind of (round & 1) === 0 ? kinds : [...kinds].reverse()) {
      const busy = await waitForIdle(idle, idleWait);
      const started = performance.now();
      const stack = await startLambdaStack(options);
      const stackStartMs = performance.now() - started;
      try {
        const target = targetOf(stack, s3);
        const fn = stack.functions[0];
        const isTask = kind !== "no task";
        const first = await invoke(
          "sdk-new-client",
          target,
          isTask ? payloads.small : payloads.noTask,
        );
        checkAnswer(first, isTask, stack);
        const timing = await emulatorTiming(fn.logFile, first.requestId);
        samples.push({
          kind: `first invocation, ${kind}`,
          clientMs: first.clientMs,
          initMs: timing.initMs ?? NaN,
          invokeMs: timing.invokeMs,
          functionMs: isTask ? functionMs(first.payload) : undefined,
          stackStartMs,
          busy,
        });
        if (isTask) {
          const again = await reinit(stack, target, payloads.small);
          samples.push({ kind: `re-init, warm DENO_DIR, ${kind}`, busy, ...again });
        }
        log(
          `cold ${round + 1}/${coldRuns} ${kind}: ${first.clientMs.toFixed(0)} ms (init ` +
            `${timing.initMs?.toFixed(0)} ms, stack start ${stackStartMs.toFixed(0)} ms, busy ` +
            `${busy.toFixed(2)} CPUs)`,
        );
      } finally {
        await stack.stop();
      }
    }
  }
  return samples;
}

/**
 * Kills the function's runtime so that the emulator starts it again on a later invocation: a
 * cold start whose `DENO_DIR` (under the function's `/tmp`) is already filled.
 */
async function reinit(
  stack: LambdaStack,
  target: Target,
  payload: unknown,
): Promise<Omit<ColdSample, "kind" | "busy">> {
  const fn = stack.functions[0];
  const pid = await runtimePid(fn.pid);
  if (pid === undefined) throw new Error(`function '${fn.name}' has no runtime process to restart`);
  Deno.kill(pid, "SIGKILL");
  while (await Deno.stat(`/proc/${pid}`).then(() => true, () => false)) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  await new Promise((resolve) => setTimeout(resolve, 100));
  // The emulator reports the dead runtime to the next invocation, then starts a new one.
  const failed = await invoke("sdk-one-client", target, payload);
  if (!failed.functionError) throw new Error("the invocation after killing the runtime succeeded");
  const answer = await invoke("sdk-new-client", target, payload);
  checkAnswer(answer, true, stack);
  const timing = await emulatorTiming(fn.logFile, answer.requestId);
  return {
    clientMs: answer.clientMs,
    initMs: timing.initMs ?? NaN,
    invokeMs: timing.invokeMs,
    functionMs: functionMs(answer.payload),
  };
}

/** Later invocations of a running function, by route and payload, rotating the order. */
async function warmPhase(
  stack: LambdaStack,
  s3: S3Server,
  payloads: Payloads,
): Promise<{ samples: WarmSample[]; invokeMs: Map<string, number> }> {
  const target = targetOf(stack, s3);
  const kinds: { label: string; route: Route; payload: unknown; task: boolean }[] = [
    {
      label: "no task|sdk-new-client",
      route: "sdk-new-client",
      payload: payloads.noTask,
      task: false,
    },
    {
      label: "no task|sdk-one-client",
      route: "sdk-one-client",
      payload: payloads.noTask,
      task: false,
    },
    { label: "no task|fetch-router", route: "fetch-router", payload: payloads.noTask, task: false },
    {
      label: "no task|fetch-emulator",
      route: "fetch-emulator",
      payload: payloads.noTask,
      task: false,
    },
    {
      label: "task, 1 row|sdk-new-client",
      route: "sdk-new-client",
      payload: payloads.tiny,
      task: true,
    },
    {
      label: `task, ${SMALL_ROWS.toLocaleString("en-US")} rows|sdk-new-client`,
      route: "sdk-new-client",
      payload: payloads.small,
      task: true,
    },
  ];
  for (let i = 0; i < 3; i += 1) {
    for (const k of kinds) checkAnswer(await invoke(k.route, target, k.payload), k.task, stack);
  }
  const samples: WarmSample[] = [];
  for (let round = 0; round < warmRuns; round += 1) {
    const busy = await waitForIdle(idle, idleWait);
    const shift = round % kinds.length;
    for (const k of [...kinds.slice(shift), ...kinds.slice(0, shift)]) {
      const answer = await invoke(k.route, target, k.payload);
      checkAnswer(answer, k.task, stack);
      samples.push({
        kind: k.label,
        clientMs: answer.clientMs,
        requestId: answer.requestId,
        functionMs: k.task ? functionMs(answer.payload) : undefined,
        busy,
      });
    }
    if ((round + 1) % 10 === 0) log(`warm round ${round + 1}/${warmRuns}`);
  }
  const timings = await emulatorTimings(stack.functions[0].logFile);
  const invokeMs = new Map<string, number>();
  for (const s of samples) {
    const t = timings.get(s.requestId);
    if (t) invokeMs.set(s.requestId, t.invokeMs);
  }
  return { samples, invokeMs };
}

/** The one-step pipeline in cloud mode, on Lambda and in-process, alternating, per size. */
async function perTaskPhase(stack: LambdaStack, m: LatencyModule): Promise<RunSample[]> {
  const samples: RunSample[] = [];
  const routerLog = join(dirname(stack.functions[0].logFile), "router.log");
  const variants = [
    { name: "lambda" as const, pipeline: m.lambdaPipeline },
    { name: "in-process" as const, pipeline: m.inProcessPipeline },
  ];
  for (const rows of sizes) {
    await m.orders.write(await ordersFrame(rows, 1000).collect(), { mode: "cloud" });
    for (let round = -warmup; round < runs; round += 1) {
      const busy = await waitForIdle(idle, idleWait);
      for (const v of (round & 1) === 0 ? variants : [...variants].reverse()) {
        const started = performance.now();
        const report = await v.pipeline.run({ mode: "cloud", quiet: true });
        const wallMs = performance.now() - started;
        let invokeMs: number | undefined;
        if (v.name === "lambda") {
          const lines = (await Deno.readTextFile(routerLog)).trimEnd().split("\n");
          const id = /\(request ([^)]+)\)$/.exec(lines.at(-1) ?? "")?.[1];
          if (id === undefined) throw new Error(`no invocation in the router's log ${routerLog}`);
          invokeMs = (await emulatorTiming(stack.functions[0].logFile, id)).invokeMs;
        }
        if (round >= 0) {
          samples.push({
            rows,
            variant: v.name,
            round,
            wallMs,
            stepMs: report.steps[0].seconds * 1000,
            ...(invokeMs === undefined ? {} : { invokeMs }),
            outputRows: report.steps[0].rows,
            busy,
          });
        }
      }
      if (round >= 0) {
        log(`${rows} rows: round ${round + 1}/${runs} (busy ${busy.toFixed(2)} CPUs)`);
      }
    }
    await sameOutputs(m, rows);
  }
  return samples;
}

/** Both variants wrote the same rows. */
async function sameOutputs(m: LatencyModule, rows: number): Promise<void> {
  const digest = async (p: Runnable) => {
    const df = await p.read({ mode: "cloud" });
    const sums = df.select(pl.col("order_id").sum(), pl.col("amount_cents").sum()).row(0);
    return JSON.stringify({ height: df.height, sums: sums.map(String) });
  };
  const [lambda, local] = [await digest(m.lambdaPipeline), await digest(m.inProcessPipeline)];
  if (lambda !== local) {
    throw new Error(`${rows} rows: Lambda wrote ${lambda}, the in-process task ${local}`);
  }
}

function targetOf(stack: LambdaStack, s3: S3Server): Target {
  const fn = stack.functions.find((f) => f.name === FUNCTION);
  if (fn === undefined) throw new Error(`the stack serves no function '${FUNCTION}'`);
  return {
    router: stack.endpoint,
    emulator: fn.emulatorEndpoint,
    name: fn.name,
    region: s3.region,
  };
}

function checkAnswer(
  answer: { functionError: boolean; payload: string },
  task: boolean,
  stack: LambdaStack,
): void {
  const expected = task ? !answer.functionError : /WiringError/.test(answer.payload);
  if (!expected) {
    throw new Error(
      `unexpected answer from '${FUNCTION}': ${answer.payload.slice(0, 300)}; its log:\n` +
        stack.functions.map((f) => f.logFile).join(", "),
    );
  }
}

function functionMs(payload: string): number {
  return (JSON.parse(payload) as TaskResult).seconds * 1000;
}

async function render(
  stack: LambdaStack,
  init: Map<string, { empty: number[]; warm: number[] }>,
  cold: ColdSample[],
  warm: { samples: WarmSample[]; invokeMs: Map<string, number> },
  perTask: RunSample[],
): Promise<string> {
  const ms = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? "–" : x.toFixed(1));
  const med = (xs: readonly (number | undefined)[]) => {
    const defined = xs.filter((x): x is number => x !== undefined && !Number.isNaN(x));
    return defined.length === 0 ? undefined : summarize(defined).median;
  };
  const spread = (s: Summary) => `${ms(s.min)}–${ms(s.max)}`;
  const busyLine = (xs: readonly number[]) => {
    const s = summarize(xs);
    return `busy CPUs before a sample (other processes): median ${s.median.toFixed(2)}, max ` +
      `${s.max.toFixed(2)}`;
  };
  const lines: string[] = [
    "# Lambda invocation latency and per-task overhead",
    "",
    "A real versitygw S3 server and the Lambda test stack (`tests/integration/_lambda_stack.ts`: " +
    "the module's artifact under the AWS Lambda Runtime Interface Emulator, behind the stack's " +
    "Lambda router) on loopback. The pipeline module (`bench/_lambda_module.ts`) has one task, " +
    "a filter and `withColumns` over orders (`bench/_data.ts`), declared on " +
    "`provider.serverless()` (2048 MB) and identically on `provider.local()`. Artifact " +
    `${mb(stack.artifact.bytes)} zipped, ${mb(stack.artifact.unzippedBytes)} unzipped.`,
    "",
    "Client = from sending the request to having read the answer, in this process; emulator " +
    "init = the emulator's `INIT REPORT` (from starting the bootstrap to the runtime's first " +
    "`/next`); emulator invoke = its `INVOKE RTDONE` (from handing the event to the runtime to " +
    "its answer); in-function = the seconds the runtime reports for the task (download, plan, " +
    "sink, row count, upload). p90 is nearest-rank (the maximum for fewer than 10 samples). The " +
    "emulator does not limit CPU or memory as Lambda does (Lambda gives 2048 MB about 1.2 vCPU).",
    "",
    `Command: \`${["deno run -A bench/lambda_latency.ts", ...Deno.args].join(" ")}\``,
    "",
    "## Cold invocations",
    "",
    "Each sample starts a fresh stack (emulator and router; the function's `/tmp`, which holds " +
    "`DENO_DIR`, starts empty, as in a new Lambda sandbox) and invokes once with the SDK as cloud " +
    'mode does. "no task" names a task the module does not have, so the runtime answers at ' +
    'once: init plus protocol. "re-init" kills the runtime after that first invocation; the ' +
    "emulator starts it again on the next one, with `DENO_DIR` still filled.",
    "",
    "| invocation | n | client median (ms) | client p90 (ms) | client min–max (ms) | emulator init median (ms) | emulator invoke median (ms) | in-function median (ms) |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  const coldKinds = [...new Set(cold.map((s) => s.kind))];
  for (const kind of coldKinds) {
    const of = cold.filter((s) => s.kind === kind);
    const client = summarize(of.map((s) => s.clientMs));
    lines.push(
      `| ${kind} | ${client.n} | ${ms(client.median)} | ${ms(client.p90)} | ${spread(client)} | ${
        ms(med(of.map((s) => s.initMs)))
      } | ${ms(med(of.map((s) => s.invokeMs)))} | ${ms(med(of.map((s) => s.functionMs)))} |`,
    );
  }
  const starts = cold.flatMap((s) => (s.stackStartMs === undefined ? [] : [s.stackStartMs]));
  lines.push(
    "",
    `Starting a stack (artifact from the zip cache, unpacked once; emulator and router up) took a ` +
      `median ${(summarize(starts).median / 1000).toFixed(2)} s; it is not part of the latency. ` +
      `${busyLine(cold.map((s) => s.busy))}.`,
    "",
    "## Cold-start breakdown",
    "",
    "Child processes of the artifact's `bin/deno` in its `app/`, from spawn to exit, each row " +
      "loading more of what the runtime loads before its first invocation; `DENO_DIR` empty (as " +
      "on a cold start) or filled by an earlier run of the same step (transpiled sources, V8 code " +
      `cache, npm CommonJS analysis). ${initRuns} runs each, alternating.`,
    "",
    "| the process loads | empty DENO_DIR median (ms) | min–max | warm DENO_DIR median (ms) | min–max |",
    "| --- | ---: | ---: | ---: | ---: |",
  );
  for (const [label, t] of init) {
    const e = summarize(t.empty);
    const w = summarize(t.warm);
    lines.push(`| ${label} | ${ms(e.median)} | ${spread(e)} | ${ms(w.median)} | ${spread(w)} |`);
  }
  lines.push(
    "",
    "## Warm invocations",
    "",
    `${warmRuns} rounds after 3 warm-up rounds; each round invokes every kind once, in an order ` +
      "that rotates every round. Routes: `sdk-new-client` = a new `LambdaClient` per call and " +
      "`InvokeCommand` through the router, exactly what cloud mode does per step; " +
      "`sdk-one-client` reuses one client; `fetch-router` posts the same bytes to the router " +
      "without the SDK; `fetch-emulator` posts them to the emulator directly.",
    "",
    "| payload | route | n | client median (ms) | client p90 (ms) | client min–max (ms) | emulator invoke median (ms) | in-function median (ms) |",
    "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
  );
  const warmKinds = [...new Set(warm.samples.map((s) => s.kind))];
  const warmMedian = new Map<string, number>();
  for (const kind of warmKinds) {
    const of = warm.samples.filter((s) => s.kind === kind);
    const client = summarize(of.map((s) => s.clientMs));
    warmMedian.set(kind, client.median);
    const [payload, route] = kind.split("|");
    lines.push(
      `| ${payload} | ${route} | ${client.n} | ${ms(client.median)} | ${ms(client.p90)} | ${
        spread(client)
      } | ${ms(med(of.map((s) => warm.invokeMs.get(s.requestId))))} | ${
        ms(med(of.map((s) => s.functionMs)))
      } |`,
    );
  }
  const w = (kind: string) => warmMedian.get(kind) ?? NaN;
  const small = `task, ${SMALL_ROWS.toLocaleString("en-US")} rows|sdk-new-client`;
  const smallOf = warm.samples.filter((s) => s.kind === small);
  const smallOverhead = summarize(smallOf.map((s) => s.clientMs - (s.functionMs ?? 0)));
  lines.push(
    "",
    "Where a warm invocation's time goes (differences of the medians above):",
    "",
    "| hop | ms |",
    "| --- | ---: |",
    `| emulator + runtime loop, no task (\`fetch-emulator\`) | ${
      ms(w("no task|fetch-emulator"))
    } |`,
    `| + the router (\`fetch-router\` − \`fetch-emulator\`) | ${
      ms(w("no task|fetch-router") - w("no task|fetch-emulator"))
    } |`,
    `| + the SDK, one client (\`sdk-one-client\` − \`fetch-router\`) | ${
      ms(w("no task|sdk-one-client") - w("no task|fetch-router"))
    } |`,
    `| + a new client per call (\`sdk-new-client\` − \`sdk-one-client\`) | ${
      ms(w("no task|sdk-new-client") - w("no task|sdk-one-client"))
    } |`,
    `| a ${
      SMALL_ROWS.toLocaleString("en-US")
    }-row task: client − in-function, per sample, median ` +
      `(p90) | ${ms(smallOverhead.median)} (${ms(smallOverhead.p90)}) |`,
    "",
    `${busyLine(warm.samples.map((s) => s.busy))}.`,
    "",
    "## Per-task overhead: Lambda against in-process",
    "",
    'The one-step pipeline in cloud mode (`run({ mode: "cloud", quiet: true })`: S3 session, ' +
      "locks, staging, journaled commit), the task on Lambda (a warm function) or on " +
      "`provider.local()` in this process; both download the same input from the same S3 server " +
      `and upload their output. ${warmup} warm-up rounds, then ${runs} rounds; the variant that ` +
      "goes first flips every round. Run = the whole `run()`; step = the step's time in its " +
      "report (for Lambda: the invocation and the HEAD of the staged output; the preflight HEAD " +
      "of the input is in the run only).",
    "",
    "| rows | variant | n | run median (ms) | run p90 (ms) | run min–max (ms) | step median (ms) | step p90 (ms) | emulator invoke median (ms) |",
    "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  );
  for (const rows of sizes) {
    for (const variant of ["lambda", "in-process"] as const) {
      const of = perTask.filter((s) => s.rows === rows && s.variant === variant);
      const run = summarize(of.map((s) => s.wallMs));
      const stepS = summarize(of.map((s) => s.stepMs));
      lines.push(
        `| ${rows.toLocaleString("en-US")} | ${variant} | ${run.n} | ${ms(run.median)} | ${
          ms(run.p90)
        } | ${spread(run)} | ${ms(stepS.median)} | ${ms(stepS.p90)} | ${
          ms(med(of.map((s) => s.invokeMs)))
        } |`,
      );
    }
  }
  lines.push(
    "",
    "| rows | run: Lambda / in-process (ratio of medians) | median of per-round ratios | step: ratio of medians | step: Lambda − in-process, median (ms) | step p90: Lambda − in-process (ms) |",
    "| ---: | ---: | ---: | ---: | ---: | ---: |",
  );
  for (const rows of sizes) {
    const of = (v: string) => perTask.filter((s) => s.rows === rows && s.variant === v);
    const lambda = of("lambda");
    const local = of("in-process");
    const run = (xs: RunSample[]) => summarize(xs.map((s) => s.wallMs));
    const st = (xs: RunSample[]) => summarize(xs.map((s) => s.stepMs));
    const paired = summarize(lambda.map((s, i) => s.wallMs / local[i].wallMs));
    lines.push(
      `| ${rows.toLocaleString("en-US")} | ${
        (run(lambda).median / run(local).median).toFixed(2)
      } | ${paired.median.toFixed(2)} | ${(st(lambda).median / st(local).median).toFixed(2)} | ${
        ms(st(lambda).median - st(local).median)
      } | ${ms(st(lambda).p90 - st(local).p90)} |`,
    );
  }
  lines.push(
    "",
    `Both variants wrote the same rows at every size (${
      sizes.map((rows) =>
        `${rows.toLocaleString("en-US")} → ${
          perTask.find((s) => s.rows === rows)?.outputRows.toLocaleString("en-US")
        }`
      ).join(", ")
    }; compared by row count and column sums). ${busyLine(perTask.map((s) => s.busy))}.`,
    "",
    "## Every sample, in order (ms)",
    "",
    ...coldKinds.map((kind) =>
      `- cold, ${kind}: ${
        cold.filter((s) => s.kind === kind).map((s) => s.clientMs.toFixed(0)).join(", ")
      }`
    ),
    ...warmKinds.map((kind) =>
      `- warm, ${kind.replace("|", ", ")}: ${
        warm.samples.filter((s) => s.kind === kind).map((s) => s.clientMs.toFixed(1)).join(", ")
      }`
    ),
    ...sizes.flatMap((rows) =>
      (["lambda", "in-process"] as const).map((variant) =>
        `- run, ${rows.toLocaleString("en-US")} rows, ${variant}: ${
          perTask.filter((s) => s.rows === rows && s.variant === variant)
            .map((s) => s.wallMs.toFixed(0)).join(", ")
        }`
      )
    ),
    "",
    "## Machine",
    "",
    ...(await machine()).map((line) => `- ${line}`),
    "",
  );
  return lines.join("\n");
}

function mb(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

function positiveInt(name: string, value: string): number {
  const n = Number(value.replaceAll("_", ""));
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer`);
  return n;
}
