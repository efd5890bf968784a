import assert from "node:assert/strict";
import { dtypeName, pl, schema, t } from "../../mod.ts";
import {
  columnsOf,
  dataIssues,
  emptyFrame,
  exactIssues,
  feedIssues,
  schemaOf,
} from "../../src/schema/schema.ts";

Deno.test("t holds polars' own dtypes", () => {
  assert.equal(t.int64, pl.Int64);
  assert.equal(t.string, pl.String);
  assert.ok(t.list(t.int32).equals(pl.List(pl.Int32)));
  assert.ok(t.struct({ a: t.bool }).equals(pl.Struct({ a: pl.Bool })));
});

Deno.test("dtype names are the ones messages print", () => {
  assert.deepEqual(
    [
      t.int8,
      t.uint64,
      t.string,
      t.date,
      t.datetime,
      t.datetimeOf("us", "UTC"),
      t.list(t.list(t.float32)),
      t.struct({ a: t.int64, b: t.list(t.string) }),
    ].map(dtypeName),
    [
      "Int8",
      "UInt64",
      "String",
      "Date",
      "Datetime(ms)",
      "Datetime(us, UTC)",
      "List(List(Float32))",
      "Struct(a: Int64, b: List(String))",
    ],
  );
});

Deno.test("schema() refuses what is not a schema", () => {
  assert.throws(() => schema({ id: "int64" } as never), /column 'id' is not a dtype/);
  assert.throws(() => schema([] as never), /takes an object of column names/);
  assert.ok(Object.isFrozen(schema({ id: t.int64 })));
});

Deno.test("feed, exact and data checks name the column, the bucket, the task and both dtypes", () => {
  const have = schema({ id: t.int64, name: t.string, extra: t.bool });
  assert.deepEqual(
    feedIssues(have, { id: t.int64, name: t.string }, { bucket: "b/x", task: "k" }),
    [],
  );
  assert.deepEqual(
    feedIssues(have, { id: t.int32, region: t.string }, { bucket: "b/x", task: "k", input: "in" }),
    [
      "column 'id' of bucket 'b/x' is Int64 but task 'k' reads Int32",
      "bucket 'b/x' given as 'in' lacks column 'region' that task 'k' reads",
    ],
  );
  assert.deepEqual(
    exactIssues({ id: t.int64, n: t.uint32 }, { id: t.int64, n: t.int64, m: t.date }, {
      task: "k",
      bucket: "b/y",
    }),
    [
      "column 'n' is UInt32 in the output of task 'k' but Int64 in bucket 'b/y'",
      "bucket 'b/y' has column 'm' that task 'k' does not write",
    ],
  );
  assert.deepEqual(
    dataIssues({ id: t.string }, { id: t.int64, v: t.float64 }, {
      bucket: "b/z",
      uri: "/d/z.parquet",
    }),
    [
      "column 'id' of bucket 'b/z' is String in /d/z.parquet but the schema declares Int64",
      "bucket 'b/z' data at /d/z.parquet lacks column 'v' (Float64) that its schema declares",
    ],
  );
});

Deno.test("emptyFrame has exactly the schema's columns and dtypes, nested ones included", () => {
  const s = schema({
    a: t.int64,
    l: t.list(t.string),
    st: t.struct({ x: t.int32 }),
    d: t.datetimeOf("ns"),
  });
  const frame = emptyFrame(s);
  assert.equal(frame.height, 0);
  assert.deepEqual(Object.keys(frame.schema), ["a", "l", "st", "d"]);
  assert.deepEqual(Object.values(frame.schema).map(dtypeName), Object.values(s).map(dtypeName));
});

Deno.test("schemaOf and columnsOf keep names, order and nested dtypes", () => {
  const s = schema({
    z: t.struct({ x: t.int32, y: t.list(t.string) }),
    a: t.datetimeOf("us", "UTC"),
    m: t.list(t.int64),
    b: t.bool,
  });
  const frame = emptyFrame(s);
  const got = schemaOf(frame);
  assert.deepEqual(Object.keys(got), ["z", "a", "m", "b"]);
  assert.deepEqual(Object.values(got).map(dtypeName), Object.values(frame.schema).map(dtypeName));
  const picked = frame.lazy().select(columnsOf(schema({ b: t.bool, z: s.z }))).collectSync();
  assert.deepEqual(picked.columns, ["b", "z"]);
});
