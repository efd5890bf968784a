/**
 * What quality checks cost: one local step that writes 10M rows (the benchmark's 10M orders joined
 * with their 100k customers, plus a computed column), run through Glacier's local mode without
 * checks (`unchecked`), with the six checks of DESIGN section 9 on its target, all passing
 * (`checked`: not null, unique id, accepted regions, an amount range, a row count, an expression),
 * and with a seventh, `warn`, check that fails on 1% of the rows so that its failing rows are
 * fetched too (`failing_warn`). Each run is a fresh child process; the variants alternate; the
 * step's wall time (`StepReport.seconds`: read, join, write, audit) is compared by medians.
 * Target: `checked` adds at most 15%.
 *
 * ```sh
 * deno run -A bench/checks_overhead.ts                   # 10M rows, 7 runs of each variant
 * deno run -A bench/checks_overhead.ts --rows 100000 --runs 2 --out /tmp/smoke.md
 * ```
 *
 * @module
 */
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Pipeline, pl, Provider, schema, t } from "../mod.ts";
import { Customers, ensureInputs, Orders, REGIONS } from "./_data.ts";
import {
  type ChildResult,
  cpuSeconds,
  machine,
  type Measurement,
  median,
  memory,
  runChild,
  waitForIdle,
} from "./_measure.ts";

const SCRIPT = fileURLToPath(import.meta.url);
const TARGET = 1.15;
/** How often one measurement is retried when other processes disturbed it. */
const MAX_ATTEMPTS = 5;
const VARIANTS = ["unchecked", "checked", "failing_warn"] as const;
type VariantName = typeof VARIANTS[number];

const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    variant: { type: "string" },
    rows: { type: "string", default: "10000000" },
    runs: { type: "string", default: "7" },
    warmup: { type: "string", default: "1" },
    idle: { type: "string", default: "0.15" },
    "idle-wait": { type: "string", default: "10" },
    "max-others": { type: "string", default: "2" },
    out: { type: "string", default: join(dirname(SCRIPT), "checks_overhead_results.md") },
  },
});
const rows = Number(flags.rows);

const Enriched = schema({
  order_id: t.int64,
  customer_id: t.int64,
  amount: t.float64,
  status: t.string,
  region: t.string,
  segment: t.string,
  amount_net: t.float64,
});

if (flags.variant !== undefined) {
  console.log(JSON.stringify(await child(flags.variant as VariantName)));
} else {
  await parent();
}

/** One run of the step, timed by the run report; prints what the parent parses. */
async function child(variant: VariantName): Promise<ChildResult> {
  const inputs = await ensureInputs(rows, 100_000);
  const root = await Deno.makeTempDir({ prefix: "glacier-bench-checks-" });
  try {
    const provider = new Provider({ localRoot: root });
    const orders = provider.bucket({ bucket: "bench", path: "orders.parquet", schema: Orders });
    const customers = provider.bucket({
      bucket: "bench",
      path: "customers.parquet",
      schema: Customers,
    });
    const target = { bucket: "bench", path: "enriched.parquet", schema: Enriched } as const;
    const enriched = variant === "unchecked" ? provider.bucket(target) : provider.bucket({
      ...target,
      checks: (c) => [
        c.notNull("order_id"),
        c.unique("order_id"),
        c.acceptedValues("region", [...REGIONS]),
        c.between("amount", -500, 10_000),
        c.rowCount({ min: 1 }),
        c.expr("net_below_amount", pl.col("amount_net").ltEq(pl.col("amount").abs())),
        ...(variant === "failing_warn" ? [c.notNull("amount", { severity: "warn" })] : []),
      ],
    });
    await Deno.mkdir(join(root, "bench"), { recursive: true });
    await Deno.copyFile(inputs.orders, join(root, "bench", "orders.parquet"));
    await Deno.copyFile(inputs.customers, join(root, "bench", "customers.parquet"));
    const enrich = provider.local().task(
      { name: "enrich", inputs: { orders: Orders, customers: Customers }, output: Enriched },
      ({ orders, customers }) =>
        orders.join(customers, { on: "customer_id", how: "left" })
          .withColumns(pl.col("amount").abs().mul(0.8).alias("amount_net")),
    );
    const pipeline = new Pipeline({ orders, customers }).transform(enrich).to(enriched);
    const baseline = memory();
    const cpuStarted = cpuSeconds();
    const report = await pipeline.withName("enrich").run({ mode: "local", quiet: true });
    const processCpuSeconds = cpuSeconds();
    if (report.steps[0].rows !== rows) throw new Error(`wrote ${report.steps[0].rows} rows`);
    return {
      variant,
      wallSeconds: report.steps[0].seconds,
      peakRssBytes: memory().peakRssBytes,
      baselineRssBytes: baseline.rssBytes,
      cpuSeconds: processCpuSeconds - cpuStarted,
      processCpuSeconds,
    };
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

/** Alternates the variants, then writes the medians and every run. */
async function parent(): Promise<void> {
  const runs = Number(flags.runs);
  const warmup = Number(flags.warmup);
  const maxOthers = Number(flags["max-others"]);
  await ensureInputs(rows, 100_000);
  const results = new Map<string, Measurement[]>(VARIANTS.map((v) => [v, []]));
  const log: string[] = [];
  let discarded = 0;
  for (let round = -warmup; round < runs; round++) {
    const order = (round & 1) === 0 ? VARIANTS : [...VARIANTS].reverse();
    for (const variant of order) {
      for (let attempt = 1;; attempt++) {
        await waitForIdle(Number(flags.idle), Number(flags["idle-wait"]));
        const result = await runChild(SCRIPT, ["--variant", variant, "--rows", String(rows)]);
        const disturbed = result.backgroundCpuSeconds > maxOthers && attempt < MAX_ATTEMPTS;
        const label = round < 0 ? "warm-up" : `run ${round + 1}/${runs}`;
        const line = `${label} ${variant}: step ${result.wallSeconds.toFixed(2)} s, CPU ` +
          `${result.cpuSeconds.toFixed(2)} s, others ${result.backgroundCpuSeconds.toFixed(2)} ` +
          `CPU s${disturbed ? ": discarded, again" : ""}`;
        console.error(line);
        log.push(`- ${line}`);
        if (disturbed) {
          discarded++;
          continue;
        }
        if (round >= 0) results.get(variant)!.push(result);
        break;
      }
    }
  }
  const of = (v: string, f: (m: Measurement) => number) => results.get(v)!.map(f);
  const wall = (m: Measurement) => m.wallSeconds;
  const cpu = (m: Measurement) => m.cpuSeconds;
  const ratio = (v: string, f: (m: Measurement) => number) =>
    median(of(v, f)) / median(of("unchecked", f));
  const paired = (v: string) => {
    const base = of("unchecked", wall);
    return median(of(v, wall).map((w, i) => w / base[i]));
  };
  const checked = ratio("checked", wall);
  const report = [
    `# Quality checks: what they add to a ${rows.toLocaleString("en-US")}-row step`,
    "",
    `One local step joins ${rows.toLocaleString("en-US")} orders with 100,000 customers and ` +
    "writes every order (parquet). `unchecked` has no checks on its target; `checked` has the six " +
    "checks of DESIGN section 9 (not null, unique id, accepted regions, an amount range, a row " +
    "count, an expression), all passing; `failing_warn` adds a `warn` not-null check that fails on " +
    "1% of the rows, so five of them are fetched too. Step time = `StepReport.seconds` (read, " +
    "join, write, audit); CPU = the child's user + system time during the run. Fresh process per " +
    `run, variants alternating, ${warmup} warm-up round, ${runs} measured; a run during which ` +
    `other processes used more than ${maxOthers} CPU s is discarded and repeated, up to ` +
    `${MAX_ATTEMPTS} times (${discarded} discarded here).`,
    "",
    `Command: \`${["deno run -A bench/checks_overhead.ts", ...Deno.args].join(" ")}\``,
    "",
    ...(await machine()).map((line) => `- ${line}`),
    "",
    "| variant | step median (s) | step range (s) | CPU median (s) | wall / unchecked | per-round wall ratio, median | CPU / unchecked |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...VARIANTS.map((v) => {
      const xs = of(v, wall);
      return `| ${v} | ${median(xs).toFixed(2)} | ${Math.min(...xs).toFixed(2)}–${
        Math.max(...xs).toFixed(2)
      } | ${median(of(v, cpu)).toFixed(2)} | ${ratio(v, wall).toFixed(3)} | ${
        paired(v).toFixed(3)
      } | ${ratio(v, cpu).toFixed(3)} |`;
    }),
    "",
    `checked / unchecked wall: **${checked.toFixed(3)}** (target ≤ ${TARGET}: ${
      checked <= TARGET ? "met" : "**not met**"
    }).`,
    "",
    "Runs in order:",
    "",
    ...log,
    "",
  ].join("\n");
  console.log(report);
  await Deno.writeTextFile(flags.out, report);
  console.error(`wrote ${relative(Deno.cwd(), flags.out)}`);
}
