/**
 * OpenLineage events of real runs: every event validates against the spec's JSON Schemas, jobs
 * and datasets are named as OpenLineage names them, column lineage traces output columns to
 * input columns, and the transports (a file; a real HTTP server on loopback playing Marquez's
 * `POST /api/v1/lineage`) deliver them, a failing one with a warning and never a failed run.
 */
import assert from "node:assert/strict";
import { join, resolve } from "node:path";
import { GlacierError, Pipeline, pl, Provider } from "../../mod.ts";
import { buildGraph } from "../../src/core/graph.ts";
import type { BucketRef } from "../../src/core/lineage.ts";
import type { RunReport, StepReport } from "../../src/core/reports.ts";
import type { RunEvent } from "../../src/lineage/events.ts";
import { lineageObservers } from "../../src/lineage/observer.ts";
import { customerReport } from "../../examples/complete.ts";
import { Customers, Joined, Orders, Revenue } from "../_shop.ts";
import { EventValidator, replay } from "./_openlineage.ts";
import { withEnv } from "../_env.ts";

const validator = new EventValidator();

const uriOf = (ref: BucketRef) => resolve(ref.settings.localRoot, ref.bucket, ref.path);

/** The shop of DESIGN section 1 on a fresh local root, with its inputs written. */
async function shop(options: { failing?: boolean } = {}) {
  const root = await Deno.makeTempDir({ prefix: "glacier-lineage-" });
  const provider = new Provider({ localRoot: root });
  const local = provider.local();
  const orders = provider.bucket({ bucket: "shop", path: "raw/orders.parquet", schema: Orders });
  const customers = provider.bucket({
    bucket: "shop",
    path: "raw/customers.csv",
    schema: Customers,
  });
  const joined = provider.bucket({ bucket: "shop", path: "stage/joined.parquet", schema: Joined });
  const revenue = provider.bucket({ bucket: "shop", path: "out/revenue.parquet", schema: Revenue });
  const join = local.task(
    {
      name: "join_orders_customers",
      inputs: { orders_df: Orders, customers_df: Customers },
      output: Joined,
    },
    ({ orders_df, customers_df }) => orders_df.join(customers_df, { on: "customer_id" }),
  );
  const byRegion = local.task(
    { name: "revenue_by_region", input: Joined, output: Revenue },
    (df) =>
      df.groupBy("region").agg(
        (options.failing ? pl.col("amount").cast(pl.Int8, true).cast(pl.Float64) : pl.col("amount"))
          .sum().alias("revenue"),
      ),
  );
  await orders.write(pl.DataFrame({
    order_id: pl.Series("order_id", [1, 2, 3], pl.Int64),
    customer_id: pl.Series("customer_id", [10, 10, 20], pl.Int64),
    amount: [5.5, 1000.25, 7],
  }));
  await customers.write(pl.DataFrame({
    customer_id: pl.Series("customer_id", [10, 20], pl.Int64),
    region: ["emea", "apac"],
  }));
  const pipeline = new Pipeline({ orders_df: orders, customers_df: customers })
    .transform(join).to(joined).transform(byRegion).to(revenue).withName(
      "shop",
      "Revenue by region",
    );
  return { root, pipeline, graph: buildGraph("shop", pipeline.lineage, pipeline.description) };
}

/** A file transport in a fresh directory, configured as the official clients read it. */
async function fileTransport(extra: Record<string, string> = {}) {
  const dir = await Deno.makeTempDir({ prefix: "glacier-lineage-events-" });
  const path = join(dir, "events.jsonl");
  const vars: Record<string, string> = {
    OPENLINEAGE__TRANSPORT__TYPE: "file",
    OPENLINEAGE__TRANSPORT__LOG_FILE_PATH: path,
    ...extra,
  };
  const warnings: string[] = [];
  const observers = lineageObservers((name) => vars[name], (w) => warnings.push(w));
  assert.equal(observers.length, 1);
  const events = async () =>
    (await Deno.readTextFile(path)).trimEnd().split("\n").map((l) => JSON.parse(l) as RunEvent);
  return { observer: observers[0], events, warnings, path };
}

/** The events of a successful run of the shop, in order. */
const SHOP_RUN = [
  "START shop",
  "START shop.join_orders_customers",
  "START shop.revenue_by_region",
  "COMPLETE shop.join_orders_customers",
  "COMPLETE shop.revenue_by_region",
  "COMPLETE shop",
];

function story(events: readonly RunEvent[]): string[] {
  return events.map((e) => `${e.eventType} ${e.job.name}`);
}

function assertValid(events: readonly RunEvent[]): void {
  for (const event of events) {
    assert.deepEqual(
      validator.problems(event as unknown as Record<string, unknown>),
      [],
      `${event.eventType} ${event.job.name}`,
    );
  }
}

/** The input fields of an output column in an event's column lineage facet. */
function sourcesOf(event: RunEvent, column: string): string[] {
  const facet = event.outputs[0].facets!.columnLineage as unknown as {
    fields: Record<
      string,
      {
        inputFields: {
          name: string;
          field: string;
          transformations: { type: string; subtype: string }[];
        }[];
      }
    >;
  };
  return (facet.fields[column]?.inputFields ?? []).flatMap((f) =>
    f.transformations.map((tr) => `${f.name.split("/").pop()}:${f.field} ${tr.type}/${tr.subtype}`)
  );
}

Deno.test("a run's events validate, name jobs and datasets as OpenLineage does, and trace columns", async () => {
  const { root, pipeline, graph } = await shop();
  const report = await pipeline.run({ mode: "local", quiet: true });
  const { observer, events } = await fileTransport();
  await replay(observer, graph, report, uriOf);
  const sent = await events();
  assertValid(sent);
  assert.deepEqual(story(sent), SHOP_RUN);
  const runId = sent[0].run.runId;
  assert.ok(sent.every((e) => e.job.namespace === "glacier"));
  for (const e of sent.slice(1, 5)) {
    const parent = e.run.facets!.parent as unknown as {
      run: { runId: string };
      job: { name: string };
    };
    assert.equal(parent.run.runId, runId);
    assert.equal(parent.job.name, "shop");
  }
  assert.equal(sent[0].job.facets!.documentation.description, "Revenue by region");
  assert.equal(sent[1].job.facets!.jobType.processingType, "BATCH");
  assert.equal(sent[1].job.facets!.jobType.integration, "GLACIER");

  const [joinEvent, byRegion] = [sent[3], sent[4]];
  assert.deepEqual(
    joinEvent.inputs.map((d) => [d.namespace, d.name]),
    [["file", join(root, "shop/raw/orders.parquet")], [
      "file",
      join(root, "shop/raw/customers.csv"),
    ]],
  );
  assert.deepEqual([joinEvent.outputs[0].namespace, joinEvent.outputs[0].name], [
    "file",
    join(root, "shop/stage/joined.parquet"),
  ]);
  const stats = byRegion.outputs[0].outputFacets!.outputStatistics;
  const stepReport = report.steps.find((s) => s.task === "revenue_by_region")!;
  assert.equal(stats.rowCount, 2);
  assert.equal(stats.size, stepReport.bytes);
  assert.deepEqual(
    (byRegion.outputs[0].facets!.schema.fields as { name: string; type: string }[]).map((f) =>
      `${f.name}: ${f.type}`
    ),
    ["region: String", "revenue: Float64"],
  );
  assert.deepEqual(sourcesOf(joinEvent, "region"), ["customers.csv:region DIRECT/IDENTITY"]);
  assert.deepEqual(sourcesOf(joinEvent, "customer_id"), [
    "orders.parquet:customer_id DIRECT/IDENTITY",
  ]);
  assert.deepEqual(sourcesOf(byRegion, "revenue"), ["joined.parquet:amount DIRECT/AGGREGATION"]);
  const dataset = byRegion.outputs[0].facets!.columnLineage.dataset as { field: string }[];
  assert.deepEqual(dataset.map((f) => f.field), ["region"]);
});

Deno.test("the validator refuses what the spec refuses", async () => {
  const { pipeline, graph } = await shop();
  const report = await pipeline.run({ mode: "local", quiet: true });
  const { observer, events } = await fileTransport();
  await replay(observer, graph, report, uriOf);
  const event = (await events())[3] as unknown as {
    run: { runId: string };
    outputs: { facets: Record<string, Record<string, unknown>> }[];
  };
  event.run.runId = "not-a-uuid";
  delete event.outputs[0].facets.columnLineage.fields;
  event.outputs[0].facets.madeUp = { _producer: "x" };
  assert.deepEqual(validator.problems(event), [
    'event/run/runId: must match format "uuid"',
    "event/outputs/0/facets/madeUp: must have required property '_schemaURL'",
    'event/outputs/0/facets/madeUp/_producer: must match format "uri"',
    "event/outputs/0/facets: must match a schema in anyOf",
    "outputs[0].columnLineage/columnLineage: must have required property 'fields'",
    "outputs[0].madeUp: no schema for this facet",
  ]);
});

Deno.test("a failed step FAILs with its error, a step that ran is ABORTed, the run FAILs", async () => {
  const { pipeline, graph } = await shop({ failing: true });
  const error = await pipeline.run({ mode: "local", quiet: true }).then(
    () => assert.fail("the run should fail"),
    (e: unknown) => e as GlacierError,
  );
  assert.ok(error instanceof GlacierError);
  const started = new Date().toISOString();
  const ran: StepReport = {
    task: "join_orders_customers",
    resource: "local",
    target: "shop/stage/joined.parquet",
    status: "ran",
    reason: "no previous run",
    rows: 3,
    bytes: 900,
    seconds: 0.1,
  };
  const failed: StepReport = {
    task: "revenue_by_region",
    resource: "local",
    target: "shop/out/revenue.parquet",
    status: "failed",
    reason: error.message.split("\n")[0],
    error: error.message,
    rows: 0,
    bytes: 0,
    seconds: 0.1,
  };
  const report: RunReport = {
    runId: "2026-01-03T07-00-00-000Z-0badf00d",
    pipeline: "shop",
    mode: "local",
    status: "failed",
    startedAt: started,
    steps: [ran, failed],
    seconds: 0.3,
    error: error.message,
  };
  const { observer, events } = await fileTransport();
  await replay(observer, graph, report, uriOf);
  const sent = await events();
  assertValid(sent);
  assert.deepEqual(story(sent), [
    "START shop",
    "START shop.join_orders_customers",
    "START shop.revenue_by_region",
    "FAIL shop.revenue_by_region",
    "ABORT shop.join_orders_customers",
    "FAIL shop",
  ]);
  const message = (e: RunEvent) =>
    (e.run.facets!.errorMessage as unknown as { message: string }).message;
  assert.equal(message(sent[3]), error.message);
  assert.equal(message(sent[5]), error.message);
  assert.match(message(sent[3]), /revenue_by_region/);
  assert.deepEqual(sent[4].outputs, [], "an aborted step published nothing");
});

Deno.test("skipped steps emit nothing; check results become data quality assertions", async () => {
  const { pipeline, graph } = await shop();
  const report = await pipeline.run({ mode: "local", quiet: true });
  const [join, byRegion] = ["join_orders_customers", "revenue_by_region"].map((task) =>
    report.steps.find((s) => s.task === task)!
  );
  const rerun: RunReport = {
    ...report,
    runId: `${report.runId}-again`,
    steps: [
      { ...join, status: "skipped", reason: "up to date" },
      {
        ...byRegion,
        checks: [
          {
            name: "not_null(region)",
            bucket: "shop/out/revenue.parquet",
            severity: "error",
            passed: true,
            failingRows: 0,
            sample: [],
          },
          {
            name: "between(revenue, 0, 1000)",
            bucket: "shop/out/revenue.parquet",
            severity: "warn",
            passed: false,
            failingRows: 1,
            sample: [{ region: "emea", revenue: 1005.75 }],
          },
        ],
      },
    ],
  };
  const { observer, events } = await fileTransport();
  await replay(observer, graph, rerun, uriOf);
  const sent = await events();
  assertValid(sent);
  assert.deepEqual(story(sent), [
    "START shop",
    "START shop.revenue_by_region",
    "COMPLETE shop.revenue_by_region",
    "COMPLETE shop",
  ]);
  const assertions = sent[2].outputs[0].facets!.dataQualityAssertions.assertions;
  assert.deepEqual(assertions, [
    {
      assertion: "not_null",
      success: true,
      column: "region",
      severity: "error",
      name: "not_null(region)",
      actual: "0 failing rows",
    },
    {
      assertion: "between",
      success: false,
      column: "revenue",
      severity: "warn",
      name: "between(revenue, 0, 1000)",
      actual: "1 failing rows",
    },
  ]);
});

Deno.test("the file transport appends: two runs, one event per line", async () => {
  const { pipeline, graph } = await shop();
  const report = await pipeline.run({ mode: "local", quiet: true });
  const { observer, events, path } = await fileTransport({ OPENLINEAGE_NAMESPACE: "analytics" });
  await replay(observer, graph, report, uriOf);
  await replay(observer, graph, { ...report, runId: `${report.runId}-2` }, uriOf);
  const sent = await events();
  assert.equal(sent.length, 12);
  assert.equal((await Deno.readTextFile(path)).split("\n").filter((l) => l !== "").length, 12);
  assert.ok(sent.every((e) => e.job.namespace === "analytics"));
  assert.notEqual(sent[0].run.runId, sent[6].run.runId);
});

/** A real HTTP server on loopback playing Marquez's lineage endpoint. */
function marquez(
  answer: (request: Request) => Promise<Response> | Response = () =>
    new Response(null, { status: 201 }),
) {
  const received: { path: string; auth: string | null; type: string | null; event: RunEvent }[] =
    [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    const url = new URL(request.url);
    received.push({
      path: url.pathname,
      auth: request.headers.get("authorization"),
      type: request.headers.get("content-type"),
      event: await request.json(),
    });
    return await answer(request);
  });
  return { url: `http://127.0.0.1:${server.addr.port}`, received, server };
}

Deno.test("the HTTP transport posts every event to the lineage API, with the API key", async () => {
  const { pipeline, graph } = await shop();
  const report = await pipeline.run({ mode: "local", quiet: true });
  const server = marquez();
  try {
    const vars: Record<string, string> = {
      OPENLINEAGE_URL: server.url,
      OPENLINEAGE_API_KEY: "secret-key",
    };
    const warnings: string[] = [];
    const [observer] = lineageObservers((name) => vars[name], (w) => warnings.push(w));
    await replay(observer, graph, report, uriOf);
    assert.deepEqual(warnings, []);
    assert.deepEqual(story(server.received.map((r) => r.event)), SHOP_RUN);
    for (const r of server.received) {
      assert.equal(r.path, "/api/v1/lineage");
      assert.equal(r.auth, "Bearer secret-key");
      assert.equal(r.type, "application/json");
    }
    assertValid(server.received.map((r) => r.event));

    vars.OPENLINEAGE_ENDPOINT = "lineage/events";
    delete vars.OPENLINEAGE_API_KEY;
    server.received.length = 0;
    await replay(lineageObservers((name) => vars[name])[0], graph, report, uriOf);
    assert.ok(server.received.every((r) => r.path === "/lineage/events" && r.auth === null));
  } finally {
    await server.server.shutdown();
  }
});

Deno.test("a failing transport is one warning, and the run ends as it would have", async () => {
  const { pipeline, graph } = await shop();
  const report = await pipeline.run({ mode: "local", quiet: true });
  const server = marquez(() => new Response("database is down", { status: 500 }));
  try {
    const warnings: string[] = [];
    const vars: Record<string, string> = { OPENLINEAGE_URL: server.url };
    const [observer] = lineageObservers((name) => vars[name], (w) => warnings.push(w));
    await replay(observer, graph, report, uriOf);
    assert.deepEqual(warnings, [
      `OpenLineage events could not be sent to ${server.url}/api/v1/lineage (HTTP 500: database ` +
      "is down); this run's lineage is incomplete, and the run goes on",
    ]);
    assert.equal(server.received.length, 1, "after the first failure the run's events are dropped");
  } finally {
    await server.server.shutdown();
  }

  // Nobody listens on the port any more.
  const warnings: string[] = [];
  const vars: Record<string, string> = { OPENLINEAGE_URL: server.url };
  await replay(
    lineageObservers((name) => vars[name], (w) => warnings.push(w))[0],
    graph,
    report,
    uriOf,
  );
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /could not be sent to http:\/\/127\.0\.0\.1:\d+\/api\/v1\/lineage/);
});

Deno.test("a server that never answers delays the run by no more than the timeout", async () => {
  const { pipeline, graph } = await shop();
  const report = await pipeline.run({ mode: "local", quiet: true });
  let release!: () => void;
  const released = new Promise<void>((resolve) => release = resolve);
  const server = marquez(async () => {
    await released;
    return new Response(null, { status: 201 });
  });
  try {
    const warnings: string[] = [];
    const vars: Record<string, string> = {
      OPENLINEAGE_URL: server.url,
      OPENLINEAGE__TRANSPORT__TIMEOUT: "0.5",
    };
    const [observer] = lineageObservers((name) => vars[name], (w) => warnings.push(w));
    const started = performance.now();
    await replay(observer, graph, report, uriOf);
    const seconds = (performance.now() - started) / 1000;
    assert.ok(seconds < 1.5, `the run waited ${seconds.toFixed(2)} s for lineage`);
    assert.match(warnings.join("\n"), /no answer within 0\.5 s/);
  } finally {
    release();
    await server.server.shutdown();
  }
});

Deno.test("with nothing configured nothing is sent; disabled wins; a broken setting warns", () => {
  const none = (vars: Record<string, string>) => {
    const warnings: string[] = [];
    return { observers: lineageObservers((name) => vars[name], (w) => warnings.push(w)), warnings };
  };
  assert.deepEqual(none({}), { observers: [], warnings: [] });
  assert.deepEqual(
    none({ OPENLINEAGE_URL: "http://127.0.0.1:5000", OPENLINEAGE_DISABLED: "true" }),
    { observers: [], warnings: [] },
  );
  assert.deepEqual(none({ OPENLINEAGE__TRANSPORT__TYPE: "file" }).warnings, [
    "OpenLineage: OPENLINEAGE__TRANSPORT__TYPE is 'file' but OPENLINEAGE__TRANSPORT__LOG_FILE_PATH " +
    "is not set; set it to the file the events should be appended to; no events are sent",
  ]);
  assert.match(
    none({ OPENLINEAGE__TRANSPORT__TYPE: "kafka" }).warnings[0],
    /'kafka' is not one Glacier sends to; use 'http' \(with OPENLINEAGE_URL\) or 'file'/,
  );
  assert.match(
    none({ OPENLINEAGE_URL: "http://127.0.0.1:5000", OPENLINEAGE__TRANSPORT__TIMEOUT: "soon" })
      .warnings[0],
    /OPENLINEAGE__TRANSPORT__TIMEOUT must be a positive number of seconds, got 'soon'/,
  );
});

Deno.test("complete.ts: customer_value's columns trace back to the raw inputs", async () => {
  const graph = buildGraph("complete", customerReport.lineage);
  const report: RunReport = {
    runId: "2026-01-03T07-00-00-000Z-c0ffee00",
    pipeline: "complete",
    mode: "local",
    status: "succeeded",
    startedAt: new Date().toISOString(),
    steps: graph.steps.map((s) => ({
      task: s.task.name,
      resource: s.task.resource.label,
      target: s.target.location,
      status: "ran",
      reason: "no previous run",
      rows: 1,
      bytes: 1,
      seconds: 0,
    })),
    seconds: 0,
  };
  const { observer, events } = await fileTransport();
  await replay(observer, graph, report, (ref) => `s3://${ref.bucket}/${ref.path}`);
  const sent = await events();
  assertValid(sent);
  const writers = new Map(
    sent.filter((e) => e.eventType === "COMPLETE" && e.outputs.length > 0).map((e) => [
      `${e.outputs[0].namespace}/${e.outputs[0].name}`,
      e,
    ]),
  );
  /** Follows a column through every step's DIRECT lineage to the buckets no step writes. */
  const trace = (dataset: string, column: string): string[] => {
    const writer = writers.get(dataset);
    if (writer === undefined) return [`${dataset.replace("s3://glacier-demo/", "")}:${column}`];
    const facet = writer.outputs[0].facets!.columnLineage as unknown as {
      fields: Record<
        string,
        {
          inputFields: {
            namespace: string;
            name: string;
            field: string;
            transformations: { type: string }[];
          }[];
        }
      >;
    };
    return [
      ...new Set(
        (facet.fields[column]?.inputFields ?? [])
          .filter((f) => f.transformations.some((tr) => tr.type === "DIRECT"))
          .flatMap((f) => trace(`${f.namespace}/${f.name}`, f.field)),
      ),
    ].sort();
  };
  const out = "s3://glacier-demo/out/customer_value.arrow";
  assert.deepEqual(trace(out, "lifetime_value"), [
    "raw/orders.csv:quantity",
    "raw/orders.csv:unit_price",
  ]);
  assert.deepEqual(trace(out, "region"), ["raw/customers.ndjson:country"]);
  assert.deepEqual(trace(out, "customer_id"), ["raw/orders.csv:customer_id"]);
  assert.deepEqual(trace(out, "first_order"), ["raw/orders.csv:ordered_on"]);
  assert.deepEqual(trace(out, "orders"), []);
  const enrich = [...writers.values()].find((e) => e.job.name === "complete.enrich_orders")!;
  assert.deepEqual(enrich.outputs[0].namespace, "s3://glacier-demo");
  assert.deepEqual(enrich.outputs[0].name, "stage/enriched.parquet");
});

Deno.test("a real run emits its events through the transport its environment names; a rerun that skips everything emits only the run's", async () => {
  const { pipeline } = await shop();
  const dir = await Deno.makeTempDir({ prefix: "glacier-lineage-run-" });
  const path = join(dir, "events.jsonl");
  const read = async () =>
    (await Deno.readTextFile(path)).trimEnd().split("\n").map((l) => JSON.parse(l) as RunEvent);
  await withEnv(
    { OPENLINEAGE__TRANSPORT__TYPE: "file", OPENLINEAGE__TRANSPORT__LOG_FILE_PATH: path },
    async () => {
      const first = await pipeline.run({ mode: "local", quiet: true });
      const sent = await read();
      assertValid(sent);
      assert.deepEqual(story(sent), SHOP_RUN);
      assert.ok(sent.every((e) => e.run.runId !== first.runId), "OpenLineage run ids are UUIDs");
      await pipeline.run({ mode: "local", quiet: true });
      const again = (await read()).slice(sent.length);
      assertValid(again);
      assert.deepEqual(story(again), ["START shop", "COMPLETE shop"]);
    },
  );
});

Deno.test("a backfill's events name each partition's own files, one OpenLineage run per partition of a step", async () => {
  const root = await Deno.makeTempDir({ prefix: "glacier-lineage-parts-" });
  const { salesOf, runSales, salesPipeline } = await import("./_sales.ts");
  const { sales } = salesPipeline(root);
  for (const date of ["2026-01-01", "2026-01-02"]) {
    for (const region of ["north", "south"]) {
      await sales.write(salesOf(date, region), { partition: { date, region } });
    }
  }
  const path = join(await Deno.makeTempDir(), "events.jsonl");
  await withEnv(
    { OPENLINEAGE__TRANSPORT__TYPE: "file", OPENLINEAGE__TRANSPORT__LOG_FILE_PATH: path },
    () => runSales(root, "2026-01-01", "2026-01-02"),
  );
  const sent = (await Deno.readTextFile(path)).trimEnd().split("\n").map((l) =>
    JSON.parse(l) as RunEvent
  );
  assertValid(sent);
  const cleaned = sent.filter((e) =>
    e.eventType === "COMPLETE" && e.job.name === "sales.clean_sales"
  );
  assert.equal(cleaned.length, 4, story(sent).join("\n"));
  assert.equal(new Set(cleaned.map((e) => e.run.runId)).size, 4);
  const outputs = cleaned.map((e) => e.outputs[0].name).sort();
  assert.ok(outputs.every((name) => !name.includes("{")), outputs.join("\n"));
  assert.ok(outputs.some((name) => name.includes("2026-01-02") && name.includes("south")));
});
