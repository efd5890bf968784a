/**
 * The run UI of `examples/complete.ts` in a real browser, as a new user meets it: the whole
 * module before any run, the states changing while the pipeline runs in another process, a
 * bucket's rows, a run's reasons, a changed input, data that is gone, and the static report
 * opened from disk.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { Page } from "npm:playwright-core@1.65.1";
import {
  CLI,
  COMPLETE,
  deno,
  eventually,
  launchChromium,
  SCREENSHOTS,
  startUi,
} from "./_browser.ts";

const TASKS = [
  "category_sales",
  "clean_orders",
  "customer_value",
  "enrich_orders",
  "normalize_customers",
  "regional_sales",
];
const BUCKETS = [
  "clean/customers.parquet",
  "clean/orders.parquet",
  "out/category_sales.parquet",
  "out/customer_value.arrow",
  "out/regional_sales.parquet",
  "raw/customers.ndjson",
  "raw/orders.csv",
  "raw/products.parquet",
  "stage/enriched.parquet",
];

/** Each drawn node's label and state, by kind. */
function nodes(page: Page, kind: "task" | "bucket") {
  return page.$$eval(
    `svg.graph .node[data-kind="${kind}"]`,
    (els) =>
      els.map((el) => [el.querySelector(".label")!.textContent!, el.getAttribute("data-state")!])
        .sort(),
  );
}

Deno.test({
  name: "the run UI of examples/complete.ts, as a user sees it",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const browser = await launchChromium();
    const cwd = await Deno.makeTempDir({ prefix: "glacier-ui-browser-" });
    const ui = await startUi(cwd, COMPLETE);
    const page = await browser.newPage({ viewport: { width: 1400, height: 820 } });
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    try {
      await t.step("the graph shows every task and bucket once, before any run", async () => {
        await page.goto(ui.url);
        await page.waitForSelector("svg.graph .node");
        assert.deepEqual(
          await nodes(page, "task"),
          TASKS.map((name) => [name, "never run"]),
        );
        const buckets = await nodes(page, "bucket");
        assert.deepEqual(buckets.map(([label]) => label), BUCKETS);
        assert.deepEqual(
          buckets.filter(([label]) => label.startsWith("raw/")).map(([, state]) => state),
          ["no data", "no data", "no data"],
        );
        assert.match(await page.textContent(".banner") ?? "", /No runs recorded yet/);
        // Each task shows the resource it runs on.
        assert.equal(
          await page.textContent('.node[aria-label="task enrich_orders"] .detail'),
          "spark x2",
        );
        await page.screenshot({ path: join(SCREENSHOTS, "graph-never-run.png") });
      });

      await t.step("a run in another terminal turns every node up to date", async () => {
        const run = await deno(cwd, ["run", "-A", COMPLETE, "run", "--quiet"]);
        assert.equal(run.code, 0, run.stderr);
        await eventually(
          "every task up to date",
          async () => (await nodes(page, "task")).every(([, state]) => state === "up to date"),
        );
        assert.deepEqual(
          (await nodes(page, "bucket")).map(([, state]) => state),
          BUCKETS.map(() => "up to date"),
        );
        assert.match(await page.textContent("#status") ?? "", /last run succeeded/);
        await page.screenshot({ path: join(SCREENSHOTS, "graph-up-to-date.png") });
      });

      await t.step("a click on a bucket opens its view with its first rows", async () => {
        await page.click('.node[aria-label="bucket out/regional_sales.parquet"]');
        await page.waitForSelector("table.data tbody tr");
        assert.deepEqual(
          await page.$$eval("table.data thead th", (ths) => ths.map((th) => th.textContent)),
          ["regionString", "ordersInt64", "revenueFloat64"],
        );
        const regions = await page.$$eval(
          "table.data tbody tr td:first-child",
          (tds) => tds.map((td) => td.textContent).sort(),
        );
        assert.deepEqual(regions, ["americas", "apac", "emea"]);
        assert.match(await page.textContent(".versions") ?? "", /regional_sales.*current/s);
        assert.match(await page.textContent(".lineage") ?? "", /amount/);
        await page.screenshot({ path: join(SCREENSHOTS, "bucket.png"), fullPage: true });
      });

      await t.step("a run's view says why each step ran, with a bar for each", async () => {
        await page.click("nav >> text=Runs");
        await page.click("table.runs tbody tr:first-child a");
        await page.waitForSelector("table.steps");
        const reasons = await page.$$eval(
          "table.steps tbody tr td:nth-child(3)",
          (tds) => tds.map((td) => td.textContent),
        );
        assert.deepEqual(reasons, TASKS.map(() => "no previous run"));
        assert.equal((await page.$$(".timeline .lane .bar.state-ran")).length, TASKS.length);
        await page.screenshot({ path: join(SCREENSHOTS, "run.png") });
      });

      await t.step("a changed input makes its task stale, and says why", async () => {
        const raw = join(cwd, ".glacier", "data", "glacier-demo", "raw", "orders.csv");
        await Deno.writeTextFile(raw, await Deno.readTextFile(raw) + "\n");
        await page.click("nav >> text=Graph");
        await eventually(
          "clean_orders stale",
          async () =>
            (await nodes(page, "task")).some(([name, state]) =>
              name === "clean_orders" && state === "stale"
            ),
        );
        assert.equal(
          await page.textContent('.node[aria-label="task clean_orders"] .reason'),
          "stale: input changed",
        );
        await page.screenshot({ path: join(SCREENSHOTS, "graph-stale.png") });
      });

      await t.step("a bucket whose data is gone says so on the page", async () => {
        await Deno.remove(
          join(cwd, ".glacier", "data", "glacier-demo", "out", "category_sales.parquet"),
        );
        await page.click('.node[aria-label="bucket out/category_sales.parquet"]');
        await page.waitForSelector(".rows .message.error");
        assert.match(
          await page.textContent(".rows .message.error") ?? "",
          /bucket 'glacier-demo\/out\/category_sales.parquet' has no data at .*category_sales.parquet/,
        );
      });

      await t.step("the static report opens from disk, with no network", async () => {
        const out = join(cwd, "report");
        const written = await deno(cwd, ["run", "-A", CLI, COMPLETE, "report", "--out", out]);
        assert.equal(written.code, 0, written.stderr);
        const requested: string[] = [];
        const offline = await browser.newPage({ viewport: { width: 1400, height: 820 } });
        offline.on("request", (r) => requested.push(r.url()));
        offline.on("pageerror", (e) => errors.push(e.message));
        await offline.goto(`file://${out}/index.html`);
        await offline.waitForSelector("svg.graph .node");
        assert.deepEqual((await nodes(offline, "task")).map(([name]) => name), TASKS);
        await offline.click('.node[aria-label="bucket out/regional_sales.parquet"]');
        await offline.waitForSelector("table.data tbody tr");
        assert.equal((await offline.$$("table.data tbody tr")).length, 3);
        await offline.click("nav >> text=Runs");
        await offline.waitForSelector("table.runs tbody tr");
        assert.deepEqual(requested.filter((url) => !url.startsWith("file://")), []);
        await offline.screenshot({ path: join(SCREENSHOTS, "report.png") });
      });
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
      await ui.stop();
    }
  },
});

Deno.test("a module that fails to import and a port in use are errors on the command line", async () => {
  const cwd = await Deno.makeTempDir({ prefix: "glacier-ui-cli-" });
  await Deno.writeTextFile(join(cwd, "broken.ts"), "export const x = ;\n");
  const broken = await deno(cwd, ["run", "-A", CLI, join(cwd, "broken.ts"), "ui"]);
  assert.equal(broken.code, 1);
  assert.match(broken.stderr, /error: cannot import module '.*broken.ts'/);

  const ui = await startUi(cwd, COMPLETE);
  try {
    const port = new URL(ui.url).port;
    const second = await deno(cwd, ["run", "-A", CLI, COMPLETE, "ui", "--port", port]);
    assert.equal(second.code, 1);
    assert.match(
      second.stderr,
      new RegExp(`error: port ${port} on 127.0.0.1 is in use .*choose another with --port`),
    );
  } finally {
    await ui.stop();
  }
});
