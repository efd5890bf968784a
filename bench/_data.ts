/**
 * Deterministic inputs for the local-mode benchmarks: orders and customers as parquet, built with
 * polars expressions (integer arithmetic on a row index, no JS arrays of rows) and cached under
 * `bench/data/inputs/<rows>/` between runs.
 *
 * @module
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { pl, schema, t } from "../mod.ts";

/** Bump when the generator changes, so stale cached inputs are rebuilt. */
const GENERATOR_VERSION = 2;

/** Where benchmark data lives (git-ignored). */
export const DATA_DIR: string = join(dirname(fileURLToPath(import.meta.url)), "data");

/** The regions customers live in. */
export const REGIONS: readonly string[] = [
  "africa",
  "asia",
  "europe",
  "middle-east",
  "north-america",
  "oceania",
  "south-america",
  "central-america",
];

/** The customer segments. */
export const SEGMENTS: readonly string[] = ["consumer", "corporate", "home-office", "public"];

/** Order statuses, picked by a hash of the order id: 5 in 8 are paid or shipped (kept by clean). */
export const STATUS_CYCLE: readonly string[] = [
  "paid",
  "shipped",
  "paid",
  "pending",
  "shipped",
  "paid",
  "cancelled",
  "refunded",
];

/** The columns of the orders file. */
export const Orders = schema({
  order_id: t.int64,
  customer_id: t.int64,
  amount: t.float64,
  status: t.string,
});

/** The columns of the customers file. */
export const Customers = schema({ customer_id: t.int64, region: t.string, segment: t.string });

/** The cached input files of one size. */
export interface Inputs {
  /** Orders: `order_id` Int64, `customer_id` Int64, `amount` Float64 (nullable), `status` String. */
  readonly orders: string;
  /** Customers: `customer_id` Int64, `region` String, `segment` String. */
  readonly customers: string;
  /** Order rows. */
  readonly rows: number;
  /** Customer rows. */
  readonly customerRows: number;
}

/**
 * Returns the input files for a size, generating them when they are not cached yet.
 *
 * @param rows order rows.
 * @param customerRows customer rows (customer ids are `0..customerRows-1`).
 * @returns the paths of both files.
 */
export async function ensureInputs(rows: number, customerRows: number): Promise<Inputs> {
  const dir = join(DATA_DIR, "inputs", `v${GENERATOR_VERSION}-${rows}x${customerRows}`);
  const inputs: Inputs = {
    orders: join(dir, "orders.parquet"),
    customers: join(dir, "customers.parquet"),
    rows,
    customerRows,
  };
  if ((await isFile(inputs.orders)) && (await isFile(inputs.customers))) return inputs;
  await Deno.mkdir(dir, { recursive: true });
  await writeAtomically(customersFrame(customerRows), inputs.customers);
  await writeAtomically(ordersFrame(rows, customerRows), inputs.orders);
  return inputs;
}

/**
 * The orders plan: ids in order, customer ids spread over every customer, amounts with about 5%
 * negative and 1% null values, statuses from {@link STATUS_CYCLE}.
 *
 * @param rows how many orders.
 * @param customerRows how many customers.
 * @returns the lazy frame.
 */
export function ordersFrame(rows: number, customerRows: number): pl.LazyDataFrame {
  const id = pl.col("order_id");
  const mix = id.mul(int(2654435761)).add(int(12345)).modulo(int(1000003));
  return pl.DataFrame([pl.intRange(0, rows, 1, pl.Int64, true).alias("order_id")]).lazy()
    .select(
      id,
      id.mul(int(7919)).add(int(13)).modulo(int(customerRows)).alias("customer_id"),
      pl.when(id.modulo(int(97)).eq(int(0))).then(pl.lit(null))
        .otherwise(mix.cast(pl.Float64).div(100).sub(500)).cast(pl.Float64).alias("amount"),
      pick(id.mul(int(40503)).add(int(7)).modulo(int(1000033)), STATUS_CYCLE).alias("status"),
    );
}

/**
 * The customers plan: one row per id, regions and segments from {@link REGIONS} and
 * {@link SEGMENTS}.
 *
 * @param customerRows how many customers.
 * @returns the lazy frame.
 */
export function customersFrame(customerRows: number): pl.LazyDataFrame {
  const id = pl.col("customer_id");
  return pl.DataFrame([pl.intRange(0, customerRows, 1, pl.Int64, true).alias("customer_id")])
    .lazy()
    .select(
      id,
      pick(id.mul(int(31)).add(int(3)), REGIONS).alias("region"),
      pick(id.mul(int(2654435761)).add(int(97)).modulo(int(1000003)), SEGMENTS).alias("segment"),
    );
}

/** An Int64 literal (a bare JS number would be a Float64). */
function int(value: number): pl.Expr {
  return pl.lit(value).cast(pl.Int64);
}

/** Maps a non-negative integer expression onto `values`, cyclically. */
function pick(index: pl.Expr, values: readonly string[]): pl.Expr {
  return index.modulo(int(values.length))
    .replaceStrict([...values.keys()], [...values], undefined, pl.String);
}

async function writeAtomically(frame: pl.LazyDataFrame, path: string): Promise<void> {
  const temp = `${path}.${crypto.randomUUID()}.tmp`;
  try {
    await frame.sinkParquet(temp).collect();
    await Deno.rename(temp, path);
  } finally {
    await Deno.remove(temp).catch(() => {});
  }
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}
