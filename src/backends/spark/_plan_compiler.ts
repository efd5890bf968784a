/**
 * Compiling a captured polars plan to one Spark SQL query: every plan node becomes a common table
 * expression (`WITH q1 AS (...), q2 AS (...)`) that selects its columns in polars' order, plus
 * hidden columns that carry the row order polars would give (the input's row position from
 * `monotonically_increasing_id()`, sort keys, a group's first row). The hidden columns make
 * `head`, `slice`, `first`, `last` and `unique(keep=...)` pick the rows polars picks; Spark drops
 * them when nothing reads them.
 *
 * @module
 */
import type pl from "../../polars.ts";
import { dtypeName, sameDtype } from "../../schema/dtypes.ts";
import { INPUT_MARKER, type PlanJson } from "./_capture.ts";
import {
  expand,
  ExprCompiler,
  type ExprScope,
  type FirstLast,
  type OrderItem,
  orderList,
  refuse,
  snake,
  type SqlExpr,
} from "./_expr.ts";
import type { Field, PlanOracle } from "../../core/plan_oracle.ts";
import { variant } from "../../core/task_plan.ts";
import { ident, sparkType } from "./_types.ts";

/** The prefix of every column and name the compiler adds. */
export const HIDDEN = "__glacier_";

/** A compiled plan node: a common table expression and what it holds. */
export interface Relation {
  /** The CTE's name. */
  readonly name: string;
  /** The visible columns in polars' order. */
  readonly columns: readonly Field[];
  /** The row order polars gives, as hidden columns. */
  readonly order: readonly OrderItem[];
  /** Whether that order is one the task asked for (a sort), so the output keeps it. */
  readonly sorted: boolean;
}

const INT_MAX = 2147483647;

/** Compiles the nodes of one captured plan. */
export class PlanCompiler {
  #ctes: string[] = [];
  #next = 0;
  #views: Record<string, string>;

  /**
   * @param task the task's name, for messages.
   * @param oracle the type authority of the plan.
   * @param views the temporary view of each input, by input name.
   */
  constructor(
    readonly task: string,
    readonly oracle: PlanOracle,
    views: Record<string, string>,
  ) {
    this.#views = views;
  }

  /**
   * The whole query: the CTEs, then the output columns cast to their Spark types, in the order
   * the target declares, sorted when the task sorts.
   *
   * @param root the plan's root node.
   * @param output the output columns and their dtypes, in order.
   * @returns the SQL and whether the rows are ordered.
   */
  query(root: PlanJson, output: readonly Field[]): { sql: string; sorted: boolean } {
    const rel = this.compile(root);
    const have = new Map(rel.columns);
    const select = output.map(([name, dtype]) => {
      if (!have.has(name)) refuse(this, `an output without column '${name}'`);
      return `CAST(${ident(name)} AS ${sparkType(dtype)}) AS ${ident(name)}`;
    });
    const order = rel.sorted && rel.order.length > 0 ? ` ORDER BY ${orderList(rel.order)}` : "";
    const body = `SELECT ${select.join(", ")} FROM ${rel.name}${order}`;
    const sql = `WITH\n${this.#ctes.map((c) => `  ${c}`).join(",\n")}\n${body}`;
    return { sql, sorted: rel.sorted };
  }

  /**
   * Compiles a plan node and everything under it.
   *
   * @param node the node.
   * @returns its relation.
   */
  compile(node: PlanJson): Relation {
    const [kind, value] = variant(node);
    const v = value as Record<string, unknown>;
    switch (kind) {
      case "DataFrameScan":
        return this.#scan(node);
      case "Select":
        return this.#select(node, v.input as PlanJson, v.expr as unknown[]);
      case "HStack":
        return this.#withColumns(node, v.input as PlanJson, v.exprs as unknown[]);
      case "Filter":
        return this.#filter(v.input as PlanJson, v.predicate);
      case "Sort":
        return this.#sort(
          v.input as PlanJson,
          v.by_column as unknown[],
          v.sort_options as {
            descending: boolean[];
            nulls_last: boolean[];
            limit: unknown;
            maintain_order: boolean;
          },
          v.slice as [number, number] | null,
        );
      case "Slice":
        return this.#slice(this.compile(v.input as PlanJson), Number(v.offset), Number(v.len));
      case "Distinct":
        return this.#distinct(
          v.input as PlanJson,
          v.options as { subset: unknown[] | null; maintain_order: boolean; keep_strategy: string },
        );
      case "GroupBy":
        return this.#groupBy(node, v);
      case "Join":
        return this.#join(node, v);
      case "MapFunction":
        return this.#mapFunction(node, v.input as PlanJson, v.function);
      case "Union":
        return this.#union(node, v.inputs as PlanJson[], v.args as { diagonal?: boolean });
      case "Cache":
        return this.compile(v.input as PlanJson);
      case "Scan":
        return refuse(this, "scan_parquet/scan_csv (reading a file inside the task)");
      case "HConcat":
        return refuse(this, "concat(how='horizontal')");
      default:
        return refuse(this, snake(kind));
    }
  }

  #name(): string {
    return `q${++this.#next}`;
  }

  #hidden(): string {
    return `${HIDDEN}${++this.#next}`;
  }

  #emit(sql: string): string {
    const name = this.#name();
    this.#ctes.push(`${name} AS (${sql})`);
    return name;
  }

  /** The visible and hidden columns of a relation, as a select list. */
  #all(rel: Relation, qualify = ""): string {
    return [...rel.columns.map(([c]) => c), ...rel.order.map((o) => o.col)]
      .map((c) => `${qualify}${ident(c)}`).join(", ");
  }

  #hiddenList(rel: Relation, qualify = ""): string[] {
    return rel.order.map((o) => `${qualify}${ident(o.col)}`);
  }

  #scope(rel: Relation, input: PlanJson, mode: "row" | "agg" = "row", qualify = ""): ExprScope {
    return {
      task: this.task,
      oracle: this.oracle,
      input,
      columns: new Map(rel.columns),
      ref: (name) => `${qualify}${ident(name)}`,
      mode,
      order: rel.order,
    };
  }

  #scan(node: PlanJson): Relation {
    const fields = this.oracle.schemaOf(node);
    const markers = fields.filter(([name]) => name.startsWith(INPUT_MARKER));
    if (markers.length !== 1) {
      refuse(this, "an in-memory DataFrame (pl.DataFrame(...).lazy() inside the task)");
    }
    const input = markers[0][0].slice(INPUT_MARKER.length);
    const view = this.#views[input];
    const columns = fields.filter(([name]) => !name.startsWith(INPUT_MARKER));
    for (const [name, dtype] of columns) {
      if (name.startsWith(HIDDEN)) refuse(this, `a column named '${name}' (reserved)`);
      sparkTypeOrRefuse(this, dtype);
    }
    const row = this.#hidden();
    const list = [...columns.map(([c]) => ident(c)), `monotonically_increasing_id() AS ${row}`];
    const name = this.#emit(`SELECT ${list.join(", ")} FROM ${ident(view)}`);
    return {
      name,
      columns,
      order: [{ col: row, desc: false, nullsLast: false, type: "BIGINT" }],
      sorted: false,
    };
  }

  /** The expressions of a projection, expanded, compiled and named as polars names them. */
  #projection(
    rel: Relation,
    input: PlanJson,
    exprs: unknown[],
    mode: "row" | "agg" = "row",
    firstLast?: FirstLast,
  ): { name: string; value: SqlExpr; expr: unknown }[] {
    const scope = { ...this.#scope(rel, input, mode), firstLast };
    const compiler = new ExprCompiler(scope);
    return exprs.flatMap((expr) => {
      const fields = this.oracle.exprFields(input, expr);
      const expanded = expand(expr, scope);
      if (expanded.length !== fields.length) refuse(this, "a selector polars expands differently");
      return expanded.map((e, i) => {
        const value = compiler.compile(e);
        return { name: fields[i][0], value: fit(value, fields[i][1]), expr: e };
      });
    });
  }

  #select(node: PlanJson, inputNode: PlanJson, exprs: unknown[]): Relation {
    const rel = this.compile(inputNode);
    const items = this.#projection(rel, inputNode, exprs);
    if (items.length > 0 && items.every((i) => i.value.kind !== "row")) {
      if (items.every((i) => i.value.kind === "lit")) {
        const list = items.map((i) => `${i.value.sql} AS ${ident(i.name)}`);
        return {
          name: this.#emit(`SELECT ${list.join(", ")}`),
          columns: items.map((i) => [i.name, i.value.dtype] as const),
          order: [],
          sorted: false,
        };
      }
      return this.#aggregate(node, rel, inputNode, [], items.map((i) => i.expr), false);
    }
    const list = [
      ...items.map((i) => `${i.value.sql} AS ${ident(i.name)}`),
      ...this.#hiddenList(rel),
    ];
    return {
      name: this.#emit(`SELECT ${list.join(", ")} FROM ${rel.name}`),
      columns: items.map((i) => [i.name, i.value.dtype] as const),
      order: rel.order,
      sorted: rel.sorted,
    };
  }

  #withColumns(node: PlanJson, inputNode: PlanJson, exprs: unknown[]): Relation {
    const rel = this.compile(inputNode);
    const items = new Map(this.#projection(rel, inputNode, exprs).map((i) => [i.name, i]));
    const fields = this.oracle.schemaOf(node);
    const list = [
      ...fields.map(([name]) => {
        const item = items.get(name);
        return item ? `${item.value.sql} AS ${ident(name)}` : ident(name);
      }),
      ...this.#hiddenList(rel),
    ];
    return {
      name: this.#emit(`SELECT ${list.join(", ")} FROM ${rel.name}`),
      columns: fields.map(([name, dtype]) =>
        [name, items.get(name)?.value.dtype ?? dtype] as const
      ),
      order: rel.order,
      sorted: rel.sorted,
    };
  }

  #filter(inputNode: PlanJson, predicate: unknown): Relation {
    const rel = this.compile(inputNode);
    const compiler = new ExprCompiler(this.#scope(rel, inputNode));
    const expanded = expand(predicate, compiler.scope);
    if (expanded.length !== 1) refuse(this, "filter with a multi-column predicate");
    const p = compiler.compile(expanded[0]);
    let source = rel.name;
    let condition = p.sql;
    if (p.window) {
      const flag = this.#hidden();
      source = this.#emit(`SELECT *, ${p.sql} AS ${flag} FROM ${rel.name}`);
      condition = ident(flag);
    }
    return {
      ...rel,
      name: this.#emit(`SELECT ${this.#all(rel)} FROM ${source} WHERE ${condition}`),
    };
  }

  #sort(
    inputNode: PlanJson,
    by: unknown[],
    options: {
      descending: boolean[];
      nulls_last: boolean[];
      limit: unknown;
      maintain_order: boolean;
    },
    slice: [number, number] | null,
  ): Relation {
    const rel = this.compile(inputNode);
    const compiler = new ExprCompiler(this.#scope(rel, inputNode));
    const keys = by.flatMap((e) => expand(e, compiler.scope)).map((e) => compiler.compile(e));
    const pick = (list: boolean[], i: number) => list.length === 1 ? list[0] : list[i];
    const items: OrderItem[] = keys.map((key, i) => ({
      col: this.#hidden(),
      desc: pick(options.descending, i),
      nullsLast: pick(options.nulls_last, i),
      type: sparkType(key.dtype),
    }));
    const list = [
      this.#all(rel),
      ...keys.map((key, i) => `${key.sql} AS ${ident(items[i].col)}`),
    ];
    let sorted: Relation = {
      name: this.#emit(`SELECT ${list.join(", ")} FROM ${rel.name}`),
      columns: rel.columns,
      // A stable sort (maintain_order) breaks ties by the earlier order; polars leaves ties in
      // any order otherwise.
      order: options.maintain_order ? [...items, ...rel.order] : items,
      sorted: true,
    };
    if (options.limit !== null && options.limit !== undefined) {
      sorted = this.#slice(sorted, 0, Number(options.limit));
    }
    if (slice) sorted = this.#slice(sorted, Number(slice[0]), Number(slice[1]));
    return sorted;
  }

  #slice(rel: Relation, offset: number, length: number): Relation {
    const limit = (n: number) => n >= INT_MAX ? "" : ` LIMIT ${n}`;
    const by = (reverse: boolean) =>
      rel.order.length > 0 ? ` ORDER BY ${orderList(rel.order, reverse)}` : "";
    if (offset >= 0) {
      const skip = offset > 0 ? ` OFFSET ${offset}` : "";
      return {
        ...rel,
        name: this.#emit(`SELECT * FROM ${rel.name}${by(false)}${limit(length)}${skip}`),
      };
    }
    // A negative offset counts from the end: the last rows, then their first `length`.
    const last = this.#emit(`SELECT * FROM ${rel.name}${by(true)}${limit(-offset)}`);
    return {
      ...rel,
      name: this.#emit(`SELECT * FROM ${last}${by(false)}${limit(Math.min(length, -offset))}`),
    };
  }

  #distinct(
    inputNode: PlanJson,
    options: { subset: unknown[] | null; maintain_order: boolean; keep_strategy: string },
  ): Relation {
    const rel = this.compile(inputNode);
    const names = new Set(rel.columns.map(([c]) => c));
    const subset = options.subset === null ? rel.columns.map(([c]) => c) : options.subset.flatMap(
      (e) => {
        const [kind] = variant(e);
        if (kind !== "Selector" && kind !== "Column" && kind !== "Nth") {
          refuse(this, "unique (with an expression in subset)");
        }
        return this.oracle.exprFields(inputNode, e).map(([c]) => c);
      },
    );
    if (subset.some((c) => !names.has(c))) refuse(this, "unique (with an unknown subset)");
    const partition = subset.map(ident).join(", ");
    const flag = this.#hidden();
    let window: string;
    let keep: string;
    if (options.keep_strategy === "None") {
      window = `count(1) OVER (PARTITION BY ${partition})`;
      keep = `${ident(flag)} = 1`;
    } else {
      const reverse = options.keep_strategy === "Last";
      const order = rel.order.length > 0 ? orderList(rel.order, reverse) : ident(subset[0]);
      window = `row_number() OVER (PARTITION BY ${partition} ORDER BY ${order})`;
      keep = `${ident(flag)} = 1`;
    }
    const ranked = this.#emit(`SELECT *, ${window} AS ${ident(flag)} FROM ${rel.name}`);
    return {
      ...rel,
      name: this.#emit(`SELECT ${this.#all(rel)} FROM ${ranked} WHERE ${keep}`),
      sorted: rel.sorted && options.maintain_order,
    };
  }

  #groupBy(node: PlanJson, v: Record<string, unknown>): Relation {
    const options = v.options as { dynamic: unknown; rolling: unknown };
    if (options.dynamic) refuse(this, "group_by_dynamic");
    if (options.rolling) refuse(this, "rolling");
    if (v.apply) refuse(this, "map_groups");
    if ((v.predicates as unknown[] | undefined)?.length) refuse(this, "group_by(...).having");
    const inputNode = v.input as PlanJson;
    const rel = this.compile(inputNode);
    return this.#aggregate(
      node,
      rel,
      inputNode,
      v.keys as unknown[],
      v.aggs as unknown[],
      v.maintain_order as boolean,
    );
  }

  /**
   * A `group_by(keys).agg(aggs)`, or with no keys an aggregating `select` (one row). A group's
   * place in the order is that of its first row; `first`/`last` take the group's first or last
   * row in the input's order: with the input's row position as the order, `min_by`/`max_by`;
   * otherwise windows over the group in a step before the aggregation.
   */
  #aggregate(
    node: PlanJson,
    rel: Relation,
    inputNode: PlanJson,
    keyExprs: unknown[],
    aggExprs: unknown[],
    maintainOrder: boolean,
  ): Relation {
    const rowScope = this.#scope(rel, inputNode);
    const rows = new ExprCompiler(rowScope);
    const keys = keyExprs.flatMap((e) => expand(e, rowScope)).map((e) => {
      const key = rows.compile(e);
      if (key.window) refuse(this, "group_by (with an aggregation as a key)");
      return key;
    });
    const keyCols = keys.map(() => this.#hidden());
    const fields = this.oracle.schemaOf(node);
    const partition = keys.length > 0 ? `PARTITION BY ${keys.map((k) => k.sql).join(", ")} ` : "";
    // An order of ascending keys with nulls first (row positions) is the order of a struct of
    // them: min_by/max_by in the aggregation. Any other order needs windows over each group.
    const simple = rel.order.length > 0 && rel.order.every((o) => !o.desc && !o.nullsLast);
    const position = rel.order.length === 1
      ? ident(rel.order[0].col)
      : `struct(${rel.order.map((o) => ident(o.col)).join(", ")})`;
    const windows: string[] = [];
    const frame = rel.order.length > 0
      ? `ORDER BY ${orderList(rel.order)} ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING`
      : "";
    const firstValue = (which: "first" | "last", sql: string): string => {
      const col = this.#hidden();
      windows.push(`${which}_value(${sql}) OVER (${partition}${frame}) AS ${ident(col)}`);
      return `first(${ident(col)})`;
    };
    const firstLast: FirstLast = (which, value) => {
      if (rel.order.length === 0) return `${which}(${value.sql})`;
      if (simple) return `${which === "first" ? "min_by" : "max_by"}(${value.sql}, ${position})`;
      return firstValue(which, value.sql);
    };
    const aggs = this.#projection(rel, inputNode, aggExprs, "agg", firstLast);
    if (keys.length + aggs.length !== fields.length) refuse(this, "group_by with these keys");
    const order: OrderItem[] = [];
    const orderCols: string[] = [];
    if (keys.length > 0 && simple) {
      const col = this.#hidden();
      const type = rel.order.length === 1
        ? rel.order[0].type
        : `STRUCT<${rel.order.map((o) => `${ident(o.col)}: ${o.type}`).join(", ")}>`;
      order.push({ col, desc: false, nullsLast: false, type });
      orderCols.push(`min(${position}) AS ${ident(col)}`);
    } else if (keys.length > 0) {
      for (const item of rel.order) {
        const col = this.#hidden();
        order.push({ ...item, col });
        orderCols.push(`${firstValue("first", ident(item.col))} AS ${ident(col)}`);
      }
    }
    const pre = this.#emit(
      `SELECT *${keys.map((k, i) => `, ${k.sql} AS ${ident(keyCols[i])}`).join("")}${
        windows.map((w) => `, ${w}`).join("")
      } FROM ${rel.name}`,
    );
    const list = [
      ...keys.map((k, i) =>
        `${fit({ ...k, sql: ident(keyCols[i]) }, fields[i][1]).sql} AS ${ident(fields[i][0])}`
      ),
      ...aggs.map((a) => `${a.value.sql} AS ${ident(a.name)}`),
      ...orderCols,
    ];
    const group = keys.length > 0 ? ` GROUP BY ${keyCols.map(ident).join(", ")}` : "";
    return {
      name: this.#emit(`SELECT ${list.join(", ")} FROM ${pre}${group}`),
      columns: fields,
      order,
      sorted: keys.length > 0 && maintainOrder && rel.sorted,
    };
  }

  #join(node: PlanJson, v: Record<string, unknown>): Relation {
    const args = (v.options as { args: Record<string, unknown> }).args;
    const [how] = variant(args.how);
    if (how === "AsOf") refuse(this, "join_asof");
    if (how === "IEJoin" || (v.predicates as unknown[]).length > 0) refuse(this, "join_where");
    if (args.validation !== "ManyToMany") {
      refuse(this, `join (validate='${snake(String(args.validation))}')`);
    }
    if (!["Inner", "Left", "Right", "Full", "Semi", "Anti", "Cross"].includes(how)) {
      refuse(this, `join (how='${snake(how)}')`);
    }
    const leftNode = v.input_left as PlanJson;
    const rightNode = v.input_right as PlanJson;
    const left = this.compile(leftNode);
    const right = this.compile(rightNode);
    const lScope = this.#scope(left, leftNode, "row", "l.");
    const rScope = this.#scope(right, rightNode, "row", "r.");
    const lKeys = (v.left_on as unknown[]).flatMap((e) => expand(e, lScope));
    const rKeys = (v.right_on as unknown[]).flatMap((e) => expand(e, rScope));
    if (lKeys.length !== rKeys.length) refuse(this, "join (with unequal key lists)");
    const lc = new ExprCompiler(lScope);
    const rc = new ExprCompiler(rScope);
    const eq = args.nulls_equal ? "<=>" : "=";
    const conditions = lKeys.map((k, i) => {
      const l = lc.compile(k);
      const r = rc.compile(rKeys[i]);
      if (l.window || r.window) refuse(this, "join (on an aggregation)");
      if (!sameDtype(l.dtype, r.dtype)) {
        refuse(this, `join (of a ${dtypeName(l.dtype)} key with a ${dtypeName(r.dtype)} key)`);
      }
      return `${l.sql} ${eq} ${r.sql}`;
    });
    const fields = this.oracle.schemaOf(node);
    const suffix = String(args.suffix ?? "_right");
    const coalesce = args.coalesce === "CoalesceColumns" ||
      (args.coalesce === "JoinSpecific" && how !== "Full");
    const plainPairs = lKeys.flatMap((k, i) => {
      const [lk, ln] = variant(k);
      const [rk, rn] = variant(rKeys[i]);
      return lk === "Column" && rk === "Column" ? [[ln as string, rn as string] as const] : [];
    });
    const lKeyOf = new Map(plainPairs.map(([l, r]) => [l, r]));
    const rKeySet = new Set(plainPairs.map(([, r]) => r));
    const lKeySet = new Set(plainPairs.map(([l]) => l));
    const out: [string, string][] = [];
    if (how === "Semi" || how === "Anti") {
      for (const [c] of left.columns) out.push([c, `l.${ident(c)}`]);
    } else if (how === "Right" && coalesce) {
      for (const [c] of left.columns) if (!lKeySet.has(c)) out.push([c, `l.${ident(c)}`]);
      const names = new Set(out.map(([c]) => c));
      for (const [c] of right.columns) {
        out.push([names.has(c) && !rKeySet.has(c) ? c + suffix : c, `r.${ident(c)}`]);
      }
    } else {
      for (const [c] of left.columns) {
        const rk = coalesce && how !== "Cross" ? lKeyOf.get(c) : undefined;
        const value = rk === undefined
          ? `l.${ident(c)}`
          : how === "Full"
          ? `coalesce(l.${ident(c)}, r.${ident(rk)})`
          : `l.${ident(c)}`;
        out.push([c, value]);
      }
      const names = new Set(left.columns.map(([c]) => c));
      for (const [c] of right.columns) {
        if (coalesce && how !== "Cross" && rKeySet.has(c)) continue;
        out.push([names.has(c) ? c + suffix : c, `r.${ident(c)}`]);
      }
    }
    if (out.length !== fields.length || out.some(([c], i) => c !== fields[i][0])) {
      refuse(this, `join (how='${snake(how)}') with these keys and options`);
    }
    const keepRight = how !== "Semi" && how !== "Anti";
    const hidden = [
      ...this.#hiddenList(left, "l."),
      ...(keepRight ? this.#hiddenList(right, "r.") : []),
    ];
    const joinType = {
      Inner: "JOIN",
      Left: "LEFT OUTER JOIN",
      Right: "RIGHT OUTER JOIN",
      Full: "FULL OUTER JOIN",
      Semi: "LEFT SEMI JOIN",
      Anti: "LEFT ANTI JOIN",
      Cross: "CROSS JOIN",
    }[how];
    const on = how === "Cross" ? "" : ` ON ${conditions.join(" AND ") || "TRUE"}`;
    const list = [...out.map(([c, value]) => `${value} AS ${ident(c)}`), ...hidden];
    const maintain = String(args.maintain_order ?? "None");
    const rightFirst = maintain === "Right" || maintain === "RightLeft";
    const order = keepRight
      ? rightFirst ? [...right.order, ...left.order] : [...left.order, ...right.order]
      : left.order;
    return {
      name: this.#emit(
        `SELECT ${list.join(", ")} FROM ${left.name} l ${joinType} ${right.name} r${on}`,
      ),
      columns: fields,
      order,
      sorted: maintain === "None" ? false : rightFirst ? right.sorted : left.sorted,
    };
  }

  #mapFunction(node: PlanJson, inputNode: PlanJson, fn: unknown): Relation {
    const [name, value] = variant(fn);
    if (name === "Rename") {
      const rel = this.compile(inputNode);
      const { existing, new: renamed } = value as { existing: string[]; new: string[] };
      const fields = this.oracle.schemaOf(node);
      const list = [
        ...rel.columns.map(([c], i) => {
          const at = existing.indexOf(c);
          const to = at >= 0 ? renamed[at] : c;
          if (fields[i]?.[0] !== to) refuse(this, "rename (that polars applies differently)");
          return `${ident(c)} AS ${ident(to)}`;
        }),
        ...this.#hiddenList(rel),
      ];
      return {
        ...rel,
        name: this.#emit(`SELECT ${list.join(", ")} FROM ${rel.name}`),
        columns: fields,
      };
    }
    const names: Record<string, string> = {
      Explode: "explode",
      Unpivot: "unpivot",
      RowIndex: "with_row_index",
      Unnest: "unnest",
      Stats: "LazyFrame statistics (sum, mean, ... of every column)",
      FillNan: "fill_nan",
    };
    return refuse(this, names[name] ?? snake(name));
  }

  #union(node: PlanJson, inputs: PlanJson[], args: { diagonal?: boolean }): Relation {
    if (args.diagonal) refuse(this, "concat(how='diagonal')");
    const fields = this.oracle.schemaOf(node);
    const rels = inputs.map((i) => this.compile(i));
    const branch = this.#hidden();
    const parts = rels.map((rel, b) => {
      if (rel.columns.length !== fields.length) {
        refuse(this, "concat (of frames with other columns)");
      }
      const cols = rel.columns.map(([c, dtype], i) =>
        `${sameDtype(dtype, fields[i][1]) ? ident(c) : castTo(ident(c), fields[i][1])} AS ${
          ident(fields[i][0])
        }`
      );
      const hidden = rels.flatMap((other, o) =>
        other.order.map((item) =>
          o === b ? ident(item.col) : `CAST(NULL AS ${item.type}) AS ${ident(item.col)}`
        )
      );
      return `SELECT ${
        [...cols, `${b} AS ${ident(branch)}`, ...hidden].join(", ")
      } FROM ${rel.name}`;
    });
    return {
      name: this.#emit(parts.join(" UNION ALL ")),
      columns: fields,
      order: [
        { col: branch, desc: false, nullsLast: false, type: "INT" },
        ...rels.flatMap((r) => r.order),
      ],
      sorted: rels.every((r) => r.sorted),
    };
  }
}

/** A compiled value as the dtype polars gives its column, when they differ. */
function fit(value: SqlExpr, dtype: pl.DataType): SqlExpr {
  if (sameDtype(value.dtype, dtype)) return value;
  return { ...value, sql: castTo(value.sql, dtype), dtype };
}

function castTo(sql: string, dtype: pl.DataType): string {
  return `CAST(${sql} AS ${sparkType(dtype)})`;
}

function sparkTypeOrRefuse(scope: { readonly task: string }, dtype: pl.DataType): string {
  try {
    return sparkType(dtype);
  } catch {
    return refuse(scope, `a column of dtype ${dtypeName(dtype)}`);
  }
}
