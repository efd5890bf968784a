/**
 * Schemas: plain records of polars dtypes that carry their static type.
 *
 * @module
 */
import pl from "../polars.ts";
import { type DataType, dtypeName, sameDtype } from "./dtypes.ts";
import { messages } from "./messages.ts";

/** A schema: column names to polars dtypes. This is nodejs-polars' own `Schema` type. */
export type Schema = pl.Schema;

/**
 * Declares a schema. The value is the record itself, frozen; its static type keeps every
 * column's dtype, so tasks and buckets built from it are checked by `deno check`.
 *
 * @param columns column names and their dtypes, in order.
 * @returns the same record, frozen.
 * @throws {TypeError} when a column name is empty or a value is not a polars dtype.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { schema, t } from "@glacier/glacier";
 * const Orders = schema({ order_id: t.int64, customer_id: t.int64, amount: t.float64 });
 * assert.deepEqual(Object.keys(Orders), ["order_id", "customer_id", "amount"]);
 * ```
 */
export function schema<const S extends Schema>(columns: S): Readonly<S> {
  if (columns === null || typeof columns !== "object" || Array.isArray(columns)) {
    throw new TypeError(
      "schema() takes an object of column names to dtypes, such as { id: t.int64 }",
    );
  }
  for (const [name, dtype] of Object.entries(columns)) {
    if (name.length === 0) throw new TypeError("schema() got an empty column name");
    if (!(dtype instanceof pl.DataType)) {
      throw new TypeError(
        `schema() column '${name}' is not a dtype (got ${typeof dtype}); use t.int64, t.string, ...`,
      );
    }
  }
  return Object.freeze({ ...columns });
}

/**
 * The schema of a polars frame, from its column names and dtypes. (nodejs-polars' own
 * `frame.schema` builds a `Series` object per column, which takes seconds at 10,000 columns.)
 *
 * @param frame a frame.
 * @returns its columns and dtypes, in order.
 */
export function schemaOf(frame: pl.DataFrame): Schema {
  const dtypes = frame.dtypes;
  return Object.fromEntries(frame.columns.map((name, i) => [name, dtypes[i]]));
}

/**
 * One expression that selects a schema's columns, in its order. (A name per column makes
 * nodejs-polars build an expression per column, one native call each.)
 *
 * @param s a schema.
 * @returns `pl.col([...names])`.
 */
export function columnsOf(s: Schema): pl.Expr {
  return pl.col(Object.keys(s));
}

/**
 * Checks that a bucket can feed a task input: every column the input reads is there, with the
 * same dtype. Extra columns are allowed.
 *
 * @param have the bucket's schema (declared, or read from data).
 * @param want the task input's schema.
 * @param names the bucket, the task and, for multi-source tasks, the input name.
 * @returns one message per problem; empty when the bucket fits.
 */
export function feedIssues(
  have: Schema,
  want: Schema,
  names: { bucket: string; task: string; input?: string },
): string[] {
  const issues: string[] = [];
  for (const [column, dtype] of Object.entries(want)) {
    const found = have[column];
    if (found === undefined) {
      issues.push(messages.missingInputColumn(names.bucket, column, names.task, names.input));
    } else if (!sameDtype(found, dtype)) {
      const [have, want] = [structFields(found), structFields(dtype)];
      if (have && want) {
        for (const [field, w] of want) {
          const h = have.get(field);
          if (h === undefined) {
            issues.push(messages.missingInputField(names.bucket, column, field, names.task));
          } else if (!sameDtype(h, w)) {
            issues.push(
              messages.inputFieldDtype(
                names.bucket,
                column,
                field,
                dtypeName(h),
                names.task,
                dtypeName(w),
              ),
            );
          }
        }
        for (const field of have.keys()) {
          if (!want.has(field)) {
            issues.push(messages.extraInputField(names.bucket, column, field, names.task));
          }
        }
      } else {
        issues.push(
          messages.inputDtype(names.bucket, column, dtypeName(found), names.task, dtypeName(dtype)),
        );
      }
    }
  }
  return issues;
}

/**
 * The fields of a struct dtype, by name, in order; `undefined` for other dtypes. (Filled in a
 * loop: `new Map(pairs)` costs about 1,900 type instantiations in every program that imports
 * Glacier.)
 */
function structFields(dtype: DataType): Map<string, DataType> | undefined {
  if (dtype.variant !== "Struct") return undefined;
  const fields = (dtype as unknown as { inner: { name: string; dtype: DataType }[] }).inner;
  const byName = new Map<string, DataType>();
  for (const field of fields) byName.set(field.name, field.dtype);
  return byName;
}

/**
 * Checks stored data (or a frame about to be stored) against a bucket's schema: every declared
 * column must be there with the declared dtype. Extra columns are allowed and dropped on read.
 *
 * @param have the data's schema.
 * @param declared the bucket's schema.
 * @param names the bucket and where the data is.
 * @returns one message per problem; empty when the data fits.
 */
export function dataIssues(
  have: Schema,
  declared: Schema,
  names: { bucket: string; uri: string },
): string[] {
  const issues: string[] = [];
  for (const [column, dtype] of Object.entries(declared)) {
    const found = have[column];
    if (found === undefined) {
      issues.push(messages.dataMissingColumn(names.bucket, column, dtypeName(dtype), names.uri));
    } else if (!sameDtype(found, dtype)) {
      issues.push(
        messages.dataDtype(names.bucket, column, dtypeName(found), dtypeName(dtype), names.uri),
      );
    }
  }
  return issues;
}

/**
 * Checks that a task's output matches a bucket exactly: the same columns with the same dtypes.
 *
 * @param out the task's output schema (declared, or the real one from its polars plan).
 * @param bucketSchema the target bucket's schema.
 * @param names the task and the bucket.
 * @returns one message per problem; empty when they match.
 */
export function exactIssues(
  out: Schema,
  bucketSchema: Schema,
  names: { task: string; bucket: string },
): string[] {
  const issues: string[] = [];
  for (const [column, dtype] of Object.entries(out)) {
    const found = bucketSchema[column];
    if (found === undefined) {
      issues.push(messages.extraOutputColumn(names.task, column, names.bucket));
    } else if (!sameDtype(found, dtype)) {
      const [out, have] = [structFields(dtype), structFields(found)];
      if (out && have) {
        for (const [field, o] of out) {
          const h = have.get(field);
          if (h === undefined) {
            issues.push(messages.extraOutputField(names.task, column, field, names.bucket));
          } else if (!sameDtype(o, h)) {
            issues.push(
              messages.outputFieldDtype(
                column,
                field,
                dtypeName(o),
                names.task,
                dtypeName(h),
                names.bucket,
              ),
            );
          }
        }
        for (const field of have.keys()) {
          if (!out.has(field)) {
            issues.push(messages.missingOutputField(names.bucket, column, field, names.task));
          }
        }
      } else {
        issues.push(
          messages.outputDtype(
            column,
            dtypeName(dtype),
            names.task,
            dtypeName(found),
            names.bucket,
          ),
        );
      }
    }
  }
  for (const column of Object.keys(bucketSchema)) {
    if (!(column in out)) {
      issues.push(messages.missingOutputColumn(names.bucket, column, names.task));
    }
  }
  return issues;
}

/**
 * Renders a schema as `{ id: Int64, name: String }`.
 *
 * @param s a schema.
 * @returns a one-line description.
 */
export function describeSchema(s: Schema): string {
  return `{ ${Object.entries(s).map(([k, v]) => `${k}: ${dtypeName(v as DataType)}`).join(", ")} }`;
}

/**
 * An empty polars frame with exactly the columns and dtypes of a schema.
 *
 * @param s a schema.
 * @returns a frame with no rows.
 */
export function emptyFrame<S extends Schema>(s: S): pl.DataFrame<S> {
  const columns = Object.entries(s).map(([name, dtype]) => pl.lit(null).cast(dtype).alias(name));
  return pl.DataFrame({ _: [0] }).select(...columns).head(0) as unknown as pl.DataFrame<S>;
}

/**
 * The schema of a lazy frame, computed from its plan without reading data.
 *
 * @param frame the plan.
 * @returns the schema its result will have.
 */
export function planSchema(frame: pl.LazyDataFrame): Schema {
  return schemaOf(frame.clone().limit(0).collectSync());
}
