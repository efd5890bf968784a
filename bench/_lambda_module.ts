/**
 * The pipeline module of the Lambda latency benchmark, written into a temporary directory (the
 * Lambda artifact packages a module file, and the runtime imports it by path): one task body, a
 * filter and `withColumns` over orders, declared twice, on `provider.serverless()` and on
 * `provider.local()`, each in a one-step pipeline from the same input bucket.
 *
 * @module
 */
import { join } from "node:path";

/** The S3 bucket every object of the benchmark lives in. */
export const BUCKET = "bench";
/** The serverless task, and so the Lambda function `glacier-<task>`. */
export const LAMBDA_TASK = "clean_on_lambda";
/** The same task on `provider.local()`. */
export const LOCAL_TASK = "clean_in_process";
/** The pipelines' input key. */
export const ORDERS_KEY = "raw/orders.parquet";
/** A one-row input for the smallest task invocation. */
export const TINY_KEY = "latency/tiny.parquet";
/** A 10,000-row input for the cold and warm task invocations. */
export const SMALL_KEY = "latency/orders-10000.parquet";
/** Where direct invocations write their output. */
export const INVOKE_OUTPUT_KEY = "latency/out.parquet";

/**
 * Writes the module into `dir`.
 *
 * @param dir an empty temporary directory.
 * @returns the module's absolute path.
 */
export async function writeLatencyModule(dir: string): Promise<string> {
  const mod = new URL("../mod.ts", import.meta.url).href;
  const module = join(dir, "pipelines.ts");
  await Deno.writeTextFile(
    module,
    `// Written by bench/_lambda_module.ts for bench/lambda_latency.ts.
import { LambdaConfig, pl, Provider, schema, t } from ${JSON.stringify(mod)};

const provider = new Provider({ localRoot: ${JSON.stringify(join(dir, "local"))} });
const serverless = provider.serverless({
  config: new LambdaConfig({ memoryMb: 2048, timeoutSeconds: 300 }),
});
const local = provider.local();

const Orders = schema({ order_id: t.int64, customer_id: t.int64, amount: t.float64, status: t.string });
const Cleaned = schema({
  order_id: t.int64,
  customer_id: t.int64,
  amount_cents: t.int64,
  status: t.string,
});

function clean(df: pl.LazyDataFrame): pl.LazyDataFrame {
  const amount = pl.col("amount");
  return df
    .filter(amount.isNotNull().and(amount.gt(0)).and(pl.col("status").isIn(["paid", "shipped"])))
    .withColumns(
      amount.mul(100).round(0).cast(pl.Int64).alias("amount_cents"),
      pl.col("status").str.toUpperCase(),
    )
    .select("order_id", "customer_id", "amount_cents", "status");
}

export const orders = provider.bucket({ bucket: "${BUCKET}", path: "${ORDERS_KEY}", schema: Orders });
export const tiny = provider.bucket({ bucket: "${BUCKET}", path: "${TINY_KEY}", schema: Orders });
export const small = provider.bucket({ bucket: "${BUCKET}", path: "${SMALL_KEY}", schema: Orders });

const onLambda = serverless.task({ name: "${LAMBDA_TASK}", input: Orders, output: Cleaned }, clean);
const inProcess = local.task({ name: "${LOCAL_TASK}", input: Orders, output: Cleaned }, clean);

export const lambdaPipeline = orders.transform(onLambda)
  .to(provider.bucket({ bucket: "${BUCKET}", path: "out/lambda.parquet", schema: Cleaned }));
export const inProcessPipeline = orders.transform(inProcess)
  .to(provider.bucket({ bucket: "${BUCKET}", path: "out/in_process.parquet", schema: Cleaned }));
`,
  );
  return module;
}
