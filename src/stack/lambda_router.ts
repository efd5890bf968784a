/**
 * The local stack's Lambda API: an HTTP server that stands where the Lambda endpoint would be
 * (`AWS_ENDPOINT_URL_LAMBDA=http://127.0.0.1:PORT`) and routes each `Invoke` to the emulator of
 * the function it names, answering in Lambda's wire format so that `@aws-sdk/client-lambda` sees
 * what real Lambda returns:
 *
 * | the function          | the answer                                                           |
 * | --------------------- | -------------------------------------------------------------------- |
 * | returns               | 200, its payload, `X-Amz-Executed-Version: $LATEST`                  |
 * | fails (init, crash)   | 200, `{errorType, errorMessage}`, `X-Amz-Function-Error: Unhandled`  |
 * | times out             | 200, `{"errorType": "Sandbox.Timedout", ...}`, the same header       |
 * | is not in the table   | 404, `x-amzn-ErrorType: ResourceNotFoundException`                   |
 * | has no live emulator  | 502, `x-amzn-ErrorType: ServiceException`, naming function and pid   |
 *
 * Each emulator runs one invocation at a time, so the router queues the invocations of a function
 * and runs them one after the other (real Lambda would start more instances). Asynchronous
 * invocations (`InvocationType: Event`) are accepted with 202 and run in the background, and
 * `DryRun` answers 204. Any qualifier is accepted: the stack hosts one version of each function,
 * which stands for `$LATEST` and every alias.
 *
 * The routing table is a JSON file ({@linkcode RoutingTable}), read on every request, so that the
 * stack can add or move functions without restarting the router. Run the router as a program:
 *
 * ```sh
 * deno run --allow-net=127.0.0.1 --allow-read src/stack/lambda_router.ts \
 *   --routes .glacier/stack/lambda.json --port 7071 --region us-east-1
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { RIE_INVOKE_PATH } from "./rie.ts";
import {
  freePort,
  isRunning,
  portIsFree,
  spawnService,
  stopPid,
  tail,
  waitForHttp,
} from "./process.ts";
import { replaceTextFile } from "../core/files.ts";

/** One function the router serves: where its emulator listens, and what it was started with. */
export interface RoutedFunction {
  /** The emulator's base URL, `http://127.0.0.1:PORT`. */
  readonly endpoint: string;
  /** The emulator's process id, named when it does not answer. */
  readonly pid: number;
  /** The unpacked artifact the emulator runs. */
  readonly dir: string;
  /** The function's memory. */
  readonly memoryMb: number;
  /** The function's timeout. */
  readonly timeoutSeconds: number;
}

/** The routing table, `.glacier/stack/lambda.json`: the functions by name. */
export interface RoutingTable {
  /** The functions, by Lambda function name (`glacier-<task>`). */
  readonly functions: Readonly<Record<string, RoutedFunction>>;
}

/** The account id in the ARNs the router names, as LocalStack and moto use. */
export const LOCAL_ACCOUNT = "000000000000";

/** Lambda's limit on a synchronous invocation's request payload: 6 MB. */
const PAYLOAD_LIMIT = 6_291_456;

/**
 * Reads a routing table; a missing file is an empty table.
 *
 * @param file the JSON file
 * @returns the table
 * @throws {Error} when the file is not a routing table
 */
export async function readRoutingTable(file: string): Promise<RoutingTable> {
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return { functions: {} };
    throw error;
  }
  const table = JSON.parse(text) as RoutingTable;
  if (table === null || typeof table.functions !== "object" || table.functions === null) {
    throw new Error(`'${file}' has no 'functions' object, so it is not a Lambda routing table`);
  }
  return table;
}

/**
 * Writes a routing table, replacing the file in one rename so that the router never reads half.
 *
 * @param file the JSON file
 * @param table the functions
 */
export async function writeRoutingTable(file: string, table: RoutingTable): Promise<void> {
  await replaceTextFile(file, JSON.stringify(table, null, 2) + "\n");
}

/** How {@linkcode lambdaRouter} routes. */
export interface LambdaRouterOptions {
  /** The routing table's file, read on every request. */
  readonly routes: string;
  /** The region in the ARNs of error messages; us-east-1 by default. */
  readonly region?: string;
  /** Receives one line per invocation; none by default. */
  readonly log?: (line: string) => void;
}

/**
 * The router as a request handler, for `Deno.serve`.
 *
 * @param options the routing table's file, the region, the log
 * @returns a handler that answers Lambda's `Invoke` operation
 * @example
 * ```ts ignore
 * Deno.serve({ port: 7071 }, lambdaRouter({ routes: ".glacier/stack/lambda.json" }));
 * ```
 */
export function lambdaRouter(
  options: LambdaRouterOptions,
): (request: Request) => Promise<Response> {
  const region = options.region ?? "us-east-1";
  const queues = new Map<string, Promise<unknown>>();
  /** Runs `job` after every earlier job of the same emulator has settled. */
  const serialized = <T>(key: string, job: () => Promise<T>): Promise<T> => {
    const run = (queues.get(key) ?? Promise.resolve()).then(job);
    const settled = run.then(() => {}, () => {});
    queues.set(key, settled);
    settled.then(() => {
      if (queues.get(key) === settled) queues.delete(key);
    });
    return run;
  };
  return async (request: Request): Promise<Response> => {
    const requestId = crypto.randomUUID();
    const url = new URL(request.url);
    const match = /^\/2015-03-31\/functions\/([^/]+)\/invocations\/?$/.exec(url.pathname);
    if (request.method !== "POST" || !match) {
      return lambdaError(
        404,
        "UnknownOperationException",
        "the local Lambda router serves only Invoke " +
          `(POST /2015-03-31/functions/NAME/invocations), ` +
          `not ${request.method} ${url.pathname}`,
        requestId,
      );
    }
    const { name, qualifier } = functionOf(
      decodeURIComponent(match[1]),
      url.searchParams.get("Qualifier"),
    );
    let table: RoutingTable;
    try {
      table = await readRoutingTable(options.routes);
    } catch (error) {
      return lambdaError(
        500,
        "ServiceException",
        `the local Lambda router cannot read its routing table: ${(error as Error).message}`,
        requestId,
      );
    }
    const target = Object.hasOwn(table.functions, name) ? table.functions[name] : undefined;
    if (!target) {
      const arn = `arn:aws:lambda:${region}:${LOCAL_ACCOUNT}:function:${name}` +
        (qualifier ? `:${qualifier}` : "");
      return lambdaError(404, "ResourceNotFoundException", `Function not found: ${arn}`, requestId);
    }
    const payload = new Uint8Array(await request.arrayBuffer());
    if (payload.length > PAYLOAD_LIMIT) {
      return lambdaError(
        413,
        "RequestTooLargeException",
        `Request must be smaller than ${PAYLOAD_LIMIT} bytes for the InvokeFunction operation`,
        requestId,
      );
    }
    const type = request.headers.get("x-amz-invocation-type") ?? "RequestResponse";
    if (type === "DryRun") return new Response(null, { status: 204, headers: ids(requestId) });
    if (type !== "RequestResponse" && type !== "Event") {
      return lambdaError(
        400,
        "InvalidParameterValueException",
        `InvocationType '${type}' is not one of RequestResponse, Event, DryRun`,
        requestId,
      );
    }
    const started = performance.now();
    const answer = serialized(
      target.endpoint,
      () => invokeEmulator(name, target, payload, request.headers, requestId),
    ).then((response) => {
      const outcome = response.headers.get("x-amz-function-error") ? "function error" : "ok";
      options.log?.(
        `${new Date().toISOString()} ${name} ${type} ${response.status} ${
          response.status === 200 ? outcome : response.headers.get("x-amzn-errortype")
        } ${Math.round(performance.now() - started)} ms (request ${requestId})`,
      );
      return response;
    });
    if (type === "Event") {
      answer.then((response) => response.body?.cancel());
      return new Response(null, { status: 202, headers: ids(requestId) });
    }
    return await answer;
  };
}

/** The function's name and qualifier from the path's `FunctionName` and the `Qualifier` query. */
function functionOf(
  given: string,
  query: string | null,
): { name: string; qualifier: string | undefined } {
  // A name, `name:qualifier`, or an ARN: arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER].
  const parts = given.startsWith("arn:") ? given.split(":").slice(6) : given.split(":");
  return { name: parts[0] ?? "", qualifier: query ?? parts[1] };
}

/** Runs one invocation on the emulator and answers in Lambda's wire format. */
async function invokeEmulator(
  name: string,
  target: RoutedFunction,
  payload: Uint8Array<ArrayBuffer>,
  headers: Headers,
  requestId: string,
): Promise<Response> {
  let status: number;
  let body: string;
  try {
    const forwarded: Record<string, string> = { "X-Amzn-RequestId": requestId };
    for (const header of ["x-amz-client-context", "x-amzn-trace-id"]) {
      const value = headers.get(header);
      if (value !== null) forwarded[header] = value;
    }
    const response = await fetch(`${target.endpoint}${RIE_INVOKE_PATH}`, {
      method: "POST",
      headers: forwarded,
      body: payload,
      // The emulator answers a timed-out invocation itself; this only guards against one that
      // hangs. A cold start may take as long as the timeout again (the init phase).
      signal: AbortSignal.timeout((2 * target.timeoutSeconds + 30) * 1000),
    });
    status = response.status;
    body = await response.text();
  } catch (error) {
    const state = running(target.pid) ? "runs but does not answer" : "is not running";
    return lambdaError(
      502,
      "ServiceException",
      `the Lambda emulator of function '${name}' at ${target.endpoint} (pid ${target.pid}) ` +
        `${state}: ${(error as Error).message}. Restart the local stack (glacier stack up ` +
        "--module MODULE) or look at its log in .glacier/stack/lambda/",
      requestId,
    );
  }
  const timedOut = /^Task timed out after \d+(\.\d+)? seconds$/.exec(body.trim());
  if (status === 200 && timedOut) {
    return functionError(
      JSON.stringify({ errorType: "Sandbox.Timedout", errorMessage: timedOut[0] }),
      requestId,
    );
  }
  // The emulator answers a function error with 200 (thrown in a handler) or 502 (the runtime
  // failed to start or exited) and no header: it is told apart by its body, the runtime API's
  // error document. A Glacier function's result never has these two fields.
  if ((status === 200 || status === 502) && isErrorDocument(body)) {
    return functionError(body, requestId);
  }
  if (status === 502) {
    return functionError(
      JSON.stringify({
        errorType: "Runtime.Unknown",
        errorMessage: body.trim() || "the function's runtime failed without a message",
      }),
      requestId,
    );
  }
  if (status !== 200) {
    return lambdaError(
      502,
      "ServiceException",
      `the Lambda emulator of function '${name}' at ${target.endpoint} answered HTTP ${status}` +
        (body.trim() ? `: ${body.trim().slice(0, 500)}` : ""),
      requestId,
    );
  }
  return new Response(body, {
    status: 200,
    headers: {
      ...ids(requestId),
      "Content-Type": "application/json",
      "X-Amz-Executed-Version": "$LATEST",
    },
  });
}

/** Whether `pid` runs, as far as the router can tell (it may only read `/proc`). */
function running(pid: number): boolean {
  try {
    return isRunning(pid);
  } catch {
    return false;
  }
}

/** Whether `body` is a runtime API error document, `{"errorType": ..., "errorMessage": ...}`. */
function isErrorDocument(body: string): boolean {
  try {
    const value = JSON.parse(body);
    return value !== null && typeof value === "object" && typeof value.errorType === "string" &&
      typeof value.errorMessage === "string";
  } catch {
    return false;
  }
}

function functionError(body: string, requestId: string): Response {
  return new Response(body, {
    status: 200,
    headers: {
      ...ids(requestId),
      "Content-Type": "application/json",
      "X-Amz-Executed-Version": "$LATEST",
      "X-Amz-Function-Error": "Unhandled",
    },
  });
}

/** An error of the Lambda API itself, which the SDK raises as the exception `type` names. */
function lambdaError(status: number, type: string, message: string, requestId: string): Response {
  return new Response(
    JSON.stringify({ Type: status < 500 ? "User" : "Service", Message: message }),
    {
      status,
      headers: {
        ...ids(requestId),
        "Content-Type": "application/json",
        "x-amzn-ErrorType": type,
      },
    },
  );
}

function ids(requestId: string): Record<string, string> {
  return { "x-amzn-RequestId": requestId };
}

/** This file, which the router process runs (a `file:` or `https:` URL: Deno runs either). */
const ROUTER_SCRIPT = import.meta.url;

/** How to start the router process; see {@linkcode startLambdaRouter}. */
export interface StartLambdaRouterOptions {
  /** The routing table's file. */
  readonly routes: string;
  /** The loopback port; a free one is picked when omitted. */
  readonly port?: number;
  /** The region in the ARNs of error messages; us-east-1 by default. */
  readonly region?: string;
  /** A file that receives one line per invocation (appended); discarded when omitted. */
  readonly logFile?: string;
  /** Start it in its own session so that it outlives this process (the local stack). */
  readonly detached?: boolean;
}

/** The router process on loopback, controlled by its process id. */
export interface LambdaRouterProcess {
  /** `http://127.0.0.1:PORT`, the value of `AWS_ENDPOINT_URL_LAMBDA`. */
  readonly endpoint: string;
  /** The loopback port. */
  readonly port: number;
  /** The process id. */
  readonly pid: number;
  /** The program, as `/proc/<pid>/cmdline` shows it: this Deno. */
  readonly program: string;
  /** SIGTERM, SIGKILL after 5 s. */
  stop(): Promise<void>;
}

/**
 * Starts the router as its own Deno process and waits until it answers.
 *
 * @param options the routing table, port, region, log file and lifetime
 * @returns the running router
 * @throws {Error} when the port is taken or the router does not start within 10 s
 * @example
 * ```ts ignore
 * const router = await startLambdaRouter({ routes: "/tmp/lambda.json" });
 * // AWS_ENDPOINT_URL_LAMBDA=router.endpoint
 * await router.stop();
 * ```
 */
export async function startLambdaRouter(
  options: StartLambdaRouterOptions,
): Promise<LambdaRouterProcess> {
  const port = options.port ?? freePort();
  if (!portIsFree(port)) {
    throw new Error(`port ${port} on 127.0.0.1 is in use by another process; choose another`);
  }
  const program = Deno.execPath();
  const child = await spawnService({
    argv: [
      program,
      "run",
      "--no-config",
      "--no-prompt",
      "--allow-net=127.0.0.1",
      // The routing table, and `/proc` to tell whether an emulator that does not answer runs.
      `--allow-read=${options.routes},/proc`,
      ROUTER_SCRIPT,
      "--routes",
      options.routes,
      "--port",
      String(port),
      "--region",
      options.region ?? "us-east-1",
    ],
    env: { NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" },
    logFile: options.logFile,
    detached: options.detached,
  });
  const router: LambdaRouterProcess = {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    pid: child.pid,
    program,
    async stop(): Promise<void> {
      await stopPid(child.pid, { exited: child.status });
      await child.status;
    },
  };
  try {
    await waitForHttp(router.endpoint, child.status, 10_000);
  } catch (error) {
    await stopPid(child.pid, { signal: "SIGKILL", exited: child.status });
    const log = options.logFile ? await Deno.readTextFile(options.logFile).catch(() => "") : "";
    throw new Error(
      `the Lambda router on port ${port} did not start: ${(error as Error).message}` +
        (log ? `; the end of ${options.logFile}:\n${tail(log, 20)}` : ""),
    );
  }
  return router;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      routes: { type: "string" },
      port: { type: "string" },
      region: { type: "string" },
    },
  });
  if (!values.routes || !values.port) {
    console.error("usage: lambda_router.ts --routes FILE --port PORT [--region REGION]");
    Deno.exit(2);
  }
  const handler = lambdaRouter({
    routes: values.routes,
    region: values.region,
    log: (line) => console.log(line),
  });
  Deno.serve({
    hostname: "127.0.0.1",
    port: Number(values.port),
    onListen: ({ port }) =>
      console.log(`lambda router: http://127.0.0.1:${port}, routes from ${values.routes}`),
  }, handler);
}
