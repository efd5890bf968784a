/**
 * Cloud-mode storage against a real S3 server (versitygw on loopback, started and stopped by the
 * harness): round trips, a large multipart object, safe writes, locks, and the error cases.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from "../../src/io/s3/_sdk.ts";
import {
  NoDataError,
  Pipeline,
  pl,
  Provider,
  schema,
  SchemaMismatchError,
  StorageError,
  t,
  TaskError,
  UnsupportedError,
} from "../../mod.ts";
import { S3RunSession } from "../../src/io/s3/s3_session.ts";
import { Customers, Joined, Orders, Revenue } from "../_shop.ts";
import { s3Client, type S3Server, startTestS3Server, withS3Server } from "./_s3_server.ts";
import { withAwsEnv } from "../_env.ts";

function cloud<T>(fn: (server: S3Server) => Promise<T>): Promise<T> {
  return withS3Server((server) => withAwsEnv(server.env(), () => fn(server)));
}

function ints(name: string, values: number[]): pl.Series {
  return pl.Series(name, values, pl.Int64);
}

async function shop(localRoot?: string) {
  const provider = new Provider({ localRoot: localRoot ?? await Deno.makeTempDir() });
  const local = provider.local();
  const orders = provider.bucket({ bucket: "shop", path: "raw/orders.parquet", schema: Orders });
  const customers = provider.bucket({
    bucket: "shop",
    path: "raw/customers.csv",
    schema: Customers,
  });
  const joined = provider.bucket({ bucket: "shop", path: "stage/joined.arrow", schema: Joined });
  const revenue = provider.bucket({ bucket: "shop", path: "out/revenue.ndjson", schema: Revenue });
  const join = local.task(
    { name: "join", inputs: { orders_df: Orders, customers_df: Customers }, output: Joined },
    ({ orders_df, customers_df }) => orders_df.join(customers_df, { on: "customer_id" }),
  );
  const byRegion = local.task(
    { name: "by_region", input: Joined, output: Revenue },
    (df) => df.groupBy("region").agg(pl.col("amount").sum().alias("revenue")).sort("region"),
  );
  const report = new Pipeline({ orders_df: orders, customers_df: customers })
    .transform(join).to(joined)
    .transform(byRegion).to(revenue)
    .withName("revenue");
  return { provider, local, orders, customers, joined, revenue, report };
}

async function seed(s: Awaited<ReturnType<typeof shop>>, mode: "local" | "cloud") {
  await s.orders.write(
    pl.DataFrame({
      order_id: ints("order_id", [1, 2, 3, 4, 5]),
      customer_id: ints("customer_id", [10, 10, 20, 30, 40]),
      amount: [5, 7.5, 10, 1, 2.25],
    }),
    { mode },
  );
  await s.customers.write(
    pl.DataFrame({ customer_id: ints("customer_id", [10, 20, 30]), region: ["eu", "us", "eu"] }),
    { mode },
  );
}

async function keys(server: S3Server, bucket: string): Promise<string[]> {
  const out = await s3Client(server).send(new ListObjectsV2Command({ Bucket: bucket }));
  return (out.Contents ?? []).map((o) => o.Key!).sort();
}

async function objectBytes(server: S3Server, bucket: string, key: string): Promise<Uint8Array> {
  const out = await s3Client(server).send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return await out.Body!.transformToByteArray();
}

Deno.test("a pipeline in cloud mode gives the rows local mode gives, and leaves only its outputs in S3", async () => {
  await cloud(async (server) => {
    const s = await shop();
    await seed(s, "local");
    await s.report.run({ mode: "local", quiet: true });
    const local = (await s.revenue.read()).toRecords();

    await seed(s, "cloud");
    const report = await s.report.run({ mode: "cloud", quiet: true });
    assert.deepEqual(report.steps.map((r) => [r.task, r.rows]), [["join", 4], ["by_region", 2]]);
    assert.deepEqual((await s.revenue.read({ mode: "cloud" })).toRecords(), local);
    assert.deepEqual(await keys(server, "shop"), [
      "out/revenue.ndjson",
      "raw/customers.csv",
      "raw/orders.parquet",
      "stage/joined.arrow",
    ]);
  });
});

Deno.test("every format round-trips through S3", async () => {
  await cloud(async () => {
    const provider = new Provider({ localRoot: await Deno.makeTempDir() });
    const Flat = schema({ id: t.int64, name: t.string, ok: t.bool, day: t.date, x: t.float32 });
    const frame = pl.DataFrame({
      id: ints("id", [1, 2, 3]),
      name: ["a", 'b, quoted "c"', "ü"],
      ok: [true, false, true],
      day: pl.Series("day", [
        new Date(Date.UTC(2026, 0, 1)),
        new Date(Date.UTC(2026, 5, 30)),
        new Date(Date.UTC(2027, 11, 31)),
      ], pl.Date),
      x: pl.Series("x", [0.5, -1.5, 2], pl.Float32),
    });
    for (const path of ["f.parquet", "f.csv", "f.ndjson", "f.jsonl", "f.arrow", "f.ipc"]) {
      const b = provider.bucket({ bucket: "formats", path: `dir/${path}`, schema: Flat });
      const written = await b.write(frame, { mode: "cloud" });
      assert.equal(written.uri, `s3://formats/dir/${path}`);
      assert.equal(written.rows, 3);
      assert.ok(frame.frameEqual(await b.read({ mode: "cloud" })), path);
    }
    const Nested = schema({ id: t.int64, tags: t.list(t.string) });
    const nested = provider.bucket({ bucket: "formats", path: "n.parquet", schema: Nested });
    const tags = pl.DataFrame({
      id: ints("id", [1, 2]),
      tags: pl.Series("tags", [["a"], ["b", "c"]], pl.List(pl.String)),
    });
    await nested.write(tags, { mode: "cloud" });
    assert.ok(tags.frameEqual(await nested.read({ mode: "cloud" })));
  });
});

Deno.test("an object over 100 MB goes up in parts and comes back whole", async () => {
  await cloud(async (server) => {
    const provider = new Provider({ localRoot: await Deno.makeTempDir() });
    const Wide = schema({ id: t.int64, text: t.string });
    const big = provider.bucket({ bucket: "large", path: "wide.ndjson", schema: Wide });
    const rows = 1_600_000;
    const frame = pl.DataFrame({ id: pl.Series("id", [0], pl.Int64) })
      .select(pl.intRange(0, rows).cast(pl.Int64).alias("id"))
      .withColumns(
        pl.concatString([
          pl.lit("row-"),
          pl.col("id").cast(pl.String),
          pl.lit("-padding-to-make-it-large-0123456789"),
        ], "").alias("text"),
      );
    const written = await big.write(frame, { mode: "cloud" });
    assert.ok(written.bytes >= 100 * 1024 * 1024, `only ${written.bytes} bytes`);
    const head = await s3Client(server).send(
      new HeadObjectCommand({ Bucket: "large", Key: "wide.ndjson" }),
    );
    assert.equal(head.ContentLength, written.bytes);
    assert.match(head.ETag ?? "", /-\d+"?$/, "a multipart object's ETag ends in -<parts>");
    const back = await big.read({ mode: "cloud" });
    assert.equal(back.height, rows);
    assert.equal(back.getColumn("id").sum(), (rows * (rows - 1)) / 2);
    assert.equal(
      back.getColumn("text").get(rows - 1),
      `row-${rows - 1}-padding-to-make-it-large-0123456789`,
    );
  });
});

Deno.test("a failed cloud run leaves every S3 object as it was and no staging behind", async () => {
  await cloud(async (server) => {
    const s = await shop();
    await seed(s, "cloud");
    await s.report.run({ mode: "cloud", quiet: true });
    const before = await objectBytes(server, "shop", "stage/joined.arrow");
    await s.orders.write(
      pl.DataFrame({
        order_id: ints("order_id", [9]),
        customer_id: ints("customer_id", [20]),
        amount: [100],
      }),
      { mode: "cloud" },
    );
    const broken = s.local.task({ name: "broken", input: Joined, output: Revenue }, () => {
      throw new Error("no revenue today");
    });
    const other = s.provider.bucket({ bucket: "shop", path: "out/other.parquet", schema: Revenue });
    const pipeline = new Pipeline({ orders_df: s.orders, customers_df: s.customers })
      .transform(s.report.lineage[0].task as never).to(s.joined)
      .transform(broken).to(other);
    await assert.rejects(pipeline.run({ mode: "cloud", quiet: true }), (e: Error) => {
      assert.ok(e instanceof TaskError);
      assert.match(e.message, /no bucket was changed: task 'broken' threw: no revenue today/);
      return true;
    });
    assert.deepEqual(await objectBytes(server, "shop", "stage/joined.arrow"), before);
    assert.deepEqual(await keys(server, "shop"), [
      "out/revenue.ndjson",
      "raw/customers.csv",
      "raw/orders.parquet",
      "stage/joined.arrow",
    ]);
  });
});

Deno.test("a second run writing the same bucket is refused while the first holds it", async () => {
  await cloud(async () => {
    const s = await shop();
    await seed(s, "cloud");
    const first = await S3RunSession.begin(s.report.graph());
    try {
      await assert.rejects(s.report.run({ mode: "cloud", quiet: true }), (e: Error) => {
        assert.ok(e instanceof StorageError);
        assert.match(
          e.message,
          new RegExp(
            `bucket 'shop/out/revenue.ndjson' is being written by run ${first.runId} \\(pid ${Deno.pid} on .*, since .*\\); nothing was changed`,
          ),
        );
        return true;
      });
      await assert.rejects(
        s.joined.write(
          pl.DataFrame({
            order_id: ints("order_id", [1]),
            customer_id: ints("customer_id", [1]),
            amount: [1],
            region: ["x"],
          }),
          { mode: "cloud" },
        ),
        /bucket 'shop\/stage\/joined.arrow' is being written by run /,
      );
    } finally {
      await first.abort();
    }
    const report = await s.report.run({ mode: "cloud", quiet: true });
    assert.equal(report.steps.length, 2);
  });
});

Deno.test("the server killed in the middle of a write leaves the previous object whole", async () => {
  await cloud(async (server) => {
    Deno.env.set("AWS_MAX_ATTEMPTS", "1");
    const provider = new Provider({ localRoot: await Deno.makeTempDir() });
    const Wide = schema({ id: t.int64, text: t.string });
    const b = provider.bucket({ bucket: "crash", path: "data.ndjson", schema: Wide });
    const small = pl.DataFrame({ id: ints("id", [1, 2]), text: ["old", "rows"] });
    await b.write(small, { mode: "cloud" });
    const before = await objectBytes(server, "crash", "data.ndjson");
    const rows = 3_000_000;
    const large = pl.DataFrame({ id: pl.Series("id", [0], pl.Int64) })
      .select(pl.intRange(0, rows).cast(pl.Int64).alias("id"))
      .withColumns(
        pl.concatString([
          pl.lit("new-row-"),
          pl.col("id").cast(pl.String),
          pl.lit("-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"),
        ], "").alias("text"),
      );
    const writing = b.write(large, { mode: "cloud" });
    // Its failure is asserted below; until then it must not count as an unhandled rejection.
    writing.catch(() => {});
    // Wait until the upload is under way: versitygw keeps in-flight parts in its data dir.
    const deadline = Date.now() + 30_000;
    let uploading = false;
    while (!uploading && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
      uploading = await hasUploadInFlight(join(server.dataDir, "crash"));
    }
    assert.ok(uploading, "the upload never started");
    await server.kill();
    await assert.rejects(writing, (e: Error) => {
      assert.ok(e instanceof StorageError, `${e}`);
      assert.match(
        e.message,
        /cannot reach S3 at http:\/\/127\.0\.0\.1:\d+ .*to (write|lock) bucket 'crash\/data.ndjson'|S3 failed to write bucket 'crash\/data.ndjson'/,
      );
      return true;
    });
    await server.restart();
    assert.deepEqual(await objectBytes(server, "crash", "data.ndjson"), before);
    assert.deepEqual((await b.read({ mode: "cloud" })).toRecords(), [{ id: 1, text: "old" }, {
      id: 2,
      text: "rows",
    }]);
    assert.deepEqual(
      (await keys(server, "crash")).filter((k) => !k.startsWith(".glacier/locks/")),
      ["data.ndjson"],
    );
    // The lock the interrupted write could not release is taken over by this process's next write.
    await b.write(small, { mode: "cloud" });
    assert.deepEqual(await keys(server, "crash"), ["data.ndjson"]);
  });
});

async function hasUploadInFlight(dir: string): Promise<boolean> {
  const walk = async (d: string): Promise<boolean> => {
    try {
      for await (const e of Deno.readDir(d)) {
        // The folder stays once made; a file in it is an object being received.
        if (e.name === ".sgwtmp") {
          if (await holdsFile(join(d, e.name))) return true;
          continue;
        }
        if (e.isDirectory && (await walk(join(d, e.name)))) return true;
      }
    } catch {
      return false;
    }
    return false;
  };
  return await walk(dir);
}

async function holdsFile(dir: string): Promise<boolean> {
  for await (const e of Deno.readDir(dir)) {
    if (e.isFile) return true;
    if (e.isDirectory && (await holdsFile(join(dir, e.name)))) return true;
  }
  return false;
}

Deno.test("errors say which bucket, which object and what to do", async (test) => {
  await cloud(async (server) => {
    const s = await shop();
    await test.step("a missing input names the task and pipeline that need it", async () => {
      await assert.rejects(s.report.run({ mode: "cloud", quiet: true }), (e: Error) => {
        assert.ok(e instanceof NoDataError, `${e}`);
        assert.match(
          e.message,
          /bucket 'shop\/raw\/orders.parquet' has no data at s3:\/\/shop\/raw\/orders.parquet; it is an input of pipeline 'revenue' \(read by task 'join'\): write it with bucket.write\(frame, \{ mode: "cloud" \}\) first/,
        );
        return true;
      });
    });
    await test.step("a missing S3 bucket says how to create it", async () => {
      const nowhere = s.provider.bucket({
        bucket: "no-such-bucket",
        path: "x.parquet",
        schema: Revenue,
      });
      await assert.rejects(
        nowhere.read({ mode: "cloud" }),
        /S3 bucket 'no-such-bucket' does not exist at http:\/\/127.0.0.1:\d+, so bucket 'no-such-bucket\/x.parquet' \(s3:\/\/no-such-bucket\/x.parquet\) cannot be read; create it/,
      );
    });
    await test.step("a corrupt object names the bucket and the format", async () => {
      await seed(s, "cloud");
      await s3Client(server).send(
        new PutObjectCommand({ Bucket: "shop", Key: "raw/orders.parquet", Body: "garbage" }),
      );
      await assert.rejects(s.orders.read({ mode: "cloud" }), (e: Error) => {
        assert.ok(e instanceof StorageError);
        assert.match(
          e.message,
          /bucket 'shop\/raw\/orders.parquet' data at s3:\/\/shop\/raw\/orders.parquet cannot be read as parquet/,
        );
        return true;
      });
    });
    await test.step("an object with another schema names the column and both dtypes", async () => {
      const wrong = s.provider.bucket({
        bucket: "shop",
        path: "raw/customers.csv",
        schema: schema({ customer_id: t.int64, region: t.int64 }),
      });
      await assert.rejects(wrong.read({ mode: "cloud" }), StorageError);
      await assert.rejects(
        s.orders.write(pl.DataFrame({ order_id: [1], customer_id: [1], amount: [1] }), {
          mode: "cloud",
        }),
        (e: Error) =>
          e instanceof SchemaMismatchError &&
          /is Float64 in the frame given to write\(\) but the schema declares Int64; nothing was written/
            .test(e.message),
      );
    });
    await test.step("wrong credentials", async () => {
      await withAwsEnv({ ...server.env(), AWS_SECRET_ACCESS_KEY: "not-the-secret" }, async () => {
        await assert.rejects(s.customers.read({ mode: "cloud" }), (e: Error) => {
          assert.match(
            e.message,
            /S3 at http:\/\/127.0.0.1:\d+ rejected the credentials \(SignatureDoesNotMatch\) when asked to read bucket 'shop\/raw\/customers.csv'.*check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/,
          );
          return true;
        });
      });
    });
    await test.step("no credentials at all", async () => {
      const { AWS_ACCESS_KEY_ID: _a, AWS_SECRET_ACCESS_KEY: _s, ...rest } = server.env();
      await withAwsEnv({
        ...rest,
        AWS_SHARED_CREDENTIALS_FILE: "/nonexistent/credentials",
        AWS_CONFIG_FILE: "/nonexistent/config",
        AWS_EC2_METADATA_DISABLED: "true",
      }, async () => {
        await assert.rejects(
          s.customers.read({ mode: "cloud" }),
          /no AWS credentials found to read bucket 'shop\/raw\/customers.csv' \(s3:\/\/shop\/raw\/customers.csv\); set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE/,
        );
      });
    });
    await test.step("an unreachable endpoint", async () => {
      await withAwsEnv({
        ...server.env(),
        AWS_ENDPOINT_URL_S3: "http://127.0.0.1:9",
        AWS_MAX_ATTEMPTS: "1",
      }, async () => {
        await assert.rejects(
          s.customers.read({ mode: "cloud" }),
          /cannot reach S3 at http:\/\/127.0.0.1:9 \(.*\) to read bucket 'shop\/raw\/customers.csv'.*glacier stack up/,
        );
      });
    });
  });
});

Deno.test("access denied names the object and the permission it needs", async () => {
  const server = await startTestS3Server({ iam: true });
  try {
    await withAwsEnv(server.env(), async () => {
      const provider = new Provider({ localRoot: await Deno.makeTempDir() });
      const b = provider.bucket({ bucket: "private", path: "p/data.csv", schema: Customers });
      await b.write(pl.DataFrame({ customer_id: ints("customer_id", [1]), region: ["eu"] }), {
        mode: "cloud",
      });
      const created = await new Deno.Command(
        join(new URL("../..", import.meta.url).pathname, ".glacier/bin/versitygw"),
        {
          args: [
            "admin",
            "--access",
            server.accessKey,
            "--secret",
            server.secretKey,
            "--endpoint-url",
            server.endpoint,
            "create-user",
            "--access",
            "reader",
            "--secret",
            "reader-secret",
            "--role",
            "user",
          ],
          stdout: "piped",
          stderr: "piped",
        },
      ).output();
      assert.equal(created.code, 0, new TextDecoder().decode(created.stderr));
      await withAwsEnv({
        ...server.env(),
        AWS_ACCESS_KEY_ID: "reader",
        AWS_SECRET_ACCESS_KEY: "reader-secret",
      }, async () => {
        await assert.rejects(b.read({ mode: "cloud" }), (e: Error) => {
          assert.match(
            e.message,
            /S3 at http:\/\/127.0.0.1:\d+ refused to read bucket 'private\/p\/data.csv' \(s3:\/\/private\/p\/data.csv\) \(AccessDenied, HTTP 403\).*need s3:GetObject on arn:aws:s3:::private\/p\/data.csv/,
          );
          return true;
        });
      });
    });
  } finally {
    await server.stop();
  }
});

Deno.test("cloud mode refuses, before touching S3, tasks whose resource it cannot run yet", async () => {
  await cloud(async (server) => {
    const s = await shop();
    const spark = s.provider.spark().task(
      { name: "on_spark", input: Joined, output: Revenue },
      (df) => df.groupBy("region").agg(pl.col("amount").sum().alias("revenue")),
    );
    const out = s.provider.bucket({ bucket: "untouched", path: "r.parquet", schema: Revenue });
    await assert.rejects(
      s.joined.transform(spark).to(out).run({ mode: "cloud", quiet: true }),
      (e: Error) => {
        assert.ok(e instanceof UnsupportedError);
        assert.match(
          e.message,
          /cloud mode cannot run task 'on_spark' \(spark\) yet.*Nothing was read or written/,
        );
        return true;
      },
    );
    const list = await s3Client(server).send(new ListObjectsV2Command({ Bucket: "untouched" }))
      .catch((e) => e);
    assert.equal((list as Error).name, "NoSuchBucket");
  });
});
