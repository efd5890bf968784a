/**
 * The benchmarked pipeline in DuckDB (`@duckdb/node-api`), for comparison: the same three
 * materialized steps as `_variants.ts`, each a `COPY (SELECT ...) TO '...parquet'` with zstd, in
 * an in-memory database. Kept apart from `_variants.ts` so that the other variants' processes never
 * load DuckDB's native library.
 *
 * @module
 */
import { DuckDBInstance } from "npm:@duckdb/node-api@1.5.6-r.1";
import type { Inputs } from "./_data.ts";
import { plain, type Variant } from "./_variants.ts";

function quoted(path: string): string {
  return `'${path.replaceAll("'", "''")}'`;
}

const PARQUET = "(FORMAT parquet, COMPRESSION zstd)";

/** DuckDB: the three steps as SQL, parquet in and out, where `plain` leaves its outputs. */
export const duckdb: Variant = {
  outputs: plain.outputs,
  prepare: plain.prepare,
  async run(dir, inputs: Inputs) {
    const out = duckdb.outputs(dir);
    const instance = await DuckDBInstance.create(":memory:");
    const connection = await instance.connect();
    try {
      await connection.run(
        `COPY (SELECT order_id, customer_id, ` +
          `CAST(ROUND(amount * 100, 0) AS BIGINT) AS amount_cents, status ` +
          `FROM read_parquet(${quoted(inputs.orders)}) ` +
          `WHERE amount IS NOT NULL AND amount > 0 AND status IN ('paid', 'shipped')) ` +
          `TO ${quoted(out.cleaned)} ${PARQUET}`,
      );
      await connection.run(
        `COPY (SELECT o.order_id, o.customer_id, o.amount_cents, o.status, c.region, c.segment ` +
          `FROM read_parquet(${quoted(out.cleaned)}) o ` +
          `JOIN read_parquet(${quoted(inputs.customers)}) c ON o.customer_id = c.customer_id) ` +
          `TO ${quoted(out.joined)} ${PARQUET}`,
      );
      await connection.run(
        `COPY (SELECT region, segment, CAST(COUNT(*) AS BIGINT) AS orders, ` +
          `CAST(SUM(amount_cents) AS BIGINT) AS revenue_cents ` +
          `FROM read_parquet(${quoted(out.joined)}) GROUP BY region, segment) ` +
          `TO ${quoted(out.revenue)} ${PARQUET}`,
      );
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
  },
};
