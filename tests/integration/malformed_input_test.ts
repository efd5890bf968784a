/**
 * Inputs are read as declared, on the real filesystem and through a real S3 server: CSV columns
 * by header name, ragged or truncated lines refused by line number, NDJSON keys checked, and a
 * bucket's CSV options (separator, quote, null values, date formats, header) applied on read and
 * write.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { PutObjectCommand } from "../../src/io/s3/_sdk.ts";
import {
  pl,
  Provider,
  schema,
  SchemaMismatchError,
  StorageError,
  t,
  TaskError,
} from "../../mod.ts";
import { withS3Env } from "./_s3_server.ts";

const Prices = schema({ price: t.float64, quantity: t.int64 });

async function local(path: string, text: string, csv?: Parameters<Provider["bucket"]>[0]["csv"]) {
  const root = await Deno.makeTempDir({ prefix: "glacier-input-" });
  const provider = new Provider({ localRoot: root });
  const bucket = provider.bucket({
    bucket: "inputs",
    path,
    schema: Prices,
    ...(csv ? { csv } : {}),
  });
  const file = join(root, "inputs", path);
  await Deno.mkdir(join(file, ".."), { recursive: true });
  await Deno.writeTextFile(file, text);
  return { root, provider, bucket, file };
}

Deno.test("CSV columns are read by header name, in any order, with or without a byte order mark", async () => {
  for (const text of ["quantity,price\n1,2.5\n2,3.5\n", "\ufeffquantity,price\r\n1,2.5\r\n2,3.5"]) {
    const { bucket } = await local("p.csv", text);
    assert.deepEqual((await bucket.read()).toRecords(), [
      { price: 2.5, quantity: 1 },
      { price: 3.5, quantity: 2 },
    ]);
  }
});

Deno.test("a CSV header with a missing or unknown column names both and the file", async () => {
  const { bucket, file } = await local("p.csv", "foo,quantity\n1,2\n");
  await assert.rejects(
    () => bucket.read(),
    (e: Error) =>
      e instanceof SchemaMismatchError && e.message.includes(file) &&
      e.message.includes("lacks column 'price'") && e.message.includes("has column 'foo'"),
  );
});

Deno.test("a CSV line with too few or too many fields, an empty line or a truncated last line is refused by line number", async () => {
  const cases: [string, RegExp][] = [
    ["price,quantity\n1.5,1\n2.5\n3.5,3\n", /line 3 has 1 field but the header has 2 columns/],
    ["price,quantity\n1.5,1\n2.5,2,9\n", /line 3 has 3 fields but the header has 2 columns/],
    [
      "price,quantity\n1.5,1\n\n3.5,3\n",
      /line 3 is empty \(polars would read it as a row of nulls\)/,
    ],
    ["price,quantity\r\n1.5,1\r\n2.5,2\r\n\r\n", /line 4 is empty/],
    ['price,quantity\n1.5,1\n"2.5', /line 3 has 1 field/],
    ['price,quantity\n1.5,"1\n', /line 2 .*a quoted field there is never closed/],
  ];
  for (const [text, expected] of cases) {
    const { bucket, file } = await local("p.csv", text);
    await assert.rejects(
      () => bucket.read(),
      (e: Error) =>
        e instanceof StorageError && expected.test(e.message) && e.message.includes(file),
      text,
    );
  }
});

Deno.test("a CSV value that does not parse is named with its column and line", async () => {
  const { bucket, file } = await local("p.csv", "price,quantity\n1.5,1\n2.5,two\n");
  await assert.rejects(
    () => bucket.read(),
    (e: Error) =>
      e instanceof StorageError && e.message.includes("column 'quantity'") &&
      e.message.includes(`value 'two' of column 'quantity' is on line 3 of ${file}`),
  );
});

Deno.test("a run whose CSV input has a bad value fails naming the task, the column and the line", async () => {
  const { provider, bucket, file } = await local("p.csv", "quantity,price\n1,1.5\n2,oops\n");
  const out = provider.bucket({ bucket: "inputs", path: "out.parquet", schema: Prices });
  const copy = provider.local().task({ name: "copy", input: Prices, output: Prices }, (df) => df);
  await assert.rejects(
    () => bucket.transform(copy).to(out).run({ mode: "local", quiet: true }),
    (e: Error) =>
      e instanceof TaskError && e.message.includes("task 'copy'") &&
      e.message.includes(`value 'oops' of column 'price' is on line 3 of ${file}`),
  );
});

Deno.test("an NDJSON key the schema lacks is refused by name, with the line it first appears on", async () => {
  const { bucket, file } = await local(
    "p.ndjson",
    '{"price":1.5,"quantity":1}\n{"price":2.5,"quantitty":2}\n',
  );
  await assert.rejects(
    () => bucket.read(),
    (e: Error) =>
      e instanceof SchemaMismatchError && e.message.includes(file) &&
      e.message.includes("has key 'quantitty' that the schema does not declare (first on line 2)"),
  );
});

Deno.test("NDJSON keys are checked at the top level only, through strings, escapes and nesting", async () => {
  const Nested = schema({
    price: t.float64,
    tags: t.list(t.string),
    place: t.struct({ city: t.string }),
  });
  const root = await Deno.makeTempDir({ prefix: "glacier-input-" });
  const bucket = new Provider({ localRoot: root }).bucket({
    bucket: "inputs",
    path: "n.ndjson",
    schema: Nested,
  });
  const file = join(root, "inputs", "n.ndjson");
  await Deno.mkdir(join(file, ".."), { recursive: true });
  await Deno.writeTextFile(
    file,
    '{"price":1.5,"tags":["a,\\"b\\"",":x"],"place":{"city":"c","zip":1}}\n' +
      '{ "pr\\u0069ce" : 2 , "tags": [], "place": null}\n',
  );
  assert.deepEqual((await bucket.read()).toRecords(), [
    { price: 1.5, tags: ['a,"b"', ":x"], place: { city: "c" } },
    { price: 2, tags: [], place: null },
  ]);
  await Deno.writeTextFile(
    file,
    '{"price":1.5,"tags":[],"place":null}\n{"price":1,"tags":[],"place":null,"x\\"y":1,"z":2}\n',
  );
  await assert.rejects(
    () => bucket.read(),
    /has key 'x"y', 'z' that the schema does not declare \('x"y' first on line 2\)/,
  );
  await Deno.writeTextFile(file, '{"price":1.5,"place":null}\n');
  await assert.rejects(() => bucket.read(), /never has key 'tags' that the schema declares/);
});

const Sales = schema({ day: t.date, at: t.datetimeOf("us"), amount: t.float64, note: t.string });
const SALES_CSV = {
  separator: ";",
  quote: "'",
  nullValues: ["NA"],
  dateFormat: "%m/%d/%Y",
  datetimeFormat: "%m/%d/%Y %H:%M",
} as const;
const SALES_TEXT =
  "note;amount;at;day\n'a;b';NA;03/05/2025 10:30;03/05/2025\nplain;2.5;12/31/2025 23:59;12/31/2025\n";
const SALES_ROWS = [
  {
    day: new Date("2025-03-05T00:00:00Z"),
    at: new Date("2025-03-05T10:30:00Z"),
    amount: null,
    note: "a;b",
  },
  {
    day: new Date("2025-12-31T00:00:00Z"),
    at: new Date("2025-12-31T23:59:00Z"),
    amount: 2.5,
    note: "plain",
  },
];

Deno.test("a bucket's CSV options apply on read and write: separator, quote, null values, US dates", async () => {
  const root = await Deno.makeTempDir({ prefix: "glacier-input-" });
  const provider = new Provider({ localRoot: root });
  const sales = provider.bucket({
    bucket: "inputs",
    path: "sales.csv",
    schema: Sales,
    csv: SALES_CSV,
  });
  await Deno.mkdir(join(root, "inputs"), { recursive: true });
  await Deno.writeTextFile(join(root, "inputs", "sales.csv"), SALES_TEXT);
  const read = await sales.read();
  assert.deepEqual(read.toRecords(), SALES_ROWS);

  const copy = provider.bucket({
    bucket: "inputs",
    path: "copy.csv",
    schema: Sales,
    csv: SALES_CSV,
  });
  const same = provider.local().task({ name: "same", input: Sales, output: Sales }, (df) => df);
  await sales.transform(same).to(copy).run({ mode: "local", quiet: true });
  const written = await Deno.readTextFile(join(root, "inputs", "copy.csv"));
  assert.equal(
    written,
    "day;at;amount;note\n03/05/2025;03/05/2025 10:30;NA;'a;b'\n12/31/2025;12/31/2025 23:59;2.5;plain\n",
  );
  assert.deepEqual((await copy.read()).toRecords(), SALES_ROWS);

  await Deno.writeTextFile(
    join(root, "inputs", "sales.csv"),
    "day;at;amount;note\n2025-03-05;03/05/2025 10:30;1;x\n",
  );
  await assert.rejects(
    () => sales.read(),
    (e: Error) => e.message.includes("column 'day'") && e.message.includes("line 2"),
  );
});

Deno.test("without a declared format, CSV dates and datetimes are ISO 8601 only: 03/05/2025 is refused, not read day-first", async () => {
  const root = await Deno.makeTempDir({ prefix: "glacier-input-" });
  const Times = schema({ day: t.date, at: t.datetimeOf("us"), zoned: t.datetimeOf("us", "UTC") });
  const times = new Provider({ localRoot: root }).bucket({
    bucket: "inputs",
    path: "times.csv",
    schema: Times,
  });
  const file = join(root, "inputs", "times.csv");
  await Deno.mkdir(join(file, ".."), { recursive: true });
  await Deno.writeTextFile(
    file,
    "day,at,zoned\n" +
      "2025-03-05,2025-03-05T10:30:00,2025-03-05T10:30:00Z\n" +
      "2025-03-06,2025-03-06 10:30:00.250,2025-03-06T11:30:00+01:00\n" +
      ",,2025-03-07 10:30:00\n",
  );
  assert.deepEqual((await times.read()).toRecords(), [
    {
      day: new Date("2025-03-05"),
      at: new Date("2025-03-05T10:30:00Z"),
      zoned: new Date("2025-03-05T10:30:00Z"),
    },
    {
      day: new Date("2025-03-06"),
      at: new Date("2025-03-06T10:30:00.250Z"),
      zoned: new Date("2025-03-06T10:30:00Z"),
    },
    { day: null, at: null, zoned: new Date("2025-03-07T10:30:00Z") },
  ]);
  await Deno.writeTextFile(file, "day,at,zoned\n2025-03-05,2025-03-05T10:30:00,\n03/05/2025,,\n");
  await assert.rejects(
    () => times.read(),
    (e: Error) =>
      e.message.includes(`value '03/05/2025' of column 'day' is on line 3 of ${file}`) &&
      e.message.includes('csv: { dateFormat: "..." }'),
  );
});

Deno.test("a headerless CSV bucket takes fields in schema order and writes no header", async () => {
  const { bucket, file } = await local("p.csv", "2.5,1\n3.5,2\n", { header: false });
  assert.deepEqual((await bucket.read()).toRecords(), [
    { price: 2.5, quantity: 1 },
    { price: 3.5, quantity: 2 },
  ]);
  await bucket.write(
    pl.DataFrame({ price: [1.5], quantity: pl.Series("quantity", [7], pl.Int64) }),
  );
  assert.equal(await Deno.readTextFile(file), "1.5,7\n");
});

Deno.test("wrong CSV options are refused when the bucket is declared, naming it", () => {
  const provider = new Provider();
  const declare = (csv: Record<string, unknown>, path = "x.csv") => () =>
    provider.bucket({ bucket: "inputs", path, schema: Prices, csv: csv as never });
  assert.throws(
    declare({ separator: ";;" }),
    /bucket 'inputs\/x.csv' csv option 'separator' must be one/,
  );
  assert.throws(declare({ quote: "," }), /'separator' and 'quote' must differ/);
  assert.throws(
    declare({ dateFormat: "%Q" }),
    /bucket 'inputs\/x.csv' csv option 'dateFormat'.*'%Q'/,
  );
  assert.throws(declare({ nullValues: "NA" }), /'nullValues' must be an array/);
  assert.throws(declare({ sep: ";" }), /'sep' is not known/);
  assert.throws(declare({ separator: ";" }, "x.parquet"), /not a .csv file/);
});

Deno.test("through a real S3 server, CSV inputs are read by header name, checked line by line, and bad values traced to their line", () =>
  withS3Env(async (_server, client) => {
    const provider = new Provider();
    const sales = provider.bucket({
      bucket: "inputs",
      path: "sales.csv",
      schema: Sales,
      csv: SALES_CSV,
    });
    const prices = provider.bucket({ bucket: "inputs", path: "prices.csv", schema: Prices });
    const copy = provider.bucket({
      bucket: "inputs",
      path: "copy.csv",
      schema: Sales,
      csv: SALES_CSV,
    });
    await prices.write(
      pl.DataFrame({ price: [1.5], quantity: pl.Series("quantity", [1], pl.Int64) }),
      { mode: "cloud" },
    );
    await client.send(
      new PutObjectCommand({ Bucket: "inputs", Key: "sales.csv", Body: SALES_TEXT }),
    );
    assert.deepEqual((await sales.read({ mode: "cloud" })).toRecords(), SALES_ROWS);
    const same = provider.local().task({ name: "same", input: Sales, output: Sales }, (df) => df);
    await sales.transform(same).to(copy).run({ mode: "cloud", quiet: true });
    assert.deepEqual((await copy.read({ mode: "cloud" })).toRecords(), SALES_ROWS);

    await client.send(
      new PutObjectCommand({
        Bucket: "inputs",
        Key: "prices.csv",
        Body: "quantity,price\n1,2.5\n2\n",
      }),
    );
    await assert.rejects(
      () => prices.read({ mode: "cloud" }),
      (e: Error) =>
        e instanceof StorageError && e.message.includes("s3://inputs/prices.csv") &&
        e.message.includes("line 3 has 1 field"),
    );

    await client.send(
      new PutObjectCommand({
        Bucket: "inputs",
        Key: "prices.csv",
        Body: "quantity,price\n1,2.5\n2,n/a\n",
      }),
    );
    await assert.rejects(
      () => prices.read({ mode: "cloud" }),
      (e: Error) =>
        e instanceof StorageError &&
        e.message.includes("value 'n/a' of column 'price' is on line 3 of s3://inputs/prices.csv"),
    );
    const out = provider.bucket({ bucket: "inputs", path: "out.parquet", schema: Prices });
    const keep = provider.local().task({ name: "keep", input: Prices, output: Prices }, (df) => df);
    await assert.rejects(
      () => prices.transform(keep).to(out).run({ mode: "cloud", quiet: true }),
      (e: Error) =>
        e instanceof TaskError && e.message.includes("task 'keep'") &&
        e.message.includes("value 'n/a' of column 'price' is on line 3 of s3://inputs/prices.csv"),
    );
  }));
