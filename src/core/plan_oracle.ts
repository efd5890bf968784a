/**
 * Polars as the authority on types: the schema of any part of a captured plan, and the names and
 * dtypes of any expression over it, are read by handing polars a small plan built from the
 * captured JSON and resolving it on empty data. Readers of plans never re-implement polars' type
 * rules (supertypes, literal dtypes, output names).
 *
 * @module
 */
import pl from "../polars.ts";
import { type PlanJson, stringifyPlan } from "./task_plan.ts";

/** A column as polars resolves it: its name and dtype. */
export type Field = readonly [name: string, dtype: pl.DataType];

const SELECT_OPTIONS = { run_parallel: true, duplicate_check: false, should_broadcast: true };

/** Resolves schemas and expression dtypes of one captured plan, with caches. */
export class PlanOracle {
  #schemas = new WeakMap<object, Field[]>();
  #text = new WeakMap<object, string>();
  #exprs = new Map<string, Field[]>();
  #oneRow: string | undefined;

  /**
   * The output columns of a plan node.
   *
   * @param node a node of the captured plan.
   * @returns its columns in order.
   */
  schemaOf(node: PlanJson): Field[] {
    let fields = this.#schemas.get(node);
    if (fields === undefined) {
      fields = resolve(this.#json(node));
      this.#schemas.set(node, fields);
    }
    return fields;
  }

  /**
   * The columns an expression yields over a node's output, as `select(expr)` would name and type
   * them; an expression with a selector yields one column per match.
   *
   * @param input the node the expression reads.
   * @param expr the expression's JSON.
   * @returns its columns.
   */
  exprFields(input: PlanJson, expr: unknown): Field[] {
    const exprText = stringifyPlan(expr);
    const key = `${this.#id(input)}:${exprText}`;
    let fields = this.#exprs.get(key);
    if (fields === undefined) {
      fields = resolve(
        `{"Select":{"expr":[${exprText}],"input":${this.#json(input)},"options":${
          JSON.stringify(SELECT_OPTIONS)
        }}}`,
      );
      this.#exprs.set(key, fields);
    }
    return fields;
  }

  /**
   * The dtype of an expression that yields one column.
   *
   * @param input the node the expression reads.
   * @param expr the expression's JSON.
   * @returns its dtype.
   */
  dtypeOf(input: PlanJson, expr: unknown): pl.DataType {
    return this.exprFields(input, expr)[0][1];
  }

  /**
   * The value of a literal expression, evaluated by polars on one row.
   *
   * @param expr the literal's JSON.
   * @returns the value and its dtype.
   */
  literalValue(expr: unknown): { value: unknown; dtype: pl.DataType } {
    this.#oneRow ??= pl.DataFrame({ _: [0] }).lazy().serialize("json").toString();
    const plan =
      `{"Select":{"expr":[{"Alias":[${stringifyPlan(expr)},"v"]}],"input":${this.#oneRow},` +
      `"options":${JSON.stringify(SELECT_OPTIONS)}}}`;
    const frame = pl.LazyDataFrame.deserialize(Buffer.from(plan), "json").collectSync();
    const series = frame.getColumn("v");
    return { value: series.toArray()[0], dtype: series.dtype };
  }

  /**
   * The value of an expression over one row in which column `c` is null, of the given dtype: how
   * polars treats a missing value where its rules are not uniform (`is_in` gives null or false
   * depending on the dtypes).
   *
   * @param dtype the dtype of column `c`.
   * @param expr the expression's JSON, reading column `c`.
   * @returns the value.
   */
  valueOnNull(dtype: pl.DataType, expr: unknown): unknown {
    const input = pl.DataFrame({ _: [0] }).select(pl.lit(null).cast(dtype).alias("c")).lazy()
      .serialize("json").toString();
    const plan = `{"Select":{"expr":[{"Alias":[${stringifyPlan(expr)},"v"]}],"input":${input},` +
      `"options":${JSON.stringify(SELECT_OPTIONS)}}}`;
    const frame = pl.LazyDataFrame.deserialize(Buffer.from(plan), "json").collectSync();
    return frame.getColumn("v").toArray()[0];
  }

  #ids = new WeakMap<object, number>();
  #next = 0;

  #id(node: PlanJson): number {
    let id = this.#ids.get(node);
    if (id === undefined) {
      id = this.#next++;
      this.#ids.set(node, id);
    }
    return id;
  }

  #json(node: PlanJson): string {
    let text = this.#text.get(node);
    if (text === undefined) {
      text = stringifyPlan(node);
      this.#text.set(node, text);
    }
    return text;
  }
}

/** Deserializes a plan and resolves its schema on empty data. */
function resolve(planJson: string): Field[] {
  const lazy = pl.LazyDataFrame.deserialize(Buffer.from(planJson), "json");
  const frame = lazy.limit(0).collectSync();
  const dtypes = frame.dtypes;
  return frame.columns.map((name, i) => [name, dtypes[i]] as const);
}
