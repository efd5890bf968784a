/**
 * The stack's Lambda service: each serverless task of the `--module` pipeline modules runs as a
 * Lambda function under its own AWS Lambda Runtime Interface Emulator, over the unpacked artifact
 * the generated Terraform deploys, and the Lambda router in front of them serves the Lambda API at
 * `AWS_ENDPOINT_URL_LAMBDA`. Processes, in `state.json` after `s3`:
 *
 * - `lambda-router`: the router, on `--lambda-port` (7071), log `stack/lambda/router.log`,
 *   routing by `stack/lambda.json`;
 * - `lambda:<function>`: an emulator, on a free loopback port, log `stack/lambda/<function>.log`.
 *
 * Artifacts are built into `<state dir>/artifacts` (the packager's cache) and unpacked into
 * `<state dir>/stack/lambda/<sha256>/`.
 *
 * @module
 */
import { join } from "node:path";
import { startLambdaRouter, writeRoutingTable } from "./lambda_router.ts";
import { stopTree } from "./process.ts";
import { answersHttp, displayPath as show, ownsProcess, type StackOptions } from "./service.ts";
import { ensureRie, startEmulator } from "./rie.ts";
import type { LambdaFunctionRecord, Service, StackPaths } from "./state.ts";

/** The Lambda router's port when `--lambda-port` is not given. */
export const DEFAULT_LAMBDA_PORT = 7071;

/** The router's service name. */
export const LAMBDA_ROUTER = "lambda-router";

/**
 * Whether a recorded service is a Lambda function's emulator (`lambda:<function>`).
 *
 * @param service a recorded service
 * @returns `true` for an emulator
 */
export function isLambdaFunction(service: Service): boolean {
  return service.lambda !== undefined;
}

/** What `up` needs besides the options: what was recorded, and how to record what runs. */
export interface LambdaUpContext {
  /** The services of the previous `up`, from `state.json`. */
  readonly recorded: readonly Service[];
  /** The S3 service that now runs: the functions get its variables. */
  readonly s3: Service;
  /** Records a service that runs (kept or started), so that `down` can stop it. */
  record(service: Service): Promise<void>;
}

/**
 * Starts (or keeps) the Lambda functions and the router. With `--module`, the functions are
 * exactly the modules' serverless tasks: recorded functions of other modules are stopped, and one
 * whose artifact, limits or S3 endpoint changed is restarted. Without `--module`, the recorded
 * functions are kept (restarted from their records if they died). Nothing happens when there are
 * neither modules nor recorded functions.
 *
 * @param options the stack's options (`modules`, `lambdaPort`, `paths`)
 * @param context what was recorded, the S3 service, and how to record
 * @throws {Error} when the emulator cannot be installed, an artifact cannot be built, or two
 *   modules have a function of the same name
 */
export async function upLambda(options: StackOptions, context: LambdaUpContext): Promise<void> {
  const previous = context.recorded.filter((s) => isLambdaFunction(s) || s.name === LAMBDA_ROUTER);
  // The previous processes this `up` has recorded again or stopped; on failure, the others that
  // still run are recorded again, so that `down` can stop them.
  const settled = new Set<number>();
  const record = async (service: Service): Promise<void> => {
    settled.add(service.pid);
    await context.record(service);
  };
  const stop = async (service: Service, why: string): Promise<void> => {
    settled.add(service.pid);
    await stopTree(service.pid);
    console.log(`${service.name}: stopped pid ${service.pid}; ${why}`);
  };
  try {
    await upFunctionsAndRouter(options, context, previous, record, stop);
  } catch (error) {
    for (const service of previous) {
      if (!settled.has(service.pid) && ownsProcess(service)) await context.record(service);
    }
    throw error;
  }
}

async function upFunctionsAndRouter(
  options: StackOptions,
  context: LambdaUpContext,
  previous: readonly Service[],
  record: (service: Service) => Promise<void>,
  stop: (service: Service, why: string) => Promise<void>,
): Promise<void> {
  const { paths } = options;
  const previousFunctions = previous.filter(isLambdaFunction);
  const previousRouter = previous.find((s) => s.name === LAMBDA_ROUTER);
  if (options.modules.length === 0 && previousFunctions.length === 0) {
    if (previousRouter && ownsProcess(previousRouter)) {
      await stop(previousRouter, "it routed no functions");
    }
    return;
  }
  const s3Endpoint = context.s3.env.AWS_ENDPOINT_URL_S3;
  const wanted = options.modules.length > 0
    ? await functionsOf(options.modules, paths, s3Endpoint)
    : previousFunctions.map((s) => ({ ...s.lambda!, s3Endpoint }));

  for (const service of previousFunctions) {
    if (wanted.some((f) => f.function === service.lambda!.function)) continue;
    if (ownsProcess(service)) await stop(service, "it is not in the given modules");
  }
  await record(await upRouter(options, previousRouter, context.s3, stop));
  const runDir = join(paths.stack, "lambda");
  let bin: string | undefined;
  const functions: Service[] = [];
  for (const fn of wanted) {
    const name = `lambda:${fn.function}`;
    const old = previousFunctions.find((s) => s.lambda!.function === fn.function);
    if (old && ownsProcess(old)) {
      const changed = changeOf(old.lambda!, fn);
      if (!changed && await answersHttp(old.port)) {
        console.log(
          `${name}: already running (pid ${old.pid}, port ${old.port}, ` +
            `since ${old.startedAt}); kept`,
        );
        functions.push(old);
        await record(old);
        continue;
      }
      await stop(old, `restarting it: ${changed ?? "it does not answer"}`);
    }
    bin ??= await ensureRie();
    const emulator = await startEmulator({
      bin,
      functionName: fn.function,
      taskRoot: fn.dir,
      memoryMb: fn.memoryMb,
      timeoutSeconds: fn.timeoutSeconds,
      handler: fn.handler,
      env: context.s3.env,
      runDir,
      detached: true,
    });
    const service: Service = {
      name,
      pid: emulator.pid,
      program: emulator.program,
      port: emulator.port,
      startedAt: new Date().toISOString(),
      log: emulator.logFile,
      env: {},
      lambda: { ...fn, runtimeApiPort: emulator.runtimeApiPort },
    };
    console.log(
      `${name}: started pid ${service.pid} on ${emulator.endpoint} (task '${fn.task}', ` +
        `${fn.memoryMb} MB, ${fn.timeoutSeconds} s; log ${show(service.log)})`,
    );
    functions.push(service);
    await record(service);
  }
  await writeRoutingTable(paths.lambdaRoutes, {
    functions: Object.fromEntries(functions.map((s) => [s.lambda!.function, {
      endpoint: `http://127.0.0.1:${s.port}`,
      pid: s.pid,
      dir: s.lambda!.dir,
      memoryMb: s.lambda!.memoryMb,
      timeoutSeconds: s.lambda!.timeoutSeconds,
    }])),
  });
}

/** Keeps the recorded router when it runs on the requested port, else starts one. */
async function upRouter(
  options: StackOptions,
  previous: Service | undefined,
  s3: Service,
  stop: (service: Service, why: string) => Promise<void>,
): Promise<Service> {
  if (previous && ownsProcess(previous)) {
    if (previous.port === options.lambdaPort && await answersHttp(previous.port)) {
      console.log(
        `${LAMBDA_ROUTER}: already running (pid ${previous.pid}, port ${previous.port}, ` +
          `since ${previous.startedAt}); kept`,
      );
      return previous;
    }
    await stop(previous, `restarting it on port ${options.lambdaPort}`);
  }
  const log = join(options.paths.stack, "lambda", "router.log");
  const router = await startLambdaRouter({
    routes: options.paths.lambdaRoutes,
    port: options.lambdaPort,
    region: s3.env.AWS_REGION,
    logFile: log,
    detached: true,
  });
  console.log(
    `${LAMBDA_ROUTER}: started pid ${router.pid} on ${router.endpoint} ` +
      `(routes ${show(options.paths.lambdaRoutes)}; log ${show(log)})`,
  );
  return {
    name: LAMBDA_ROUTER,
    pid: router.pid,
    program: router.program,
    port: router.port,
    startedAt: new Date().toISOString(),
    log,
    env: { AWS_ENDPOINT_URL_LAMBDA: router.endpoint },
  };
}

/** A function to run, before its emulator has a Runtime API port. */
type WantedFunction = Omit<LambdaFunctionRecord, "runtimeApiPort">;

/** Builds and unpacks each module's artifact; its functions, checked for clashing names. */
async function functionsOf(
  modules: readonly string[],
  paths: StackPaths,
  s3Endpoint: string,
): Promise<WantedFunction[]> {
  // Loaded here, so that `up` without --module and `down` do not load Glacier and the packager.
  const { prepareLambdaArtifact } = await import("./lambda_artifact.ts");
  const wanted: WantedFunction[] = [];
  for (const module of modules) {
    const { artifact, dir, reused } = await prepareLambdaArtifact({
      module,
      cacheDir: join(paths.root, "artifacts"),
      unpackRoot: join(paths.stack, "lambda"),
    });
    console.log(`lambda: ${reused ? "reusing" : "unpacked"} ${module}'s artifact in ${show(dir)}`);
    for (const spec of artifact.functions) {
      const clash = wanted.find((f) => f.function === spec.name);
      if (clash) {
        throw new Error(
          `Lambda function '${spec.name}' comes from both '${clash.module}' and '${module}'; ` +
            "rename one of the two tasks, or start the stack with one of the modules",
        );
      }
      wanted.push({
        function: spec.name,
        task: spec.task,
        module,
        sha256: artifact.sha256,
        dir,
        handler: artifact.handler,
        memoryMb: spec.memoryMb,
        timeoutSeconds: spec.timeoutSeconds,
        s3Endpoint,
      });
    }
  }
  return wanted;
}

/** Why a recorded function must be restarted to become `wanted`; `undefined` when it need not. */
function changeOf(recorded: LambdaFunctionRecord, wanted: WantedFunction): string | undefined {
  if (recorded.sha256 !== wanted.sha256) return "its module's artifact changed";
  if (recorded.memoryMb !== wanted.memoryMb || recorded.timeoutSeconds !== wanted.timeoutSeconds) {
    return "its memory or timeout changed";
  }
  if (recorded.s3Endpoint !== wanted.s3Endpoint) return "the S3 endpoint changed";
  return undefined;
}

/**
 * A one-line description of a Lambda function's record, for `status`.
 *
 * @param record the function's record
 * @returns e.g. `task 'double', 512 MB, 60 s, artifact 61539b9d1dfd`
 */
export function describeFunction(record: LambdaFunctionRecord): string {
  return `task '${record.task}', ${record.memoryMb} MB, ${record.timeoutSeconds} s, ` +
    `artifact ${record.sha256.slice(0, 12)}`;
}
