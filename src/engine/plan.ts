/**
 * `plan`: which steps (each partition of each step) a run would compute and why, from the ledger
 * and the stored data's identities, without reading any data or running any task.
 *
 * @module
 */
import type { PipelineGraph } from "../core/graph.ts";
import type { BucketRef } from "../core/lineage.ts";
import { partitionText, type PartitionValues } from "../core/partitions.ts";
import type { PartitionSelection, PlannedStep, StorageMode } from "../core/reports.ts";
import { codeFingerprint, sha256 } from "./fingerprint.ts";
import { whyRun } from "./freshness.ts";
import { type Ledger, versionHeld, versionKey, versionSlot } from "./ledger/ledger.ts";
import { expandWork, type WorkItem } from "./partition_work.ts";

/** A plan before its costs are known. */
export interface StepPlan {
  /** The steps, upstream first, each with its action and reason (costs 0). */
  readonly steps: readonly PlannedStep[];
  /** Tasks whose fingerprint uses their source text, and why. */
  readonly notes: readonly string[];
}

/** What a plan looks at besides the ledger. */
export interface PlanScope {
  /**
   * The identity of a bucket's (or partition's) stored data, `undefined` when there is none.
   *
   * @param ref the bucket or partition.
   * @returns the identity.
   */
  stored(ref: BucketRef): Promise<string | undefined>;
  /**
   * The partitions of a partitioned bucket that have data.
   *
   * @param ref the bucket.
   * @returns their values.
   */
  partitions(ref: BucketRef): Promise<PartitionValues[]>;
  /** As the run's `partitions`. */
  readonly selection?: PartitionSelection;
  /** As the run's `force`. */
  readonly force?: boolean | readonly string[];
}

/**
 * Predicts what a run would do.
 *
 * @param graph the pipeline.
 * @param _mode the storage of the run it predicts.
 * @param ledger the ledger of that storage.
 * @param scope the storage's identities and partitions, the selection and `force`.
 * @returns each step's (each partition's) action and reason.
 */
export async function planSteps(
  graph: PipelineGraph,
  _mode: StorageMode,
  ledger: Ledger,
  scope: PlanScope,
): Promise<StepPlan> {
  const force = scope.force ?? false;
  const work = await expandWork(graph, {
    selection: scope.selection,
    now: new Date(),
    partitions: (ref) => scope.partitions(ref),
  });
  const recorded = await ledger.current(graph.buckets.map((b) => b.location));
  const slotOf = (ref: BucketRef) => versionSlot(ref.location, partitionText(ref.partition));
  const action = new Map<WorkItem, PlannedStep["action"]>();
  const keys = new Map<string, string>();
  const producedBy = new Map<string, WorkItem>();
  for (const item of work) producedBy.set(slotOf(item.target), item);
  const steps: PlannedStep[] = [];
  const notes = new Set<string>();
  const keyOf = async (ref: BucketRef): Promise<string | undefined> => {
    const producer = producedBy.get(slotOf(ref));
    if (producer) {
      const upstream = action.get(producer);
      return upstream === "run" ? `recomputed:${slotOf(ref)}` : keys.get(slotOf(ref));
    }
    const identity = await scope.stored(ref);
    if (identity === undefined) return undefined;
    const held = versionHeld(recorded.get(slotOf(ref)), identity);
    return held ? versionKey(held) : identity;
  };
  for (const item of work) {
    const step = item.step;
    const code = codeFingerprint(step);
    if (code.note) notes.add(code.note);
    const inputs: Record<string, string> = {};
    let blocked: string | undefined = item.missing ? "input missing" : undefined;
    for (const [name, input] of Object.entries(item.inputs)) {
      const found: string[] = [];
      for (const part of input.parts) {
        const producer = producedBy.get(slotOf(part.ref));
        if (producer && action.get(producer) === "fail") blocked ??= "upstream failed";
        const key = await keyOf(part.ref);
        if (key === undefined) blocked ??= "input missing";
        found.push(partitionText(part.partition), key ?? "missing");
      }
      inputs[name] = input.mapping !== "all" && input.parts.length === 1
        ? found[1]
        : `partitions:${sha256(...found)}`;
    }
    const base = {
      task: step.task.name,
      resource: step.task.resource.label,
      target: step.target.location,
      ...(item.text === "" ? {} : { partition: item.partition }),
      usd: 0,
    };
    if (blocked) {
      action.set(item, "fail");
      steps.push({ ...base, action: "fail", reason: blocked });
      continue;
    }
    const identity = await scope.stored(item.target);
    const current = recorded.get(slotOf(item.target));
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
    action.set(item, what);
    if (what === "skip") keys.set(slotOf(item.target), versionKey(held!));
    steps.push({ ...base, action: what, reason });
  }
  return { steps, notes: [...notes] };
}
