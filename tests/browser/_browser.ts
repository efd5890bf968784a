/**
 * What the browser tests share: Debian's Chromium driven by playwright-core (never a browser
 * playwright downloads), the `glacier` command run as a user runs it, and where screenshots go.
 *
 * @module
 */
import { type Browser, chromium } from "npm:playwright-core@1.65.1";

/** Debian's `chromium` package installs it here. */
export const CHROMIUM = "/usr/bin/chromium";

/** Headless, and nothing that reaches the network on its own. */
const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** Where the tests save screenshots (ignored by git). */
export const SCREENSHOTS: string = new URL("./screenshots/", import.meta.url).pathname;

const repo = new URL("../../", import.meta.url).pathname;

/** The repository's `cli.ts`. */
export const CLI: string = `${repo}cli.ts`;
/** `examples/complete.ts`. */
export const COMPLETE: string = `${repo}examples/complete.ts`;

/**
 * Starts Debian's Chromium.
 *
 * @returns the browser.
 * @throws {Error} saying how to install it when it is missing.
 */
export async function launchChromium(): Promise<Browser> {
  try {
    await Deno.stat(CHROMIUM);
  } catch {
    throw new Error(
      `the browser tests drive Debian's Chromium at ${CHROMIUM}, which is missing: install it ` +
        "with 'apt-get install -y chromium' ('deno task test browser' does when it runs as root)",
    );
  }
  await Deno.mkdir(SCREENSHOTS, { recursive: true });
  return await chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
}

/**
 * Runs a command of Deno to its end, in a directory.
 *
 * @param cwd the directory.
 * @param args the arguments after `deno`.
 * @param env extra environment variables.
 * @returns the exit code and output.
 */
export async function deno(
  cwd: string,
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [...args],
    cwd,
    env: { NO_COLOR: "1", ...env },
    stdin: "null",
  }).output();
  const text = new TextDecoder();
  return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
}

/** A `glacier MODULE ui` the test started. */
export interface RunningUi {
  /** The address it printed. */
  readonly url: string;
  /** Stops it. */
  stop(): Promise<void>;
}

/**
 * Starts `glacier MODULE ui --port 0` in a directory, as a user would, and waits for its address.
 *
 * @param cwd the directory (a module's default local root is under it).
 * @param module the module.
 * @returns the address and a way to stop it.
 */
export async function startUi(cwd: string, module: string): Promise<RunningUi> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, module, "ui", "--port", "0"],
    cwd,
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let printed = "";
  let url: string | undefined;
  while (url === undefined) {
    const { value, done } = await reader.read();
    if (done) {
      throw new Error(`glacier ui ended before printing its address:\n${printed}${await stderr}`);
    }
    printed += value;
    url = printed.match(/http:\/\/\S+/)?.[0];
  }
  const drained = (async () => {
    while (!(await reader.read()).done) { /* keep the pipe flowing */ }
  })();
  return {
    url,
    async stop() {
      child.kill("SIGTERM");
      await child.status;
      await drained;
      await stderr;
    },
  };
}

/**
 * Waits until a condition holds, polling.
 *
 * @param what what is awaited, for the error.
 * @param check the condition.
 * @param seconds how long at most.
 */
export async function eventually(
  what: string,
  check: () => Promise<boolean>,
  seconds = 30,
): Promise<void> {
  const end = Date.now() + seconds * 1000;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`waited ${seconds} s for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
