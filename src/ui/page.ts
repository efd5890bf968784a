/**
 * The run UI's one HTML page: its style, the layout library (dagre, read from its npm package and
 * inlined, so the page needs no network) and the page's own script, all in one document. The
 * static report is the same page with the API's answers embedded as JSON.
 *
 * @module
 */

/** A page ready to serve or write, with the Content-Security-Policy that allows its scripts. */
export interface UiPage {
  /** The HTML document. */
  readonly html: string;
  /** The policy: only the page's own inline scripts run, nothing is loaded from elsewhere. */
  readonly csp: string;
}

/**
 * Builds the page.
 *
 * @param title the module's name, for the title.
 * @param data the API's answers by path, for a static report (the served page fetches them).
 * @returns the page and its policy.
 */
export async function buildPage(
  title: string,
  data?: Readonly<Record<string, unknown>>,
): Promise<UiPage> {
  const [css, app, layout] = await Promise.all([
    asset("app.css"),
    asset("app.js"),
    layoutLibrary(),
  ]);
  const scripts = [layout, app].map(scriptText);
  const hashes = await Promise.all(scripts.map(sha256Base64));
  const csp = [
    "default-src 'none'",
    `script-src ${hashes.map((h) => `'sha256-${h}'`).join(" ")}`,
    "style-src 'unsafe-inline'",
    "connect-src 'self'",
    "img-src data:",
    "base-uri 'none'",
    "form-action 'none'",
  ].join("; ");
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${escapeHtml(csp)}">
<meta name="referrer" content="no-referrer">
<title>Glacier · ${escapeHtml(title)}</title>
<style>
${css}</style>
</head>
<body>
<header>
<span class="brand">Glacier</span>
<nav><a href="#/" data-section="/">Graph</a><a href="#/runs" data-section="/run">Runs</a></nav>
<span id="status">${escapeHtml(title)}</span>
</header>
<main id="view"><p>Loading the module…</p><noscript>This page draws the module with JavaScript; turn it on to see the graph.</noscript></main>
${
    data === undefined
      ? ""
      : `<script id="glacier-data" type="application/json">${jsonInHtml(data)}</script>\n`
  }${scripts.map((s) => `<script>${s}</script>`).join("\n")}
</body>
</html>
`;
  return { html, csp };
}

/**
 * Text made safe to place in HTML, in an element or a quoted attribute.
 *
 * @param text any text.
 * @returns the text with `& < > " '` escaped.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { escapeHtml } from "./page.ts";
 *
 * assert.equal(escapeHtml(`<img src=x onerror="alert(1)">`), "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;");
 * ```
 */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c]);
}

const ENTITIES: Readonly<Record<string, string>> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** JSON that cannot end its script element or be read as markup. */
function jsonInHtml(data: unknown): string {
  return JSON.stringify(data).replace(/</g, "\\u003c").replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}

/** Script text that cannot end its script element early. */
function scriptText(code: string): string {
  return code.replace(/<\/(script)/gi, "<\\/$1");
}

async function sha256Base64(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  let binary = "";
  for (const byte of new Uint8Array(digest)) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/** A file beside this module: read from disk, or fetched when Glacier runs from a URL. */
async function readBeside(url: URL): Promise<string> {
  if (url.protocol === "file:") return await Deno.readTextFile(url);
  const response = await fetch(url);
  if (!response.ok) {
    throw new Error(`cannot load the run UI's ${url.href}: status ${response.status}`);
  }
  return await response.text();
}

function asset(name: string): Promise<string> {
  return readBeside(new URL(`./assets/${name}`, import.meta.url));
}

/**
 * dagre's browser build, read from the npm package Deno installed, with its licence. The version
 * is pinned here and nowhere else.
 */
async function layoutLibrary(): Promise<string> {
  // Importing it puts the package in Deno's module graph, so that it resolves to its files.
  await import("npm:@dagrejs/dagre@3.1.3");
  const entry = new URL(import.meta.resolve("npm:@dagrejs/dagre@3.1.3"));
  const [code, licence] = await Promise.all([
    readBeside(new URL("dagre.min.js", entry)),
    readBeside(new URL("dagre.min.js.LEGAL.txt", entry)),
  ]);
  return `/* @dagrejs/dagre 3.1.3, inlined by Glacier */\n${licence}\n` +
    code.replace(/^\/\/# sourceMappingURL=.*$/m, "");
}
