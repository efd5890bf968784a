/**
 * The local stack's S3 service: versitygw (Apache-2.0), an S3-compatible gateway over a plain
 * directory, installed from source at a pinned version and started on loopback.
 *
 * ```ts ignore
 * import { ensureVersitygw, startS3Server } from "./versitygw.ts";
 *
 * await ensureVersitygw();
 * const server = await startS3Server({ dataDir: await Deno.makeTempDir() });
 * console.log(server.endpoint); // http://127.0.0.1:PORT
 * await server.stop();
 * ```
 *
 * @module
 */
import { dirname, join, resolve } from "node:path";
import { goInstall } from "./go_install.ts";
import {
  freePort,
  isRunning,
  portIsFree,
  spawnService,
  stopPid,
  tail,
  waitForHttp,
} from "./process.ts";

export { freePort } from "./process.ts";

/** The versitygw release the stack installs and tests run against. */
export const VERSITYGW_VERSION = "v1.8.0";

/** The state bucket the stack names in `GLACIER_STATE_BUCKET`: cloud runs' locks and journals. */
export const STATE_BUCKET = "glacier-state";

/** The Go package `go install` builds the versitygw command from. */
export const VERSITYGW_PACKAGE = "github.com/versity/versitygw/cmd/versitygw";

/** Credentials and region of the local stack's single S3 account. */
export const DEFAULT_S3_CREDENTIALS: {
  readonly accessKey: string;
  readonly secretKey: string;
  readonly region: string;
} = { accessKey: "glacier", secretKey: "glacier-local-secret", region: "us-east-1" };

/**
 * Where the stack keeps what it installs and runs: `.glacier/` in the current directory (the
 * project that uses Glacier, wherever Glacier itself comes from).
 */
export const GLACIER_DIR: string = resolve(".glacier");

/** Where {@linkcode ensureVersitygw} installs the binary: `<repo>/.glacier/bin/versitygw`. */
export const VERSITYGW_BIN: string = join(GLACIER_DIR, "bin", "versitygw");

/**
 * Returns the path of the pinned versitygw binary, building it with `go install` first when it is
 * missing or reports another version (about a minute on a cold Go cache).
 *
 * @param bin where the binary lives; defaults to {@linkcode VERSITYGW_BIN}
 * @returns the path of a versitygw binary that reports {@linkcode VERSITYGW_VERSION}
 * @throws {Error} when Go is not installed or the build fails, with go's output
 * @example
 * ```ts ignore
 * const bin = await ensureVersitygw();
 * ```
 */
export async function ensureVersitygw(bin: string = VERSITYGW_BIN): Promise<string> {
  const found = await installedVersion(bin);
  if (found === VERSITYGW_VERSION) return bin;
  console.error(
    `installing versitygw ${VERSITYGW_VERSION} into ${dirname(bin)} with go install ` +
      `(${found ? `found ${found}` : "not installed"}; this takes about a minute)`,
  );
  await goInstall({
    package: VERSITYGW_PACKAGE,
    version: VERSITYGW_VERSION,
    bin,
    ldflags: `-X main.Version=${VERSITYGW_VERSION} -X main.Build=go-install`,
    goRequirement: "Go 1.25 or newer (https://go.dev/dl/; versitygw's go.mod asks for 1.25)",
  });
  const built = await installedVersion(bin);
  if (built !== VERSITYGW_VERSION) {
    throw new Error(
      `'${bin}' reports version '${built}' after install, expected ${VERSITYGW_VERSION}`,
    );
  }
  return bin;
}

/** The version a versitygw binary reports, or `undefined` when it is missing or does not run. */
async function installedVersion(bin: string): Promise<string | undefined> {
  try {
    const output = await new Deno.Command(bin, { args: ["--version"], stdin: "null" }).output();
    const text = new TextDecoder().decode(output.stdout);
    return text.match(/^Version\s*:\s*(\S+)/m)?.[1];
  } catch {
    return undefined;
  }
}

/** How to start a versitygw server; see {@linkcode startS3Server}. */
export interface S3ServerOptions {
  /** The directory that holds the buckets (one sub-directory per bucket); created if missing. */
  readonly dataDir: string;
  /** The loopback port; a free one is picked when omitted. */
  readonly port?: number;
  /** Root access key; defaults to {@linkcode DEFAULT_S3_CREDENTIALS}. */
  readonly accessKey?: string;
  /** Root secret key; defaults to {@linkcode DEFAULT_S3_CREDENTIALS}. */
  readonly secretKey?: string;
  /** The region the server reports and signs with; defaults to `us-east-1`. */
  readonly region?: string;
  /** A file that receives the server's stdout and stderr (appended); discarded when omitted. */
  readonly logFile?: string;
  /** The binary; defaults to {@linkcode VERSITYGW_BIN} (see {@linkcode ensureVersitygw}). */
  readonly bin?: string;
  /**
   * Start the server in its own session so that it outlives this process (the local stack);
   * otherwise it is an ordinary child that dies with the terminal's Ctrl-C (tests).
   */
  readonly detached?: boolean;
  /**
   * Keep user accounts in this directory (versitygw's internal IAM), so that accounts other than
   * root can be created with `versitygw admin create-user`; single-account mode when omitted.
   */
  readonly iamDir?: string;
}

/** A running versitygw server on loopback, controlled by its process id. */
export interface S3Server {
  /** `http://127.0.0.1:PORT`. */
  readonly endpoint: string;
  /** The loopback port it listens on. */
  readonly port: number;
  /** The process id of the running server (changes on {@linkcode S3Server.restart}). */
  readonly pid: number;
  /** Root access key. */
  readonly accessKey: string;
  /** Root secret key. */
  readonly secretKey: string;
  /** Region. */
  readonly region: string;
  /** The directory that holds the buckets. */
  readonly dataDir: string;
  /** The log file, when one was given. */
  readonly logFile: string | undefined;
  /**
   * The standard AWS variables that point an S3 client at this server: `AWS_ENDPOINT_URL_S3`,
   * `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`, `AWS_S3_FORCE_PATH_STYLE=true`,
   * and `GLACIER_STATE_BUCKET`, the bucket cloud runs keep their locks and journals in (created on
   * first use).
   */
  env(): Record<string, string>;
  /** Sends SIGTERM to the server's pid, waits for it, and sends SIGKILL after 5 s. */
  stop(): Promise<void>;
  /** Sends SIGKILL at once and waits for the process to end, as a crash would. */
  kill(): Promise<void>;
  /** Stops the server if it runs, then starts it again on the same port and data directory. */
  restart(): Promise<void>;
}

/**
 * Starts versitygw on `127.0.0.1` over `options.dataDir` and waits until it answers HTTP.
 *
 * @param options data directory, port, credentials and log file
 * @returns the running server
 * @throws {Error} when the process exits or does not answer within 15 s, with the log's tail
 * @example
 * ```ts ignore
 * const server = await startS3Server({ dataDir: "/tmp/s3", logFile: "/tmp/s3.log" });
 * await server.stop();
 * ```
 */
export async function startS3Server(options: S3ServerOptions): Promise<S3Server> {
  const server = new VersitygwServer({
    ...options,
    port: options.port ?? freePort(),
    accessKey: options.accessKey ?? DEFAULT_S3_CREDENTIALS.accessKey,
    secretKey: options.secretKey ?? DEFAULT_S3_CREDENTIALS.secretKey,
    region: options.region ?? DEFAULT_S3_CREDENTIALS.region,
    bin: options.bin ?? VERSITYGW_BIN,
  });
  await server.start();
  return server;
}

type ResolvedOptions = S3ServerOptions & {
  readonly port: number;
  readonly accessKey: string;
  readonly secretKey: string;
  readonly region: string;
  readonly bin: string;
};

class VersitygwServer implements S3Server {
  readonly #options: ResolvedOptions;
  #child: Deno.ChildProcess | undefined;
  #exited: Promise<Deno.CommandStatus> | undefined;

  constructor(options: ResolvedOptions) {
    this.#options = options;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }
  get port(): number {
    return this.#options.port;
  }
  get pid(): number {
    if (!this.#child) throw new Error("the S3 server is not running");
    return this.#child.pid;
  }
  get accessKey(): string {
    return this.#options.accessKey;
  }
  get secretKey(): string {
    return this.#options.secretKey;
  }
  get region(): string {
    return this.#options.region;
  }
  get dataDir(): string {
    return this.#options.dataDir;
  }
  get logFile(): string | undefined {
    return this.#options.logFile;
  }

  env(): Record<string, string> {
    return {
      AWS_ENDPOINT_URL_S3: this.endpoint,
      AWS_ACCESS_KEY_ID: this.accessKey,
      AWS_SECRET_ACCESS_KEY: this.secretKey,
      AWS_REGION: this.region,
      AWS_S3_FORCE_PATH_STYLE: "true",
      GLACIER_STATE_BUCKET: STATE_BUCKET,
    };
  }

  /** Spawns the process and waits until it answers. */
  async start(): Promise<void> {
    const o = this.#options;
    // Otherwise another HTTP server on the port would pass for this one.
    if (!portIsFree(o.port)) {
      throw new Error(`port ${o.port} on 127.0.0.1 is in use by another process; choose another`);
    }
    await Deno.mkdir(o.dataDir, { recursive: true });
    const gateway = [o.bin, "--port", `127.0.0.1:${o.port}`, "--region", o.region, "--quiet"];
    if (o.iamDir) {
      await Deno.mkdir(o.iamDir, { recursive: true });
      gateway.push("--iam-dir", o.iamDir);
    }
    // The pid stays versitygw's own; a non-detached server gets SIGKILL when this process dies,
    // even from SIGKILL, so that a killed test run leaves no server behind.
    const child = await spawnService({
      argv: [...gateway, "posix", o.dataDir],
      // Both names versitygw reads, so that neither can come from this process's environment.
      env: {
        ROOT_ACCESS_KEY_ID: o.accessKey,
        ROOT_ACCESS_KEY: o.accessKey,
        ROOT_SECRET_ACCESS_KEY: o.secretKey,
        ROOT_SECRET_KEY: o.secretKey,
      },
      logFile: o.logFile,
      detached: o.detached,
    });
    this.#child = child;
    this.#exited = child.status;
    try {
      await waitForHttp(this.endpoint, this.#exited, 15_000);
    } catch (error) {
      await this.kill();
      const log = o.logFile ? await Deno.readTextFile(o.logFile).catch(() => "") : "";
      throw new Error(
        `versitygw on port ${o.port} did not start: ${(error as Error).message}` +
          (log ? `; the end of ${o.logFile}:\n${tail(log, 20)}` : " (no log file was given)"),
      );
    }
  }

  async stop(): Promise<void> {
    await this.#end("SIGTERM");
  }

  async kill(): Promise<void> {
    await this.#end("SIGKILL");
  }

  async restart(): Promise<void> {
    if (this.#child && isRunning(this.#child.pid)) await this.stop();
    await this.start();
  }

  /** Signals the process, then reaps it so that no zombie is left behind. */
  async #end(signal: "SIGTERM" | "SIGKILL"): Promise<void> {
    const child = this.#child;
    if (!child || !this.#exited) return;
    await stopPid(child.pid, { signal, exited: this.#exited });
    await this.#exited;
  }
}
