/**
 * A complete project: three execution resources (local, AWS Lambda, Spark) and several pipelines
 * that share buckets: cleaning, enrichment with joins, and branching analytics.
 *
 * ```sh
 * deno run -A examples/complete.ts run         # every pipeline, sample inputs written if absent
 * deno run -A examples/complete.ts check       # data-free check of every task
 * deno run -A examples/complete.ts visualize   # Mermaid; add `dot` or `ascii`
 * deno run -A examples/complete.ts analyze     # cost estimate
 * deno run -A examples/complete.ts generate    # Terraform
 * ```
 *
 * @module
 */
import { AwsConfig, LambdaConfig, Pipeline, pl, Provider, schema, SparkConfig, t } from "../mod.ts";
import { runExample } from "./_main.ts";

// Setup: one provider, three execution resources.
const provider = new Provider({ config: new AwsConfig({ region: "us-east-1" }) });
const local = provider.local();
const lambda = provider.serverless({
  config: new LambdaConfig({ memoryMb: 1024, timeoutSeconds: 300 }),
});
const spark = provider.spark({ config: new SparkConfig({ executors: 2 }) });

// Schemas.
const RawOrders = schema({
  order_id: t.int64,
  customer_id: t.int64,
  product_id: t.int64,
  quantity: t.int64,
  unit_price: t.float64,
  status: t.string,
  ordered_on: t.date,
});
const Orders = schema({
  order_id: t.int64,
  customer_id: t.int64,
  product_id: t.int64,
  quantity: t.int64,
  amount: t.float64,
  ordered_on: t.date,
});
const RawCustomers = schema({
  customer_id: t.int64,
  email: t.string,
  country: t.string,
  signup_year: t.int32,
});
const Customers = schema({
  customer_id: t.int64,
  email_domain: t.string,
  region: t.string,
  signup_year: t.int32,
});
const Products = schema({ product_id: t.int64, category: t.string, tags: t.list(t.string) });
const Enriched = schema({
  order_id: t.int64,
  customer_id: t.int64,
  region: t.string,
  category: t.string,
  quantity: t.int64,
  amount: t.float64,
  ordered_on: t.date,
});
const RegionalSales = schema({ region: t.string, orders: t.int64, revenue: t.float64 });
const CategorySales = schema({
  category: t.string,
  units: t.int64,
  revenue: t.float64,
  share: t.float64,
});
const CustomerValue = schema({
  customer_id: t.int64,
  region: t.string,
  orders: t.int64,
  lifetime_value: t.float64,
  first_order: t.date,
});

// Storage: every bucket is equal.
const bucket = "glacier-demo";
const rawOrders = provider.bucket({ bucket, path: "raw/orders.csv", schema: RawOrders });
const rawCustomers = provider.bucket({
  bucket,
  path: "raw/customers.ndjson",
  schema: RawCustomers,
});
const products = provider.bucket({ bucket, path: "raw/products.parquet", schema: Products });
const orders = provider.bucket({ bucket, path: "clean/orders.parquet", schema: Orders });
const customers = provider.bucket({ bucket, path: "clean/customers.parquet", schema: Customers });
const enriched = provider.bucket({ bucket, path: "stage/enriched.parquet", schema: Enriched });
const regional = provider.bucket({
  bucket,
  path: "out/regional_sales.parquet",
  schema: RegionalSales,
});
const categories = provider.bucket({
  bucket,
  path: "out/category_sales.parquet",
  schema: CategorySales,
});
const customerValue = provider.bucket({
  bucket,
  path: "out/customer_value.arrow",
  schema: CustomerValue,
});

// Tasks.
const REGIONS: Record<string, string> = {
  DE: "emea",
  FR: "emea",
  PT: "emea",
  US: "americas",
  BR: "americas",
  JP: "apac",
};

/** Keeps completed orders with a positive quantity and computes their amount. */
export const cleanOrders = local.task(
  { name: "clean_orders", input: RawOrders, output: Orders },
  (df) =>
    df
      .filter(pl.col("status").eq(pl.lit("completed")).and(pl.col("quantity").gt(0)))
      .withColumns(pl.col("quantity").mul(pl.col("unit_price")).round(2).alias("amount"))
      .drop(["unit_price", "status"]),
);

/** Maps countries to sales regions and keeps only the e-mail domain. */
export const normalizeCustomers = lambda.task(
  { name: "normalize_customers", input: RawCustomers, output: Customers },
  (df) =>
    df.select(
      pl.col("customer_id"),
      pl.col("email").str.split("@").lst.last().str.toLowerCase().alias("email_domain"),
      pl.col("country").replace(Object.keys(REGIONS), Object.values(REGIONS)).alias("region"),
      pl.col("signup_year"),
    ),
);

/** Joins orders with customers and products. */
export const enrichOrders = spark.task(
  {
    name: "enrich_orders",
    inputs: { orders_df: Orders, customers_df: Customers, products_df: Products },
    output: Enriched,
  },
  ({ orders_df, customers_df, products_df }) =>
    orders_df
      .join(customers_df, { on: "customer_id", how: "inner" })
      .join(products_df, { on: "product_id", how: "left" })
      .select(
        "order_id",
        "customer_id",
        "region",
        pl.col("category").fillNull("uncategorized").alias("category"),
        "quantity",
        "amount",
        "ordered_on",
      ),
);

/** Orders and revenue per region. */
export const regionalAgg = local.task(
  { name: "regional_sales", input: Enriched, output: RegionalSales },
  (df) =>
    df.groupBy("region")
      .agg(pl.len().cast(pl.Int64).alias("orders"), pl.col("amount").sum().alias("revenue"))
      .sort("revenue", true),
);

/** Units, revenue and revenue share per product category. */
export const categoryAgg = lambda.task(
  { name: "category_sales", input: Enriched, output: CategorySales },
  (df) =>
    df.groupBy("category")
      .agg(pl.col("quantity").sum().alias("units"), pl.col("amount").sum().alias("revenue"))
      .withColumns(pl.col("revenue").div(pl.col("revenue").sum()).round(4).alias("share"))
      .sort("category"),
);

/** Orders, lifetime value and first order date per customer. */
export const customerAgg = spark.task(
  { name: "customer_value", input: Enriched, output: CustomerValue },
  (df) =>
    df.groupBy(["customer_id", "region"])
      .agg(
        pl.len().cast(pl.Int64).alias("orders"),
        pl.col("amount").sum().alias("lifetime_value"),
        pl.col("ordered_on").min().alias("first_order"),
      )
      .sort("customer_id"),
);

// Pipelines: cleaning, enrichment, and analytics that branch from the enriched orders.

/** Cleaning: raw orders to clean orders. */
export const cleaning = rawOrders.transform(cleanOrders).to(orders)
  .withName("cleaning", "Keep completed orders and compute amounts");

/** Customer normalization on Lambda. */
export const customerCleaning = rawCustomers.transform(normalizeCustomers).to(customers)
  .withName("customer_cleaning", "Regions and e-mail domains for customers");

/** Enrichment: a three-way join on Spark, after both cleaning pipelines. */
export const enrichment = new Pipeline({
  orders_df: cleaning,
  customers_df: customerCleaning,
  products_df: products,
}).transform(enrichOrders).to(enriched)
  .withName("enrichment", "Orders joined with customers and products");

/** Analytics, branch 1: revenue per region. */
export const regionalReport = enrichment.transform(regionalAgg).to(regional)
  .withName("regional_sales", "Revenue per sales region");

/** Analytics, branch 2: revenue per category. */
export const categoryReport = enrichment.transform(categoryAgg).to(categories)
  .withName("category_sales", "Units, revenue and share per category");

/** Analytics, branch 3: customer lifetime value. */
export const customerReport = enrichment.transform(customerAgg).to(customerValue)
  .withName("customer_value", "Lifetime value per customer");

// Sample inputs, deterministic.
function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i + 1);
}

function sampleOrders(): pl.DataFrame {
  const ids = range(1000);
  const statuses = ["completed", "completed", "completed", "cancelled", "pending"];
  return pl.DataFrame({
    order_id: pl.Series("order_id", ids, pl.Int64),
    customer_id: pl.Series("customer_id", ids.map((i) => 1 + (i * 37) % 120), pl.Int64),
    product_id: pl.Series("product_id", ids.map((i) => 1 + (i * 13) % 45), pl.Int64),
    quantity: pl.Series("quantity", ids.map((i) => (i % 41 === 0 ? 0 : 1 + (i % 5))), pl.Int64),
    unit_price: ids.map((i) => 3 + ((i * 7) % 20) * 1.25),
    status: ids.map((i) => statuses[(i * 3) % statuses.length]),
    ordered_on: pl.Series(
      "ordered_on",
      ids.map((i) => new Date(Date.UTC(2026, (i * 5) % 12, 1 + (i % 28)))),
      pl.Date,
    ),
  });
}

function sampleCustomers(): pl.DataFrame {
  const ids = range(100);
  const countries = Object.keys(REGIONS);
  const domains = ["Example.com", "mail.test", "shop.example"];
  return pl.DataFrame({
    customer_id: pl.Series("customer_id", ids, pl.Int64),
    email: ids.map((i) => `user${i}@${domains[i % domains.length]}`),
    country: ids.map((i) => countries[(i * 5) % countries.length]),
    signup_year: pl.Series("signup_year", ids.map((i) => 2018 + (i % 8)), pl.Int32),
  });
}

function sampleProducts(): pl.DataFrame {
  const ids = range(40);
  const cats = ["coffee", "tea", "pastry", "merch"];
  return pl.DataFrame({
    product_id: pl.Series("product_id", ids, pl.Int64),
    category: ids.map((i) => cats[i % cats.length]),
    tags: pl.Series(
      "tags",
      ids.map((i) => (i % 2 ? ["hot"] : ["cold", "seasonal"])),
      pl.List(pl.String),
    ),
  });
}

if (import.meta.main) {
  // No top-level await: the glacier command imports this module while it runs.
  runExample({
    module: import.meta.url,
    seeds: [
      { bucket: rawOrders, rows: sampleOrders },
      { bucket: rawCustomers, rows: sampleCustomers },
      { bucket: products, rows: sampleProducts },
    ],
    show: [regional, categories],
    modes: ["run", "check", "visualize", "analyze", "generate"],
  }, Deno.args).then((status) => Deno.exit(status));
}
