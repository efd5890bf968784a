/**
 * A bucket's quality checks compiled to Spark SQL, so that a Spark job audits its own output
 * where it wrote it (no download): one query counts, in one pass, the rows and each check's
 * failing rows; one query per row check takes up to five failing rows, which the runner runs only
 * for a check that failed. The failure of each check is defined as `src/core/checks_audit.ts`
 * defines it for polars: nulls pass every check but `not_null` and `unique`, numbers compare as
 * DOUBLE, NaN is above every number, and an `expr` check is compiled from its polars expression by
 * the plan compiler, with polars as the authority on its types.
 *
 * @module
 */
import pl from "../../polars.ts";
import type { BetweenCheck, QualityCheck } from "../../core/checks.ts";
import { SAMPLE_ROWS } from "../../core/checks_audit.ts";
import { GlacierError, UnsupportedError } from "../../core/errors.ts";
import type { BucketRef } from "../../core/lineage.ts";
import { markedFrame, parsePlan } from "../../core/task_plan.ts";
import { PlanOracle } from "../../core/plan_oracle.ts";
import { PlanCompiler } from "./_plan_compiler.ts";
import { floatLiteral, ident, stringLiteral } from "./_types.ts";

/** One check as the runner reads its results. */
export interface SparkCheck {
  /** The check's name. */
  readonly name: string;
  /** `error` or `warn`. */
  readonly severity: "error" | "warn";
  /** The bucket checked, `bucket/path`. */
  readonly bucket: string;
  /** The column of the counts row with its failing rows. */
  readonly failing: string;
  /** The column of the counts row that says whether it passed. */
  readonly passed: string;
  /** The query of up to five failing rows, for a row check. */
  readonly sample?: string;
}

/** A bucket's checks, compiled: what a Spark job runs on its output. */
export interface SparkChecks {
  /** The temporary view the runner registers the written output as. */
  readonly view: string;
  /** One row: `rows`, then each check's `failing_<i>` and `passed_<i>`. */
  readonly counts: string;
  /** The checks, in the bucket's order. */
  readonly checks: readonly SparkCheck[];
}

/**
 * Compiles a bucket's quality checks to Spark SQL over a view of its data.
 *
 * @param ref the bucket, with its checks.
 * @param view the temporary view the data is registered as.
 * @param task the task that writes it, for messages.
 * @returns the queries, or `undefined` when the bucket has no checks.
 * @throws {UnsupportedError} naming the check and the bucket when an `expr` check uses a polars
 *   operation Glacier cannot run on Spark.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Provider, schema, t } from "@glacier/glacier";
 * import { compileChecks } from "./checks_sql.ts";
 * const bucket = new Provider().bucket({
 *   bucket: "lab",
 *   path: "out.parquet",
 *   schema: schema({ model: t.string }),
 *   checks: (c) => [c.notNull("model")],
 * });
 * const compiled = compileChecks(bucket, "audit", "clean")!;
 * assert.ok(compiled.counts.includes("`model` IS NULL"));
 * assert.equal(compiled.checks[0].name, "not_null(model)");
 * ```
 */
export function compileChecks(
  ref: BucketRef,
  view: string,
  task: string,
): SparkChecks | undefined {
  const checks = ref.checks ?? [];
  if (checks.length === 0) return undefined;
  const columns = Object.keys(ref.schema).map(ident);
  const windows = checks.flatMap((check, i) =>
    check.kind === "unique"
      ? [`count(1) OVER (PARTITION BY ${check.columns.map(ident).join(", ")}) AS dup_${i}`]
      : []
  );
  const audited = `audited AS (SELECT * FROM (${exprQuery(ref, view, task)}) AS data)`;
  const flagged = `flagged AS (SELECT ${["*", ...windows].join(", ")} FROM audited)`;
  const prefix = `WITH ${audited}, ${flagged}`;
  const counts: string[] = ["count(1) AS rows"];
  const outcome: string[] = ["rows"];
  const compiled = checks.map((check, i): SparkCheck => {
    const failing = `failing_${i}`;
    const passed = `passed_${i}`;
    const base = { name: check.name, severity: check.severity, bucket: ref.location };
    if (check.kind === "row_count") {
      const within = rowCountSql(check);
      counts.push(`CASE WHEN ${within} THEN 0 ELSE count(1) END AS ${failing}`);
      outcome.push(failing, `${within.replaceAll("count(1)", "rows")} AS ${passed}`);
      return { ...base, failing, passed };
    }
    const predicate = failingSql(check, i, ref);
    counts.push(`coalesce(sum(CASE WHEN ${predicate} THEN 1 ELSE 0 END), 0) AS ${failing}`);
    outcome.push(failing, `${failing} = 0 AS ${passed}`);
    const sample = `${prefix} SELECT ${
      columns.join(", ")
    } FROM flagged WHERE ${predicate} LIMIT ${SAMPLE_ROWS}`;
    return { ...base, failing, passed, sample };
  });
  return {
    view,
    counts: `${prefix} SELECT ${outcome.join(", ")} FROM (SELECT ${
      counts.join(", ")
    } FROM flagged) AS counts`,
    checks: compiled,
  };
}

/** The row count bounds as a condition on `count(1)`. */
function rowCountSql(check: Extract<QualityCheck, { kind: "row_count" }>): string {
  const parts = [
    ...(check.min === undefined ? [] : [`count(1) >= ${check.min}`]),
    ...(check.max === undefined ? [] : [`count(1) <= ${check.max}`]),
  ];
  return `(${parts.join(" AND ")})`;
}

/** The condition that is true on a row failing a row check. */
function failingSql(check: QualityCheck, i: number, ref: BucketRef): string {
  switch (check.kind) {
    case "not_null":
      return `${ident(check.column)} IS NULL`;
    case "unique":
      return `dup_${i} > 1`;
    case "accepted_values": {
      const dtype = ref.schema[check.column];
      const column = numeric(dtype)
        ? `CAST(${ident(check.column)} AS DOUBLE)`
        : ident(check.column);
      if (check.values.length === 0) return `${column} IS NOT NULL`;
      const list = check.values.map((v) =>
        typeof v === "number"
          ? floatLiteral(v)
          : typeof v === "boolean"
          ? String(v).toUpperCase()
          : stringLiteral(v)
      );
      return `${column} NOT IN (${list.join(", ")})`;
    }
    case "between":
      return betweenSql(check, ref.schema[check.column]);
    case "expr":
      return `NOT ${ident(exprColumn(i))}`;
    case "row_count":
      return "FALSE";
  }
}

function betweenSql(check: BetweenCheck, dtype: pl.DataType): string {
  const isNumber = numeric(dtype);
  const column = isNumber ? `CAST(${ident(check.column)} AS DOUBLE)` : ident(check.column);
  const literal = (bound: unknown) => {
    if (bound instanceof Date) {
      const iso = bound.toISOString();
      return dtype.variant === "Date"
        ? `DATE'${iso.slice(0, 10)}'`
        : `TIMESTAMP_NTZ'${iso.slice(0, 23).replace("T", " ")}'`;
    }
    return typeof bound === "number" ? floatLiteral(bound) : stringLiteral(String(bound));
  };
  const parts = [
    ...(check.min === null ? [] : [`${column} < ${literal(check.min)}`]),
    ...(check.max === null ? [] : [`${column} > ${literal(check.max)}`]),
  ];
  return `(${parts.join(" OR ")})`;
}

function numeric(dtype: pl.DataType): boolean {
  return /^(U?Int\d+|Float\d+)$/.test(dtype.variant);
}

/** The column an `expr` check's value is computed in. */
function exprColumn(i: number): string {
  return `__glacier_check_${i}`;
}

/**
 * The data with one boolean column per `expr` check, compiled from polars by the plan compiler;
 * the data itself when there is none.
 */
function exprQuery(ref: BucketRef, view: string, task: string): string {
  const checks = ref.checks ?? [];
  const exprs = checks.flatMap((check, i) =>
    check.kind === "expr" ? [check.predicate.alias(exprColumn(i))] : []
  );
  const columns = Object.keys(ref.schema).map(ident);
  if (exprs.length === 0) return `SELECT ${columns.join(", ")} FROM ${ident(view)}`;
  const names = checks.filter((c) => c.kind === "expr").map((c) => `'${c.name}'`).join(", ");
  try {
    const plan = markedFrame("data", ref.schema).withColumns(...exprs);
    const output: [string, pl.DataType][] = [
      ...Object.entries(ref.schema),
      ...checks.flatMap((check, i) =>
        check.kind === "expr" ? [[exprColumn(i), pl.Bool] as [string, pl.DataType]] : []
      ),
    ];
    const compiler = new PlanCompiler(task, new PlanOracle(), { data: view });
    return compiler.query(parsePlan(plan.serialize("json").toString()), output).sql;
  } catch (error) {
    const reason = error instanceof Error ? error.message.split("\n")[0] : String(error);
    throw new UnsupportedError(
      `check ${names} of bucket '${ref.location}' cannot run inside the Spark job of task ` +
        `'${task}': ${reason}; rewrite the expression with operations Spark supports, or declare ` +
        "the task on provider.local() or provider.serverless()",
      { cause: error instanceof GlacierError ? error : undefined },
    );
  }
}
