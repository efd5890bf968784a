/**
 * Test harness for Lambda: a pipeline module's serverless tasks running as Lambda functions under
 * the AWS Lambda Runtime Interface Emulator, one emulator per function, behind the stack's Lambda
 * router, with the S3 environment of a test S3 server. What runs is the artifact the generated
 * Terraform deploys, built and unpacked by `src/backends/lambda/package.ts`.
 *
 * ```ts ignore
 * Deno.test("a task runs on Lambda", () =>
 *   withS3Server((s3) =>
 *     withLambdaStack({ module: "/abs/path/pipeline.ts", s3 }, async (stack) => {
 *       const client = new LambdaClient({ endpoint: stack.endpoint, region: s3.region, ... });
 *       // or: set stack.env() and run the pipeline in cloud mode
 *     })));
 * ```
 *
 * Every process (emulators, their runtimes, the router) is stopped by pid at the end, also when
 * the test body throws, and gets SIGKILL from the kernel when the test process dies (Linux), so
 * an interrupted run leaves nothing behind. There is no skipping: when the emulator cannot be
 * installed (no Go, build failure) or the artifact cannot be built, the test fails with the
 * reason. The first run installs the emulator into `.glacier/bin/` (seconds with a warm Go build
 * cache, about 25 s without); building an artifact takes about 10 s (2 s from the cache) and
 * unpacking it about 4 s; a function's first invocation starts its runtime (about 0.4 s).
 *
 * @module
 */
import { join } from "node:path";
import { type LambdaArtifact, prepareLambdaArtifact } from "../../src/stack/lambda_artifact.ts";
import {
  type LambdaRouterProcess,
  startLambdaRouter,
  writeRoutingTable,
} from "../../src/stack/lambda_router.ts";
import { type Emulator, ensureRie, startEmulator } from "../../src/stack/rie.ts";
import { GLACIER_DIR } from "../../src/stack/versitygw.ts";
import type { S3Server } from "./_s3_server.ts";

export type { LambdaArtifact } from "../../src/stack/lambda_artifact.ts";
export type { S3Server } from "./_s3_server.ts";

/** What {@linkcode startLambdaStack} runs. */
export interface LambdaStackOptions {
  /** The pipeline module whose serverless tasks become functions: absolute path or `file:` URL. */
  readonly module: string;
  /** The S3 server the functions read and write. */
  readonly s3: S3Server;
  /** Where built zips are kept; `<repo>/.glacier/artifacts` by default. */
  readonly cacheDir?: string;
  /**
   * Where the artifact is unpacked (into `<unpackRoot>/<sha256>/`) and kept for later runs; by
   * default a temporary directory that `stop()` removes.
   */
  readonly unpackRoot?: string;
  /** More variables for the functions, besides the S3 server's. */
  readonly env?: Readonly<Record<string, string>>;
}

/** One function of a running {@linkcode LambdaStack}. */
export interface LambdaStackFunction {
  /** The function's name, `glacier-<task>`. */
  readonly name: string;
  /** The task it runs. */
  readonly task: string;
  /** Its memory. */
  readonly memoryMb: number;
  /** Its timeout. */
  readonly timeoutSeconds: number;
  /** Its emulator's base URL (the emulator's own API; invoke through the router instead). */
  readonly emulatorEndpoint: string;
  /** Its emulator's pid. */
  readonly pid: number;
  /** The emulator's and the function's output. */
  readonly logFile: string;
}

/** A module's functions under the emulator, behind the router. */
export interface LambdaStack {
  /** The router: `http://127.0.0.1:PORT`, the Lambda endpoint (`AWS_ENDPOINT_URL_LAMBDA`). */
  readonly endpoint: string;
  /** The router's pid. */
  readonly routerPid: number;
  /** The artifact the functions run. */
  readonly artifact: LambdaArtifact;
  /** The unpacked artifact: the functions' task root. */
  readonly dir: string;
  /** The functions, in the artifact's order. */
  readonly functions: readonly LambdaStackFunction[];
  /**
   * The variables that point cloud mode at this stack: the S3 server's and
   * `AWS_ENDPOINT_URL_LAMBDA`.
   */
  env(): Record<string, string>;
  /**
   * The end of a function's log (the emulator's lines and the runtime's output), for messages.
   *
   * @param name the function's name
   * @param lines how many lines; 40 by default
   */
  log(name: string, lines?: number): Promise<string>;
  /** Stops the router and every emulator by pid, and removes the stack's temporary files. */
  stop(): Promise<void>;
}

let installed: Promise<string> | undefined;

/**
 * Starts a module's functions under the emulator and the router in front of them, on free
 * loopback ports. The caller stops it; prefer {@linkcode withLambdaStack}.
 *
 * @param options the module, the S3 server, where artifacts go
 * @returns the running stack
 * @throws {Error} when the emulator cannot be installed, the artifact cannot be built, or a
 *   process does not start, with the reason
 */
export async function startLambdaStack(options: LambdaStackOptions): Promise<LambdaStack> {
  installed ??= ensureRie();
  let bin: string;
  try {
    bin = await installed;
  } catch (error) {
    installed = undefined;
    throw new Error(
      `the Lambda test stack needs the Lambda Runtime Interface Emulator: ${
        (error as Error).message
      }`,
    );
  }
  const root = await Deno.makeTempDir({ prefix: "glacier-lambda-stack-" });
  const emulators: Emulator[] = [];
  let router: LambdaRouterProcess | undefined;
  const stop = async (): Promise<void> => {
    await router?.stop();
    await Promise.all(emulators.map((emulator) => emulator.stop()));
    await Deno.remove(root, { recursive: true }).catch(() => {});
  };
  try {
    const { artifact, dir } = await prepareLambdaArtifact({
      module: options.module,
      cacheDir: options.cacheDir ?? join(GLACIER_DIR, "artifacts"),
      unpackRoot: options.unpackRoot ?? join(root, "artifacts"),
      quiet: true,
    });
    const env = { ...options.s3.env(), ...options.env };
    for (const spec of artifact.functions) {
      emulators.push(
        await startEmulator({
          bin,
          functionName: spec.name,
          taskRoot: dir,
          memoryMb: spec.memoryMb,
          timeoutSeconds: spec.timeoutSeconds,
          handler: artifact.handler,
          env,
          runDir: join(root, "run"),
        }),
      );
    }
    const routes = join(root, "lambda.json");
    await writeRoutingTable(routes, {
      functions: Object.fromEntries(artifact.functions.map((spec, i) => [spec.name, {
        endpoint: emulators[i].endpoint,
        pid: emulators[i].pid,
        dir,
        memoryMb: spec.memoryMb,
        timeoutSeconds: spec.timeoutSeconds,
      }])),
    });
    router = await startLambdaRouter({
      routes,
      region: options.s3.region,
      logFile: join(root, "run", "router.log"),
    });
    const endpoint = router.endpoint;
    const routerPid = router.pid;
    const functions = artifact.functions.map((spec, i): LambdaStackFunction => ({
      name: spec.name,
      task: spec.task,
      memoryMb: spec.memoryMb,
      timeoutSeconds: spec.timeoutSeconds,
      emulatorEndpoint: emulators[i].endpoint,
      pid: emulators[i].pid,
      logFile: emulators[i].logFile,
    }));
    return {
      endpoint,
      routerPid,
      artifact,
      dir,
      functions,
      env: () => ({ ...env, AWS_ENDPOINT_URL_LAMBDA: endpoint }),
      async log(name: string, lines = 40): Promise<string> {
        const fn = functions.find((f) => f.name === name);
        if (!fn) throw new Error(`the Lambda test stack has no function '${name}'`);
        const text = await Deno.readTextFile(fn.logFile).catch(() => "");
        return text.trimEnd().split("\n").slice(-lines).join("\n");
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * Runs `fn` with a module's functions under the emulator behind the router, then stops every
 * process by pid and removes the stack's temporary files, whatever `fn` does.
 *
 * @param options the module, the S3 server, where artifacts go
 * @param fn the test body
 * @returns what `fn` returns
 * @example
 * ```ts ignore
 * await withS3Server((s3) =>
 *   withLambdaStack({ module, s3 }, async (stack) => {
 *     const client = new LambdaClient({ endpoint: stack.endpoint, region: s3.region });
 *   }));
 * ```
 */
export async function withLambdaStack<T>(
  options: LambdaStackOptions,
  fn: (stack: LambdaStack) => Promise<T>,
): Promise<T> {
  const stack = await startLambdaStack(options);
  try {
    return await fn(stack);
  } finally {
    await stack.stop();
  }
}
