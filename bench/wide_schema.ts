/**
 * Wide schemas: an identity task over a schema of 10,000 columns (1,000 rows), through Glacier's
 * local mode against the same read and write by hand in nodejs-polars. Glacier's schema
 * validation, planning and output checks must take time linear in the number of columns; the
 * target is a wall ratio of at most 1.5.
 *
 * Both variants run in this one process, alternating (which goes first flips every round), so
 * that they share the machine's state; each Glacier run builds its pipeline (schema, buckets,
 * task, `.transform().to()`) and runs it, and both write a new file each run.
 *
 * ```sh
 * deno run -A bench/wide_schema.ts                      # 10,000 columns, 9 rounds
 * deno run -A bench/wide_schema.ts --columns 2000 --runs 2 --out /tmp/smoke.md
 * ```
 *
 * @module
 */
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { type Bucket, pl, Provider, type Schema, schema, t } from "../mod.ts";
import { machine, median } from "./_measure.ts";

const BENCH_DIR = fileURLToPath(new URL(".", import.meta.url));
const TARGET = 1.5;
/** The dtypes the columns cycle through. */
const DTYPES = [t.int64, t.float64, t.string, t.bool] as const;

const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    columns: { type: "string", default: "10000" },
    rows: { type: "string", default: "1000" },
    runs: { type: "string", default: "9" },
    warmup: { type: "string", default: "1" },
    out: { type: "string", default: join(BENCH_DIR, "wide_schema_results.md") },
  },
});
const columns = positiveInt("columns", flags.columns);
const rows = positiveInt("rows", flags.rows);
const runs = positiveInt("runs", flags.runs);
const warmup = Number(flags.warmup);

/** The wide schema: `c0` .. `c{n-1}`, cycling through `DTYPES`. */
function wideSchema(n: number): Schema {
  const fields: Record<string, pl.DataType> = {};
  for (let i = 0; i < n; i++) fields[`c${i}`] = DTYPES[i % DTYPES.length];
  return schema(fields);
}

/** Writes the input once (cached under `bench/data/wide/`); returns the data directory. */
function ensureInput(): string {
  const dir = join(BENCH_DIR, "data", "wide", `${columns}x${rows}`);
  const input = join(dir, "wide", "raw", "in.parquet");
  try {
    Deno.statSync(input);
    return dir;
  } catch {
    // Not there yet.
  }
  Deno.mkdirSync(join(dir, "wide", "raw"), { recursive: true });
  const index = pl.DataFrame({ i: Array.from({ length: rows }, (_, i) => i) });
  const exprs = Object.entries(wideSchema(columns)).map(([name, dtype]) =>
    pl.col("i").add(name.length).cast(dtype).alias(name)
  );
  index.select(...exprs).writeParquet(`${input}.tmp`);
  Deno.renameSync(`${input}.tmp`, input);
  return dir;
}

/** Glacier: declare the pipeline and run it in local mode; returns the output file. */
async function glacier(dir: string, run: number): Promise<string> {
  const W = wideSchema(columns);
  const provider = new Provider({ localRoot: dir });
  const input = provider.bucket({ bucket: "wide", path: "raw/in.parquet", schema: W });
  const output: Bucket = provider.bucket({
    bucket: "wide",
    path: `out/glacier-${run}.parquet`,
    schema: W,
  });
  const identity = provider.local().task({ name: "identity", input: W, output: W }, (df) => df);
  await input.transform(identity).to(output).run({ mode: "local", quiet: true });
  return join(dir, "wide", "out", `glacier-${run}.parquet`);
}

/** Plain nodejs-polars: scan the file, sink it to another. */
async function plain(dir: string, run: number): Promise<string> {
  const out = join(dir, "wide", "out", `plain-${run}.parquet`);
  Deno.mkdirSync(join(dir, "wide", "out"), { recursive: true });
  await pl.scanParquet(join(dir, "wide", "raw", "in.parquet")).sinkParquet(out).collect();
  return out;
}

const VARIANTS = { glacier, plain } as const;
type Name = keyof typeof VARIANTS;

/** The shape of an output: rows, columns and the sum of one column, to compare the variants. */
async function shape(path: string): Promise<string> {
  const frame = await pl.scanParquet(path).select(pl.len().alias("n"), pl.col("c0").sum())
    .collect();
  const width = pl.scanParquet(path).columns.length;
  return `${frame.getColumn("n").get(0)} rows x ${width} columns, sum(c0) ${
    frame.getColumn("c0").get(0)
  }`;
}

async function main(): Promise<void> {
  const started = performance.now();
  const dir = ensureInput();
  console.error(
    `input ready in ${((performance.now() - started) / 1000).toFixed(1)} s: ` +
      relative(Deno.cwd(), join(dir, "wide", "raw", "in.parquet")),
  );
  const names: Name[] = ["glacier", "plain"];
  const times: Record<Name, number[]> = { glacier: [], plain: [] };
  let expected: string | undefined;
  for (let round = -warmup; round < runs; round++) {
    const order = (round & 1) === 0 ? names : [...names].reverse();
    for (const name of order) {
      const t0 = performance.now();
      const out = await VARIANTS[name](dir, round);
      const seconds = (performance.now() - t0) / 1000;
      const got = await shape(out);
      expected ??= got;
      if (got !== expected) throw new Error(`${name} wrote ${got}, expected ${expected}`);
      await Deno.remove(out);
      const label = round < 0 ? "warm-up" : `run ${round + 1}/${runs}`;
      console.error(`${label} ${name}: ${seconds.toFixed(2)} s`);
      if (round >= 0) times[name].push(seconds);
    }
  }
  const ratio = median(times.glacier) / median(times.plain);
  const perRound = median(times.glacier.map((g, i) => g / times.plain[i]));
  const s2 = (x: number) => x.toFixed(2);
  const lines = [
    "# Wide schema: Glacier vs hand-written nodejs-polars",
    "",
    `An identity task over ${columns.toLocaleString("en-US")} columns (Int64, Float64, String, ` +
    `Bool in turn) and ${rows.toLocaleString("en-US")} rows, parquet in and out. \`glacier\` ` +
    'declares the schema, buckets and task and runs `run({ mode: "local", quiet: true })`; ' +
    "`plain` is `scanParquet(in).sinkParquet(out).collect()`. Both in one process, " +
    `alternating (the first flips every round), ${warmup} warm-up round(s), then ${runs}.`,
    "",
    `Command: \`${["deno run -A bench/wide_schema.ts", ...Deno.args].join(" ")}\``,
    "",
    "| variant | wall median (s) | wall range (s) |",
    "| --- | ---: | ---: |",
    ...names.map((n) =>
      `| ${n} | ${s2(median(times[n]))} | ${s2(Math.min(...times[n]))}–${
        s2(Math.max(...times[n]))
      } |`
    ),
    "",
    `glacier / plain: ${ratio.toFixed(3)} (ratio of medians; target ≤ ${TARGET}: ${
      ratio <= TARGET ? "met" : "**not met**"
    }), median of per-round ratios ${perRound.toFixed(3)}. Outputs agree: ${expected}.`,
    "",
    "Runs in order (s):",
    "",
    ...names.map((n) => `- ${n}: ${times[n].map(s2).join(", ")}`),
    "",
    "Machine:",
    "",
    ...(await machine()).map((line) => `- ${line}`),
    "",
  ];
  const report = lines.join("\n");
  console.log(report);
  await Deno.writeTextFile(flags.out, report);
  console.error(`wrote ${relative(Deno.cwd(), flags.out)}`);
}

function positiveInt(name: string, value: string): number {
  const n = Number(value.replaceAll("_", ""));
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer`);
  return n;
}

if (import.meta.main) await main();
