import assert from "node:assert/strict";
import { join } from "node:path";
import { pl, schema, t } from "../../mod.ts";
import {
  bytesFromRows,
  memoryBytesPerRow,
  rowsFromBytes,
  SIZE_ASSUMPTIONS,
  storedBytesPerRow,
} from "./sizes.ts";

const Orders = schema({
  order_id: t.int64,
  customer_id: t.int64,
  amount: t.float64,
  status: t.string,
  ordered_on: t.date,
});

Deno.test("bytes per row follow the dtypes: wider types and lists take more", () => {
  assert.equal(memoryBytesPerRow(schema({ a: t.int64 })), 8);
  assert.equal(memoryBytesPerRow(schema({ a: t.int32, b: t.int16, c: t.uint8 })), 7);
  assert.equal(memoryBytesPerRow(schema({ s: t.string })), 4 + SIZE_ASSUMPTIONS.stringChars);
  assert.equal(
    memoryBytesPerRow(schema({ l: t.list(t.int64) })),
    4 + SIZE_ASSUMPTIONS.listItems * 8,
  );
  assert.equal(memoryBytesPerRow(schema({ s: t.struct({ a: t.int64, b: t.float32 }) })), 12);
});

Deno.test("parquet and arrow compress, text formats do not; rows and bytes convert both ways", () => {
  const parquet = storedBytesPerRow(Orders, "parquet");
  const ipc = storedBytesPerRow(Orders, "ipc");
  const csv = storedBytesPerRow(Orders, "csv");
  const ndjson = storedBytesPerRow(Orders, "ndjson");
  assert.ok(parquet < ipc && ipc < memoryBytesPerRow(Orders), `${parquet} ${ipc}`);
  assert.ok(csv < ndjson, "NDJSON repeats column names on every row");
  assert.ok(parquet < csv);
  const bytes = bytesFromRows(10_000, Orders, "csv");
  assert.equal(rowsFromBytes(bytes, Orders, "csv"), 10_000);
  assert.equal(rowsFromBytes(0, Orders, "parquet"), 0);
  assert.equal(rowsFromBytes(1, Orders, "parquet"), 1, "a file with data has at least a row");
});

Deno.test("text estimates are within a factor of two of what polars writes", async () => {
  const n = 20_000;
  const ids = Array.from({ length: n }, (_, i) => i + 1);
  const frame = pl.DataFrame({
    order_id: pl.Series("order_id", ids.map((i) => 100_000 + i * 7), pl.Int64),
    customer_id: pl.Series("customer_id", ids.map((i) => (i * 7919) % 250_000), pl.Int64),
    amount: ids.map((i) => Math.round(((i * 48271) % 100_000) / 7) / 100),
    status: ids.map((i) => ["completed", "cancelled", "pending", "refund requested"][i % 4]),
    ordered_on: pl.Series(
      "ordered_on",
      ids.map((i) => new Date(Date.UTC(2026, i % 12, 1 + (i % 28)))),
      pl.Date,
    ),
  });
  const dir = await Deno.makeTempDir({ prefix: "glacier-sizes-" });
  try {
    const csv = join(dir, "orders.csv");
    const ndjson = join(dir, "orders.ndjson");
    await frame.lazy().sinkCSV(csv).collect();
    await frame.lazy().sinkNdJson(ndjson).collect();
    for (const [path, format] of [[csv, "csv"], [ndjson, "ndjson"]] as const) {
      const rows = rowsFromBytes((await Deno.stat(path)).size, Orders, format);
      assert.ok(rows > n / 2 && rows < n * 2, `${format}: estimated ${rows} rows of ${n}`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
