/**
 * Test harness for a real S3 server: versitygw on loopback, with its data in a fresh temporary
 * directory, stopped by pid when done.
 *
 * Two ways to use it:
 *
 * - `withS3Server(fn)` starts a server for one test (about 0.1 s) and always stops it and removes
 *   its directory, whatever `fn` does. Several test steps share one server by calling `t.step`
 *   inside `fn`. Sanitizer-friendly: nothing outlives the test.
 * - `sharedS3Server()` lazily starts one server per test file (per process) and returns the same
 *   one to every caller. It is stopped by `stopSharedS3Server()`, meant for a last test in the
 *   file, and otherwise by SIGKILL from an `unload` listener when the test process ends (Deno
 *   fires `unload` after the tests, failed ones included).
 *
 * On Linux every server also gets SIGKILL from the kernel when the test process dies, even by
 * SIGKILL, so an interrupted run leaves no server behind. There is no skipping: when versitygw
 * cannot be installed (no Go, build failure) the test that asked for a server fails with the
 * reason. The first run installs versitygw into `.glacier/bin/` (about 80 s on a cold Go cache).
 *
 * @module
 */
import { join } from "node:path";
import { S3Client } from "../../src/io/s3/_sdk.ts";
import { ensureVersitygw, type S3Server, startS3Server } from "../../src/stack/versitygw.ts";
import { withEnv } from "../_env.ts";

export type { S3Server } from "../../src/stack/versitygw.ts";

let installed: Promise<string> | undefined;

/**
 * Starts a fresh S3 server over a new temporary directory. The caller stops it; prefer
 * {@linkcode withS3Server}.
 *
 * @param options `iam: true` keeps user accounts (versitygw's internal IAM), so that tests can
 *   create accounts other than root
 * @returns a running server; its `dataDir` and log live under one temporary directory
 * @throws {Error} when versitygw cannot be installed or does not start, with the reason
 */
export async function startTestS3Server(options: { iam?: boolean } = {}): Promise<S3Server> {
  installed ??= ensureVersitygw();
  let bin: string;
  try {
    bin = await installed;
  } catch (error) {
    installed = undefined;
    throw new Error(`the S3 test server needs versitygw: ${(error as Error).message}`);
  }
  const root = await Deno.makeTempDir({ prefix: "glacier-s3-" });
  return await startS3Server({
    dataDir: join(root, "data"),
    logFile: join(root, "versitygw.log"),
    bin,
    ...(options.iam ? { iamDir: join(root, "iam") } : {}),
  });
}

/**
 * Runs `fn` with a fresh S3 server, then stops the server and removes its directory.
 *
 * @param fn the test body
 * @returns what `fn` returns
 * @example
 * ```ts ignore
 * Deno.test("round trip", () =>
 *   withS3Server(async (server) => {
 *     const client = s3Client(server);
 *     // ...
 *   }));
 * ```
 */
export async function withS3Server<T>(fn: (server: S3Server) => Promise<T>): Promise<T> {
  const server = await startTestS3Server();
  try {
    return await fn(server);
  } finally {
    await server.stop();
    await removeServerDir(server);
  }
}

let shared: Promise<S3Server> | undefined;
/** The shared server once it runs, for the synchronous `unload` listener. */
let sharedRunning: S3Server | undefined;

/**
 * The S3 server shared by the tests of this file: started on the first call, the same one after.
 *
 * @returns the running shared server
 */
export function sharedS3Server(): Promise<S3Server> {
  if (!shared) {
    shared = startTestS3Server().then((server) => (sharedRunning = server));
    shared.catch(() => (shared = undefined));
    globalThis.addEventListener("unload", killSharedOnUnload);
  }
  return shared;
}

/** Stops the shared server, if one was started, and removes its directory. */
export async function stopSharedS3Server(): Promise<void> {
  const started = shared;
  shared = undefined;
  sharedRunning = undefined;
  globalThis.removeEventListener("unload", killSharedOnUnload);
  const server = await started?.catch(() => undefined);
  if (!server) return;
  await server.stop();
  await removeServerDir(server);
}

/**
 * An S3 client signed for `server`, path-style, as the stack's environment configures one.
 *
 * @param server a running server
 * @returns a client; call `destroy()` when done
 */
export function s3Client(server: S3Server): S3Client {
  return new S3Client({
    endpoint: server.endpoint,
    region: server.region,
    forcePathStyle: true,
    credentials: { accessKeyId: server.accessKey, secretAccessKey: server.secretKey },
  });
}

function killSharedOnUnload(): void {
  // `unload` listeners cannot await: kill by pid synchronously; the process ends right after.
  const server = sharedRunning;
  if (!server) return;
  const steps = [
    () => Deno.kill(server.pid, "SIGKILL"),
    () => Deno.removeSync(join(server.dataDir, ".."), { recursive: true }),
  ];
  for (const step of steps) {
    try {
      step();
    } catch {
      // Already gone.
    }
  }
}

async function removeServerDir(server: S3Server): Promise<void> {
  await Deno.remove(join(server.dataDir, ".."), { recursive: true }).catch(() => {});
}

/**
 * Runs `fn` against a fresh server with the standard AWS variables pointing at it and a client
 * signed for it, then restores the variables, destroys the client and stops the server.
 *
 * @param fn the test body
 * @returns what `fn` returns
 * @example
 * ```ts ignore
 * Deno.test("cloud read", () =>
 *   withS3Env(async (server, client) => {
 *     // bucket.read({ mode: "cloud" }) reaches `server` here
 *   }));
 * ```
 */
export function withS3Env<T>(fn: (server: S3Server, client: S3Client) => Promise<T>): Promise<T> {
  return withS3Server((server) =>
    withEnv(server.env(), async () => {
      const client = s3Client(server);
      try {
        return await fn(server, client);
      } finally {
        client.destroy();
      }
    })
  );
}
