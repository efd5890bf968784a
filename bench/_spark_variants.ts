/**
 * The variants of the Spark pipeline benchmark: the clean -> join -> aggregate pipeline of
 * `_variants.ts` as Glacier spark tasks in cloud mode, the same steps hand-written in PySpark
 * (`_spark_handwritten.py`) in three deployment shapes, and Glacier's local mode on polars.
 *
 * @module
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { DeleteObjectCommand, S3Client } from "../src/io/s3/_sdk.ts";
import {
  type Bucket,
  Pipeline,
  Provider,
  type RunReport,
  type Schema,
  schema,
  SparkConfig,
  t,
} from "../mod.ts";
import { Customers, type Inputs, Orders } from "./_data.ts";
import { MASTER, type SparkTooling, submitScript } from "./_spark_submit.ts";
import {
  cleanOrders,
  glacier as polarsLocal,
  joinCustomers,
  type Outputs,
  revenueByRegion,
} from "./_variants.ts";

/** The hand-written PySpark job. */
export const HANDWRITTEN: string = join(
  dirname(fileURLToPath(import.meta.url)),
  "_spark_handwritten.py",
);

/** The bucket Glacier's pipeline reads and writes; the inputs are uploaded to it once. */
export const SHOP = "shop";
/** The bucket the hand-written S3 variant writes. */
export const HANDWRITTEN_BUCKET = "handwritten";
/** The input objects in {@linkcode SHOP}. */
export const INPUT_KEYS = { orders: "raw/orders.parquet", customers: "raw/customers.parquet" };

const Cleaned = schema({
  order_id: t.int64,
  customer_id: t.int64,
  amount_cents: t.int64,
  status: t.string,
});
const Joined = schema({
  order_id: t.int64,
  customer_id: t.int64,
  amount_cents: t.int64,
  status: t.string,
  region: t.string,
  segment: t.string,
});
const Revenue = schema({
  region: t.string,
  segment: t.string,
  orders: t.int64,
  revenue_cents: t.int64,
});

/** The keys the pipeline writes, in {@linkcode SHOP} (Glacier) and the hand-written bucket. */
const OUTPUT_KEYS = {
  cleaned: "stage/cleaned.parquet",
  joined: "stage/joined.parquet",
  revenue: "out/revenue.parquet",
};

/**
 * The pipeline with its three tasks on `provider.spark(...)` at `local[2]` (or on a Spark Connect
 * server), the same task bodies as the local benchmark's.
 *
 * @param remote a Spark Connect server to run on instead of `spark-submit` at `local[2]`.
 * @returns the bucket at the end of the pipeline, carrying its lineage.
 */
export function sparkPipeline(remote?: string): Bucket {
  const provider = new Provider();
  const spark = provider.spark({
    config: new SparkConfig(remote ? { remote } : { master: MASTER }),
  });
  const bucket = <S extends Schema>(path: string, of: S) =>
    provider.bucket({ bucket: SHOP, path, schema: of });
  const clean = spark.task(
    { name: "clean_orders", input: Orders, output: Cleaned },
    (df) => cleanOrders(df),
  );
  const enrich = spark.task(
    {
      name: "join_customers",
      inputs: { orders_df: Cleaned, customers_df: Customers },
      output: Joined,
    },
    ({ orders_df, customers_df }) => joinCustomers(orders_df, customers_df),
  );
  const aggregate = spark.task(
    { name: "revenue_by_region", input: Joined, output: Revenue },
    (df) => revenueByRegion(df),
  );
  const cleaned = bucket(INPUT_KEYS.orders, Orders).transform(clean)
    .to(bucket(OUTPUT_KEYS.cleaned, Cleaned));
  return new Pipeline({ orders_df: cleaned, customers_df: bucket(INPUT_KEYS.customers, Customers) })
    .transform(enrich).to(bucket(OUTPUT_KEYS.joined, Joined))
    .transform(aggregate).to(bucket(OUTPUT_KEYS.revenue, Revenue))
    .withName("spark_pipeline");
}

/** What a variant runs with. */
export interface RunContext {
  /** A local directory of its own (outputs of the local variants). */
  readonly dir: string;
  /** The generated inputs. */
  readonly inputs: Inputs;
  /** The S3 server's data directory: an object is the file `<dir>/<bucket>/<key>`. */
  readonly s3DataDir: string;
}

/** What a run reports beside its wall time. */
export interface RunDetails {
  /** Glacier's own report, for the variants that run through Glacier. */
  readonly report?: RunReport;
}

/** A way to run the pipeline. */
export interface SparkBenchVariant {
  /** Whether it runs on Spark (and so has submits to split into phases). */
  readonly spark: boolean;
  /** One line on what it does, for the report. */
  readonly description: string;
  /** Where its outputs land, as local files or globs, for checking. */
  outputs(context: RunContext): Outputs;
  /** Removes old outputs; not timed. */
  prepare(context: RunContext): Promise<void>;
  /** Runs the pipeline; this is what is timed. */
  run(context: RunContext, tooling: SparkTooling | undefined): Promise<RunDetails>;
}

/** The hand-written job's arguments for local files under `dir`. */
function localArgs(context: RunContext, write: "parts" | "single"): string[] {
  const out = handwrittenOutputs(context.dir, write);
  return [
    "--io",
    "local",
    "--write",
    write,
    "--orders",
    context.inputs.orders,
    "--customers",
    context.inputs.customers,
    "--cleaned",
    out.cleaned,
    "--joined",
    out.joined,
    "--revenue",
    out.revenue,
  ];
}

function handwrittenOutputs(dir: string, write: "parts" | "single"): Outputs {
  const at = (name: string) => join(dir, write === "parts" ? name : `${name}.parquet`);
  return { cleaned: at("cleaned"), joined: at("joined"), revenue: at("revenue") };
}

/** Spark's part files of an output directory, as a glob polars reads. */
function parts(outputs: Outputs): Outputs {
  const glob = (d: string) => join(d, "*.parquet");
  return {
    cleaned: glob(outputs.cleaned),
    joined: glob(outputs.joined),
    revenue: glob(outputs.revenue),
  };
}

async function fresh(dir: string): Promise<void> {
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  await Deno.mkdir(dir, { recursive: true });
}

function requireTooling(tooling: SparkTooling | undefined): SparkTooling {
  if (tooling === undefined) throw new Error("a Spark variant needs the Spark tooling");
  return tooling;
}

/** An S3 client for the server the environment names, as Glacier configures one. */
function s3(): S3Client {
  return new S3Client({
    endpoint: Deno.env.get("AWS_ENDPOINT_URL_S3"),
    region: Deno.env.get("AWS_REGION") ?? "us-east-1",
    forcePathStyle: true,
  });
}

async function deleteObjects(bucket: string, keys: readonly string[]): Promise<void> {
  const client = s3();
  try {
    for (const key of keys) {
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    }
  } finally {
    client.destroy();
  }
}

/** Glacier: spark tasks in cloud mode, staged through S3, one spark-submit per task. */
const glacierSpark: SparkBenchVariant = {
  spark: true,
  description: 'the pipeline through Glacier\'s API, `run({ mode: "cloud" })`: three spark ' +
    "tasks, each compiled to Spark SQL and run by Glacier's runner in its own spark-submit, " +
    "inputs and outputs staged through the S3 server with boto3, outputs committed together",
  outputs(context) {
    const at = (key: string) => join(context.s3DataDir, SHOP, key);
    return {
      cleaned: at(OUTPUT_KEYS.cleaned),
      joined: at(OUTPUT_KEYS.joined),
      revenue: at(OUTPUT_KEYS.revenue),
    };
  },
  async prepare() {
    await deleteObjects(SHOP, Object.values(OUTPUT_KEYS));
  },
  async run() {
    return { report: await sparkPipeline().run({ mode: "cloud", quiet: true }) };
  },
};

/**
 * Glacier through Spark Connect: the same spark tasks, all three in one Spark Connect session on
 * a `local[2]` server the benchmark started before the runs (`BENCH_SPARK_REMOTE`).
 */
const glacierConnect: SparkBenchVariant = {
  spark: false,
  description: 'the pipeline through Glacier\'s API, `run({ mode: "cloud" })` with ' +
    "`SparkConfig({ remote })`: three spark tasks in one Spark Connect session on a local[2] " +
    "Spark Connect server that runs across runs (started once, before them), inputs and " +
    "outputs staged through the S3 server with boto3, outputs committed together",
  outputs: glacierSpark.outputs,
  prepare: glacierSpark.prepare,
  async run() {
    const remote = Deno.env.get("BENCH_SPARK_REMOTE");
    if (!remote) throw new Error("glacier-connect needs BENCH_SPARK_REMOTE (the parent sets it)");
    return { report: await sparkPipeline(remote).run({ mode: "cloud", quiet: true }) };
  },
};

/** By hand, the way a Spark user writes it: one spark-submit, local files, part files. */
const pyspark: SparkBenchVariant = {
  spark: true,
  description:
    "the same steps hand-written with PySpark's DataFrame API (`_spark_handwritten.py`)" +
    ", all three in one spark-submit, reading and writing local files, each output a " +
    "directory of part files (Spark's own layout)",
  outputs(context) {
    return parts(handwrittenOutputs(context.dir, "parts"));
  },
  async prepare(context) {
    await fresh(context.dir);
  },
  async run(context, tooling) {
    await submitScript(
      requireTooling(tooling),
      "pyspark",
      HANDWRITTEN,
      localArgs(context, "parts"),
    );
    return {};
  },
};

/** By hand, one spark-submit per step, as Glacier submits: three JVMs, local files. */
const pysparkThreeSubmits: SparkBenchVariant = {
  spark: true,
  description: "the hand-written job, one spark-submit per step (three JVM start-ups, as " +
    "Glacier), local files, part files",
  outputs: pyspark.outputs,
  prepare: pyspark.prepare,
  async run(context, tooling) {
    for (const step of ["clean", "join", "aggregate"]) {
      await submitScript(requireTooling(tooling), `pyspark:${step}`, HANDWRITTEN, [
        ...localArgs(context, "parts"),
        "--steps",
        step,
      ]);
    }
    return {};
  },
};

/** The hand-written job's arguments for the S3 server: inputs in the shop, outputs its own. */
function s3Args(): string[] {
  const uri = (bucket: string, key: string) => `s3://${bucket}/${key}`;
  return [
    "--io",
    "s3",
    "--write",
    "single",
    "--orders",
    uri(SHOP, INPUT_KEYS.orders),
    "--customers",
    uri(SHOP, INPUT_KEYS.customers),
    "--cleaned",
    uri(HANDWRITTEN_BUCKET, OUTPUT_KEYS.cleaned),
    "--joined",
    uri(HANDWRITTEN_BUCKET, OUTPUT_KEYS.joined),
    "--revenue",
    uri(HANDWRITTEN_BUCKET, OUTPUT_KEYS.revenue),
  ];
}

/** By hand in Glacier's deployment shape: three submits, S3 staged with boto3, one file each. */
const pysparkS3: SparkBenchVariant = {
  spark: true,
  description: "the hand-written job in Glacier's deployment shape: one spark-submit per step, " +
    "each input downloaded from the S3 server with boto3 and each output written as one file " +
    "(`coalesce(1)`) and uploaded with boto3, as Glacier's runner does, to its final key",
  outputs(context) {
    const at = (key: string) => join(context.s3DataDir, HANDWRITTEN_BUCKET, key);
    return {
      cleaned: at(OUTPUT_KEYS.cleaned),
      joined: at(OUTPUT_KEYS.joined),
      revenue: at(OUTPUT_KEYS.revenue),
    };
  },
  async prepare() {
    await deleteObjects(HANDWRITTEN_BUCKET, Object.values(OUTPUT_KEYS));
  },
  async run(_context, tooling) {
    for (const step of ["clean", "join", "aggregate"]) {
      await submitScript(requireTooling(tooling), `pyspark-s3:${step}`, HANDWRITTEN, [
        ...s3Args(),
        "--steps",
        step,
      ]);
    }
    return {};
  },
};

/**
 * The S3 shape with the three steps in one submit: every output still uploaded as one object,
 * later steps reading the local copy. What Glacier could reach by running a chain of spark tasks
 * in one spark-submit.
 */
const pysparkS3OneSubmit: SparkBenchVariant = {
  ...pysparkS3,
  description: "as `pyspark-s3` (S3 staged with boto3, one file per output, each uploaded), " +
    "but all three steps in one spark-submit, later steps reading the local copy of the " +
    "previous output: what Glacier could reach by running a chain of spark tasks in one submit",
  async run(_context, tooling) {
    await submitScript(requireTooling(tooling), "pyspark-s3", HANDWRITTEN, s3Args());
    return {};
  },
};

/** Glacier's local mode on polars, the local benchmark's `glacier` variant. */
const polars: SparkBenchVariant = {
  spark: false,
  description: 'the same pipeline with local tasks, `run({ mode: "local" })` on nodejs-polars ' +
    "(the local benchmark's `glacier` variant), for reference",
  outputs(context) {
    return polarsLocal.outputs(context.dir);
  },
  async prepare(context) {
    await polarsLocal.prepare(context.dir, context.inputs);
  },
  async run(context) {
    await polarsLocal.run(context.dir, context.inputs);
    return {};
  },
};

/** Every variant, by the name `--variant` takes. */
export const SPARK_VARIANTS: Readonly<Record<string, SparkBenchVariant>> = {
  "glacier-spark": glacierSpark,
  "glacier-connect": glacierConnect,
  "pyspark": pyspark,
  "pyspark-3-submits": pysparkThreeSubmits,
  "pyspark-s3": pysparkS3,
  "pyspark-s3-1-submit": pysparkS3OneSubmit,
  "polars-local": polars,
};

/** The bucket names the parent creates on the S3 server before any run. */
export const BUCKETS: readonly string[] = [SHOP, HANDWRITTEN_BUCKET];
