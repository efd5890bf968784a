/**
 * Whether a step's output is up to date, and when it is not, why: the one place a run and `plan`
 * decide what to compute.
 *
 * @module
 */
import type { Step } from "../core/lineage.ts";
import type { CodeFingerprint } from "./fingerprint.ts";
import type { CurrentVersion, VersionRecord } from "./ledger/ledger.ts";

/** What is known of a step's target before it runs. */
export interface TargetState {
  /** What the ledger recorded for it. */
  readonly recorded: CurrentVersion | undefined;
  /** The identity of its stored data, `undefined` when there is none. */
  readonly stored: string | undefined;
  /** The recorded version the stored data is, `undefined` when it is none of them. */
  readonly held: VersionRecord | undefined;
}

/**
 * Why a step must run, or `up to date`.
 *
 * @param step the step.
 * @param code its task's code fingerprint.
 * @param target what is known of its target.
 * @param inputs the identity of each input's version now, by input name.
 * @param forced whether the run was told to recompute it.
 * @returns the reason: one of the fixed reasons of a step report.
 */
export function whyRun(
  step: Step,
  code: CodeFingerprint,
  target: TargetState,
  inputs: Readonly<Record<string, string>>,
  forced: boolean,
): string {
  if (forced) return "forced";
  if (target.recorded === undefined) return "no previous run";
  if (target.stored === undefined) return "output missing";
  const held = target.held;
  if (held === undefined || held.task === null) return "output changed outside Glacier";
  if (held.code === null || held.inputs === null) return "no previous run";
  if (held.code.versions !== code.parts.versions) return "Glacier or polars version changed";
  if (held.code.schema !== code.parts.schema) return "output schema changed";
  if (held.code.settings !== code.parts.settings) return "settings changed";
  if (held.code.code !== code.parts.code || held.task !== step.task.name) {
    return "task code changed";
  }
  for (const name of Object.keys(step.sources)) {
    if (held.inputs[name] !== inputs[name]) {
      return step.task.kind === "single" ? "input changed" : `input '${name}' changed`;
    }
  }
  return "up to date";
}
