import assert from "node:assert/strict";
import parseDot from "npm:dotparser@1.1.1";
import { parseHTML } from "npm:linkedom@0.18.15";
import {
  type Bucket,
  daily,
  LambdaConfig,
  Pipeline,
  pl,
  Provider,
  type Schema,
  schema,
  SparkConfig,
  t,
  values,
} from "../../mod.ts";
import { BucketImpl } from "../core/bucket.ts";
import { buildGraph, type PipelineGraph } from "../core/graph.ts";
import { mergeLineage } from "../core/lineage.ts";
import type { Modes } from "../core/modes.ts";
import { renderGraph } from "./render.ts";
import { Customers, Joined, Orders, Revenue } from "../../tests/_shop.ts";

// The graph renderer the builder calls must accept renderGraph as it is.
const renderer: Modes["render"] = renderGraph;

// Mermaid's own parser needs a DOM for its label sanitizer; linkedom provides one.
const dom = parseHTML("<!doctype html><html><body></body></html>") as unknown as {
  window: object;
  document: object;
};
Object.assign(globalThis, { window: dom.window, document: dom.document });
const { default: mermaid } = await import("npm:mermaid@11.17.2");

const provider = new Provider({ localRoot: "/nonexistent/glacier-visualize-test" });
const local = provider.local();
const spark = provider.spark({ config: new SparkConfig({ executors: 2 }) });
const lambda = provider.serverless({
  config: new LambdaConfig({ memoryMb: 1024, timeoutSeconds: 300 }),
});

const Top = schema({ customer_id: t.int64, amount: t.float64 });
const Summary = schema({ region: t.string, revenue: t.float64 });

const join = spark.task(
  {
    name: "join_orders_customers",
    inputs: { orders_df: Orders, customers_df: Customers },
    output: Joined,
  },
  ({ orders_df, customers_df }) => orders_df.join(customers_df, { on: "customer_id" }),
);
const byRegion = local.task(
  { name: "revenue_by_region", input: Joined, output: Revenue },
  (df) => df.groupBy("region").agg(pl.col("amount").sum().alias("revenue")),
);

function bucket<const P extends string, const S extends Schema>(
  path: P,
  s: S,
): Bucket<S, `shop/${P}`> {
  return provider.bucket({ bucket: "shop", path, schema: s });
}

/** raw orders -> clean (local) -> big orders (lambda): a single-source chain. */
function chain(): Bucket {
  const clean = local.task(
    { name: "clean_orders", input: Orders, output: Orders },
    (df) => df.filter(pl.col("amount").gt(0)),
  );
  const big = lambda.task(
    { name: "big_orders", input: Orders, output: Orders },
    (df) => df.filter(pl.col("amount").gt(100)),
  );
  return bucket("raw/orders.parquet", Orders)
    .transform(clean).to(bucket("stage/clean.parquet", Orders))
    .transform(big).to(bucket("out/big.parquet", Orders))
    .withName("big_orders");
}

/** orders + customers -> join (spark) -> joined -> by region (local) -> revenue. */
function joinAggregate(): Bucket {
  const orders = provider.bucket({ bucket: "shop", path: "raw/orders.parquet", schema: Orders });
  const customers = provider.bucket({
    bucket: "shop",
    path: "raw/customers.parquet",
    schema: Customers,
  });
  const joined = provider.bucket({ bucket: "shop", path: "stage/joined.parquet", schema: Joined });
  const revenue = provider.bucket({ bucket: "shop", path: "out/revenue.parquet", schema: Revenue });
  return new Pipeline({ orders_df: orders, customers_df: customers })
    .transform(join).to(joined)
    .transform(byRegion).to(revenue)
    .withName("revenue", "Revenue by region");
}

/** The join fans out to two tasks, whose outputs a third task joins again: a diamond. */
function diamond(): Bucket {
  const top = lambda.task(
    { name: "top_customers", input: Joined, output: Top },
    (df) => df.select("customer_id", "amount").sort("amount", true).head(10),
  );
  const summarize = spark.task(
    { name: "summarize", inputs: { revenue_df: Revenue, top_df: Top }, output: Summary },
    ({ revenue_df }) => revenue_df,
  );
  const joined = new Pipeline({
    orders_df: bucket("raw/orders.parquet", Orders),
    customers_df: bucket("raw/customers.parquet", Customers),
  }).transform(join).to(bucket("stage/joined.parquet", Joined));
  const revenue = joined.transform(byRegion).to(bucket("out/revenue.parquet", Revenue));
  const best = joined.transform(top).to(bucket("out/top.parquet", Top));
  return new Pipeline({ revenue_df: revenue, top_df: best })
    .transform(summarize).to(bucket("out/summary.parquet", Summary))
    .withName("diamond");
}

/**
 * Daily readings by site (in Paris time) joined with an unpartitioned table of sites read whole
 * for each partition, then a trailing week (lookback) and totals over every partition.
 */
function partitioned(): Bucket {
  const keys = {
    date: daily({ start: "2026-01-01", timezone: "Europe/Paris" }),
    site: values(["north", "south"]),
  };
  const Reading = schema({ sensor: t.int64, celsius: t.float64 });
  const Site = schema({ sensor: t.int64, region: t.string });
  const Enriched = schema({ sensor: t.int64, celsius: t.float64, region: t.string });
  const Mean = schema({ celsius: t.float64 });
  const at = <const P extends string, const S extends Schema>(path: P, s: S) =>
    provider.bucket({ bucket: "lab", path, schema: s });
  const enrich = local.task(
    { name: "enrich", inputs: { readings: Reading, sites: Site }, output: Enriched },
    ({ readings, sites }) => readings.join(sites, { on: "sensor" }),
  );
  const mean = local.task(
    { name: "week", input: Enriched, output: Mean },
    (df) => df.select(pl.col("celsius").mean()),
  );
  const total = local.task(
    { name: "totals", input: Enriched, output: Mean },
    (df) => df.select(pl.col("celsius").mean()),
  );
  const enriched = new Pipeline({
    readings: provider.bucket({
      bucket: "lab",
      path: "raw/{site}/{date}.parquet",
      schema: Reading,
      partitions: keys,
    }),
    sites: at("ref/sites.parquet", Site),
  }).transform(enrich).to(provider.bucket({
    bucket: "lab",
    path: "enriched/{site}/{date}.parquet",
    schema: Enriched,
    partitions: keys,
  }));
  const week = enriched.lookback({ date: 6 }).transform(mean).to(provider.bucket({
    bucket: "lab",
    path: "weekly/{site}/{date}.parquet",
    schema: Mean,
    partitions: keys,
  }));
  const totals = enriched.transform(total).to(at("out/totals.parquet", Mean));
  return BucketImpl.combine([week, totals], "lab");
}

const PIPELINES: Readonly<Record<string, () => Bucket>> = {
  chain,
  joinAggregate,
  diamond,
  partitioned,
};

/** The keys each partitioned bucket of `partitioned` shows under its location. */
const LAB_KEYS = ["date: daily from 2026-01-01 (Europe/Paris)", "site: north|south"];
const KEYS: Readonly<Record<string, readonly string[]>> = {
  "lab/raw/{site}/{date}.parquet": LAB_KEYS,
  "lab/enriched/{site}/{date}.parquet": LAB_KEYS,
  "lab/weekly/{site}/{date}.parquet": LAB_KEYS,
};
/** How the edges of `partitioned` that are not the same partition read their input. */
const MAPPINGS: Readonly<Record<string, string>> = {
  "b_lab_ref_sites_parquet -> t_enrich": "read whole",
  "b_lab_enriched_site_date_parquet -> t_week": "lookback 6 days",
  "b_lab_enriched_site_date_parquet -> t_totals": "all partitions",
};

interface Expected {
  /** Node id to the lines a user reads in it: its location, then its keys. */
  readonly buckets: Map<string, readonly string[]>;
  readonly tasks: Map<string, { name: string; kind: string; label: string }>;
  /** `from -> to [label]`. */
  readonly edges: string[];
}

const id = (prefix: string, name: string) => prefix + name.replace(/[^A-Za-z0-9_]+/g, "_");

/** What a drawing of a graph must show, straight from the graph. */
function expected(graph: PipelineGraph): Expected {
  const buckets = new Map(
    graph.buckets.map((b) => [id("b_", b.location), [b.location, ...KEYS[b.location] ?? []]]),
  );
  const tasks = new Map(
    graph.steps.map((s) => [id("t_", s.task.name), {
      name: s.task.name,
      kind: s.task.resource.kind,
      label: s.task.resource.label,
    }]),
  );
  const edges = graph.steps.flatMap((s) => [
    ...Object.entries(s.sources).map(([input, ref]) => {
      const edge = `${id("b_", ref.location)} -> ${id("t_", s.task.name)}`;
      const words = [s.task.kind === "multi" ? input : undefined, MAPPINGS[edge]]
        .filter((w) => w !== undefined);
      return edge + (words.length > 0 ? ` [${words.join(": ")}]` : "");
    }),
    `${id("t_", s.task.name)} -> ${id("b_", s.target.location)}`,
  ]);
  return { buckets, tasks, edges };
}

// deno-lint-ignore no-explicit-any
type Json = any;

/** Parses Mermaid source with Mermaid's own parser and returns its nodes and edges. */
async function parseMermaid(text: string): Promise<{ vertices: Map<string, Json>; edges: Json[] }> {
  await mermaid.parse(text);
  const diagram = await mermaid.mermaidAPI.getDiagramFromText(text);
  const db = diagram.db as Json;
  return { vertices: db.getVertices(), edges: db.getEdges() };
}

/**
 * Decodes Mermaid entity codes (`#quot;`, `#35;`) to the characters Mermaid draws, whether as
 * written or as Mermaid's parser keeps them (`ﬂ°quot¶ß`, `ﬂ°°35¶ß`).
 */
function decodeMermaid(text: string): string {
  const named: Record<string, string> = { quot: '"', amp: "&", lt: "<", gt: ">" };
  return text.replace(
    /(?:#|ﬂ°(°)?)(\d+|[a-z]+)(?:;|¶ß)/g,
    (_, _hash, code: string) =>
      /^\d+$/.test(code) ? String.fromCharCode(Number(code)) : named[code],
  );
}

interface DotGraph {
  readonly attrs: Record<string, string>;
  readonly nodes: Map<string, Record<string, string>>;
  readonly nodeCounts: Map<string, number>;
  readonly edges: string[];
}

/** Parses dot source with a real dot parser and collects graph attributes, nodes and edges. */
function dotGraph(text: string): DotGraph {
  const [root] = parseDot(text) as Json[];
  assert.equal(root.type, "digraph");
  const attrs: Record<string, string> = {};
  const nodes = new Map<string, Record<string, string>>();
  const nodeCounts = new Map<string, number>();
  const edges: string[] = [];
  const attrList = (list: Json[]) => Object.fromEntries(list.map((a) => [a.id, String(a.eq)]));
  for (const stmt of root.children) {
    if (stmt.type === "attr_stmt" && stmt.target === "graph") {
      Object.assign(attrs, attrList(stmt.attr_list));
    } else if (stmt.type === "attr_stmt") continue;
    else if (stmt.type === "attr") attrs[stmt.id] = String(stmt.eq);
    else if (stmt.type === "node_stmt") {
      const name = stmt.node_id.id;
      nodes.set(name, attrList(stmt.attr_list));
      nodeCounts.set(name, (nodeCounts.get(name) ?? 0) + 1);
    } else if (stmt.type === "edge_stmt") {
      const [from, to] = stmt.edge_list.map((n: Json) => n.id);
      const label = attrList(stmt.attr_list).label;
      edges.push(`${from} -> ${to}` + (label === undefined ? "" : ` [${decodeDot(label)}]`));
    } else throw new Error(`unexpected dot statement ${stmt.type}`);
  }
  return { attrs, nodes, nodeCounts, edges };
}

/** Decodes a dot label the way Graphviz draws it. */
function decodeDot(text: string): string {
  const named: Record<string, string> = { amp: "&", lt: "<", gt: ">" };
  return text.replace(
    /\\(n|\\)|&(amp|lt|gt);/g,
    (_, esc?: string, ent?: string) => esc === "n" ? "\n" : esc === "\\" ? "\\" : named[ent!],
  );
}

for (const [name, make] of Object.entries(PIPELINES)) {
  Deno.test(`mermaid: ${name} parses, and shows every bucket, task and edge once`, async () => {
    const graph = make().graph();
    const text = renderer(graph, "mermaid");
    const want = expected(graph);
    const { vertices, edges } = await parseMermaid(text);

    assert.deepEqual(
      [...vertices.keys()].sort(),
      [...want.buckets.keys(), ...want.tasks.keys()].sort(),
    );
    for (const [key, lines] of want.buckets) {
      const v = vertices.get(key);
      assert.equal(v.type, "cylinder");
      assert.equal(decodeMermaid(v.text), lines.join("<br/>"));
      assert.deepEqual(v.classes, ["bucket"]);
    }
    for (const [key, task] of want.tasks) {
      const v = vertices.get(key);
      assert.equal(v.type, "stadium");
      assert.equal(v.text, `${task.name}<br/>${task.label}`);
      assert.deepEqual(v.classes, [task.kind]);
    }
    assert.deepEqual(
      edges.map((e: Json) => `${e.start} -> ${e.end}` + (e.text ? ` [${e.text}]` : "")),
      want.edges,
    );
    assert.equal(
      text.split("\n").filter((l) => l.startsWith("  classDef ")).length,
      new Set(
        [...want.tasks.values()].map((task) => task.kind),
      ).size + 1,
    );
    assert.ok(
      text.startsWith(
        `---\ntitle: ${
          JSON.stringify(graph.description ? `${graph.name} - ${graph.description}` : graph.name)
        }\n---\nflowchart LR\n`,
      ),
    );
  });

  Deno.test(`dot: ${name} parses, and shows every bucket, task and edge once`, () => {
    const graph = make().graph();
    const text = renderGraph(graph, "dot");
    const want = expected(graph);
    const dot = dotGraph(text);

    assert.ok(decodeDot(dot.attrs.label).startsWith(graph.name));
    assert.equal(dot.attrs.rankdir, "LR");
    assert.deepEqual(
      [...dot.nodes.keys()].sort(),
      [...want.buckets.keys(), ...want.tasks.keys()].sort(),
    );
    assert.ok([...dot.nodeCounts.values()].every((n) => n === 1));
    for (const [key, lines] of want.buckets) {
      const node = dot.nodes.get(key)!;
      assert.equal(node.shape, "cylinder");
      assert.equal(decodeDot(node.label), lines.join("\n"));
    }
    const fills = new Map<string, string>();
    for (const [key, task] of want.tasks) {
      const node = dot.nodes.get(key)!;
      assert.equal(node.shape, "box");
      assert.equal(node.style, "rounded,filled");
      assert.equal(decodeDot(node.label), `${task.name}\n${task.label}`);
      assert.equal(fills.get(task.kind) ?? node.fillcolor, node.fillcolor);
      fills.set(task.kind, node.fillcolor);
    }
    assert.equal(new Set(fills.values()).size, fills.size, "each resource kind has its own colour");
    assert.deepEqual(dot.edges, want.edges);
  });

  Deno.test(`ascii: ${name} shows every step once, by level, with inputs and resource`, () => {
    const graph = make().graph();
    const text = renderGraph(graph, "ascii");
    assert.ok(text.startsWith(`Pipeline ${graph.name}`));
    for (const step of graph.steps) {
      const arrow =
        `--(${step.task.name} @ ${step.task.resource.label})--> [${step.target.location}]`;
      assert.equal(text.split(arrow).length, 2, `${arrow} appears once`);
    }
    graph.levels.forEach((_, i) => assert.match(text, new RegExp(`^Level ${i + 1} \\(`, "m")));
    assert.doesNotMatch(text, new RegExp(`^Level ${graph.levels.length + 1} `, "m"));
    const sources = text.slice(text.indexOf("Sources\n"), text.indexOf("\nLevel 1"));
    for (const ref of graph.sources) assert.ok(sources.includes(`[${ref.location}]`));
    const outputs = text.slice(text.indexOf("Outputs\n"), text.indexOf("\nLegend"));
    for (const ref of graph.sinks) assert.ok(outputs.includes(`[${ref.location}]`));
    assert.ok(text.includes("\nLegend\n"));
    // deno-lint-ignore no-control-regex
    assert.doesNotMatch(text, /[\u0000-\u0009\u000b-\u001f]/);
  });

  Deno.test(`every format: ${name} gives the same bytes for the same pipeline`, () => {
    for (const format of ["mermaid", "dot", "ascii"] as const) {
      const graph = make().graph();
      const first = renderGraph(graph, format);
      assert.equal(renderGraph(graph, format), first);
      assert.equal(renderGraph(make().graph(), format), first);
    }
  });
}

Deno.test("multi-source edges carry the input names; single-source edges carry none", () => {
  const graph = joinAggregate().graph();
  const mermaidText = renderGraph(graph, "mermaid");
  assert.ok(
    mermaidText.includes(
      '  b_shop_raw_orders_parquet -->|"orders_df"| t_join_orders_customers\n',
    ),
  );
  assert.ok(mermaidText.includes("  b_shop_stage_joined_parquet --> t_revenue_by_region\n"));
  const dotText = renderGraph(graph, "dot");
  assert.ok(
    dotText.includes(
      '  b_shop_raw_customers_parquet -> t_join_orders_customers [label="customers_df"];\n',
    ),
  );
  assert.ok(dotText.includes("  b_shop_stage_joined_parquet -> t_revenue_by_region;\n"));
  const ascii = renderGraph(graph, "ascii");
  assert.ok(
    ascii.includes(
      "orders_df=[shop/raw/orders.parquet] + customers_df=[shop/raw/customers.parquet]",
    ),
  );
  assert.ok(ascii.includes("  [shop/stage/joined.parquet] --(revenue_by_region @ local)--> "));
});

Deno.test("nodes come sources first, in level order", () => {
  const graph = diamond().graph();
  const ids = renderGraph(graph, "mermaid").split("\n")
    .map((line) => /^ {2}([bt]_\w+)[[(]/.exec(line)?.[1])
    .filter((x) => x !== undefined);
  assert.deepEqual(ids, [
    "b_shop_raw_orders_parquet",
    "b_shop_raw_customers_parquet",
    "t_join_orders_customers",
    "b_shop_stage_joined_parquet",
    "t_revenue_by_region",
    "b_shop_out_revenue_parquet",
    "t_top_customers",
    "b_shop_out_top_parquet",
    "t_summarize",
    "b_shop_out_summary_parquet",
  ]);
});

Deno.test("ascii: a branching graph says where each bucket goes next", () => {
  const text = renderGraph(diamond().graph(), "ascii");
  assert.match(
    text,
    /--> \[shop\/stage\/joined\.parquet\]\s+=> revenue_by_region, top_customers$/m,
  );
  assert.match(text, /^Level 2 \(2 steps\)$/m);
  assert.match(text, /--> \[shop\/out\/summary\.parquet\] {2}\(output\)$/m);
  assert.match(text, /^ {2}\[shop\/out\/summary\.parquet\] {2}<= summarize$/m);
  // The two steps of level 2 have their arrows in one column.
  const level2 = text.split("\nLevel 2 (2 steps)\n")[1].split("\n\n")[0].split("\n");
  const arrows = level2.filter((line) => line.includes("--("));
  assert.equal(arrows.length, 2);
  assert.equal(arrows[0].indexOf("--("), arrows[1].indexOf("--("));
  for (const line of text.split("\n")) assert.ok(line.length <= 100, line);
});

Deno.test("a task used in two steps is drawn once per step, with distinct ids", async () => {
  const copy = local.task({ name: "copy", input: Orders, output: Orders }, (df) => df);
  const raw = bucket("raw/orders.parquet", Orders);
  const a = raw.transform(copy).to(bucket("copy/a.parquet", Orders));
  const b = raw.transform(copy).to(bucket("copy/b.parquet", Orders));
  const graph = buildGraph("copies", mergeLineage(a.lineage, b.lineage));
  const { vertices, edges } = await parseMermaid(renderGraph(graph, "mermaid"));
  assert.deepEqual([...vertices.keys()].filter((k) => k.startsWith("t_")), ["t_copy", "t_copy_2"]);
  assert.deepEqual(edges.map((e: Json) => `${e.start} -> ${e.end}`), [
    "b_shop_raw_orders_parquet -> t_copy",
    "t_copy -> b_shop_copy_a_parquet",
    "b_shop_raw_orders_parquet -> t_copy_2",
    "t_copy_2 -> b_shop_copy_b_parquet",
  ]);
  const dot = dotGraph(renderGraph(graph, "dot"));
  assert.deepEqual(dot.edges.slice(2), [
    "b_shop_raw_orders_parquet -> t_copy_2",
    "t_copy_2 -> b_shop_copy_b_parquet",
  ]);
  const ascii = renderGraph(graph, "ascii");
  assert.match(ascii, /^ {2}\[shop\/raw\/orders\.parquet\] {2}=> copy$/m);
  assert.match(ascii, /\(1 in, 2 out\)/);
});

const WEIRD_PATH = 'raw/q"uote [v1] <a&b> #1 (x) |z| `t` back\\slash.parquet';
const WEIRD_NAME = 'rev "Q1" <draft> & [test]\nsecond line';
const WEIRD_INPUT = 'orders "df" <1> [a]|b';

/** A pipeline whose bucket path, pipeline name and input name need escaping in every format. */
function weird(): PipelineGraph {
  const odd = spark.task(
    {
      name: "odd-name_1",
      inputs: { [WEIRD_INPUT]: Orders, customers_df: Customers },
      output: Joined,
    },
    (inputs) => inputs[WEIRD_INPUT].join(inputs.customers_df, { on: "customer_id" }),
  );
  return new Pipeline({
    [WEIRD_INPUT]: bucket(WEIRD_PATH, Orders),
    customers_df: provider.bucket({
      bucket: "shop",
      path: "raw/customers.parquet",
      schema: Customers,
    }),
  }).transform(odd).to(bucket("out/joined.parquet", Joined)).withName(WEIRD_NAME, "a\u001b[31m")
    .graph();
}

Deno.test("mermaid: quotes, brackets, <, >, & and # in labels are escaped and round-trip", async () => {
  const text = renderGraph(weird(), "mermaid");
  const { vertices, edges } = await parseMermaid(text);
  const ids = [...vertices.keys()];
  for (const key of ids) assert.match(key, /^[A-Za-z_][A-Za-z0-9_]*$/);
  const weirdNode = [...vertices.values()].find((v) => v.text.startsWith("shop/raw/q"));
  assert.equal(weirdNode.type, "cylinder");
  assert.equal(decodeMermaid(weirdNode.text), `shop/${WEIRD_PATH}`);
  assert.doesNotMatch(weirdNode.text, /["<>&[\]()|]/);
  assert.ok(vertices.has("t_odd_name_1"));
  const labelled = edges.find((e: Json) => e.text && e.text !== "customers_df");
  assert.equal(decodeMermaid(labelled.text), WEIRD_INPUT);
  const title = text.split("\n")[1];
  assert.equal(JSON.parse(title.slice("title: ".length)), `${WEIRD_NAME} - a\u001b[31m`);
});

Deno.test("dot: quotes, backslashes, <, >, & and line breaks in labels are escaped and round-trip", () => {
  const text = renderGraph(weird(), "dot");
  const dot = dotGraph(text);
  for (const key of dot.nodes.keys()) assert.match(key, /^[A-Za-z_][A-Za-z0-9_]*$/);
  const labels = [...dot.nodes.values()].map((n) => decodeDot(n.label));
  assert.ok(labels.includes(`shop/${WEIRD_PATH}`));
  assert.ok(dot.edges.some((e) => e.endsWith(` -> t_odd_name_1 [${WEIRD_INPUT}]`)));
  assert.equal(decodeDot(dot.attrs.label), `${WEIRD_NAME} - a [31m`);
  assert.equal(text.split("\n").length, dot.nodes.size + dot.edges.length + 9);
});

Deno.test("ascii: control characters are shown as escapes, never sent to the terminal", () => {
  const text = renderGraph(weird(), "ascii");
  assert.ok(text.startsWith('Pipeline rev "Q1" <draft> & [test]\\nsecond line - a\\u001b[31m\n'));
  // deno-lint-ignore no-control-regex
  assert.doesNotMatch(text, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
  assert.ok(text.includes(`${WEIRD_INPUT}=[shop/${WEIRD_PATH}]`));
});

Deno.test("a bucket with no lineage draws an empty pipeline", async () => {
  const graph = bucket("raw/orders.parquet", Orders).graph();
  const { vertices } = await parseMermaid(renderGraph(graph, "mermaid"));
  assert.equal(vertices.size, 0);
  assert.equal(dotGraph(renderGraph(graph, "dot")).nodes.size, 0);
  assert.match(renderGraph(graph, "ascii"), /no steps/);
});

Deno.test("an unknown format is a clear error", () => {
  assert.throws(
    () => renderGraph(chain().graph(), "svg" as "dot"),
    /visualize format "svg" is not known; use "mermaid", "dot" or "ascii"/,
  );
});

Deno.test("ascii: a partitioned pipeline shows each bucket's keys and how each input is read", () => {
  const text = renderGraph(partitioned().graph(), "ascii");
  assert.match(
    text,
    /readings=\[lab\/raw\/\{site\}\/\{date\}\.parquet\] \+ sites=\[lab\/ref\/sites\.parquet\] \(read whole\)/,
  );
  assert.match(
    text,
    /\[lab\/enriched\/\{site\}\/\{date\}\.parquet\] \(lookback 6 days\)\s+--\(week @ local\)/,
  );
  assert.match(
    text,
    /\[lab\/enriched\/\{site\}\/\{date\}\.parquet\] \(all partitions\)\s+--\(totals @ local\)/,
  );
  const keys = text.slice(text.indexOf("\nPartitions\n"), text.indexOf("\nLegend\n"));
  assert.match(
    keys,
    /\[lab\/raw\/\{site\}\/\{date\}\.parquet\] +date: daily from 2026-01-01 \(Europe\/Paris\), site: north\|south/,
  );
  assert.doesNotMatch(keys, /sites\.parquet|totals\.parquet/);
  // An unpartitioned pipeline has neither.
  const plain = renderGraph(chain().graph(), "ascii");
  assert.doesNotMatch(plain, /Partitions|\(read whole\)|all partitions/);
});
