/**
 * The cost model: sizes and rows carried through the DAG step by step, a run time per step
 * from a throughput per resource kind, and a price per step from the price table. Every figure
 * the model assumes is data here and is written into the analysis' assumptions.
 *
 * @module
 */
import type { PipelineGraph } from "../core/graph.ts";
import type { BucketRef, Step } from "../core/lineage.ts";
import type { Backends } from "../core/backend.ts";
import type { CostFigures, ModelSettings, StepWork } from "../core/cost.ts";
import { isPartitioned, objectName } from "../core/partition_map.ts";
import { partitionText, type PartitionValues } from "../core/partitions.ts";
import { BACKENDS } from "../backends/mod.ts";
import type { Analysis, CostEstimate, StepEstimate } from "../core/reports.ts";
import { formatOf } from "../io/file_format.ts";
import { AWS_PRICES, type PriceTable, unitPrice } from "./prices.ts";
import { estimateOutputRows, ROW_ASSUMPTIONS, type RowAssumptions } from "./row_model.ts";
import {
  bytesFromRows,
  memoryBytesPerRow,
  rowsFromBytes,
  SIZE_ASSUMPTIONS,
  type SizeAssumptions,
} from "./sizes.ts";
import type { MeasuredSize } from "./size_probe.ts";
import { formatBytes, formatCount } from "../core/units.ts";

export type { ModelSettings } from "../core/cost.ts";
export { parseMemoryGb } from "../backends/spark/cost.ts";

const MB = 1_000_000;
const MIB = 1024 * 1024;
const GIB = 1024 * MIB;

/**
 * The default model figures.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MODEL_SETTINGS } from "./cost_model.ts";
 * assert.equal(MODEL_SETTINGS.runsPerMonth, 30);
 * ```
 */
export const MODEL_SETTINGS: ModelSettings = Object.freeze({
  defaultInputBytes: 100 * MIB,
  runsPerMonth: 30,
  s3MBps: 100,
  localMBps: 200,
  lambdaMBpsPerVcpu: 100,
  lambdaMbPerVcpu: 1769,
  lambdaMaxVcpus: 6,
  sparkMBpsPerVcpu: 50,
  startupSeconds: Object.freeze({ local: 0, serverless: 1, spark: 60 }),
  workingSetFactor: 2,
  lambdaRuntimeMb: 200,
  uploadPartBytes: 16 * MIB,
});

/** What the model adds to {@link Analysis}: the costs that belong to no one task. */
export interface AnalysisDetails {
  /** Step Functions transitions and run-level S3 requests, in US dollars. */
  readonly orchestrationUsd: number;
  /** State transitions per run. */
  readonly stateTransitions: number;
  /** The region of the prices. */
  readonly priceRegion: string;
  /** When the prices were looked up. */
  readonly pricesTakenOn: string;
}

/** An analysis with the model's details. */
export interface PipelineAnalysis extends Analysis {
  /** Costs outside the tasks, and the price table used. */
  readonly details: AnalysisDetails;
}

/** A bucket's size as the model carries it. */
interface Sized {
  readonly bytes: number;
  readonly rows: number;
}

/** One execution the model prices: a step over one partition of its target, or over all of it. */
export interface PricedItem {
  /** The step. */
  readonly step: Step;
  /** The partition it computes; `{}` for an unpartitioned target. */
  readonly partition: PartitionValues;
  /** The target, or the target's partition. */
  readonly target: BucketRef;
  /**
   * What it reads, by input name: one partition, a window, every partition, or the whole bucket
   * (read whole again for each partition of the target).
   */
  readonly inputs: Readonly<
    Record<string, { readonly parts: readonly { readonly ref: BucketRef }[] }>
  >;
}

/** The size of a typical partition of a partitioned bucket, from those that hold data. */
export interface TypicalPartition {
  /** The median size, in bytes. */
  readonly bytes: number;
  /** How many partitions it is the median of. */
  readonly count: number;
}

/** What the model prices besides each step's own figures. */
export interface EstimateScope {
  /** The executions of a run, upstream first (default: each step once, its inputs read whole). */
  readonly items?: readonly PricedItem[];
  /** For each partitioned bucket with data, by location: its typical partition. */
  readonly typical?: ReadonlyMap<string, TypicalPartition>;
}

/** What a partitioned bucket's partitions were sized from, for the assumptions. */
interface PartitionTally {
  readonly role: "input" | "output";
  /** Sizes of the partitions measured and read. */
  readonly measured: number[];
  /** Partitions read that have no data yet. */
  assumed: number;
  /** The size each of those was given. */
  assumedBytes: number;
  /** Where that size comes from. */
  basis: string;
  /** Partitions written whose previous output sized the estimate. */
  previous: number;
}

function newTally(role: "input" | "output"): PartitionTally {
  return { role, measured: [], assumed: 0, assumedBytes: 0, basis: "", previous: 0 };
}

/** The assumptions a partitioned bucket's sizes rest on. */
function tallyNotes(location: string, t: PartitionTally): string[] {
  const plural = (n: number) => `${formatCount(n)} partition${n === 1 ? "" : "s"}`;
  const notes: string[] = [];
  if (t.measured.length > 0) {
    const total = t.measured.reduce((sum, b) => sum + b, 0);
    notes.push(
      `${t.role} '${location}': ${plural(t.measured.length)} read, ${formatBytes(total)} ` +
        `measured (${formatBytes(Math.min(...t.measured))} to ` +
        `${formatBytes(Math.max(...t.measured))} each)`,
    );
  }
  if (t.assumed > 0) {
    notes.push(
      `${t.role} '${location}': ${plural(t.assumed)} read without data yet, each assumed ` +
        `${formatBytes(t.assumedBytes)}: ${t.basis}`,
    );
  }
  if (t.previous > 0) {
    notes.push(
      `output '${location}': ${plural(t.previous)} sized from a previous run's output`,
    );
  }
  return notes;
}

/** A step as one execution over its whole inputs. */
function wholeItem(step: Step): PricedItem {
  return {
    step,
    partition: {},
    target: step.target,
    inputs: Object.fromEntries(
      Object.entries(step.sources).map(([name, ref]) => [name, { parts: [{ ref }] }]),
    ),
  };
}

/** The options of a cost model: every figure can be replaced, for tests and what-ifs. */
export interface CostModelOptions {
  /** The prices. */
  readonly prices?: PriceTable;
  /** The time and request figures. */
  readonly settings?: ModelSettings;
  /** The bytes-per-row figures. */
  readonly sizes?: SizeAssumptions;
  /** The row factors. */
  readonly rows?: RowAssumptions;
  /** The backends whose part of the model prices each kind of task (default: Glacier's own). */
  readonly backends?: Backends;
}

/**
 * Estimates what one run of a pipeline costs on AWS.
 *
 * @example
 * ```ts ignore
 * const analysis = new CostModel().estimate(graph, new Map());
 * console.log(analysis.estimatedCost().totalUsd);
 * ```
 */
export class CostModel {
  readonly #prices: PriceTable;
  readonly #settings: ModelSettings;
  readonly #sizes: SizeAssumptions;
  readonly #rows: RowAssumptions;
  readonly #backends: Backends;

  /**
   * A cost model.
   *
   * @param options prices and figures to use instead of the defaults.
   */
  constructor(options: CostModelOptions = {}) {
    this.#prices = options.prices ?? AWS_PRICES;
    this.#settings = options.settings ?? MODEL_SETTINGS;
    this.#sizes = options.sizes ?? SIZE_ASSUMPTIONS;
    this.#rows = options.rows ?? ROW_ASSUMPTIONS;
    this.#backends = options.backends ?? BACKENDS;
  }

  /**
   * Estimates one run of a pipeline.
   *
   * @param graph the pipeline.
   * @param measured the real sizes of the buckets (and partitions) that hold data, by object name
   *   (`bucket/path`, a partition's values filled in).
   * @param scope what a run would compute, when it is not each step once over whole inputs, and
   *   the typical partition of each partitioned bucket.
   * @returns the analysis: one estimate per step, warnings, and the cost with its assumptions.
   */
  estimate(
    graph: PipelineGraph,
    measured: ReadonlyMap<string, MeasuredSize>,
    scope: EstimateScope = {},
  ): PipelineAnalysis {
    const p = this.#prices;
    const s = this.#settings;
    const items = scope.items ?? graph.steps.map(wholeItem);
    const sizeNotes: string[] = [];
    const rowNotes = new Set<string>();
    const warnings: string[] = [];
    /** Sizes of data no priced item writes, and estimates of what items write, by object name. */
    const sizes = new Map<string, Sized>();
    const tallies = new Map<string, PartitionTally>();
    const tally = (ref: BucketRef, role: "input" | "output") => {
      let found = tallies.get(ref.location);
      if (!found) tallies.set(ref.location, found = newTally(role));
      return found;
    };
    const writers = new Set(graph.steps.map((step) => step.target.location));

    for (const ref of graph.sources) {
      if (isPartitioned(ref)) continue;
      let size = this.#known(ref, measured, "input", sizeNotes);
      if (size === undefined) {
        size = this.#fromBytes(ref, s.defaultInputBytes);
        sizeNotes.push(
          `input '${ref.location}': no data and no sizeHint, assumed ` +
            `${formatBytes(s.defaultInputBytes)} (declare sizeHint in provider.bucket(...))`,
        );
      }
      sizes.set(objectName(ref), size);
    }
    /** The size of a partition that no priced item writes: measured, or assumed. */
    const partSize = (ref: BucketRef): Sized => {
      const key = objectName(ref);
      const known = sizes.get(key);
      if (known) return known;
      const counts = tally(ref, writers.has(ref.location) ? "output" : "input");
      const real = measured.get(key);
      let size: Sized;
      if (real) {
        counts.measured.push(real.bytes);
        size = this.#fromBytes(ref, real.bytes);
      } else {
        const typical = scope.typical?.get(ref.location);
        const bytes = typical?.bytes ?? ref.sizeHint ?? s.defaultInputBytes;
        counts.assumed++;
        counts.assumedBytes = bytes;
        counts.basis = typical
          ? `the median of its ${typical.count} existing partition${typical.count === 1 ? "" : "s"}`
          : ref.sizeHint !== undefined
          ? "its sizeHint (a partition's size)"
          : "no partition has data and it has no sizeHint (declare sizeHint in " +
            "provider.bucket(...))";
        size = this.#fromBytes(ref, bytes);
      }
      sizes.set(key, size);
      return size;
    };

    const priced = new Map<Step, { item: PricedItem; estimate: StepEstimate; work: StepWork }[]>(
      graph.steps.map((step) => [step, []]),
    );
    for (const item of items) {
      const step = item.step;
      const inputs = Object.entries(item.inputs).map(([name, input]) => {
        let bytes = 0;
        let rows = 0;
        for (const part of input.parts) {
          const size = isPartitioned(part.ref)
            ? partSize(part.ref)
            : sizes.get(objectName(part.ref)) ?? { bytes: 0, rows: 0 };
          bytes += size.bytes;
          rows += size.rows;
        }
        return { name, ref: step.sources[name], bytes, rows, reads: input.parts.length };
      });
      const inputBytes = inputs.reduce((sum, i) => sum + i.bytes, 0);
      const inputRows = inputs.reduce((sum, i) => sum + i.rows, 0);
      const inputMemory = inputs.reduce(
        (sum, i) => sum + i.rows * memoryBytesPerRow(i.ref.schema, this.#sizes),
        0,
      );

      const target = item.target;
      let output: Sized | undefined;
      if (isPartitioned(step.target)) {
        const real = measured.get(objectName(target));
        if (real) tally(target, "output").previous++;
        output = real ? this.#fromBytes(target, real.bytes) : undefined;
      } else {
        output = this.#known(target, measured, "output", sizeNotes);
      }
      if (output === undefined) {
        const estimate = estimateOutputRows(
          step,
          Object.fromEntries(inputs.map((i) => [i.name, i.rows])),
          this.#rows,
        );
        output = {
          rows: estimate.rows,
          bytes: bytesFromRows(estimate.rows, target.schema, formatOf(target.path), this.#sizes),
        };
        rowNotes.add(`task '${step.task.name}': ${estimate.rule}`);
      }
      sizes.set(objectName(target), output);
      const outputMemory = output.rows * memoryBytesPerRow(target.schema, this.#sizes);

      const seconds = this.#seconds(step, inputBytes + output.bytes, inputMemory + outputMemory);
      const work = {
        inputBytes,
        inputMemoryBytes: inputMemory,
        memoryBytes: inputMemory + outputMemory,
      };
      const cost = this.#backends[step.task.resource.kind].cost;
      const compute = cost.computeUsd(step, seconds, work, this.#figures());
      const reads = inputs.reduce((sum, i) => sum + i.reads, 0);
      const usd = compute + this.#s3Usd(reads, output.bytes);
      priced.get(step)!.push({
        item,
        work,
        estimate: {
          task: step.task.name,
          resource: step.task.resource.label,
          inputBytes,
          inputRows,
          outputBytes: output.bytes,
          outputRows: output.rows,
          seconds,
          usd,
        },
      });
    }

    const steps: StepEstimate[] = [];
    const byTask: Record<string, number> = {};
    for (const [step, done] of priced) {
      const sum = (f: (e: StepEstimate) => number) =>
        done.reduce((total, d) => total + f(d.estimate), 0);
      const largest = done.reduce<(typeof done)[number] | undefined>(
        (max, d) => max === undefined || d.work.memoryBytes > max.work.memoryBytes ? d : max,
        undefined,
      );
      if (largest) {
        warnings.push(
          ...this.#backends[step.task.resource.kind].cost.warnings(
            step,
            largest.estimate.seconds,
            largest.work,
            this.#figures(),
          ),
        );
      }
      const usd = sum((e) => e.usd);
      byTask[step.task.name] = (byTask[step.task.name] ?? 0) + usd;
      const partitioned = isPartitioned(step.target);
      steps.push(Object.freeze({
        task: step.task.name,
        resource: step.task.resource.label,
        inputBytes: sum((e) => e.inputBytes),
        inputRows: sum((e) => e.inputRows),
        outputBytes: sum((e) => e.outputBytes),
        outputRows: sum((e) => e.outputRows),
        seconds: sum((e) => e.seconds),
        usd,
        ...(partitioned
          ? {
            partitions: done.length,
            perPartition: Object.freeze(done.map((d) => {
              const { task: _task, resource: _resource, ...figures } = d.estimate;
              return Object.freeze({ partition: d.item.partition, ...figures });
            })),
          }
          : {}),
      }));
    }
    for (const [location, counts] of tallies) sizeNotes.push(...tallyNotes(location, counts));

    const waves = graph.levels.filter((level) => level.length > 1).length;
    const partitionTexts = new Set(
      items.filter((i) => isPartitioned(i.step.target)).map((i) => partitionText(i.partition)),
    );
    const partitioned = graph.buckets.some(isPartitioned);
    const stateTransitions = items.length + waves + 2;
    const s3Buckets = new Set(graph.steps.map((step) => step.target.bucket)).size;
    // The journal and the run record in the state bucket, a LIST of its journals and of its run
    // records, and a LIST of the run's staging per S3 bucket written.
    const runRequests = 4 + s3Buckets;
    const orchestrationUsd = stateTransitions * unitPrice(p.stepFunctions.stateTransitions) +
      runRequests * unitPrice(p.s3Standard.writeRequests);

    const regions = [...new Set(graph.buckets.map((b) => b.settings.region))]
      .filter((r) => r !== p.region);
    for (const region of regions) {
      warnings.push(
        `the prices are AWS's for ${p.region}, but the provider's region is '${region}', where ` +
          "prices differ; the estimate is a guide only",
      );
    }

    const assumptions = Object.freeze([
      ...sizeNotes,
      ...this.#modelNotes(graph, stateTransitions, waves, runRequests, partitioned),
      ...rowNotes,
    ]);
    const totalUsd = Object.values(byTask).reduce((sum, usd) => sum + usd, 0) + orchestrationUsd;
    const frozenByTask = Object.freeze({ ...byTask });
    return Object.freeze({
      pipeline: graph.name,
      steps: Object.freeze(steps),
      ...(partitioned ? { partitions: partitionTexts.size } : {}),
      warnings: Object.freeze(warnings),
      details: Object.freeze({
        orchestrationUsd,
        stateTransitions,
        priceRegion: p.region,
        pricesTakenOn: p.takenOn,
      }),
      estimatedCost(): CostEstimate {
        return { totalUsd, byTask: frozenByTask, assumptions };
      },
    });
  }

  /** A bucket's size when it is known: measured (its data exists), else its `sizeHint`. */
  #known(
    ref: BucketRef,
    measured: ReadonlyMap<string, MeasuredSize>,
    role: "input" | "output",
    notes: string[],
  ): Sized | undefined {
    const real = measured.get(ref.location);
    if (real) {
      notes.push(
        `${role} '${ref.location}': ${formatBytes(real.bytes)} measured at ${real.where}` +
          (role === "output" ? " (a previous run's output)" : ""),
      );
      return this.#fromBytes(ref, real.bytes);
    }
    if (ref.sizeHint !== undefined) {
      notes.push(
        `${role} '${ref.location}': no data found, ${formatBytes(ref.sizeHint)} from its sizeHint`,
      );
      return this.#fromBytes(ref, ref.sizeHint);
    }
    return undefined;
  }

  #fromBytes(ref: BucketRef, bytes: number): Sized {
    return { bytes, rows: rowsFromBytes(bytes, ref.schema, formatOf(ref.path), this.#sizes) };
  }

  /** Run time: start-up, S3 transfer of what the step reads and writes, and compute. */
  #seconds(step: Step, storedBytes: number, memoryBytes: number): number {
    const cost = this.#backends[step.task.resource.kind].cost;
    const figures = this.#figures();
    const transfer = storedBytes / (this.#settings.s3MBps * MB);
    return cost.startupSeconds(figures) + transfer +
      memoryBytes / (cost.computeMBps(step, figures) * MB);
  }

  #figures(): CostFigures {
    return { prices: this.#prices, settings: this.#settings };
  }

  /**
   * S3 charges of a step: a GET per input; a lock PUT, the upload (one PUT, or a multipart
   * upload's create, parts and complete), a COPY that keeps the previous object aside and a COPY
   * into place for the output; and the output's storage for one run's share of a month.
   */
  #s3Usd(inputs: number, outputBytes: number): number {
    const p = this.#prices.s3Standard;
    const s = this.#settings;
    const parts = Math.ceil(outputBytes / s.uploadPartBytes);
    const upload = parts <= 1 ? 1 : parts + 2;
    const writes = 1 + upload + 2;
    return inputs * unitPrice(p.readRequests) + writes * unitPrice(p.writeRequests) +
      (outputBytes / GIB) * unitPrice(p.storageGbMonth) / s.runsPerMonth;
  }

  /** The model's own assumptions, with the figures it used. */
  #modelNotes(
    graph: PipelineGraph,
    transitions: number,
    waves: number,
    runRequests: number,
    partitioned: boolean,
  ): string[] {
    const p = this.#prices;
    const s = this.#settings;
    const z = this.#sizes;
    const kinds = new Set(graph.steps.map((step) => step.task.resource.kind));
    const notes = [
      `prices: AWS ${p.region} on-demand, looked up ${p.takenOn} (sources in ` +
      "src/analyze/prices.ts); free tiers not deducted",
      `rows from bytes: parquet takes ${z.parquetRatio * 100}% and Arrow IPC ` +
      `${z.ipcRatio * 100}% of the in-memory size; CSV and NDJSON are uncompressed text; ` +
      `strings average ${z.stringChars} characters, lists ${z.listItems} items`,
      `time: S3 transfer at ${s.s3MBps} MB/s, compute over the in-memory size of what a task ` +
      `reads and writes at ${s.localMBps} MB/s in-process, ${s.lambdaMBpsPerVcpu} MB/s per ` +
      `Lambda vCPU (one per ${s.lambdaMbPerVcpu} MB), ${s.sparkMBpsPerVcpu} MB/s per Spark ` +
      `executor vCPU; start-up ${s.startupSeconds.serverless} s on Lambda, ` +
      `${s.startupSeconds.spark} s for a Spark job`,
    ];
    for (const kind of kinds) notes.push(...this.#backends[kind].cost.notes(this.#figures()));
    notes.push(
      "S3 requests: a GET per input read; per output a lock PUT, the upload (multipart in " +
        `${formatBytes(s.uploadPartBytes)} parts), a COPY keeping the previous object and a ` +
        `COPY into place; DELETEs are free; ${runRequests} run-level requests (journal and run ` +
        "record PUTs, LISTs of the state bucket's journals and run records, a LIST of staging " +
        "per S3 bucket written)",
      `S3 storage: each output is kept a month and overwritten ${s.runsPerMonth} times in it ` +
        "(a daily schedule), so a run pays 1/30 of a month; inputs are not charged",
      `Step Functions: ${transitions} state transitions per run (one per task` +
        `${partitioned ? " and partition" : ""}, ${waves} for parallel waves, start and end), ` +
        "no retries",
    );
    return notes;
  }
}
