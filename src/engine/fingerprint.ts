/**
 * Fingerprints: what a step's output depends on, as hashes. A task's code fingerprint hashes its
 * name, its polars plan built from empty frames of its declared inputs (so any change to what it
 * computes, in its body or in a helper it calls, changes the plan, and nothing else does), the
 * settings that change the bytes it writes (the target's format and CSV layout), its output schema,
 * and the Glacier and polars versions. A step's fingerprint adds the versions of its inputs.
 *
 * @module
 */
import { createHash } from "node:crypto";
import pl from "../polars.ts";
import { callTask } from "../core/apply_task.ts";
import { anyPartition } from "../core/partition_map.ts";
import { firstLine } from "../core/errors.ts";
import type { Step } from "../core/lineage.ts";
import type { TaskInputs } from "../core/task.ts";
import { columnsOf, describeSchema, emptyFrame } from "../schema/schema.ts";
import { GLACIER_VERSION } from "../core/version.ts";

/** The parts of a code fingerprint, each a hash, so a change can be named. */
export interface CodeParts {
  /** The task's name and its plan (or its source text, when the plan cannot be serialized). */
  readonly code: string;
  /** The output's format and layout settings. */
  readonly settings: string;
  /** The output schema. */
  readonly schema: string;
  /** The Glacier and polars versions, as text: `glacier 0.1.0, polars 0.25.2`. */
  readonly versions: string;
}

/** A task's code fingerprint. */
export interface CodeFingerprint {
  /** The hash of every part. */
  readonly value: string;
  /** The parts. */
  readonly parts: CodeParts;
  /**
   * `plan` when the polars plan was hashed; `source` when it could not be serialized (a task that
   * calls back into JavaScript, say) and the function's source text was hashed instead: a change
   * in a helper it calls is then not seen.
   */
  readonly basis: "plan" | "source";
  /** Why the plan could not be used, when `basis` is `source`. */
  readonly note?: string;
  /**
   * The partition keys whose values the task uses: their stand-ins (`{date}`) appear in its plan,
   * which is built once for every partition.
   */
  readonly keys: readonly string[];
}

/** The versions that code fingerprints include. */
export const VERSIONS = `glacier ${GLACIER_VERSION}, polars ${String(pl.version ?? "0.25.2")}`;

const cache = new WeakMap<Step, CodeFingerprint>();

/**
 * A hash of text, hex.
 *
 * @param parts the text, joined with a separator that cannot occur in it.
 * @returns the SHA-256, hex.
 */
export function sha256(...parts: readonly string[]): string {
  const hash = createHash("sha256");
  for (const part of parts) hash.update(part).update("\u0000");
  return hash.digest("hex");
}

/**
 * The version key of one input as a step reads it: the key of its one object, or for every
 * partition or a window of them, a hash of each partition with its key.
 *
 * @param single whether the step reads one object of the input (its own partition, or the whole
 *   of an unpartitioned bucket).
 * @param parts each partition read, as text, with its version key (`undefined` when missing).
 * @returns the key.
 */
export function inputVersionKey(
  single: boolean,
  parts: readonly (readonly [string, string | undefined])[],
): string {
  if (single && parts.length === 1) return parts[0][1] ?? "missing";
  return `partitions:${sha256(...parts.flatMap(([text, key]) => [text, key ?? "missing"]))}`;
}

/**
 * A step's code fingerprint, computed once per step.
 *
 * @param step the step.
 * @returns its fingerprint and parts.
 */
export function codeFingerprint(step: Step): CodeFingerprint {
  let found = cache.get(step);
  if (!found) {
    found = computeCode(step);
    cache.set(step, found);
  }
  return found;
}

/**
 * A step's fingerprint: its code fingerprint and the versions it reads.
 *
 * @param code the code fingerprint.
 * @param inputs each input's version identity, by input name.
 * @returns the hash.
 */
export function stepFingerprint(
  code: CodeFingerprint,
  inputs: Readonly<Record<string, string>>,
): string {
  const names = Object.keys(inputs).sort();
  return sha256(code.value, ...names.flatMap((name) => [name, inputs[name]]));
}

function computeCode(step: Step): CodeFingerprint {
  const task = step.task;
  const declared: TaskInputs = task.kind === "single"
    ? { input: task.input }
    : task.inputs as TaskInputs;
  let basis: "plan" | "source" = "plan";
  let note: string | undefined;
  let text: string;
  let plan: pl.LazyDataFrame | undefined;
  try {
    const frames = Object.fromEntries(
      Object.entries(declared).map(([name, s]) => [name, emptyFrame(s).lazy()]),
    );
    plan = callTask(step, frames, { limitColumns: false }).select(columnsOf(step.target.schema));
    text = plan.serialize("json").toString();
  } catch (error) {
    // Some polars operations cannot be serialized (nodejs-polars runs a few string functions as
    // opaque maps): the plan's description still holds every literal and column, and the
    // function's source names the operations the description leaves opaque.
    basis = "source";
    note =
      `task '${task.name}': its polars plan cannot be serialized (${
        firstLine(error)
      }), so its fingerprint adds its function's source text; a change inside a helper it calls ` +
      "may go unseen there";
    let described = "";
    try {
      described = plan?.describePlan() ?? "";
    } catch {
      // the source alone, then
    }
    text = `${described}\n${String(task.apply)}`;
  }
  const parts: CodeParts = {
    code: sha256(task.name, basis, text),
    settings: sha256(
      step.target.path.slice(step.target.path.lastIndexOf(".")).toLowerCase(),
      JSON.stringify(step.target.csv ?? null),
    ),
    schema: sha256(describeSchema(step.target.schema)),
    versions: VERSIONS,
  };
  return {
    value: sha256(parts.code, parts.settings, parts.schema, parts.versions),
    parts,
    basis,
    ...(note ? { note } : {}),
    keys: Object.entries(anyPartition(step.target)).filter(([, v]) => text.includes(v))
      .map(([k]) => k),
  };
}
