/**
 * The run UI follows a run as it happens, and stays usable on a module of 200 steps.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { eventually, launchChromium, SCREENSHOTS, startUi } from "./_browser.ts";

const modUrl = new URL("../../mod.ts", import.meta.url).href;

/** A module of three steps whose middle one takes a few seconds when GLACIER_UI_SLOW is set. */
function slowModule(root: string): string {
  return `
import { pl, Provider, schema, t } from "${modUrl}";
const provider = new Provider({ localRoot: ${JSON.stringify(join(root, "data"))} });
const local = provider.local();
const S = schema({ id: t.int64 });
const raw = provider.bucket({ bucket: "live-test", path: "raw.parquet", schema: S });
const a = provider.bucket({ bucket: "live-test", path: "a.parquet", schema: S });
const b = provider.bucket({ bucket: "live-test", path: "b.parquet", schema: S });
const c = provider.bucket({ bucket: "live-test", path: "c.parquet", schema: S });
const slow = Number(Deno.env.get("GLACIER_UI_SLOW") ?? 0);
const copy = (name: string, wait = 0) => local.task({ name, input: S, output: S }, (df) => {
  const until = Date.now() + wait;
  while (Date.now() < until) { /* a slow task */ }
  return df;
});
export const chain = raw.transform(copy("first")).to(a).transform(copy("second", slow)).to(b)
  .transform(copy("third")).to(c).withName("chain");
if (import.meta.main) {
  await raw.write(pl.DataFrame({ id: pl.Series("id", [1, 2, 3], pl.Int64) }));
  await chain.run({ mode: "local", quiet: true });
}
`;
}

/** A module of 200 steps: 20 sources, each a chain of 10 tasks, joined pairwise at the end. */
function largeModule(root: string): string {
  return `
import { Provider, schema, t } from "${modUrl}";
const provider = new Provider({ localRoot: ${JSON.stringify(join(root, "data"))} });
const local = provider.local();
const S = schema({ id: t.int64, v: t.float64 });
const step = (name: string) => local.task({ name, input: S, output: S }, (df) => df);
const chains = Array.from({ length: 20 }, (_, i) => {
  let bucket = provider.bucket({ bucket: "large-test", path: \`src_\${i}.parquet\`, schema: S });
  for (let j = 0; j < 10; j++) {
    bucket = bucket.transform(step(\`t_\${i}_\${j}\`)).to(
      provider.bucket({ bucket: "large-test", path: \`b_\${i}_\${j}.parquet\`, schema: S }),
    );
  }
  return bucket;
});
${Array.from({ length: 20 }, (_, i) => `export const p${i} = chains[${i}];`).join("\n")}
`;
}

Deno.test({
  name: "the run UI follows a run live and draws 200 steps",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const browser = await launchChromium();
    const page = await browser.newPage({ viewport: { width: 1400, height: 820 } });
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    try {
      await t.step("a task turns running, then up to date, while a run goes on", async () => {
        const root = await Deno.makeTempDir({ prefix: "glacier-ui-live-" });
        const module = join(root, "chain.ts");
        await Deno.writeTextFile(module, slowModule(root));
        const ui = await startUi(root, module);
        try {
          await page.goto(ui.url);
          await page.waitForSelector('.node[aria-label="task second"][data-state="never run"]');
          const run = new Deno.Command(Deno.execPath(), {
            args: ["run", "-A", module],
            env: { GLACIER_UI_SLOW: "4000" },
            stdout: "null",
            stderr: "piped",
          }).spawn();
          await page.waitForSelector('.node[aria-label="task second"][data-state="running"]', {
            timeout: 30_000,
          });
          assert.equal(
            await page.getAttribute('.node[aria-label="task first"]', "data-state"),
            "up to date",
          );
          await page.screenshot({ path: join(SCREENSHOTS, "graph-running.png") });
          await page.click("nav >> text=Runs");
          await page.click("table.runs tbody tr:first-child a");
          await page.waitForSelector(".timeline .bar.pending");
          assert.match(await page.textContent("table.steps") ?? "", /second.*not ended yet/s);
          const status = await run.output();
          assert.equal(status.code, 0, new TextDecoder().decode(status.stderr));
          await eventually(
            "the run view to show the run succeeded",
            async () => /succeeded/.test(await page.textContent(".run-view .badge") ?? ""),
          );
          assert.equal((await page.$$(".timeline .bar.pending")).length, 0);
          await page.click("nav >> text=Graph");
          await page.waitForSelector('.node[aria-label="task third"][data-state="up to date"]');
        } finally {
          await ui.stop();
        }
      });

      await t.step("200 steps are drawn at once, readable, and pan and zoom", async () => {
        const root = await Deno.makeTempDir({ prefix: "glacier-ui-large-" });
        const module = join(root, "large.ts");
        await Deno.writeTextFile(module, largeModule(root));
        const ui = await startUi(root, module);
        try {
          const started = performance.now();
          await page.goto(ui.url);
          await page.waitForSelector("svg.graph .node");
          const drawn = (performance.now() - started) / 1000;
          assert.equal((await page.$$('svg.graph .node[data-kind="task"]')).length, 200);
          assert.equal((await page.$$('svg.graph .node[data-kind="bucket"]')).length, 220);
          assert.ok(drawn < 10, `the page took ${drawn.toFixed(1)} s to draw 200 steps`);
          // It opens at a scale where labels are shown, not shrunk to fit.
          assert.equal(
            await page.$eval("svg.graph", (svg) => svg.classList.contains("far")),
            false,
          );
          const transform = () => page.getAttribute("svg.graph .viewport", "transform");
          const before = await transform();
          await page.mouse.move(700, 400);
          await page.mouse.wheel(0, 400);
          assert.notEqual(await transform(), before);
          await page.click("button:has-text('fit')");
          assert.equal(await page.$eval("svg.graph", (svg) => svg.classList.contains("far")), true);
          await page.fill("input[type=search]", "t_19_9");
          await page.press("input[type=search]", "Enter");
          assert.equal(
            await page.getAttribute('.node[aria-label="task t_19_9"]', "class"),
            "node task state-never-run selected",
          );
          await page.screenshot({ path: join(SCREENSHOTS, "graph-200-steps.png") });
        } finally {
          await ui.stop();
        }
      });
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
    }
  },
});
