/**
 * Units of work that share jobs. The items of a step whose executor groups its units wait until
 * every item of that step has either asked to run or is known not to (up to date, failed before
 * it ran, blocked by a failure upstream), then go to the executor together: in groups of at most
 * the grouping's size, a bounded number of jobs at a time. A job may also carry items right
 * downstream that must run whatever their upstream writes (`chain`); each of those finds its
 * outcome waiting when its turn comes.
 *
 * @module
 */
import type { Step } from "../core/lineage.ts";
import type { Grouping, UnitOutcome, WorkUnit, Written } from "../core/session.ts";
import type { WorkItem } from "./partition_work.ts";

/** One item and the unit an executor runs for it. */
export interface BatchEntry {
  /** The item. */
  readonly item: WorkItem;
  /** Its step resolved to its partition, and the run around it. */
  readonly unit: WorkUnit;
}

/** What a {@linkcode BatchQueue} needs from its run. */
export interface BatchRun {
  /**
   * How a step's units are grouped, when its executor runs them together.
   *
   * @param step the step.
   * @returns the grouping, or `undefined` when each unit runs on its own.
   */
  grouping(step: Step): Grouping | undefined;
  /**
   * Runs one job of units, under its timeout.
   *
   * @param entries the job's items and units, each after the ones whose output it reads.
   * @returns each unit's outcome, in order.
   */
  run(entries: readonly BatchEntry[]): Promise<UnitOutcome[]>;
  /**
   * The items right downstream of a job's items (and of those, and so on) that join the job.
   *
   * @param items the job's items so far.
   * @param grouping their grouping.
   * @returns the items that join, each after the ones it reads.
   */
  chain(items: readonly WorkItem[], grouping: Grouping): Promise<BatchEntry[]>;
  /** How many jobs may run at once. */
  readonly jobs: number;
}

interface Waiting extends BatchEntry {
  readonly resolve: (written: Written) => void;
  readonly reject: (error: unknown) => void;
}

/** The items of a run's grouped steps, on their way into jobs. */
export class BatchQueue {
  readonly #run: BatchRun;
  readonly #expected = new Map<Step, number>();
  readonly #accounted = new Map<Step, Set<WorkItem>>();
  readonly #waiting = new Map<Step, Waiting[]>();
  readonly #early = new Map<WorkItem, Promise<Written>>();
  readonly #slots: (() => void)[] = [];
  #jobs = 0;

  /**
   * A queue for a run's work.
   *
   * @param work every item of the run.
   * @param run how units are grouped and run.
   */
  constructor(work: readonly WorkItem[], run: BatchRun) {
    this.#run = run;
    for (const item of work) {
      if (run.grouping(item.step) === undefined) continue;
      this.#expected.set(item.step, (this.#expected.get(item.step) ?? 0) + 1);
    }
  }

  /**
   * Whether an item runs in a job with others.
   *
   * @param item the item.
   * @returns `true` when its step's executor groups units.
   */
  grouped(item: WorkItem): boolean {
    return this.#expected.has(item.step);
  }

  /**
   * The outcome of an item that joined the job of the items it reads, if it did.
   *
   * @param item the item.
   * @returns what it wrote (or its error), once its job ended.
   */
  early(item: WorkItem): Promise<Written> | undefined {
    return this.#early.get(item);
  }

  /**
   * Says that an item will not ask to run: up to date, failed before running, blocked, or run
   * by the job upstream. Saying it twice, or of an item that asked, changes nothing.
   *
   * @param item the item.
   */
  settle(item: WorkItem): void {
    if (this.#account(item)) this.#flush(item.step);
  }

  /**
   * Asks to run an item in a job with others of its step.
   *
   * @param item the item, which has not settled.
   * @param unit its step resolved to its partition, and the run around it.
   * @returns what it wrote, once its job ended.
   * @throws what failed the unit (or the whole job).
   */
  submit(item: WorkItem, unit: WorkUnit): Promise<Written> {
    return new Promise<Written>((resolve, reject) => {
      const waiting = this.#waiting.get(item.step) ?? [];
      this.#waiting.set(item.step, waiting);
      waiting.push({ item, unit, resolve, reject });
      this.#account(item);
      this.#flush(item.step);
    });
  }

  #account(item: WorkItem): boolean {
    if (!this.grouped(item)) return false;
    const seen = this.#accounted.get(item.step) ?? new Set<WorkItem>();
    this.#accounted.set(item.step, seen);
    if (seen.has(item)) return false;
    seen.add(item);
    return true;
  }

  #flush(step: Step): void {
    const waiting = this.#waiting.get(step) ?? [];
    const grouping = this.#run.grouping(step)!;
    while (waiting.length >= grouping.size) this.#start(waiting.splice(0, grouping.size), grouping);
    const all = this.#accounted.get(step)?.size === this.#expected.get(step);
    if (all && waiting.length > 0) this.#start(waiting.splice(0), grouping);
  }

  async #start(entries: Waiting[], grouping: Grouping): Promise<void> {
    // A job that ends hands its slot to the next one waiting.
    if (this.#jobs >= this.#run.jobs) await new Promise<void>((go) => this.#slots.push(go));
    else this.#jobs++;
    try {
      const joined = grouping.chains
        ? await this.#run.chain(entries.map((e) => e.item), grouping)
        : [];
      const outcomes = this.#run.run([...entries, ...joined]);
      joined.forEach((entry, i) => {
        const written = outcomes.then((all) => unwrap(all[entries.length + i]));
        written.catch(() => {}); // an item blocked upstream never asks for it
        this.#early.set(entry.item, written);
      });
      let all: UnitOutcome[];
      try {
        all = await outcomes;
      } catch (error) {
        for (const entry of entries) entry.reject(error);
        return;
      }
      entries.forEach((entry, i) => {
        const outcome = all[i];
        if (outcome.ok) entry.resolve(outcome.written);
        else entry.reject(outcome.error);
      });
    } catch (error) {
      for (const entry of entries) entry.reject(error);
    } finally {
      const next = this.#slots.shift();
      if (next) next();
      else this.#jobs--;
    }
  }
}

function unwrap(outcome: UnitOutcome): Written {
  if (outcome.ok) return outcome.written;
  throw outcome.error;
}
