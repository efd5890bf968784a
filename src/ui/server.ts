/**
 * The run UI's web server: the page and a JSON API over one module's ledger and buckets. It binds
 * to loopback unless told otherwise; bound elsewhere it asks every request for a token. It answers
 * only for this module's buckets and runs, only `GET`, and only the paths below.
 *
 * - `GET /` the page
 * - `GET /api/module` the graph, each node in its state
 * - `GET /api/bucket?location=BUCKET/PATH` a bucket's view
 * - `GET /api/rows?location=BUCKET/PATH` its first rows
 * - `GET /api/runs` the module's runs
 * - `GET /api/runs/RUN_ID` one run
 *
 * @module
 */
import { GlacierError } from "../core/errors.ts";
import type { ModuleData } from "./module_data.ts";
import { UiNotFound } from "./module_data.ts";
import type { UiPage } from "./page.ts";

/** The cookie that carries the token after the first request that gave it in the address. */
const TOKEN_COOKIE = "glacier_ui_token";

/** How the server is reached. */
export interface UiServerOptions {
  /** The address to bind (default `127.0.0.1`). */
  readonly hostname?: string;
  /** The port (default 8080; 0 picks a free one). */
  readonly port?: number;
  /** The token a non-loopback server asks for (default: a random one). */
  readonly token?: string;
}

/** A running server. */
export interface UiServer {
  /** The address to open, with the token when one is needed. */
  readonly url: string;
  /** The token, when the server asks for one. */
  readonly token?: string;
  /** Resolves when the server has stopped. */
  readonly finished: Promise<void>;
  /** Stops the server. */
  shutdown(): Promise<void>;
}

/**
 * Whether an address is this machine's loopback.
 *
 * @param hostname an address or host name.
 * @returns `true` for `127.0.0.0/8`, `::1` and `localhost`.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isLoopback } from "./server.ts";
 *
 * assert.equal(isLoopback("127.0.0.1"), true);
 * assert.equal(isLoopback("0.0.0.0"), false);
 * ```
 */
export function isLoopback(hostname: string): boolean {
  const bare = hostname.replace(/^\[|\]$/g, "").toLowerCase();
  return bare === "localhost" || bare === "::1" || /^127\.\d+\.\d+\.\d+$/.test(bare);
}

/**
 * Starts the server.
 *
 * @param data the module's data.
 * @param page the page.
 * @param options where to listen.
 * @returns the running server.
 * @throws {GlacierError} when the port is in use or the address cannot be bound.
 */
export function serveUi(data: ModuleData, page: UiPage, options: UiServerOptions = {}): UiServer {
  const hostname = options.hostname ?? "127.0.0.1";
  const port = options.port ?? 8080;
  const token = isLoopback(hostname) ? undefined : options.token ?? randomToken();
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve(
      { hostname, port, onListen: () => {} },
      uiHandler(data, page, { token }),
    );
  } catch (error) {
    if (error instanceof Deno.errors.AddrInUse) {
      throw new GlacierError(
        `port ${port} on ${hostname} is in use (another program, or another glacier ui); ` +
          "choose another with --port",
        { cause: error },
      );
    }
    if (error instanceof Deno.errors.AddrNotAvailable || error instanceof Deno.errors.NotFound) {
      throw new GlacierError(
        `cannot listen on ${hostname}: this machine has no such address; ` +
          "give one of its own with --host (the default is 127.0.0.1)",
        { cause: error },
      );
    }
    throw error;
  }
  const shown = hostname.includes(":") ? `[${hostname}]` : hostname;
  const base = `http://${shown}:${server.addr.port}/`;
  return {
    url: token ? `${base}?token=${token}` : base,
    ...(token ? { token } : {}),
    finished: server.finished,
    shutdown: () => server.shutdown(),
  };
}

/**
 * The server's request handler.
 *
 * @param data the module's data.
 * @param page the page.
 * @param access the token every request must carry, when there is one.
 * @returns the handler.
 */
export function uiHandler(
  data: ModuleData,
  page: UiPage,
  access: { readonly token?: string },
): (request: Request) => Promise<Response> {
  return async (request) => {
    const url = new URL(request.url);
    if (access.token === undefined && !isLoopback(hostOf(request))) {
      // A page elsewhere that points its own name at 127.0.0.1 (DNS rebinding) gets nothing.
      return text(403, "this Glacier UI answers only to addresses of this machine (127.0.0.1)");
    }
    const fromAddress = url.searchParams.get("token");
    if (access.token !== undefined) {
      const given = fromAddress ?? bearer(request) ?? cookie(request, TOKEN_COOKIE);
      if (given === undefined || !sameText(given, access.token)) {
        return text(
          401,
          "this Glacier UI asks for its token: open the address that 'glacier MODULE ui' " +
            "printed, which ends in ?token=...",
        );
      }
    }
    if (request.method !== "GET" && request.method !== "HEAD") {
      return json(405, { error: `the Glacier UI only reads: ${request.method} is not allowed` });
    }
    try {
      const path = url.pathname;
      if (path === "/") {
        const headers = new Headers(pageHeaders(page));
        if (access.token !== undefined && fromAddress !== null) {
          headers.set(
            "set-cookie",
            `${TOKEN_COOKIE}=${access.token}; HttpOnly; SameSite=Strict; Path=/`,
          );
        }
        return new Response(page.html, { headers });
      }
      const location = url.searchParams.get("location") ?? "";
      if (path === "/api/module") return json(200, await data.moduleView());
      if (path === "/api/bucket") return json(200, await data.bucketView(location));
      if (path === "/api/rows") return json(200, await data.rowsView(location));
      if (path === "/api/runs") return json(200, await data.runsView());
      if (path.startsWith("/api/runs/")) {
        return json(200, await data.runView(decodeURIComponent(path.slice("/api/runs/".length))));
      }
      return json(404, { error: `the Glacier UI has nothing at ${path}` });
    } catch (error) {
      if (error instanceof UiNotFound) return json(404, { error: error.message });
      return json(500, { error: error instanceof Error ? error.message : String(error) });
    }
  };
}

/**
 * The headers the page is served with.
 *
 * @param page the page.
 * @returns the headers.
 */
export function pageHeaders(page: UiPage): Record<string, string> {
  return {
    "content-type": "text/html; charset=utf-8",
    "content-security-policy": page.csp,
    ...COMMON_HEADERS,
  };
}

const COMMON_HEADERS = {
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
  "cache-control": "no-store",
};

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json; charset=utf-8", ...COMMON_HEADERS },
  });
}

function text(status: number, body: string): Response {
  return new Response(body + "\n", {
    status,
    headers: { "content-type": "text/plain; charset=utf-8", ...COMMON_HEADERS },
  });
}

function hostOf(request: Request): string {
  const host = request.headers.get("host") ?? new URL(request.url).host;
  try {
    return new URL(`http://${host}`).hostname;
  } catch {
    return "";
  }
}

function bearer(request: Request): string | undefined {
  return request.headers.get("authorization")?.match(/^Bearer\s+(\S+)$/i)?.[1];
}

function cookie(request: Request, name: string): string | undefined {
  for (const part of (request.headers.get("cookie") ?? "").split(";")) {
    const [key, ...value] = part.trim().split("=");
    if (key === name) return value.join("=");
  }
  return undefined;
}

/** Compares two texts in time that does not depend on where they differ. */
function sameText(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}

function randomToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
