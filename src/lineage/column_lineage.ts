/**
 * Column lineage read from a task's polars plan: which input columns each output column comes
 * from, and which input columns decide the rows (filters, join keys, group keys, sorts). The task
 * runs on empty frames of its input schemas (core's plan capture), and the plan polars serializes
 * is walked node by node; polars itself names the columns each node and expression yields, so
 * selectors, suffixes and joins' renamed columns come out as polars makes them. The kinds follow
 * OpenLineage's column-lineage facet: `DIRECT` (`IDENTITY`, `TRANSFORMATION`, `AGGREGATION`) for
 * the values an output column is computed from, `INDIRECT` (`JOIN`, `GROUP_BY`, `FILTER`, `SORT`,
 * `WINDOW`, `CONDITIONAL`) for the columns that only decide which rows there are or which value
 * is taken.
 *
 * @module
 */
import { UnsupportedError } from "../core/errors.ts";
import type { Step } from "../core/lineage.ts";
import { PlanOracle } from "../core/plan_oracle.ts";
import { capturePlan, INPUT_MARKER, type PlanJson, variant } from "../core/task_plan.ts";

/** How an input column reaches an output column, as OpenLineage names it. */
export type TransformationType = "DIRECT" | "INDIRECT";

/**
 * The subtype: for `DIRECT`, `IDENTITY` (the value as is), `TRANSFORMATION` (computed from it) or
 * `AGGREGATION` (over several rows); for `INDIRECT`, what the column decides: `JOIN`, `GROUP_BY`,
 * `FILTER`, `SORT`, `WINDOW` (a window's partition or order) or `CONDITIONAL` (a `when`).
 */
export type TransformationSubtype =
  | "IDENTITY"
  | "TRANSFORMATION"
  | "AGGREGATION"
  | "JOIN"
  | "GROUP_BY"
  | "FILTER"
  | "SORT"
  | "WINDOW"
  | "CONDITIONAL";

/** One input column an output column (or the whole output) depends on, and how. */
export interface ColumnSource {
  /** The task's input it belongs to (`input` for a single-source task). */
  readonly input: string;
  /** The input column. */
  readonly column: string;
  /** `DIRECT` or `INDIRECT`. */
  readonly type: TransformationType;
  /** What the dependency is. */
  readonly subtype: TransformationSubtype;
}

/** A task's column lineage. */
export interface ColumnLineage {
  /**
   * Each output column, in the target's order, with the input columns its values come from
   * (empty for a column computed from no input column, such as a count).
   */
  readonly fields: Readonly<Record<string, readonly ColumnSource[]>>;
  /** The input columns that decide which rows the output has: join and group keys, filters, sorts. */
  readonly dataset: readonly ColumnSource[];
}

/**
 * Reads a step's column lineage from its task's polars plan, without data.
 *
 * @param step the step.
 * @returns each output column's sources, and the columns that decide the rows.
 * @throws {UnsupportedError} when the task uses an operation polars cannot serialize.
 * @throws {TaskError} when the task throws or returns no lazy frame.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { pl, Provider, schema, t } from "@glacier/glacier";
 * import { columnLineage } from "./column_lineage.ts";
 *
 * const provider = new Provider();
 * const Orders = schema({ region: t.string, amount: t.float64 });
 * const Revenue = schema({ region: t.string, revenue: t.float64 });
 * const byRegion = provider.local().task(
 *   { name: "by_region", input: Orders, output: Revenue },
 *   (df) => df.groupBy("region").agg(pl.col("amount").sum().alias("revenue")),
 * );
 * const orders = provider.bucket({ bucket: "shop", path: "orders.parquet", schema: Orders });
 * const revenue = provider.bucket({ bucket: "shop", path: "revenue.parquet", schema: Revenue });
 * const [step] = orders.transform(byRegion).to(revenue).lineage;
 *
 * const lineage = columnLineage(step);
 * assert.deepEqual(lineage.fields.revenue, [
 *   { input: "input", column: "amount", type: "DIRECT", subtype: "AGGREGATION" },
 * ]);
 * assert.deepEqual(lineage.dataset, [
 *   { input: "input", column: "region", type: "INDIRECT", subtype: "GROUP_BY" },
 * ]);
 * ```
 */
export function columnLineage(step: Step): ColumnLineage {
  let known = cache.get(step);
  if (known === undefined) {
    known = read(step);
    cache.set(step, known);
  }
  return known;
}

const cache = new WeakMap<Step, ColumnLineage>();

function read(step: Step): ColumnLineage {
  const { plan } = capturePlan(step, (operation, detail) =>
    new UnsupportedError(
      `task '${step.task.name}' uses polars operation '${operation}', whose plan polars cannot ` +
        `serialize, so its column lineage cannot be read${detail ? ` (polars: ${detail})` : ""}`,
    ));
  const root = new PlanWalker().relation(plan);
  const fields: Record<string, readonly ColumnSource[]> = {};
  for (const column of Object.keys(step.target.schema)) {
    fields[column] = root.columns.get(column) ?? [];
  }
  return { fields, dataset: root.dataset };
}

/** How an expression's part reaches the expression's value. */
interface Edge {
  readonly type: TransformationType;
  readonly subtype: TransformationSubtype;
}

const IDENTITY: Edge = { type: "DIRECT", subtype: "IDENTITY" };
const DIRECT_RANK: Partial<Record<TransformationSubtype, number>> = {
  IDENTITY: 0,
  TRANSFORMATION: 1,
  AGGREGATION: 2,
};

/** An edge through a further step: indirect stays indirect, direct takes the stronger subtype. */
function through(outer: Edge, inner: Edge): Edge {
  if (outer.type === "INDIRECT") return outer;
  if (inner.type === "INDIRECT") return inner;
  return DIRECT_RANK[inner.subtype]! > DIRECT_RANK[outer.subtype]! ? inner : outer;
}

function indirect(subtype: TransformationSubtype): Edge {
  return { type: "INDIRECT", subtype };
}

/** Sources without repeats, in first-seen order. */
function distinct(sources: Iterable<ColumnSource>): ColumnSource[] {
  const seen = new Map<string, ColumnSource>();
  for (const s of sources) {
    const key = `${s.input}\u0000${s.column}\u0000${s.type}\u0000${s.subtype}`;
    if (!seen.has(key)) seen.set(key, s);
  }
  return [...seen.values()];
}

/** What a plan node yields: each column's sources, and the sources deciding its rows. */
interface Relation {
  readonly columns: ReadonlyMap<string, readonly ColumnSource[]>;
  readonly dataset: readonly ColumnSource[];
}

/** A column an expression reads, and how. */
interface Reference {
  readonly column: string;
  readonly edge: Edge;
}

/** Walks one captured plan. */
class PlanWalker {
  #oracle = new PlanOracle();
  #relations = new WeakMap<object, Relation>();

  relation(node: PlanJson): Relation {
    let known = this.#relations.get(node);
    if (known === undefined) {
      known = this.#compute(node);
      this.#relations.set(node, known);
    }
    return known;
  }

  #compute(node: PlanJson): Relation {
    const [kind, value] = variant(node);
    const v = value as Record<string, unknown>;
    switch (kind) {
      case "DataFrameScan":
        return this.#scan(node);
      case "Select":
        return this.#select(v.input as PlanJson, v.expr as unknown[], false);
      case "HStack":
        return this.#select(v.input as PlanJson, v.exprs as unknown[], true);
      case "Filter":
        return this.#deciding(v.input as PlanJson, [v.predicate], indirect("FILTER"));
      case "Sort":
        return this.#deciding(v.input as PlanJson, v.by_column as unknown[], indirect("SORT"));
      case "Distinct":
        return this.#distinct(v.input as PlanJson, v.options as { subset: unknown[] | null });
      case "GroupBy":
        return this.#groupBy(v.input as PlanJson, v.keys as unknown[], v.aggs as unknown[]);
      case "Join":
        return this.#join(node, v);
      case "MapFunction":
        return this.#mapFunction(node, v.input as PlanJson, v.function);
      case "Union":
      case "HConcat":
        return this.#concat(node, v.inputs as PlanJson[], kind === "Union" ? v.args : undefined);
      default:
        return this.#byName(node, children(v));
    }
  }

  /** An input frame: its columns are the input's own, identified by the marker column. */
  #scan(node: PlanJson): Relation {
    const fields = this.#oracle.schemaOf(node).map(([name]) => name);
    const marker = fields.find((name) => name.startsWith(INPUT_MARKER));
    const input = marker?.slice(INPUT_MARKER.length);
    const columns = new Map<string, ColumnSource[]>();
    for (const column of fields) {
      if (column === marker) continue;
      columns.set(column, input === undefined ? [] : [{ input, column, ...IDENTITY }]);
    }
    return { columns, dataset: [] };
  }

  /** `select` (only the expressions' columns) or `withColumns` (the input's, then those). */
  #select(input: PlanJson, exprs: readonly unknown[], keep: boolean): Relation {
    const from = this.relation(input);
    const columns = new Map(keep ? from.columns : []);
    for (const expr of exprs) {
      for (const [name, refs] of this.#outputs(input, expr, IDENTITY)) {
        columns.set(name, resolve(from, refs));
      }
    }
    return { columns, dataset: from.dataset };
  }

  /** A node that keeps its input's columns and lets some columns decide the rows. */
  #deciding(input: PlanJson, exprs: readonly unknown[], edge: Edge): Relation {
    const from = this.relation(input);
    const refs = exprs.flatMap((e) => this.#expanded(input, e).flatMap((x) => references(x, edge)));
    return { columns: from.columns, dataset: distinct([...from.dataset, ...resolve(from, refs)]) };
  }

  #distinct(input: PlanJson, options: { subset: unknown[] | null }): Relation {
    const subset = options.subset ??
      this.#oracle.schemaOf(input).map(([name]) => ({ Column: name }));
    return this.#deciding(input, subset, indirect("GROUP_BY"));
  }

  #groupBy(input: PlanJson, keys: readonly unknown[], aggs: readonly unknown[]): Relation {
    const grouped = this.#deciding(input, keys, indirect("GROUP_BY"));
    const from = this.relation(input);
    const columns = new Map<string, readonly ColumnSource[]>();
    for (const key of keys) {
      for (const [name, refs] of this.#outputs(input, key, IDENTITY)) {
        columns.set(name, resolve(from, refs));
      }
    }
    const aggregated: Edge = { type: "DIRECT", subtype: "AGGREGATION" };
    for (const agg of aggs) {
      for (const [name, refs] of this.#outputs(input, agg, aggregated)) {
        columns.set(name, resolve(from, refs));
      }
    }
    return { columns, dataset: grouped.dataset };
  }

  /**
   * A join: each output column from the side polars takes it from (a right column clashing with a
   * left one carries the suffix), a coalesced key from the side whose values it keeps; the keys
   * decide the rows.
   */
  #join(node: PlanJson, v: Record<string, unknown>): Relation {
    const leftNode = v.input_left as PlanJson;
    const rightNode = v.input_right as PlanJson;
    const left = this.relation(leftNode);
    const right = this.relation(rightNode);
    const args = (v.options as { args: Record<string, unknown> }).args;
    const [how] = variant(args.how);
    const suffix = String(args.suffix ?? "_right");
    const leftOn = (v.left_on ?? []) as unknown[];
    const rightOn = (v.right_on ?? []) as unknown[];
    const coalesced = args.coalesce === "CoalesceColumns" ||
      (args.coalesce === "JoinSpecific" && how !== "Full");
    // Key columns by output name: a coalesced key holds the left key's values, the right's in a
    // right join, either in a full join.
    const keys = new Map<string, readonly ColumnSource[]>();
    if (coalesced) {
      leftOn.forEach((l, i) => {
        const [lk, lc] = variant(l);
        const [rk, rc] = variant(rightOn[i]);
        if (lk !== "Column" || rk !== "Column") return;
        const fromLeft = left.columns.get(lc as string) ?? [];
        const fromRight = right.columns.get(rc as string) ?? [];
        const name = how === "Right" ? rc as string : lc as string;
        keys.set(
          name,
          how === "Right"
            ? fromRight
            : how === "Full"
            ? distinct([...fromLeft, ...fromRight])
            : fromLeft,
        );
      });
    }
    const columns = new Map<string, readonly ColumnSource[]>();
    for (const [name] of this.#oracle.schemaOf(node)) {
      const sources = keys.get(name) ?? left.columns.get(name) ?? right.columns.get(name) ??
        (name.endsWith(suffix) ? right.columns.get(name.slice(0, -suffix.length)) : undefined);
      columns.set(name, sources ?? []);
    }
    const joinEdge = indirect("JOIN");
    const onLeft = leftOn.flatMap((e) => references(e, joinEdge));
    const onRight = rightOn.flatMap((e) => references(e, joinEdge));
    return {
      columns,
      dataset: distinct([
        ...left.dataset,
        ...right.dataset,
        ...resolve(left, onLeft),
        ...resolve(right, onRight),
      ]),
    };
  }

  #mapFunction(node: PlanJson, input: PlanJson, fn: unknown): Relation {
    const [kind, value] = variant(fn);
    if (kind !== "Rename") return this.#byName(node, [input]);
    const from = this.relation(input);
    const { existing, new: renamed } = value as { existing: string[]; new: string[] };
    const names = new Map(existing.map((old, i) => [renamed[i], old]));
    const columns = new Map<string, readonly ColumnSource[]>();
    for (const [name] of this.#oracle.schemaOf(node)) {
      columns.set(name, from.columns.get(names.get(name) ?? name) ?? []);
    }
    return { columns, dataset: from.dataset };
  }

  /** Rows of several inputs (`concat`), by name when diagonal, else by position; or columns side by side. */
  #concat(node: PlanJson, inputs: readonly PlanJson[], args: unknown): Relation {
    const output = this.#oracle.schemaOf(node).map(([name]) => name);
    const parts = inputs.map((input) => ({
      relation: this.relation(input),
      names: this.#oracle.schemaOf(input).map(([name]) => name),
    }));
    const columns = new Map<string, ColumnSource[]>(output.map((name) => [name, []]));
    const add = (name: string, sources: readonly ColumnSource[] | undefined) =>
      columns.get(name)?.push(...(sources ?? []));
    if (args === undefined) {
      // Side by side: the inputs' columns in turn.
      const all = parts.flatMap((p) => p.names.map((n) => p.relation.columns.get(n)));
      output.forEach((name, i) => add(name, all[i]));
    } else {
      const diagonal = (args as { diagonal?: boolean }).diagonal === true;
      for (const p of parts) {
        output.forEach((name, i) =>
          add(name, p.relation.columns.get(diagonal ? name : p.names[i] ?? name))
        );
      }
    }
    return {
      columns: new Map([...columns].map(([name, sources]) => [name, distinct(sources)])),
      dataset: distinct(parts.flatMap((p) => p.relation.dataset)),
    };
  }

  /** Any other node: each column it yields is the same-named column of an input, or new. */
  #byName(node: PlanJson, inputs: readonly PlanJson[]): Relation {
    const relations = inputs.map((input) => this.relation(input));
    const columns = new Map<string, readonly ColumnSource[]>();
    for (const [name] of this.#oracle.schemaOf(node)) {
      columns.set(name, relations.find((r) => r.columns.has(name))?.columns.get(name) ?? []);
    }
    return { columns, dataset: distinct(relations.flatMap((r) => r.dataset)) };
  }

  /**
   * The columns an expression yields over a node, each with the columns it reads: one per column
   * a selector matches (`pl.col(pl.Float64).mul(2)`), named as polars names them.
   */
  #outputs(input: PlanJson, expr: unknown, edge: Edge): [string, Reference[]][] {
    const names = this.#oracle.exprFields(input, expr).map(([name]) => name);
    const expanded = this.#expanded(input, expr);
    return names.map((name, i) => [
      name,
      references(expanded.length === names.length ? expanded[i] : expanded, edge),
    ]);
  }

  /** An expression with its selector replaced by each column it matches, in polars' order. */
  #expanded(input: PlanJson, expr: unknown): unknown[] {
    const selector = findSelector(expr);
    if (selector === undefined) return [expr];
    const matched = this.#oracle.exprFields(input, selector).map(([name]) => name);
    return matched.map((column) => replace(expr, selector, { Column: column }));
  }
}

/** The plan nodes a node reads. */
function children(v: Record<string, unknown> | undefined): PlanJson[] {
  if (v === undefined || v === null || typeof v !== "object") return [];
  const found: PlanJson[] = [];
  for (const key of ["input", "input_left", "input_right"]) {
    if (v[key] !== undefined) found.push(v[key] as PlanJson);
  }
  if (Array.isArray(v.inputs)) found.push(...(v.inputs as PlanJson[]));
  return found;
}

/** The sources of an expression's references over a relation, each through its edge. */
function resolve(from: Relation, refs: readonly Reference[]): ColumnSource[] {
  return distinct(
    refs.flatMap((ref) =>
      (from.columns.get(ref.column) ?? []).map((source) => ({
        input: source.input,
        column: source.column,
        ...through(ref.edge, source),
      }))
    ),
  );
}

/** The first multi-column selector in an expression. */
function findSelector(expr: unknown): unknown {
  if (expr === null || typeof expr !== "object") return undefined;
  if (Array.isArray(expr)) {
    for (const e of expr) {
      const found = findSelector(e);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  const [kind] = variant(expr);
  if (kind === "Selector" || kind === "Nth") return expr;
  return findSelector(Object.values(expr));
}

/** The expression with one node replaced. */
function replace(expr: unknown, target: unknown, by: unknown): unknown {
  if (expr === target) return by;
  if (expr === null || typeof expr !== "object") return expr;
  if (Array.isArray(expr)) return expr.map((e) => replace(e, target, by));
  return Object.fromEntries(Object.entries(expr).map(([k, v]) => [k, replace(v, target, by)]));
}

/** Expression nodes that keep their operand's values as they are. */
const KEEPING = new Set(["Alias", "RenameAlias", "KeepName"]);

/**
 * The columns an expression reads and how: a plain column is an identity, arithmetic and
 * functions transform, aggregations aggregate; a `when`'s condition, a `filter`'s predicate, a
 * `sortBy`'s keys and a window's partition decide rather than give values.
 */
function references(expr: unknown, edge: Edge): Reference[] {
  if (expr === null || typeof expr !== "object") return [];
  if (Array.isArray(expr)) return expr.flatMap((e) => references(e, edge));
  const [kind, value] = variant(expr);
  const v = value as Record<string, unknown>;
  const transformed = through(edge, { type: "DIRECT", subtype: "TRANSFORMATION" });
  switch (kind) {
    case "Column":
      return [{ column: value as string, edge }];
    case "Literal":
      return [];
    case "Agg":
      return references(value, through(edge, { type: "DIRECT", subtype: "AGGREGATION" }));
    case "Ternary":
      return [
        ...references(v.predicate, indirect("CONDITIONAL")),
        ...references([v.truthy, v.falsy], transformed),
      ];
    case "Filter":
      return [...references(v.input, edge), ...references(v.by, indirect("FILTER"))];
    case "SortBy":
      return [...references(v.expr, edge), ...references(v.by, indirect("SORT"))];
    case "Over":
    case "Window":
      return [
        ...references(v.function, edge),
        ...references([v.partition_by, v.order_by], indirect("WINDOW")),
      ];
    default:
      if (KEEPING.has(kind)) return references(value, edge);
      return references(kind === "?" ? Object.values(expr) : value, transformed);
  }
}
