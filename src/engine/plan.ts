/**
 * `plan`: which steps a run would compute and why, from the ledger and the stored data's
 * identities, without reading any data or running any task.
 *
 * @module
 */
import type { PipelineGraph } from "../core/graph.ts";
import type { BucketRef, Step } from "../core/lineage.ts";
import type { PlannedStep, StorageMode } from "../core/reports.ts";
import { codeFingerprint } from "./fingerprint.ts";
import { whyRun } from "./freshness.ts";
import { type Ledger, versionHeld, versionKey } from "./ledger/ledger.ts";

/** A plan before its costs are known. */
export interface StepPlan {
  /** The steps, upstream first, each with its action and reason (costs 0). */
  readonly steps: readonly PlannedStep[];
  /** Tasks whose fingerprint uses their source text, and why. */
  readonly notes: readonly string[];
}

/**
 * Predicts what a run would do.
 *
 * @param graph the pipeline.
 * @param mode the storage of the run it predicts.
 * @param ledger the ledger of that storage.
 * @param stored the identity of a bucket's stored data (`undefined` when there is none).
 * @param force as the run's `force`.
 * @returns each step's action and reason.
 */
export async function planSteps(
  graph: PipelineGraph,
  _mode: StorageMode,
  ledger: Ledger,
  stored: (ref: BucketRef) => Promise<string | undefined>,
  force: boolean | readonly string[] = false,
): Promise<StepPlan> {
  const recorded = await ledger.current(graph.buckets.map((b) => b.location));
  const identities = new Map<string, Promise<string | undefined>>();
  const storedOf = (ref: BucketRef) => {
    let found = identities.get(ref.location);
    if (!found) identities.set(ref.location, found = stored(ref));
    return found;
  };
  const producers = new Map(graph.steps.map((s) => [s.target.location, s]));
  const action = new Map<Step, PlannedStep["action"]>();
  const keys = new Map<string, string>();
  const steps: PlannedStep[] = [];
  const notes: string[] = [];
  for (const step of graph.steps) {
    const code = codeFingerprint(step);
    if (code.note) notes.push(code.note);
    const inputs: Record<string, string> = {};
    let blocked: string | undefined;
    for (const [name, ref] of Object.entries(step.sources)) {
      const producer = producers.get(ref.location);
      if (producer) {
        const upstream = action.get(producer);
        if (upstream === "fail") blocked ??= "upstream failed";
        inputs[name] = upstream === "run" ? `recomputed:${ref.location}` : keys.get(ref.location)!;
        continue;
      }
      const identity = await storedOf(ref);
      if (identity === undefined) {
        blocked ??= "input missing";
        continue;
      }
      const held = versionHeld(recorded.get(ref.location), identity);
      inputs[name] = held ? versionKey(held) : identity;
    }
    const base = {
      task: step.task.name,
      resource: step.task.resource.label,
      target: step.target.location,
      usd: 0,
    };
    if (blocked) {
      action.set(step, "fail");
      steps.push({ ...base, action: "fail", reason: blocked });
      continue;
    }
    const identity = await storedOf(step.target);
    const current = recorded.get(step.target.location);
    const held = versionHeld(current, identity);
    const forced = force === true || (Array.isArray(force) && force.includes(step.task.name));
    const reason = whyRun(
      step,
      code,
      { recorded: current, stored: identity, held },
      inputs,
      forced,
    );
    const what = reason === "up to date" ? "skip" : "run";
    action.set(step, what);
    if (what === "skip") keys.set(step.target.location, versionKey(held!));
    steps.push({ ...base, action: what, reason });
  }
  return { steps, notes };
}
