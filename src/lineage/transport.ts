/**
 * Where OpenLineage events go, configured by the environment variables the official OpenLineage
 * clients read: `OPENLINEAGE_URL` (with `OPENLINEAGE_ENDPOINT`, default `api/v1/lineage`, and
 * `OPENLINEAGE_API_KEY`, sent as a bearer token) posts each event to an HTTP API such as
 * Marquez's; `OPENLINEAGE__TRANSPORT__TYPE=file` with `OPENLINEAGE__TRANSPORT__LOG_FILE_PATH`
 * appends one event per line to a file; `OPENLINEAGE_DISABLED=true` turns emission off;
 * `OPENLINEAGE_NAMESPACE` names the jobs' namespace (default `glacier`);
 * `OPENLINEAGE__TRANSPORT__TIMEOUT` bounds a send, in seconds (default 5).
 *
 * @module
 */
import { env } from "../core/env.ts";
import type { RunEvent } from "./events.ts";

/** Sends events somewhere. */
export interface Transport {
  /** Where the events go, for messages: a URL or a file path. */
  readonly target: string;
  /**
   * Sends one event.
   *
   * @param event the event.
   * @param signal aborted when the send takes longer than the timeout.
   * @throws when the event could not be delivered.
   */
  send(event: RunEvent, signal: AbortSignal): Promise<void>;
}

/** Posts each event as JSON to an OpenLineage HTTP API (Marquez's `POST /api/v1/lineage`). */
export class HttpTransport implements Transport {
  /** The URL events are posted to. */
  readonly target: string;
  #apiKey: string | undefined;

  /**
   * @param url the server, such as `http://localhost:5000`.
   * @param endpoint the path of the lineage API under it (default `api/v1/lineage`).
   * @param apiKey a key sent as `Authorization: Bearer <key>`.
   */
  constructor(url: string, endpoint = "api/v1/lineage", apiKey?: string) {
    const base = url.endsWith("/") ? url : `${url}/`;
    this.target = new URL(endpoint.replace(/^\//, ""), base).href;
    this.#apiKey = apiKey;
  }

  /**
   * Posts one event.
   *
   * @param event the event.
   * @param signal aborts the request.
   * @throws {Error} when the server cannot be reached or answers with an error status.
   */
  async send(event: RunEvent, signal: AbortSignal): Promise<void> {
    const response = await fetch(this.target, {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        ...(this.#apiKey ? { Authorization: `Bearer ${this.#apiKey}` } : {}),
      },
      body: JSON.stringify(event),
      signal,
    });
    const text = await response.text();
    if (!response.ok) {
      throw new Error(`HTTP ${response.status}${text ? `: ${text.split("\n")[0]}` : ""}`);
    }
  }
}

/** Appends each event to a file as one line of JSON. */
export class FileTransport implements Transport {
  /**
   * @param target the file; created when missing.
   */
  constructor(readonly target: string) {}

  /**
   * Appends one event.
   *
   * @param event the event.
   * @param signal aborts the write.
   * @throws {Error} when the file cannot be written.
   */
  async send(event: RunEvent, signal: AbortSignal): Promise<void> {
    await Deno.writeTextFile(this.target, JSON.stringify(event) + "\n", { append: true, signal });
  }
}

/** The OpenLineage settings the environment gives. */
export interface LineageSettings {
  /** Where events go. */
  readonly transport: Transport;
  /** The namespace of the jobs. */
  readonly namespace: string;
  /** The longest one send may take, in seconds. */
  readonly timeoutSeconds: number;
}

/**
 * Reads the OpenLineage settings from the environment, as the official clients do.
 *
 * @param read reads a variable (default: the process environment, empty counting as unset).
 * @returns the settings, or `undefined` when nothing is configured or emission is disabled.
 * @throws {TypeError} for a transport type other than `http` or `file`, a file transport without
 *   a path, an HTTP transport without a URL, or a timeout that is not a positive number.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { lineageSettings } from "./transport.ts";
 * const vars: Record<string, string> = {
 *   OPENLINEAGE__TRANSPORT__TYPE: "file",
 *   OPENLINEAGE__TRANSPORT__LOG_FILE_PATH: "/tmp/events.jsonl",
 * };
 * const settings = lineageSettings((name) => vars[name]);
 * assert.equal(settings?.transport.target, "/tmp/events.jsonl");
 * assert.equal(settings?.namespace, "glacier");
 * assert.equal(settings?.timeoutSeconds, 5);
 * assert.equal(lineageSettings(() => undefined), undefined);
 * ```
 */
export function lineageSettings(
  read: (name: string) => string | undefined = env,
): LineageSettings | undefined {
  if (read("OPENLINEAGE_DISABLED")?.toLowerCase() === "true") return undefined;
  const type = read("OPENLINEAGE__TRANSPORT__TYPE")?.toLowerCase();
  const url = read("OPENLINEAGE__TRANSPORT__URL") ?? read("OPENLINEAGE_URL");
  let transport: Transport;
  if (type === "file") {
    const path = read("OPENLINEAGE__TRANSPORT__LOG_FILE_PATH");
    if (path === undefined) {
      throw new TypeError(
        "OPENLINEAGE__TRANSPORT__TYPE is 'file' but OPENLINEAGE__TRANSPORT__LOG_FILE_PATH is not " +
          "set; set it to the file the events should be appended to",
      );
    }
    transport = new FileTransport(path);
  } else if (type === "http" || (type === undefined && url !== undefined)) {
    if (url === undefined) {
      throw new TypeError(
        "OPENLINEAGE__TRANSPORT__TYPE is 'http' but OPENLINEAGE_URL is not set; set it to the " +
          "OpenLineage server, such as http://localhost:5000",
      );
    }
    transport = new HttpTransport(
      url,
      read("OPENLINEAGE__TRANSPORT__ENDPOINT") ?? read("OPENLINEAGE_ENDPOINT"),
      read("OPENLINEAGE__TRANSPORT__AUTH__API_KEY") ?? read("OPENLINEAGE_API_KEY"),
    );
  } else if (type === undefined) {
    return undefined;
  } else {
    throw new TypeError(
      `OPENLINEAGE__TRANSPORT__TYPE '${type}' is not one Glacier sends to; use 'http' (with ` +
        "OPENLINEAGE_URL) or 'file' (with OPENLINEAGE__TRANSPORT__LOG_FILE_PATH)",
    );
  }
  const timeout = read("OPENLINEAGE__TRANSPORT__TIMEOUT");
  const timeoutSeconds = timeout === undefined ? 5 : Number(timeout);
  if (!(timeoutSeconds > 0) || !Number.isFinite(timeoutSeconds)) {
    throw new TypeError(
      `OPENLINEAGE__TRANSPORT__TIMEOUT must be a positive number of seconds, got '${timeout}'`,
    );
  }
  return {
    transport,
    namespace: read("OPENLINEAGE_NAMESPACE") ?? "glacier",
    timeoutSeconds,
  };
}
