import assert from "node:assert/strict";
import { join } from "node:path";
import { GlacierError } from "../core/errors.ts";
import { daily, pl, Provider, schema, t } from "../../mod.ts";
import { columnLineage } from "../lineage/column_lineage.ts";
import { localStore } from "./local_store.ts";
import { ModuleData } from "./module_data.ts";
import { buildPage } from "./page.ts";
import { serveUi, uiHandler } from "./server.ts";

/** A module of two steps on its own local root: raw -> doubled -> total. */
async function shop() {
  const root = await Deno.makeTempDir({ prefix: "glacier-ui-" });
  const provider = new Provider({ localRoot: root });
  const local = provider.local();
  const Raw = schema({ id: t.int64, v: t.float64 });
  const Sum = schema({ total: t.float64 });
  const raw = provider.bucket({ bucket: "ui-test", path: "raw.parquet", schema: Raw });
  const doubled = provider.bucket({ bucket: "ui-test", path: "doubled.parquet", schema: Raw });
  const total = provider.bucket({ bucket: "ui-test", path: "total.csv", schema: Sum });
  const double = local.task(
    { name: "double", input: Raw, output: Raw },
    (df) => df.withColumns(pl.col("v").mul(2)),
  );
  const sum = local.task(
    { name: "sum", input: Raw, output: Sum },
    (df) => df.select(pl.col("v").sum().alias("total")),
  );
  const pipeline = raw.transform(double).to(doubled).transform(sum).to(total).withName("shop");
  const write = (values: number[]) =>
    raw.write(pl.DataFrame({
      id: pl.Series("id", values.map((_, i) => i + 1), pl.Int64),
      v: values,
    }));
  await write([1, 2, 3.5]);
  const graph = pipeline.graph();
  const data = new ModuleData(
    { module: "shop.ts", name: "shop", pipelines: [{ name: "shop" }], graph, columnLineage },
    localStore(graph),
  );
  const handler = uiHandler(data, await buildPage("shop"), {});
  const get = async (path: string) => {
    const response = await handler(new Request(`http://127.0.0.1:8080${path}`));
    return { status: response.status, body: await response.json() };
  };
  return { root, pipeline, write, data, get };
}

const stateOf = (
  body: { nodes: { id: string; state: string; reason: string; keys?: string[] }[] },
  id: string,
) => body.nodes.find((n) => n.id === id);

Deno.test("the module's graph: never run, then up to date after a run, then stale and why", async () => {
  const { pipeline, write, get } = await shop();
  const before = await get("/api/module");
  assert.equal(before.status, 200);
  assert.deepEqual(
    before.body.nodes.map((n: { id: string }) => n.id).sort(),
    [
      "bucket:ui-test/doubled.parquet",
      "bucket:ui-test/raw.parquet",
      "bucket:ui-test/total.csv",
      "task:double",
      "task:sum",
    ],
  );
  assert.equal(stateOf(before.body, "task:double")?.state, "never run");
  assert.equal(stateOf(before.body, "bucket:ui-test/raw.parquet")?.state, "up to date");
  assert.equal(before.body.lastRun, undefined);

  await pipeline.run({ mode: "local", quiet: true });
  const after = await get("/api/module");
  assert.equal(stateOf(after.body, "task:double")?.state, "up to date");
  assert.equal(stateOf(after.body, "bucket:ui-test/total.csv")?.state, "up to date");
  assert.equal(after.body.lastRun.status, "succeeded");

  await write([5, 6]);
  const changed = await get("/api/module");
  assert.deepEqual(stateOf(changed.body, "task:double"), {
    ...stateOf(changed.body, "task:double"),
    state: "stale",
    reason: "input changed",
  });
  assert.equal(stateOf(changed.body, "bucket:ui-test/doubled.parquet")?.state, "stale");
});

Deno.test("a bucket's view: schema, versions, column lineage, and its first rows", async () => {
  const { pipeline, get } = await shop();
  await pipeline.run({ mode: "local", quiet: true });
  const { status, body } = await get("/api/bucket?location=ui-test%2Fdoubled.parquet");
  assert.equal(status, 200);
  assert.deepEqual(body.schema, [{ column: "id", dtype: "Int64" }, {
    column: "v",
    dtype: "Float64",
  }]);
  assert.equal(body.producer.task, "double");
  assert.deepEqual(body.consumers, [{ task: "sum", target: "ui-test/total.csv" }]);
  assert.equal(body.versions.length, 1);
  assert.equal(body.versions[0].rows, 3);
  assert.equal(body.versions[0].current, true);
  const v = body.lineage.upstream.find((c: { column: string }) => c.column === "v");
  assert.deepEqual(v.links, [{
    task: "double",
    bucket: "ui-test/raw.parquet",
    column: "v",
    type: "DIRECT",
    subtype: "TRANSFORMATION",
  }]);
  assert.equal(body.lineage.downstream[0].links[0].bucket, "ui-test/total.csv");

  const rows = await get("/api/rows?location=ui-test%2Fdoubled.parquet");
  assert.equal(rows.status, 200);
  assert.deepEqual(rows.body.rows, [["1", "2"], ["2", "4"], ["3", "7"]]);
  assert.equal(rows.body.total, 3);
});

Deno.test("the API says what is missing: data gone, another module's bucket or run, a path", async () => {
  const { root, pipeline, get } = await shop();
  await pipeline.run({ mode: "local", quiet: true });
  await Deno.remove(join(root, "ui-test", "total.csv"));
  const gone = await get("/api/rows?location=ui-test%2Ftotal.csv");
  assert.equal(gone.status, 404);
  assert.match(gone.body.error, /bucket .ui-test\/total.csv' has no data at .*total.csv/);
  const module = await get("/api/module");
  assert.deepEqual(
    [stateOf(module.body, "task:sum")?.state, stateOf(module.body, "task:sum")?.reason],
    ["stale", "output missing"],
  );

  assert.equal((await get("/api/bucket?location=..%2F..%2Fetc%2Fpasswd")).status, 404);
  assert.match(
    (await get("/api/runs/not-a-run")).body.error,
    /module 'shop' has no run 'not-a-run'/,
  );
  assert.equal((await get("/etc/passwd")).status, 404);
  const runs = await get("/api/runs");
  const run = await get(`/api/runs/${runs.body.runs[0].runId}`);
  assert.deepEqual(run.body.steps.map((s: { reason: string }) => s.reason), [
    "no previous run",
    "no previous run",
  ]);
});

Deno.test("on loopback the server answers only to loopback names; it never writes", async () => {
  const { data } = await shop();
  const handler = uiHandler(data, await buildPage("shop"), {});
  const rebound = await handler(
    new Request("http://127.0.0.1:8080/api/module", { headers: { host: "evil.example:8080" } }),
  );
  assert.equal(rebound.status, 403);
  const posted = await handler(new Request("http://localhost:8080/api/runs", { method: "POST" }));
  assert.equal(posted.status, 405);
});

Deno.test("beyond loopback every request needs the token: address, cookie or bearer", async () => {
  const { data } = await shop();
  const handler = uiHandler(data, await buildPage("shop"), { token: "s3cret" });
  const at = (path: string, headers: Record<string, string> = {}) =>
    handler(new Request(`http://192.0.2.1:8080${path}`, { headers }));
  assert.equal((await at("/")).status, 401);
  assert.equal((await at("/api/module")).status, 401);
  assert.equal((await at("/api/module?token=wrong")).status, 401);
  assert.match(await (await at("/api/runs")).text(), /asks for its token/);
  const page = await at("/?token=s3cret");
  assert.equal(page.status, 200);
  const cookie = page.headers.get("set-cookie")!;
  assert.match(cookie, /^glacier_ui_token=s3cret; HttpOnly; SameSite=Strict/);
  await page.body?.cancel();
  const withCookie = await at("/api/runs", { cookie: cookie.split(";")[0] });
  assert.equal(withCookie.status, 200);
  await withCookie.body?.cancel();
  const withBearer = await at("/api/runs", { authorization: "Bearer s3cret" });
  assert.equal(withBearer.status, 200);
  await withBearer.body?.cancel();
});

Deno.test("serveUi: a generated token beyond loopback, and a port in use named", async () => {
  const { data } = await shop();
  const page = await buildPage("shop");
  const open = serveUi(data, page, { hostname: "0.0.0.0", port: 0 });
  try {
    assert.match(open.url, /^http:\/\/0\.0\.0\.0:\d+\/\?token=[0-9a-f]{48}$/);
    const port = new URL(open.url).port;
    const refused = await fetch(`http://127.0.0.1:${port}/api/module`);
    assert.equal(refused.status, 401);
    await refused.body?.cancel();
  } finally {
    await open.shutdown();
  }
  const first = serveUi(data, page, { port: 0 });
  try {
    assert.equal(first.token, undefined);
    const port = Number(new URL(first.url).port);
    assert.throws(
      () => serveUi(data, page, { port }),
      (error: unknown) =>
        error instanceof GlacierError &&
        error.message === `port ${port} on 127.0.0.1 is in use (another program, or another ` +
            "glacier ui); choose another with --port",
    );
  } finally {
    await first.shutdown();
  }
});

Deno.test("the page escapes what it shows and runs only its own scripts", async () => {
  const page = await buildPage("<img src=x onerror=alert(1)>", {
    "/api/module": { answer: { name: "</script><script>alert(1)</script>" } },
  });
  assert.doesNotMatch(page.html, /<img src=x/);
  assert.doesNotMatch(page.html, /<\/script><script>alert/);
  assert.match(page.html, /Glacier · &lt;img src=x onerror=alert\(1\)&gt;/);
  assert.match(page.csp, /script-src 'sha256-[^']+' 'sha256-[^']+'; /);
  assert.match(page.csp, /default-src 'none'/);
});

Deno.test("a partitioned module: buckets carry their keys, edges how partitions are read", async () => {
  const root = await Deno.makeTempDir({ prefix: "glacier-ui-" });
  const provider = new Provider({ localRoot: root });
  const S = schema({ v: t.float64 });
  const keys = { date: daily({ start: "2026-01-01" }) };
  const raw = provider.bucket({
    bucket: "ui-days",
    path: "raw/{date}.parquet",
    schema: S,
    partitions: keys,
  });
  const total = provider.bucket({ bucket: "ui-days", path: "total.parquet", schema: S });
  const sum = provider.local().task(
    { name: "sum", input: S, output: S },
    (df) => df.select(pl.col("v").sum()),
  );
  const graph = raw.transform(sum).to(total).withName("days").graph();
  const data = new ModuleData(
    { module: "days.ts", name: "days", pipelines: [{ name: "days" }], graph, columnLineage },
    localStore(graph),
  );
  const handler = uiHandler(data, await buildPage("days"), {});
  const body = await (await handler(new Request("http://127.0.0.1:8080/api/module"))).json();
  assert.deepEqual(stateOf(body, "bucket:ui-days/raw/{date}.parquet")?.keys, [
    "date: daily from 2026-01-01",
  ]);
  assert.equal(stateOf(body, "bucket:ui-days/total.parquet")?.keys, undefined);
  assert.deepEqual(
    body.edges.filter((e: { mapping?: string }) => e.mapping).map((e: { mapping: string }) =>
      e.mapping
    ),
    ["all partitions"],
  );
});
