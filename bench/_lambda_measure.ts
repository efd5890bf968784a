/**
 * Measuring helpers of the Lambda latency benchmark: timed invocations by three routes (the AWS
 * SDK through the stack's router, `fetch` through the router, `fetch` straight to the emulator),
 * the emulator's own timings read from its log, the function's runtime process, summaries
 * (median, p90) and the cold-start breakdown of the artifact's Deno in child processes.
 *
 * @module
 */
import { join } from "node:path";
import { lambdaConnection } from "../src/backends/lambda/invoke.ts";
import { InvokeCommand, type LambdaClient } from "../src/backends/lambda/_sdk.ts";
import { RIE_INVOKE_PATH } from "../src/stack/rie.ts";
import { median } from "./_measure.ts";

/** One timed invocation. */
export interface Invocation {
  /** From sending the request to having read the whole answer, in milliseconds. */
  readonly clientMs: number;
  /** The request id the emulator logged it under. */
  readonly requestId: string;
  /** The answer's payload. */
  readonly payload: string;
  /** Whether the function answered an error. */
  readonly functionError: boolean;
}

/** How an invocation reaches the function. */
export type Route = "sdk-new-client" | "sdk-one-client" | "fetch-router" | "fetch-emulator";

/** Where one function of the stack is reached. */
export interface Target {
  /** The router (`AWS_ENDPOINT_URL_LAMBDA`). */
  readonly router: string;
  /** The function's emulator. */
  readonly emulator: string;
  /** The function's name. */
  readonly name: string;
  /** The region the SDK signs for. */
  readonly region: string;
}

let sharedClient: { endpoint: string; client: LambdaClient } | undefined;

/**
 * Invokes a function once by one route and times it.
 *
 * `sdk-new-client` is what cloud mode does for every step (`lambdaConnection` makes a new
 * `LambdaClient`, then `InvokeCommand`); `sdk-one-client` reuses one client; `fetch-router` posts
 * the same bytes to the router without the SDK; `fetch-emulator` posts them to the emulator
 * itself, skipping the router.
 *
 * @param route the route.
 * @param target the function and its endpoints.
 * @param event the payload.
 * @returns the timing and the answer.
 */
export async function invoke(route: Route, target: Target, event: unknown): Promise<Invocation> {
  const body = new TextEncoder().encode(JSON.stringify(event));
  if (route === "sdk-new-client" || route === "sdk-one-client") {
    const started = performance.now();
    let client: LambdaClient;
    if (route === "sdk-new-client") {
      client = withEndpoint(target.router, () => lambdaConnection(target.region).client);
    } else {
      if (sharedClient?.endpoint !== target.router) {
        sharedClient?.client.destroy();
        sharedClient = {
          endpoint: target.router,
          client: withEndpoint(target.router, () => lambdaConnection(target.region).client),
        };
      }
      client = sharedClient.client;
    }
    const answer = await client.send(
      new InvokeCommand({ FunctionName: target.name, Payload: body }),
    );
    const payload = new TextDecoder().decode(answer.Payload ?? new Uint8Array());
    const clientMs = performance.now() - started;
    if (route === "sdk-new-client") client.destroy();
    return {
      clientMs,
      requestId: answer.$metadata.requestId ?? "",
      payload,
      functionError: answer.FunctionError !== undefined,
    };
  }
  const requestId = crypto.randomUUID();
  const url = route === "fetch-router"
    ? `${target.router}/2015-03-31/functions/${target.name}/invocations`
    : `${target.emulator}${RIE_INVOKE_PATH}`;
  const started = performance.now();
  const response = await fetch(url, {
    method: "POST",
    headers: { "X-Amzn-RequestId": requestId },
    body,
  });
  const payload = await response.text();
  const clientMs = performance.now() - started;
  if (response.status !== 200) {
    throw new Error(
      `invoking '${target.name}' by ${route} answered HTTP ${response.status}: ${payload}`,
    );
  }
  return {
    clientMs,
    requestId: response.headers.get("x-amzn-requestid") ?? requestId,
    payload,
    functionError: response.headers.has("x-amz-function-error") || /"errorType"/.test(payload),
  };
}

/** Builds a client while `AWS_ENDPOINT_URL_LAMBDA` names `endpoint`, as cloud mode reads it. */
function withEndpoint(endpoint: string, make: () => LambdaClient): LambdaClient {
  const saved = Deno.env.get("AWS_ENDPOINT_URL_LAMBDA");
  Deno.env.set("AWS_ENDPOINT_URL_LAMBDA", endpoint);
  try {
    return make();
  } finally {
    if (saved === undefined) Deno.env.delete("AWS_ENDPOINT_URL_LAMBDA");
    else Deno.env.set("AWS_ENDPOINT_URL_LAMBDA", saved);
  }
}

/** Closes the reused SDK client, if one was made. */
export function closeSharedClient(): void {
  sharedClient?.client.destroy();
  sharedClient = undefined;
}

/** What the emulator logged about one invocation. */
export interface EmulatorTiming {
  /** The init phase that ran before this invocation (the runtime's start), if any, in ms. */
  readonly initMs?: number;
  /** From handing the event to the runtime to its answer (`INVOKE RTDONE`), in ms. */
  readonly invokeMs: number;
}

/**
 * Reads the emulator's timings from its log: `INIT REPORT(durationMs: ...)` belongs to the
 * invocation whose `INVOKE START` follows it, `INVOKE RTDONE(... duration: ...ms)` to the last
 * `INVOKE START` (the emulator runs one invocation at a time).
 *
 * @param logFile the function's log.
 * @returns the timings by request id.
 */
export async function emulatorTimings(logFile: string): Promise<Map<string, EmulatorTiming>> {
  const text = await Deno.readTextFile(logFile);
  const timings = new Map<string, EmulatorTiming>();
  let pendingInit: number | undefined;
  let current: { id: string; initMs?: number } | undefined;
  for (const line of text.split("\n")) {
    const init = /INIT REPORT\(durationMs: ([\d.]+)\)/.exec(line);
    if (init) pendingInit = Number(init[1]);
    const start = /INVOKE START\(requestId: ([^)]+)\)/.exec(line);
    if (start) {
      current = { id: start[1], ...(pendingInit === undefined ? {} : { initMs: pendingInit }) };
      pendingInit = undefined;
    }
    const done = /INVOKE RTDONE\(.*duration: ([\d.]+)ms\)/.exec(line);
    if (done && current) {
      timings.set(current.id, {
        ...(current.initMs === undefined ? {} : { initMs: current.initMs }),
        invokeMs: Number(done[1]),
      });
      current = undefined;
    }
  }
  return timings;
}

/**
 * The emulator's timings of one invocation, waiting briefly for the log line to land.
 *
 * @param logFile the function's log.
 * @param requestId the invocation.
 * @returns its timings.
 * @throws {Error} when the log never names it.
 */
export async function emulatorTiming(logFile: string, requestId: string): Promise<EmulatorTiming> {
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const found = (await emulatorTimings(logFile)).get(requestId);
    if (found) return found;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`the emulator's log ${logFile} has no RTDONE line for request ${requestId}`);
}

/**
 * The pid of the function's runtime (the Deno the bootstrap execs), a child of the emulator.
 *
 * @param emulatorPid the emulator's pid.
 * @returns the runtime's pid, or `undefined` when no runtime runs.
 */
export async function runtimePid(emulatorPid: number): Promise<number | undefined> {
  for await (const task of Deno.readDir(`/proc/${emulatorPid}/task`)) {
    const children = await Deno.readTextFile(`/proc/${emulatorPid}/task/${task.name}/children`)
      .catch(() => "");
    const pid = children.trim().split(/\s+/).find((p) => p !== "");
    if (pid) return Number(pid);
  }
  return undefined;
}

/** A summary of samples. */
export interface Summary {
  readonly n: number;
  readonly median: number;
  /** The nearest-rank 90th percentile (the maximum for fewer than 10 samples). */
  readonly p90: number;
  readonly min: number;
  readonly max: number;
}

/**
 * Summarizes samples.
 *
 * @param values at least one number.
 * @returns count, median, p90, minimum and maximum.
 */
export function summarize(values: readonly number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    n: sorted.length,
    median: median(sorted),
    p90: sorted[Math.ceil(0.9 * sorted.length) - 1],
    min: sorted[0],
    max: sorted[sorted.length - 1],
  };
}

/** One step of the cold-start breakdown: what a child process of the artifact's Deno loads. */
export interface InitStep {
  /** What it loads, for the table. */
  readonly label: string;
  /** `deno` arguments. */
  readonly args: readonly string[];
  /** Extra variables. */
  readonly env?: Readonly<Record<string, string>>;
}

/**
 * The steps of the breakdown, each loading more of what the runtime loads before its first
 * invocation: Deno alone, polars, polars and the S3 SDK (static imports, as the runtime has
 * them), then the runtime itself (which also loads Glacier and discovers the module's
 * pipelines) in its self-test mode. The first three are small scripts written into `scratch`
 * and resolved through the artifact's `app/deno.json` and `node_modules`.
 *
 * @param dir the unpacked artifact.
 * @param scratch a directory for the scripts.
 * @returns the steps.
 */
export async function initSteps(dir: string, scratch: string): Promise<InitStep[]> {
  const bootstrap = await Deno.readTextFile(join(dir, "bootstrap"));
  const module = /GLACIER_MODULE="\$ROOT\/app\/"'([^']+)'/.exec(bootstrap)?.[1];
  const main = /^exec .*"\$ROOT\/app\/"'([^']+)'\s*$/m.exec(bootstrap)?.[1];
  if (!module || !main) throw new Error(`cannot read the module and entry from ${dir}/bootstrap`);
  const script = async (name: string, imports: readonly string[]) => {
    const file = join(scratch, name);
    await Deno.writeTextFile(
      file,
      imports.length === 0 ? "export {};\n" : imports.map((i) => `import "${i}";\n`).join(""),
    );
    const config = join(dir, "app", "deno.json");
    return ["run", "--cached-only", "--frozen", "-A", "--config", config, file];
  };
  const polars = "npm:nodejs-polars@0.25.2";
  const sdk = ["npm:@aws-sdk/client-s3@3.1175.0", "npm:@aws-sdk/lib-storage@3.1175.0"];
  return [
    { label: "Deno alone (an empty script)", args: await script("empty.js", []) },
    { label: "+ nodejs-polars", args: await script("polars.js", [polars]) },
    {
      label: "+ the S3 SDK (`client-s3`, `lib-storage`)",
      args: await script("sdk.js", [polars, ...sdk]),
    },
    {
      label: "the runtime: + Glacier and the module's pipelines (self-test)",
      args: ["run", "--cached-only", "--frozen", "-A", "--no-prompt", join(dir, "app", main)],
      env: { GLACIER_MODULE: join(dir, "app", module), GLACIER_LAMBDA_SELFTEST: "1" },
    },
  ];
}

/**
 * Runs one breakdown step as a child process of the artifact's Deno, from its `app/`, and times
 * it from spawn to exit.
 *
 * @param dir the unpacked artifact.
 * @param step the step.
 * @param denoDir the `DENO_DIR` to use: empty for a cold start, filled by an earlier run for warm.
 * @returns milliseconds.
 * @throws {Error} when the child fails.
 */
export async function timeInitStep(dir: string, step: InitStep, denoDir: string): Promise<number> {
  const started = performance.now();
  const out = await new Deno.Command(join(dir, "bin", "deno"), {
    args: [...step.args],
    cwd: join(dir, "app"),
    clearEnv: true,
    env: {
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      DENO_DIR: denoDir,
      DENO_NO_UPDATE_CHECK: "1",
      NO_COLOR: "1",
      ...step.env,
    },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const ms = performance.now() - started;
  if (!out.success) {
    throw new Error(
      `'${step.label}' failed in ${dir}: ${new TextDecoder().decode(out.stderr).trim()}`,
    );
  }
  return ms;
}
