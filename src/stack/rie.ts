/**
 * The AWS Lambda Runtime Interface Emulator (Apache-2.0): the program that stands where Lambda's
 * sandbox would and serves one function's Runtime API to its bootstrap. Installed from source at
 * a pinned version, and run once per function on its own loopback ports over the function's
 * unpacked artifact.
 *
 * ```ts ignore
 * import { ensureRie, startEmulator } from "./rie.ts";
 *
 * const emulator = await startEmulator({
 *   bin: await ensureRie(),
 *   functionName: "glacier-clean_orders",
 *   taskRoot: ".glacier/stack/lambda/<sha256>",
 *   memoryMb: 1024,
 *   timeoutSeconds: 300,
 *   env: { AWS_ENDPOINT_URL_S3: "http://127.0.0.1:7070" },
 *   runDir: await Deno.makeTempDir(),
 * });
 * // POST to `${emulator.endpoint}/2015-03-31/functions/function/invocations`
 * await emulator.stop();
 * ```
 *
 * The emulator starts the bootstrap on the first invocation and again after a timeout or a crash.
 * It serves one invocation at a time, only at `/2015-03-31/functions/function/invocations`, and
 * does not answer in Lambda's wire format: `lambda_router.ts` puts it behind a Lambda API.
 *
 * @module
 */
import { join } from "node:path";
import { goInstall } from "./go_install.ts";
import {
  freePort,
  onPath,
  portIsFree,
  spawnService,
  stopTree,
  tail,
  waitForHttp,
} from "./process.ts";
import { GLACIER_DIR } from "./versitygw.ts";
import { replaceTextFile } from "../core/files.ts";

/** The emulator's Go package. */
export const RIE_PACKAGE =
  "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie";

/** The emulator's Go module, whose version the binary's build information records. */
export const RIE_MODULE = "github.com/aws/aws-lambda-runtime-interface-emulator";

/** The emulator version the stack installs and tests run against: a Go pseudo-version. */
export const RIE_VERSION = "v0.0.0-20261030222936-bef5c4ba774d";

/** Where {@linkcode ensureRie} installs the binary: `<repo>/.glacier/bin/aws-lambda-rie`. */
export const RIE_BIN: string = join(GLACIER_DIR, "bin", "aws-lambda-rie");

/** The path every emulator serves invocations on, whatever the function's name. */
export const RIE_INVOKE_PATH = "/2015-03-31/functions/function/invocations";

/**
 * Returns the path of the pinned emulator binary, building it with `go install` first when it is
 * missing or was built from another version (a few seconds with a warm Go build cache, about 25 s
 * without).
 *
 * @param bin where the binary lives; defaults to {@linkcode RIE_BIN}
 * @returns the path of an emulator built from {@linkcode RIE_VERSION}
 * @throws {Error} when Go is not installed or the build fails, with go's output
 * @example
 * ```ts ignore
 * const bin = await ensureRie();
 * ```
 */
export async function ensureRie(bin: string = RIE_BIN): Promise<string> {
  const found = await builtVersion(bin);
  if (found === RIE_VERSION) return bin;
  console.error(
    `installing the AWS Lambda Runtime Interface Emulator ${RIE_VERSION} into ${bin} with go ` +
      `install (${
        found ? `found ${found}` : "not installed"
      }; seconds with a warm Go build cache, about 25 s without)`,
  );
  await goInstall({
    package: RIE_PACKAGE,
    version: RIE_VERSION,
    bin,
    goRequirement: "Go 1.26.6 or newer (https://go.dev/dl/; the emulator's go.mod asks for it)",
  });
  const built = await builtVersion(bin);
  if (built !== RIE_VERSION) {
    throw new Error(
      `'${bin}' was built from version '${built}' after install, expected ${RIE_VERSION}`,
    );
  }
  return bin;
}

/**
 * The emulator module version a binary was built from, read from the build information Go embeds
 * (what `go version -m` prints), or `undefined` when the file is missing or has none. The
 * emulator has no `--version` flag.
 */
async function builtVersion(bin: string): Promise<string | undefined> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(bin);
  } catch {
    return undefined;
  }
  const text = new TextDecoder("latin1").decode(bytes);
  const escaped = RIE_MODULE.replaceAll(".", "\\.");
  return new RegExp(`\nmod\t${escaped}\t(v[^\t\n]+)`).exec(text)?.[1];
}

/** How to run one function under the emulator; see {@linkcode startEmulator}. */
export interface EmulatorOptions {
  /** The function's name, as Lambda knows it (`glacier-<task>`). */
  readonly functionName: string;
  /** The unpacked artifact, with `bootstrap`: Lambda's task root, and the working directory. */
  readonly taskRoot: string;
  /** The function's memory (reported to the function, not enforced). */
  readonly memoryMb: number;
  /** The function's timeout: the emulator ends an invocation that runs longer. */
  readonly timeoutSeconds: number;
  /** The function's handler, `_HANDLER` (informative for a custom runtime). */
  readonly handler?: string;
  /**
   * The variables the function sees besides Lambda's own: the S3 endpoint, credentials, region
   * (`AWS_REGION`, us-east-1 when absent). Nothing else of this process's environment is passed.
   */
  readonly env: Readonly<Record<string, string>>;
  /**
   * A directory for the emulator's log (`<function>.log`), the function's private `/tmp`
   * (`tmp/<function>/`, emptied on start) and the bootstrap wrapper.
   */
  readonly runDir: string;
  /** The loopback port of the invocation endpoint; a free one is picked when omitted. */
  readonly port?: number;
  /** The binary; defaults to {@linkcode RIE_BIN} (see {@linkcode ensureRie}). */
  readonly bin?: string;
  /**
   * Start the emulator in its own session so that it outlives this process (the local stack);
   * otherwise it gets SIGKILL when this process dies (tests). Either way the function's runtime
   * gets SIGKILL when its emulator dies (Linux).
   */
  readonly detached?: boolean;
}

/** One function running under the emulator on loopback, controlled by its process id. */
export interface Emulator {
  /** The function's name. */
  readonly functionName: string;
  /** `http://127.0.0.1:PORT`: invocations go to {@linkcode RIE_INVOKE_PATH} under it. */
  readonly endpoint: string;
  /** The invocation endpoint's port. */
  readonly port: number;
  /** The port of the Runtime API the function's bootstrap talks to. */
  readonly runtimeApiPort: number;
  /** The emulator's process id. */
  readonly pid: number;
  /** The emulator's program, as `/proc/<pid>/cmdline` shows it. */
  readonly program: string;
  /** The emulator's and the function's output. */
  readonly logFile: string;
  /** SIGTERM (the emulator then kills the runtime), SIGKILL after 5 s and to anything left. */
  stop(): Promise<void>;
  /** SIGKILL at once, as a crash would; the runtime gets SIGKILL from the kernel (Linux). */
  kill(): Promise<void>;
}

/**
 * Starts the emulator over `taskRoot` for one function and waits until it answers HTTP. The
 * bootstrap itself starts on the first invocation.
 *
 * @param options the function, its artifact, limits and environment, and where logs go
 * @returns the running emulator
 * @throws {Error} when the port is taken, or the emulator exits or does not answer within 10 s,
 *   with the end of its log
 * @example
 * ```ts ignore
 * const emulator = await startEmulator({ functionName: "glacier-double", ... });
 * await emulator.stop();
 * ```
 */
export async function startEmulator(options: EmulatorOptions): Promise<Emulator> {
  const bin = options.bin ?? RIE_BIN;
  const port = options.port ?? freePort();
  if (!portIsFree(port)) {
    throw new Error(`port ${port} on 127.0.0.1 is in use by another process; choose another`);
  }
  const runtimeApiPort = freePort();
  const name = options.functionName;
  const logFile = join(options.runDir, `${name}.log`);
  const tmp = join(options.runDir, "tmp", name);
  await Deno.remove(tmp, { recursive: true }).catch(() => {});
  await Deno.mkdir(tmp, { recursive: true });
  const region = options.env.AWS_REGION ?? "us-east-1";
  const child = await spawnService({
    argv: [
      bin,
      "--runtime-api-address",
      `127.0.0.1:${runtimeApiPort}`,
      "--runtime-interface-emulator-address",
      `127.0.0.1:${port}`,
      await bootstrapCommand(options.runDir, options.taskRoot),
    ],
    // The emulator passes its whole environment on to the function: give it Lambda's, no more.
    clearEnv: true,
    env: {
      PATH: Deno.env.get("PATH") ?? "/usr/local/bin:/usr/bin:/bin",
      LANG: "en_US.UTF-8",
      TZ: ":UTC",
      TMPDIR: tmp,
      ...options.env,
      AWS_REGION: region,
      AWS_DEFAULT_REGION: region,
      AWS_LAMBDA_FUNCTION_NAME: name,
      AWS_LAMBDA_FUNCTION_VERSION: "$LATEST",
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(options.memoryMb),
      AWS_LAMBDA_FUNCTION_TIMEOUT: String(options.timeoutSeconds),
      LAMBDA_TASK_ROOT: options.taskRoot,
      ...(options.handler ? { _HANDLER: options.handler } : {}),
    },
    cwd: options.taskRoot,
    logFile,
    detached: options.detached,
  });
  const emulator = new RieProcess(name, port, runtimeApiPort, bin, logFile, child);
  try {
    await waitForHttp(emulator.endpoint, child.status, 10_000);
  } catch (error) {
    await emulator.kill();
    const log = await Deno.readTextFile(logFile).catch(() => "");
    throw new Error(
      `the Lambda emulator for function '${name}' on port ${port} did not start: ` +
        `${(error as Error).message}; the end of ${logFile}:\n${tail(log, 20)}`,
    );
  }
  return emulator;
}

/**
 * What the emulator runs as the function's bootstrap: on Linux a wrapper that execs the artifact's
 * `bootstrap` under `setpriv --pdeathsig KILL`, so that the runtime (the bootstrap execs Deno)
 * dies with its emulator even when the emulator is killed; elsewhere the bootstrap itself.
 */
async function bootstrapCommand(runDir: string, taskRoot: string): Promise<string> {
  if (!onPath("setpriv")) return join(taskRoot, "bootstrap");
  const wrapper = join(runDir, "bootstrap-with-pdeathsig");
  const script = [
    "#!/bin/sh",
    "# Written by the Glacier stack (rie.ts): the function's runtime gets SIGKILL when its emulator dies.",
    'exec setpriv --pdeathsig KILL -- "$LAMBDA_TASK_ROOT/bootstrap"',
    "",
  ].join("\n");
  const current = await Deno.readTextFile(wrapper).catch(() => undefined);
  if (current !== script) {
    await replaceTextFile(wrapper, script, { mode: 0o755 });
  }
  return wrapper;
}

class RieProcess implements Emulator {
  readonly functionName: string;
  readonly port: number;
  readonly runtimeApiPort: number;
  readonly program: string;
  readonly logFile: string;
  readonly #child: Deno.ChildProcess;

  constructor(
    functionName: string,
    port: number,
    runtimeApiPort: number,
    program: string,
    logFile: string,
    child: Deno.ChildProcess,
  ) {
    this.functionName = functionName;
    this.port = port;
    this.runtimeApiPort = runtimeApiPort;
    this.program = program;
    this.logFile = logFile;
    this.#child = child;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get pid(): number {
    return this.#child.pid;
  }

  async stop(): Promise<void> {
    await stopTree(this.pid, { exited: this.#child.status });
    await this.#child.status;
  }

  async kill(): Promise<void> {
    await stopTree(this.pid, { signal: "SIGKILL", exited: this.#child.status });
    await this.#child.status;
  }
}
