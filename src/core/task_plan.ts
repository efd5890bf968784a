/**
 * Capturing a task's polars plan as JSON: the task runs on empty frames of its input schemas,
 * each marked with a column that names its input, and polars serializes the lazy plan. Whatever
 * reads a task's plan (the Spark compiler, column lineage) captures it here.
 *
 * nodejs-polars builds a few string functions (`str.toUpperCase`, `str.toLowerCase`,
 * `str.strip`/`lstrip`/`rstrip`, `str.lengths`) as opaque Rust closures that polars cannot
 * serialize. While the task body runs, those methods of the native expression class are replaced
 * by serializable stand-ins of the same dtype that carry the operation's name (a literal
 * `str.replaceAll` of a marker that never occurs in data), which a reader of the plan can read
 * back. Other opaque methods are replaced by ones that throw, so that the task is refused by name.
 * The task body is synchronous, so no other code observes the replacement.
 *
 * @module
 */
import pl from "../polars.ts";
import { firstLine, TaskError } from "./errors.ts";
import type { Step } from "./lineage.ts";
import { callTask } from "./apply_task.ts";
import type { TaskInputs } from "./task.ts";
import type { Schema } from "../schema/schema.ts";

/** The prefix of the column that marks an input frame: `__glacier_input__<input name>`. */
export const INPUT_MARKER = "__glacier_input__";

/** The prefix of the marker string a stand-in for an opaque string function carries. */
export const OPAQUE_MARKER = "\u0000glacier:";

/** The opaque string functions that have stand-ins, by native method, with their marker. */
const STAND_INS: Readonly<Record<string, string>> = {
  strToUppercase: "upper",
  strToLowercase: "lower",
  strStrip: "strip",
  strLstrip: "lstrip",
  strRstrip: "rstrip",
  strLengths: "lengths",
};

/** The other opaque native methods, with the name polars gives the operation. */
const REFUSED: Readonly<Record<string, string>> = {
  dtEpochSeconds: "dt.epoch",
  durationDays: "dt.total_days",
  durationHours: "dt.total_hours",
  durationMilliseconds: "dt.total_milliseconds",
  durationNanoseconds: "dt.total_nanoseconds",
  durationSeconds: "dt.total_seconds",
  extendConstant: "extend_constant",
  reinterpret: "reinterpret",
  strBase64Decode: "str.decode",
  strBase64Encode: "str.encode",
  strHexDecode: "str.decode",
  strHexEncode: "str.encode",
  toPhysical: "to_physical",
  hash: "hash",
};

/** Thrown by a refused stand-in while the task body runs. */
class RefusedOperation extends Error {
  constructor(readonly operation: string) {
    super(`polars operation '${operation}'`);
  }
}

/** A node of polars' serialized plan (its JSON form). */
export type PlanJson = Record<string, unknown>;

/**
 * The kind of a plan or expression node and its content: polars writes each node as an object
 * with one key (`{"Column": "x"}`), or a bare string for a node without content (`"Len"`).
 *
 * @param node a node of a captured plan.
 * @returns its kind (`?` for anything else) and its content.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { variant } from "./task_plan.ts";
 * assert.deepEqual(variant({ Column: "x" }), ["Column", "x"]);
 * assert.deepEqual(variant("Len"), ["Len", undefined]);
 * ```
 */
export function variant(node: unknown): [string, unknown] {
  if (typeof node === "string") return [node, undefined];
  if (node !== null && typeof node === "object" && !Array.isArray(node)) {
    const keys = Object.keys(node);
    if (keys.length === 1) return [keys[0], (node as Record<string, unknown>)[keys[0]]];
  }
  return ["?", node];
}

/** A task's captured plan. */
export interface CapturedPlan {
  /** The plan, as polars serializes it, with large integers as `bigint`. */
  readonly plan: PlanJson;
  /** The schema the plan yields. */
  readonly schema: pl.Schema;
}

/**
 * Builds the error for an operation polars cannot serialize, naming it as polars does: the
 * caller's words for what it cannot do with such a task.
 *
 * @param operation the polars operation, as polars names it.
 * @param detail what polars said, when it refused to serialize the plan.
 * @returns the error to throw.
 */
export type OpaqueOperation = (operation: string, detail?: string) => Error;

/**
 * Runs a step's task on empty, marked frames of its declared inputs and serializes the plan.
 *
 * @param step the step.
 * @param opaque the error for an operation polars cannot serialize.
 * @returns the plan's JSON and its output schema.
 * @throws what `opaque` returns, for an opaque operation.
 * @throws {TaskError} when the task throws or returns no lazy frame.
 */
export function capturePlan(step: Step, opaque: OpaqueOperation): CapturedPlan {
  const task = step.task;
  const declared: Record<string, Schema> = task.kind === "single"
    ? { input: task.input }
    : { ...(task.inputs as TaskInputs) };
  const frames = Object.fromEntries(
    Object.entries(declared).map(([name, schema]) => [name, markedFrame(name, schema)]),
  );
  let lazy: pl.LazyDataFrame;
  const restore = standIns();
  try {
    lazy = callTask(step, frames, { limitColumns: false });
  } catch (error) {
    if (error instanceof TaskError && error.cause instanceof RefusedOperation) {
      throw opaque(error.cause.operation);
    }
    throw error;
  } finally {
    restore();
  }
  let text: string;
  try {
    text = lazy.serialize("json").toString();
  } catch (error) {
    throw opaque("a function polars cannot serialize", firstLine(error));
  }
  let schema: pl.Schema;
  try {
    schema = lazy.clone().limit(0).collectSync().schema;
  } catch (error) {
    throw new TaskError(`task '${task.name}' built a plan polars cannot run: ${firstLine(error)}`, {
      cause: error,
    });
  }
  return { plan: parsePlan(text), schema };
}

/**
 * Parses polars' plan JSON, keeping integers beyond 2^53 exact as `bigint`.
 *
 * @param text the JSON.
 * @returns the plan.
 */
export function parsePlan(text: string): PlanJson {
  return JSON.parse(text, (_key, value, context?: { source?: string }) => {
    if (
      typeof value === "number" && !Number.isSafeInteger(value) && context?.source !== undefined &&
      /^-?\d+$/.test(context.source)
    ) {
      return BigInt(context.source);
    }
    return value;
  });
}

/**
 * Writes a plan back to JSON, `bigint`s as exact integers.
 *
 * @param plan the plan or any part of it.
 * @returns the JSON.
 */
export function stringifyPlan(plan: unknown): string {
  return JSON.stringify(
    plan,
    (_key, value) =>
      typeof value === "bigint"
        ? (JSON as unknown as { rawJSON(text: string): unknown }).rawJSON(value.toString())
        : value,
  );
}

/**
 * An empty lazy frame of a declared input, with its marker column, limited to its columns: what a
 * captured plan starts from (the Spark backend also builds its quality checks' plans on one).
 *
 * @param name the input's name, which the marker column carries.
 * @param schema its columns.
 * @returns the frame.
 */
export function markedFrame(name: string, schema: Schema): pl.LazyDataFrame {
  const columns = [
    ...Object.entries(schema).map(([column, dtype]) => pl.lit(null).cast(dtype).alias(column)),
    pl.lit(null).cast(pl.Bool).alias(INPUT_MARKER + name),
  ];
  return pl.DataFrame({ _: [0] }).select(...columns).head(0).lazy().select(
    ...Object.keys(schema),
  );
}

/** Native expression methods, as the replacement needs them. */
type NativeMethod = (this: unknown, ...args: unknown[]) => unknown;

/** Replaces the opaque native methods; returns the function that restores them. */
function standIns(): () => void {
  const proto = Object.getPrototypeOf(
    (pl.col("x") as unknown as { _expr: object })._expr,
  ) as Record<string, NativeMethod>;
  const saved = new Map<string, NativeMethod>();
  const replaceAll = proto.strReplaceAll;
  const cast = proto.cast;
  const nativeLit = (value: string) => (pl.lit(value) as unknown as { _expr: unknown })._expr;
  for (const [method, marker] of Object.entries(STAND_INS)) {
    saved.set(method, proto[method]);
    proto[method] = function (this: unknown) {
      const stand = replaceAll.call(this, nativeLit(OPAQUE_MARKER + marker), nativeLit(""), true);
      return marker === "lengths" ? cast.call(stand, pl.UInt32, false) : stand;
    };
  }
  for (const [method, operation] of Object.entries(REFUSED)) {
    saved.set(method, proto[method]);
    proto[method] = () => {
      throw new RefusedOperation(operation);
    };
  }
  return () => {
    for (const [method, original] of saved) proto[method] = original;
  };
}
