/**
 * Multi-source steps: joins through `new Pipeline({ ... })`, a join of a join, and a single-source
 * aggregation after them.
 *
 * ```sh
 * deno run -A examples/multi_source_join.ts run
 * deno run -A examples/multi_source_join.ts visualize
 * ```
 *
 * @module
 */
import { AwsConfig, Pipeline, pl, Provider, schema, SparkConfig, t } from "../mod.ts";
import { runExample } from "./_main.ts";

const provider = new Provider({ config: new AwsConfig({ region: "us-east-1" }) });
const local = provider.local();
const spark = provider.spark({ config: new SparkConfig({ executors: 2 }) });

const Orders = schema({
  order_id: t.int64,
  customer_id: t.int64,
  product_id: t.int64,
  quantity: t.int64,
});
const Customers = schema({ customer_id: t.int64, name: t.string, country: t.string });
const Products = schema({ product_id: t.int64, category: t.string, price: t.float64 });
const OrdersWithCustomers = schema({
  order_id: t.int64,
  customer_id: t.int64,
  product_id: t.int64,
  quantity: t.int64,
  name: t.string,
  country: t.string,
});
const FullyEnriched = schema({
  order_id: t.int64,
  customer_id: t.int64,
  quantity: t.int64,
  country: t.string,
  category: t.string,
  amount: t.float64,
});
const CountryCategorySales = schema({
  country: t.string,
  category: t.string,
  orders: t.int64,
  amount: t.float64,
});

const bucket = "glacier-demo";
const orders = provider.bucket({ bucket, path: "shop/orders.parquet", schema: Orders });
const customers = provider.bucket({ bucket, path: "shop/customers.parquet", schema: Customers });
const products = provider.bucket({ bucket, path: "shop/products.csv", schema: Products });
const ordersWithCustomers = provider.bucket({
  bucket,
  path: "stage/orders_with_customers.parquet",
  schema: OrdersWithCustomers,
});
const fullyEnriched = provider.bucket({
  bucket,
  path: "stage/fully_enriched.parquet",
  schema: FullyEnriched,
});
const salesByCountry = provider.bucket({
  bucket,
  path: "out/sales_by_country_category.parquet",
  schema: CountryCategorySales,
});

/** Pattern 1: a two-way join. Input names are the Pipeline's keys. */
export const joinOrdersCustomers = spark.task(
  {
    name: "join_orders_customers",
    inputs: { orders_df: Orders, customers_df: Customers },
    output: OrdersWithCustomers,
  },
  ({ orders_df, customers_df }) =>
    orders_df.join(customers_df, { on: "customer_id", how: "inner" }),
);

/** Pattern 2: a join whose left side is the result of the first join. */
export const enrichWithProducts = spark.task(
  {
    name: "enrich_with_products",
    inputs: { orders_df: OrdersWithCustomers, products_df: Products },
    output: FullyEnriched,
  },
  ({ orders_df, products_df }) =>
    orders_df
      .join(products_df, { on: "product_id", how: "left" })
      .select(
        pl.col("order_id"),
        pl.col("customer_id"),
        pl.col("quantity"),
        pl.col("country"),
        pl.col("category").fillNull("unknown"),
        pl.col("quantity").mul(pl.col("price")).fillNull(0).alias("amount"),
      ),
);

/** Pattern 3: a single-source step after the joins. */
export const aggregate = local.task(
  { name: "sales_by_country_category", input: FullyEnriched, output: CountryCategorySales },
  (df) =>
    df.groupBy(["country", "category"])
      .agg(pl.len().cast(pl.Int64).alias("orders"), pl.col("amount").sum().alias("amount"))
      .sort(["country", "category"]),
);

/** Step 1: orders joined with customers. */
export const step1 = new Pipeline({ orders_df: orders, customers_df: customers })
  .transform(joinOrdersCustomers)
  .to(ordersWithCustomers)
  .withName("orders_with_customers");

/** Step 2: the first join's result joined with products. */
export const step2 = new Pipeline({ orders_df: step1, products_df: products })
  .transform(enrichWithProducts)
  .to(fullyEnriched)
  .withName("fully_enriched");

/** Step 3: the whole chain ending in the aggregate. */
export const final = step2
  .transform(aggregate)
  .to(salesByCountry)
  .withName("sales_by_country_category", "Orders joined with customers and products, summed");

function ids(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i + 1);
}

if (import.meta.main) {
  const countries = ["DE", "FR", "PT", "US"];
  const categories = ["coffee", "tea", "pastry"];
  // No top-level await: the glacier command imports this module while it runs.
  runExample({
    module: import.meta.url,
    seeds: [
      {
        bucket: orders,
        rows: () =>
          pl.DataFrame({
            order_id: pl.Series("order_id", ids(500), pl.Int64),
            customer_id: pl.Series(
              "customer_id",
              ids(500).map((i) => 1 + (i * 7) % 60),
              pl.Int64,
            ),
            product_id: pl.Series("product_id", ids(500).map((i) => 1 + (i * 11) % 25), pl.Int64),
            quantity: pl.Series("quantity", ids(500).map((i) => 1 + (i % 3)), pl.Int64),
          }),
      },
      {
        bucket: customers,
        rows: () =>
          pl.DataFrame({
            customer_id: pl.Series("customer_id", ids(50), pl.Int64),
            name: ids(50).map((i) => `customer ${i}`),
            country: ids(50).map((i) => countries[i % countries.length]),
          }),
      },
      {
        bucket: products,
        rows: () =>
          pl.DataFrame({
            product_id: pl.Series("product_id", ids(20), pl.Int64),
            category: ids(20).map((i) => categories[i % categories.length]),
            price: ids(20).map((i) => 1.5 + (i % 6) * 0.5),
          }),
      },
    ],
    show: [salesByCountry],
    modes: ["run", "check", "visualize"],
  }, Deno.args).then((status) => Deno.exit(status));
}
