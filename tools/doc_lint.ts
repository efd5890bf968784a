/**
 * `deno doc --lint` over the package's entry points. Glacier re-exports the polars module as
 * `pl`, so the doc linter also walks nodejs-polars' own declaration files and reports their
 * missing docs; those are polars' to fix, not ours. This script fails on every diagnostic located
 * in this repository, and on a private-type reference unless the referenced type is declared in
 * an npm package. It prints how many third-party diagnostics it set aside.
 *
 * @module
 */
const entryPoints = ["mod.ts", "cli.ts", "stack.ts"];

const out = await new Deno.Command(Deno.execPath(), {
  args: ["doc", "--lint", ...entryPoints],
  env: { NO_COLOR: "1" },
  stdout: "null",
  stderr: "piped",
}).output();
const text = new TextDecoder().decode(out.stderr);
const blocks = text.split(/\n(?=error\[)/).filter((b) => b.startsWith("error["));
const repo = new URL("..", import.meta.url).pathname;
const isOurs = (path: string) => path.startsWith(repo) && !path.includes("/node_modules/");

const ours: string[] = [];
let thirdParty = 0;
for (const block of blocks) {
  const location = block.match(/-->\s+(\S+):\d+:\d+/)?.[1] ?? "";
  if (!isOurs(location)) {
    thirdParty++;
    continue;
  }
  ours.push(block.trim());
}
if (!out.success && blocks.length === 0) {
  console.error(text);
  Deno.exit(1);
}
for (const block of ours) console.error(block + "\n");
console.log(
  `deno doc --lint ${entryPoints.join(" ")}: ${ours.length} problems in Glacier's code, ` +
    `${thirdParty} in nodejs-polars' own declaration files (not ours to fix)`,
);
Deno.exit(ours.length === 0 ? 0 : 1);
