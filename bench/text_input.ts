/**
 * What reading a text input as declared costs: a plain polars scan of a generated CSV against
 * Glacier's checked read (the streaming header and field-count check, then the same scan), and
 * the check alone; the same for the NDJSON key check. Runs `--repeat` times after one warm-up, prints the medians and writes them to
 * `bench/text_input_results.md`.
 *
 * ```sh
 * deno run -A bench/text_input.ts --rows 1000000 --repeat 5
 * ```
 *
 * @module
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { pl, schema, t } from "../mod.ts";
import type { BucketRef } from "../src/core/lineage.ts";
import { scanValidated } from "../src/io/formats.ts";
import { checkCsvFile, checkNdjsonFile } from "../src/io/text_input.ts";
import { machine, median } from "./_measure.ts";

const { values } = parseArgs({
  options: {
    rows: { type: "string", default: "1000000" },
    repeat: { type: "string", default: "5" },
  },
});
const rows = Number(values.rows);
const repeat = Number(values.repeat);

const Orders = schema({
  order_id: t.int64,
  customer: t.string,
  quantity: t.int64,
  price: t.float64,
  day: t.date,
});
const dir = await Deno.makeTempDir({ prefix: "glacier-bench-csv-" });
const path = join(dir, "orders.csv");
await pl.DataFrame({ i: pl.Series("i", Array.from({ length: rows }, (_, i) => i), pl.Int64) })
  .lazy()
  .select(
    pl.col("i").alias("order_id"),
    pl.concatString(
      [pl.lit("customer "), pl.col("i").modulo(5000).cast(pl.Int64).cast(pl.String)],
      "",
    )
      .alias("customer"),
    pl.col("i").modulo(17).cast(pl.Int64).alias("quantity"),
    pl.col("i").modulo(1000).cast(pl.Float64).div(7).alias("price"),
    pl.lit(new Date(Date.UTC(2026, 0, 1))).cast(pl.Date).alias("day"),
  )
  .sinkCSV(path).collect();
const bytes = (await Deno.stat(path)).size;
const ndjson = join(dir, "orders.ndjson");
await pl.scanCSV(path, { schema: { ...Orders }, hasHeader: true }).sinkNdJson(ndjson).collect();
const ndjsonBytes = (await Deno.stat(ndjson)).size;
const ref: BucketRef = {
  bucket: "bench",
  path: "orders.csv",
  location: "bench/orders.csv",
  schema: Orders,
  settings: { localRoot: dir, region: "us-east-1" },
};
const ndjsonRef: BucketRef = { ...ref, path: "orders.ndjson", location: "bench/orders.ndjson" };
const total = (frame: pl.LazyDataFrame) =>
  frame.select(pl.col("quantity").sum(), pl.col("price").sum(), pl.len()).collect();

const phases: Record<string, () => Promise<unknown> | unknown> = {
  "plain polars: scanCSV + sum of two columns": () =>
    total(pl.scanCSV(path, { schema: { ...Orders }, hasHeader: true })),
  "glacier: scanValidated (checks included) + the same sums": () =>
    total(scanValidated(ref, path, path)),
  "plain polars: scanCSV, every column collected": () =>
    pl.scanCSV(path, { schema: { ...Orders }, hasHeader: true }).collect(),
  "glacier: scanValidated, every column collected": () => scanValidated(ref, path, path).collect(),
  "the header and field-count check alone": () =>
    checkCsvFile(path, Orders, {}, { location: ref.location, uri: path }),
  "NDJSON, plain polars: scanJson + the same sums": () =>
    total(pl.scanJson(ndjson, { schema: { ...Orders } })),
  "NDJSON, glacier: scanValidated (key check included) + the same sums": () =>
    total(scanValidated(ndjsonRef, ndjson, ndjson)),
  "NDJSON, the key check alone": () =>
    checkNdjsonFile(ndjson, Orders, { location: ndjsonRef.location, uri: ndjson }),
};
const times: Record<string, number[]> = {};
for (let round = 0; round <= repeat; round++) {
  for (const [name, run] of Object.entries(phases)) {
    const started = performance.now();
    await run();
    if (round > 0) (times[name] ??= []).push((performance.now() - started) / 1000);
  }
}
await Deno.remove(dir, { recursive: true });

const lines = [
  "# Reading a text input as declared",
  "",
  `${rows.toLocaleString("en-US")} rows, 5 columns: CSV ${(bytes / 1e6).toFixed(1)} MB, NDJSON ` +
  `${(ndjsonBytes / 1e6).toFixed(1)} MB; median of ` +
  `${repeat} rounds after one warm-up (\`deno run -A bench/text_input.ts --rows ${rows} --repeat ${repeat}\`).`,
  "",
  "| phase | seconds |",
  "| --- | ---: |",
  ...Object.entries(times).map(([name, ts]) => `| ${name} | ${median(ts).toFixed(3)} |`),
  "",
  "Machine:",
  "",
  ...(await machine()).map((line) => `- ${line}`),
  "",
];
console.log(lines.join("\n"));
await Deno.writeTextFile(new URL("./text_input_results.md", import.meta.url), lines.join("\n"));
