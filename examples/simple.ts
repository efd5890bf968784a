/**
 * A single-source pipeline: raw sales are cleaned, then summarized per store.
 *
 * ```sh
 * deno run -A examples/simple.ts run         # writes sample input if absent, runs, prints the result
 * deno run -A examples/simple.ts run --mode cloud  # the same on S3 (deno task stack:up; source .glacier/stack.env)
 * deno run -A examples/simple.ts check       # data-free check of every task
 * deno run -A examples/simple.ts visualize   # Mermaid; add `dot` or `ascii`
 * ```
 *
 * @module
 */
import { AwsConfig, pl, Provider, schema, t } from "../mod.ts";
import { runExample } from "./_main.ts";

const provider = new Provider({ config: new AwsConfig({ region: "us-east-1" }) });
const local = provider.local();

const RawSales = schema({
  sale_id: t.int64,
  store: t.string,
  product: t.string,
  quantity: t.int64,
  unit_price: t.float64,
});
const CleanSales = schema({
  sale_id: t.int64,
  store: t.string,
  product: t.string,
  quantity: t.int64,
  unit_price: t.float64,
  revenue: t.float64,
});
const StoreMetrics = schema({
  store: t.string,
  sales: t.int64,
  units: t.int64,
  revenue: t.float64,
  avg_ticket: t.float64,
});

const rawSales = provider.bucket({
  bucket: "glacier-demo",
  path: "raw/sales.csv",
  schema: RawSales,
});
const cleanSales = provider.bucket({
  bucket: "glacier-demo",
  path: "clean/sales.parquet",
  schema: CleanSales,
});
const storeMetrics = provider.bucket({
  bucket: "glacier-demo",
  path: "out/store_metrics.parquet",
  schema: StoreMetrics,
});

/** Drops returns and rows without a price, trims names, computes each sale's revenue. */
export const cleanData = local.task(
  { name: "clean_sales", input: RawSales, output: CleanSales },
  (df) =>
    df
      .filter(pl.col("quantity").gt(0).and(pl.col("unit_price").isNotNull()))
      .withColumns(
        pl.col("store").str.strip().str.toLowerCase().alias("store"),
        pl.col("quantity").mul(pl.col("unit_price")).alias("revenue"),
      ),
);

/** Sales, units, revenue and average ticket per store. */
export const calculateMetrics = local.task(
  { name: "store_metrics", input: CleanSales, output: StoreMetrics },
  (df) =>
    df
      .groupBy("store")
      .agg(
        pl.len().cast(pl.Int64).alias("sales"),
        pl.col("quantity").sum().alias("units"),
        pl.col("revenue").sum().alias("revenue"),
        pl.col("revenue").mean().alias("avg_ticket"),
      )
      .sort("store"),
);

/** The pipeline: raw sales -> clean sales -> store metrics. */
export const salesPipeline = rawSales
  .transform(cleanData)
  .to(cleanSales)
  .transform(calculateMetrics)
  .to(storeMetrics)
  .withName("store_metrics", "Clean raw sales and summarize them per store");

/** Deterministic sample sales, including returns and missing prices to clean away. */
function sampleSales(): pl.DataFrame {
  const stores = ["  Berlin", "paris ", "Lisbon", "BERLIN"];
  const products = ["espresso", "latte", "croissant", "bagel", "tea"];
  const n = 200;
  const ids = Array.from({ length: n }, (_, i) => i + 1);
  return pl.DataFrame({
    sale_id: pl.Series("sale_id", ids, pl.Int64),
    store: ids.map((i) => stores[i % stores.length]),
    product: ids.map((i) => products[(i * 7) % products.length]),
    quantity: pl.Series("quantity", ids.map((i) => (i % 17 === 0 ? -1 : 1 + (i % 4))), pl.Int64),
    unit_price: pl.Series(
      "unit_price",
      ids.map((i) => (i % 23 === 0 ? null : 2 + (i % 5) * 0.75)),
      pl.Float64,
    ),
  });
}

if (import.meta.main) {
  // No top-level await: the glacier command imports this module while it runs.
  runExample({
    module: import.meta.url,
    seeds: [{ bucket: rawSales, rows: sampleSales }],
    show: [storeMetrics],
    modes: ["run", "check", "visualize"],
  }, Deno.args).then((status) => Deno.exit(status));
}
