import assert from "node:assert/strict";
import { join } from "node:path";
import {
  LambdaConfig,
  NoDataError,
  Pipeline,
  pl,
  Provider,
  schema,
  SchemaMismatchError,
  SparkConfig,
  StorageError,
  t,
  TaskError,
  timeoutOf,
} from "../../mod.ts";
import { Customers, Joined, Orders, Revenue } from "../_shop.ts";

function ints(name: string, values: number[]): pl.Series {
  return pl.Series(name, values, pl.Int64);
}

/** A small join + aggregate pipeline on a fresh local root. */
async function shop(options: { root?: string; ordersPath?: string } = {}) {
  const root = options.root ?? await Deno.makeTempDir({ prefix: "glacier-test-" });
  const provider = new Provider({ localRoot: root });
  const local = provider.local();
  const spark = provider.spark();
  const orders = provider.bucket({
    bucket: "shop",
    path: options.ordersPath ?? "raw/orders.parquet",
    schema: Orders,
  });
  const customers = provider.bucket({
    bucket: "shop",
    path: "raw/customers.csv",
    schema: Customers,
  });
  const joined = provider.bucket({ bucket: "shop", path: "stage/joined.parquet", schema: Joined });
  const revenue = provider.bucket({ bucket: "shop", path: "out/revenue.parquet", schema: Revenue });
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
    (df) => df.groupBy("region").agg(pl.col("amount").sum().alias("revenue")).sort("region"),
  );
  const report = new Pipeline({ orders_df: orders, customers_df: customers })
    .transform(join).to(joined)
    .transform(byRegion).to(revenue)
    .withName("revenue");
  return { root, provider, local, orders, customers, joined, revenue, report };
}

async function seed(s: Awaited<ReturnType<typeof shop>>) {
  await s.orders.write(pl.DataFrame({
    order_id: ints("order_id", [1, 2, 3, 4]),
    customer_id: ints("customer_id", [10, 10, 20, 30]),
    amount: [5, 7.5, 10, 1],
  }));
  await s.customers.write(pl.DataFrame({
    customer_id: ints("customer_id", [10, 20, 30]),
    region: ["eu", "us", "eu"],
  }));
}

async function bytesOf(path: string): Promise<Uint8Array | null> {
  try {
    return await Deno.readFile(path);
  } catch {
    return null;
  }
}

async function snapshot(root: string): Promise<Map<string, Uint8Array>> {
  const files = new Map<string, Uint8Array>();
  const walk = async (dir: string) => {
    for await (const e of Deno.readDir(dir)) {
      const p = join(dir, e.name);
      if (e.isDirectory && !e.name.startsWith(".")) await walk(p);
      else if (e.isFile) files.set(p, await Deno.readFile(p));
    }
  };
  await walk(root);
  return files;
}

Deno.test("a join + aggregate pipeline runs locally and stores each bucket at <root>/<bucket>/<path>", async () => {
  const s = await shop();
  await seed(s);
  const report = await s.report.run({ mode: "local", quiet: true });
  assert.deepEqual(report.steps.map((r) => [r.task, r.rows]), [
    ["join_orders_customers", 4],
    ["revenue_by_region", 2],
  ]);
  assert.ok(report.steps.every((r) => r.bytes > 0));
  assert.deepEqual((await s.revenue.read()).toRecords(), [
    { region: "eu", revenue: 13.5 },
    { region: "us", revenue: 10 },
  ]);
  const stored = pl.readParquet(join(s.root, "shop", "out", "revenue.parquet"));
  assert.equal(stored.height, 2);
  assert.equal(
    (await Deno.readTextFile(join(s.root, "shop", "raw", "customers.csv"))).split("\n")[0],
    "customer_id,region",
  );
});

Deno.test("every format round-trips, nested and temporal dtypes included", async () => {
  const root = await Deno.makeTempDir();
  const provider = new Provider({ localRoot: root });
  const Flat = schema({
    id: t.int64,
    name: t.string,
    ok: t.bool,
    day: t.date,
    small: t.int32,
    ratio: t.float32,
  });
  const Nested = schema({
    id: t.int64,
    tags: t.list(t.string),
    at: t.datetime,
    point: t.struct({ x: t.float64, y: t.float64 }),
  });
  const flat = pl.DataFrame({
    id: ints("id", [1, 2]),
    name: ["a", "b,with comma"],
    ok: [true, false],
    day: pl.Series(
      "day",
      [new Date(Date.UTC(2026, 0, 1)), new Date(Date.UTC(2026, 11, 31))],
      pl.Date,
    ),
    small: pl.Series("small", [1, -2], pl.Int32),
    ratio: pl.Series("ratio", [0.5, 1.25], pl.Float32),
  });
  const nested = pl.DataFrame({
    id: ints("id", [1, 2]),
    tags: pl.Series("tags", [["x"], ["y", "z"]], pl.List(pl.String)),
    at: pl.Series(
      "at",
      [new Date(Date.UTC(2026, 5, 1, 12)), new Date(Date.UTC(2026, 5, 2))],
      pl.Datetime("ms"),
    ),
  }).withColumns(pl.struct([pl.lit(1.5).alias("x"), pl.lit(2.5).alias("y")]).alias("point"));
  for (const path of ["f.parquet", "f.csv", "f.ndjson", "f.jsonl", "f.arrow", "f.ipc"]) {
    const b = provider.bucket({ bucket: "fmt", path, schema: Flat });
    await b.write(flat);
    assert.deepEqual((await b.read()).toRecords(), flat.toRecords(), path);
  }
  for (const path of ["n.parquet", "n.ndjson", "n.arrow"]) {
    const b = provider.bucket({ bucket: "fmt", path, schema: Nested });
    await b.write(nested);
    const back = await b.read();
    assert.deepEqual(back.schema, nested.schema, path);
    assert.ok(back.frameEqual(nested), path);
  }
  assert.throws(
    () => provider.bucket({ bucket: "fmt", path: "n.csv", schema: Nested }),
    /bucket 'fmt\/n.csv' is CSV, which cannot hold column 'tags' \(List\(String\)\)/,
  );
});

Deno.test("a corrupt input fails with the bucket and file named, and leaves every output byte-for-byte unchanged", async () => {
  const s = await shop();
  await seed(s);
  await s.report.run({ mode: "local", quiet: true });
  const before = await snapshot(s.root);
  await Deno.writeTextFile(join(s.root, "shop", "raw", "orders.parquet"), "not a parquet file");
  await assert.rejects(s.report.run({ mode: "local", quiet: true }), (e: Error) => {
    assert.ok(e instanceof StorageError);
    assert.match(
      e.message,
      /bucket 'shop\/raw\/orders.parquet' data at .*orders.parquet cannot be read as parquet: .*PAR1/,
    );
    assert.match(e.message, /no bucket was changed/);
    return true;
  });
  const after = await snapshot(s.root);
  for (const [path, bytes] of before) {
    if (path.endsWith("orders.parquet")) continue;
    assert.deepEqual(after.get(path), bytes, path);
  }
});

Deno.test("an input whose stored schema differs names the column and both dtypes, and changes nothing", async () => {
  const s = await shop();
  await seed(s);
  await s.report.run({ mode: "local", quiet: true });
  const revenueFile = join(s.root, "shop", "out", "revenue.parquet");
  const joinedFile = join(s.root, "shop", "stage", "joined.parquet");
  const before = [await bytesOf(revenueFile), await bytesOf(joinedFile)];
  pl.DataFrame({ order_id: ints("order_id", [1]), customer_id: ["ten"], amount: [1] })
    .writeParquet(join(s.root, "shop", "raw", "orders.parquet"));
  await assert.rejects(
    s.report.run({ mode: "local", quiet: true }),
    (e: Error) => {
      assert.ok(e instanceof SchemaMismatchError);
      assert.match(
        e.message,
        /column 'customer_id' of bucket 'shop\/raw\/orders.parquet' is String in .*orders.parquet but the schema declares Int64/,
      );
      return true;
    },
  );
  assert.deepEqual([await bytesOf(revenueFile), await bytesOf(joinedFile)], before);
});

Deno.test("a task that throws is named, and the outputs of steps that succeeded before it are not committed", async () => {
  const s = await shop();
  await seed(s);
  await s.report.run({ mode: "local", quiet: true });
  const joinedFile = join(s.root, "shop", "stage", "joined.parquet");
  const joinedBefore = await bytesOf(joinedFile);
  // New orders: a successful first step would change 'joined' if it were committed on its own.
  await s.orders.write(pl.DataFrame({
    order_id: ints("order_id", [9]),
    customer_id: ints("customer_id", [20]),
    amount: [100],
  }));
  const Joined2 = s.joined.schema;
  const broken = s.local.task(
    { name: "explode_on_purpose", input: Joined2, output: Revenue },
    () => {
      throw new Error("boom: bad business rule");
    },
  );
  const other = s.provider.bucket({ bucket: "shop", path: "out/other.parquet", schema: Revenue });
  const pipeline = new Pipeline({ orders_df: s.orders, customers_df: s.customers })
    .transform(s.report.lineage[0].task as never).to(s.joined)
    .transform(broken).to(other);
  await assert.rejects(
    pipeline.run({ mode: "local", quiet: true }),
    (e: Error) => {
      assert.ok(e instanceof TaskError);
      assert.match(e.message, /task 'explode_on_purpose' threw: boom: bad business rule/);
      return true;
    },
  );
  assert.deepEqual(await bytesOf(joinedFile), joinedBefore);
  assert.equal(await bytesOf(join(s.root, "shop", "out", "other.parquet")), null);
});

Deno.test("a task whose real output differs from its bucket fails before anything is written", async () => {
  const s = await shop();
  await seed(s);
  const counts = s.local.task(
    { name: "count_by_region", input: Joined, output: Revenue },
    // pl.len() is UInt32, not the Float64 the bucket declares.
    (df) => df.groupBy("region").agg(pl.len().alias("revenue")),
  );
  const out = s.provider.bucket({ bucket: "shop", path: "out/counts.parquet", schema: Revenue });
  const pipeline = new Pipeline({ orders_df: s.orders, customers_df: s.customers })
    .transform(s.report.lineage[0].task as never).to(s.joined)
    .transform(counts).to(out);
  await assert.rejects(
    pipeline.run({ mode: "local", quiet: true }),
    /column 'revenue' is UInt32 in the output of task 'count_by_region' but Float64 in bucket 'shop\/out\/counts.parquet'/,
  );
  assert.equal(await bytesOf(join(s.root, "shop", "out", "counts.parquet")), null);
  assert.equal(await bytesOf(join(s.root, "shop", "stage", "joined.parquet")), null);

  const check = await pipeline.run({ mode: "check" });
  assert.equal(check.ok, false);
  assert.deepEqual(check.tasks.map((x) => [x.task, x.issues.length]), [
    ["join_orders_customers", 0],
    ["count_by_region", 1],
  ]);
});

Deno.test("the data-free check needs no data and catches a task whose polars code disagrees with its declaration", async () => {
  const root = await Deno.makeTempDir();
  const provider = new Provider({ localRoot: root });
  const Sales = schema({ store: t.string, quantity: t.int64 });
  const Units = schema({ store: t.string, units: t.int64, share: t.float64 });
  const sales = provider.bucket({ bucket: "bkt", path: "sales.parquet", schema: Sales });
  const units = provider.bucket({ bucket: "bkt", path: "units.parquet", schema: Units });
  const wrong = provider.local().task(
    { name: "units_by_store", input: Sales, output: Units },
    (df) => df.groupBy("store").agg(pl.col("quantity").sum().alias("units")),
  );
  const report = await sales.transform(wrong).to(units).run({ mode: "check" });
  assert.equal(report.ok, false);
  assert.deepEqual(report.tasks[0].issues, [
    "bucket 'bkt/units.parquet' has column 'share' that task 'units_by_store' does not write",
  ]);
  assert.deepEqual([...Deno.readDirSync(root)], []);
});

Deno.test("a missing input says which bucket, where, and what to do", async () => {
  const s = await shop();
  await assert.rejects(
    s.report.run({ mode: "local", quiet: true }),
    (e: Error) => {
      assert.ok(e instanceof NoDataError);
      assert.match(
        e.message,
        /bucket 'shop\/raw\/orders.parquet' has no data at .*; it is an input of pipeline 'revenue' \(read by task 'join_orders_customers'\): write it with bucket.write\(frame\) first/,
      );
      return true;
    },
  );
  await assert.rejects(s.revenue.read(), /bucket 'shop\/out\/revenue.parquet' has no data at/);
});

Deno.test("write() validates the frame against the schema and keeps the previous data on failure", async () => {
  const s = await shop();
  await seed(s);
  const file = join(s.root, "shop", "raw", "orders.parquet");
  const before = await bytesOf(file);
  await assert.rejects(
    s.orders.write(pl.DataFrame({ order_id: [1], customer_id: [1], amount: [1] })),
    /column 'order_id' of bucket 'shop\/raw\/orders.parquet' is Float64 in the frame given to write\(\) but the schema declares Int64/,
  );
  await assert.rejects(
    s.orders.write(pl.DataFrame({ order_id: ints("order_id", [1]) })),
    /lacks column 'customer_id' \(Int64\) that its schema declares/,
  );
  assert.deepEqual(await bytesOf(file), before);
  const extra = await s.orders.write(pl.DataFrame({
    note: ["dropped"],
    amount: [2],
    customer_id: ints("customer_id", [1]),
    order_id: ints("order_id", [7]),
  }));
  assert.equal(extra.rows, 1);
  assert.deepEqual((await s.orders.read()).columns, ["order_id", "customer_id", "amount"]);
});

Deno.test("a run killed in the middle leaves every bucket as it was", async () => {
  const root = await Deno.makeTempDir();
  const script = join(root, "slow_pipeline.ts");
  const modUrl = new URL("../../mod.ts", import.meta.url).href;
  await Deno.writeTextFile(
    script,
    `
import { pl, Provider, schema, t } from "${modUrl}";
const provider = new Provider({ localRoot: ${JSON.stringify(root)} });
const N = schema({ n: t.int64 });
const S = schema({ k: t.int64, total: t.float64 });
const seedB = provider.bucket({ bucket: "kill", path: "seed.parquet", schema: N });
const first = provider.bucket({ bucket: "kill", path: "first.parquet", schema: N });
const second = provider.bucket({ bucket: "kill", path: "second.parquet", schema: S });
const copy = provider.local().task({ name: "copy", input: N, output: N }, (df) => df);
const heavy = provider.local().task({ name: "heavy", input: N, output: S }, (df) =>
  df.join(pl.DataFrame({ r: pl.Series("r", Array.from({ length: 3000 }, (_, i) => i), pl.Int64) }).lazy(), { how: "cross" })
    .select(pl.col("n").add(pl.col("r")).mod(1000).alias("k"), pl.col("r").cast(pl.Float64).alias("v"))
    .groupBy("k").agg(pl.col("v").sum().alias("total")));
const pipeline = seedB.transform(copy).to(first).transform(heavy).to(second);
if (Deno.args[0] === "seed") {
  await seedB.write(pl.DataFrame({ n: pl.Series("n", Array.from({ length: 20000 }, (_, i) => i), pl.Int64) }));
} else {
  await pipeline.run({ mode: "local" });
}
`,
  );
  const run = (arg: string) =>
    new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", script, arg],
      stdout: "piped",
      stderr: "piped",
    });
  assert.equal((await run("seed").output()).code, 0);
  // Previous contents of both outputs.
  const firstFile = join(root, "kill", "first.parquet");
  const secondFile = join(root, "kill", "second.parquet");
  pl.DataFrame({ n: ints("n", [42]) }).writeParquet(firstFile);
  pl.DataFrame({ k: ints("k", [1]), total: [2] }).writeParquet(secondFile);
  const before = [await bytesOf(firstFile), await bytesOf(secondFile)];

  const child = run("go").spawn();
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  while (!seen.includes("done copy")) {
    const { value, done } = await reader.read();
    if (done) break;
    seen += value;
  }
  assert.match(seen, /done copy/, "the first step finished");
  child.kill("SIGKILL");
  await child.status;
  await reader.cancel();
  await child.stdout.cancel();
  assert.doesNotMatch(seen, /done heavy/, "the kill landed before the second step ended");
  assert.deepEqual([await bytesOf(firstFile), await bytesOf(secondFile)], before);

  // The next use of the root removes the dead run's staging.
  const provider = new Provider({ localRoot: root });
  const first = provider.bucket({
    bucket: "kill",
    path: "first.parquet",
    schema: schema({ n: t.int64 }),
  });
  assert.deepEqual((await first.read()).toRecords(), [{ n: 42 }]);
  assert.deepEqual([...Deno.readDirSync(join(root, ".glacier", "staging"))], []);
});

Deno.test("a task past its timeout fails the run naming the task and the limit, and publishes nothing", async () => {
  const root = await Deno.makeTempDir();
  const module = join(root, "endless.ts");
  const modUrl = new URL("../../mod.ts", import.meta.url).href;
  await Deno.writeTextFile(
    module,
    `
import { pl, Provider, schema, t } from "${modUrl}";
const provider = new Provider({ localRoot: ${JSON.stringify(root)} });
const N = schema({ n: t.int64 });
const seed = provider.bucket({ bucket: "slow", path: "seed.parquet", schema: N });
const first = provider.bucket({ bucket: "slow", path: "first.parquet", schema: N });
const total = provider.bucket({ bucket: "slow", path: "total.parquet", schema: N });
const copy = provider.local().task({ name: "copy", input: N, output: N }, (df) => df);
const endless = provider.local().task(
  { name: "endless", input: N, output: N, timeoutSeconds: 2 },
  (df) => df.join(df.rename({ n: "a" }), { how: "cross" }).join(df.rename({ n: "b" }), { how: "cross" })
    .select(pl.col("n").add(pl.col("a")).add(pl.col("b")).sum().alias("n")),
);
export const pipeline = seed.transform(copy).to(first).transform(endless).to(total);
await seed.write(pl.DataFrame({ n: pl.Series("n", Array.from({ length: 20000 }, (_, i) => i), pl.Int64) }));
`,
  );
  const started = performance.now();
  const result = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("../../cli.ts", import.meta.url).pathname, module, "run"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const seconds = (performance.now() - started) / 1000;
  const stderr = new TextDecoder().decode(result.stderr);
  assert.equal(result.code, 1, stderr);
  assert.match(stderr, /task 'endless' exceeded its timeout of 2 s/);
  assert.ok(seconds < 30, `the run ended ${seconds} s after it started`);
  for (const name of ["first.parquet", "total.parquet"]) {
    await assert.rejects(() => Deno.stat(join(root, "slow", name)), Deno.errors.NotFound, name);
  }
});

Deno.test("a task's timeout is checked where it is declared and never exceeds Lambda's", () => {
  const provider = new Provider();
  const N = schema({ n: t.int64 });
  const lambda = provider.serverless({ config: new LambdaConfig({ timeoutSeconds: 60 }) });
  assert.throws(
    () => lambda.task({ name: "long", input: N, output: N, timeoutSeconds: 120 }, (df) => df),
    /task 'long' timeoutSeconds 120 is above its resource's limit of 60 s/,
  );
  assert.throws(
    () =>
      provider.local().task({ name: "zero", input: N, output: N, timeoutSeconds: 0 }, (df) => df),
    /task 'zero' timeoutSeconds must be a positive number of seconds, got 0/,
  );
  assert.throws(() => new SparkConfig({ timeoutSeconds: -1 }), /SparkConfig timeoutSeconds/);
  const spark = provider.spark({ config: new SparkConfig({ timeoutSeconds: 600 }) });
  const byDefault = spark.task({ name: "a", input: N, output: N }, (df) => df);
  const lower = spark.task({ name: "b", input: N, output: N, timeoutSeconds: 30 }, (df) => df);
  assert.deepEqual([timeoutOf(byDefault), timeoutOf(lower)], [600, 30]);
});
