/**
 * The cost model: sizes and rows carried through the DAG step by step, a run time per step
 * from a throughput per resource kind, and a price per step from the price table. Every figure
 * the model assumes is data here and is written into the analysis' assumptions.
 *
 * @module
 */
import type { PipelineGraph } from "../core/graph.ts";
import type { BucketRef, Step } from "../core/lineage.ts";
import { settingsOf } from "../core/resource.ts";
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
import { formatBytes, formatSeconds } from "./_units.ts";

const MB = 1_000_000;
const MIB = 1024 * 1024;
const GIB = 1024 * MIB;

/** The figures the time and request model rests on. */
export interface ModelSettings {
  /** Size of an input bucket with no data and no `sizeHint`, in bytes. */
  readonly defaultInputBytes: number;
  /** Runs a month: an output's S3 storage is charged for `1 / runsPerMonth` of a month a run. */
  readonly runsPerMonth: number;
  /** Transfer between S3 and a task, MB/s, each way. */
  readonly s3MBps: number;
  /** In-process polars on the machine that starts the run, MB/s of in-memory data. */
  readonly localMBps: number;
  /** Polars in Lambda, MB/s of in-memory data per vCPU. */
  readonly lambdaMBpsPerVcpu: number;
  /** Lambda memory that buys one vCPU, in MB. */
  readonly lambdaMbPerVcpu: number;
  /** The most vCPUs a Lambda function gets. */
  readonly lambdaMaxVcpus: number;
  /** Spark on EMR Serverless, MB/s of in-memory data per executor vCPU. */
  readonly sparkMBpsPerVcpu: number;
  /** Start-up before a task's work begins, in seconds, by resource kind. */
  readonly startupSeconds: Readonly<Record<"local" | "serverless" | "spark", number>>;
  /** A task's working set as a multiple of the in-memory size of what it reads and writes. */
  readonly workingSetFactor: number;
  /** Memory the Lambda runtime and polars take before any data, in MB. */
  readonly lambdaRuntimeMb: number;
  /** Multipart upload part size for outputs, in bytes. */
  readonly uploadPartBytes: number;
}

/**
 * The default model figures.
 *
 * @example
 * ```ts
 * import { MODEL_SETTINGS } from "./cost_model.ts";
 * console.log(MODEL_SETTINGS.runsPerMonth); // 30
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
  }

  /**
   * Estimates one run of a pipeline.
   *
   * @param graph the pipeline.
   * @param measured the real sizes of the buckets that hold data, by location.
   * @returns the analysis: one estimate per step, warnings, and the cost with its assumptions.
   */
  estimate(
    graph: PipelineGraph,
    measured: ReadonlyMap<string, MeasuredSize>,
  ): PipelineAnalysis {
    const p = this.#prices;
    const s = this.#settings;
    const sizes = new Map<string, Sized>();
    const sizeNotes: string[] = [];
    const rowNotes: string[] = [];
    const warnings: string[] = [];

    for (const ref of graph.sources) {
      let size = this.#known(ref, measured, "input", sizeNotes);
      if (size === undefined) {
        size = this.#fromBytes(ref, s.defaultInputBytes);
        sizeNotes.push(
          `input '${ref.location}': no data and no sizeHint, assumed ` +
            `${formatBytes(s.defaultInputBytes)} (declare sizeHint in provider.bucket(...))`,
        );
      }
      sizes.set(ref.location, size);
    }

    const steps: StepEstimate[] = [];
    const byTask: Record<string, number> = {};
    for (const step of graph.steps) {
      const inputs = Object.entries(step.sources).map(([name, ref]) => {
        const size = sizes.get(ref.location) ?? { bytes: 0, rows: 0 };
        return { name, ref, ...size };
      });
      const inputBytes = inputs.reduce((sum, i) => sum + i.bytes, 0);
      const inputRows = inputs.reduce((sum, i) => sum + i.rows, 0);
      const inputMemory = inputs.reduce(
        (sum, i) => sum + i.rows * memoryBytesPerRow(i.ref.schema, this.#sizes),
        0,
      );

      const target = step.target;
      let output = this.#known(target, measured, "output", sizeNotes);
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
        rowNotes.push(`task '${step.task.name}': ${estimate.rule}`);
      }
      sizes.set(target.location, output);
      const outputMemory = output.rows * memoryBytesPerRow(target.schema, this.#sizes);

      const seconds = this.#seconds(step, inputBytes + output.bytes, inputMemory + outputMemory);
      const compute = this.#computeUsd(step, seconds, inputMemory);
      const s3 = this.#s3Usd(inputs.length, output.bytes);
      warnings.push(...this.#limitWarnings(step, seconds, inputBytes, inputMemory + outputMemory));

      const usd = compute + s3;
      byTask[step.task.name] = usd;
      steps.push(Object.freeze({
        task: step.task.name,
        resource: step.task.resource.label,
        inputBytes,
        inputRows,
        outputBytes: output.bytes,
        outputRows: output.rows,
        seconds,
        usd,
      }));
    }

    const waves = graph.levels.filter((level) => level.length > 1).length;
    const stateTransitions = graph.steps.length + waves + 2;
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
      ...this.#modelNotes(graph, stateTransitions, waves, runRequests),
      ...rowNotes,
    ]);
    const totalUsd = Object.values(byTask).reduce((sum, usd) => sum + usd, 0) + orchestrationUsd;
    const frozenByTask = Object.freeze({ ...byTask });
    return Object.freeze({
      pipeline: graph.name,
      steps: Object.freeze(steps),
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
    const s = this.#settings;
    const kind = step.task.resource.kind;
    const transfer = storedBytes / (s.s3MBps * MB);
    return s.startupSeconds[kind] + transfer + memoryBytes / (this.#computeMBps(step) * MB);
  }

  #computeMBps(step: Step): number {
    const s = this.#settings;
    switch (step.task.resource.kind) {
      case "local":
        return s.localMBps;
      case "serverless":
        return s.lambdaMBpsPerVcpu * lambdaVcpus(memoryMbOf(step), s);
      case "spark": {
        const spark = sparkShape(step);
        return s.sparkMBpsPerVcpu * spark.executors * spark.vcpusPerWorker;
      }
    }
  }

  /** Compute charges: Lambda GB-seconds and a request, or EMR Serverless worker time. */
  #computeUsd(step: Step, seconds: number, inputMemory: number): number {
    const p = this.#prices;
    switch (step.task.resource.kind) {
      case "local":
        return 0;
      case "serverless": {
        const billed = Math.ceil(seconds * 1000) / 1000;
        return (memoryMbOf(step) / 1024) * billed * unitPrice(p.lambda.x86GbSecond) +
          unitPrice(p.lambda.requests);
      }
      case "spark": {
        const emr = p.emrServerless;
        const spark = sparkShape(step);
        const workers = spark.executors + 1;
        const hours = Math.max(emr.minimumSecondsPerWorker, seconds) / 3600;
        const extraStorageGb = Math.max(
          0,
          inputMemory / GIB - emr.includedStorageGbPerWorker * workers,
        );
        return workers * hours *
            (spark.vcpusPerWorker * unitPrice(emr.vcpuHour) +
              spark.memoryGb * unitPrice(emr.memoryGbHour)) +
          extraStorageGb * hours * unitPrice(emr.storageGbHour);
      }
    }
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

  /** Warnings for a serverless task that will not fit its Lambda settings or Lambda's limits. */
  #limitWarnings(step: Step, seconds: number, inputBytes: number, memoryBytes: number): string[] {
    if (step.task.resource.kind !== "serverless") return [];
    const s = this.#settings;
    const lambda = this.#prices.lambda;
    const name = step.task.name;
    const memoryMb = memoryMbOf(step);
    const timeout = settingsOf(step.task.resource, "serverless").timeoutSeconds;
    const needMb = Math.ceil(s.lambdaRuntimeMb + (s.workingSetFactor * memoryBytes) / MIB);
    const read = formatBytes(inputBytes);
    const out: string[] = [];
    if (needMb > lambda.maxMemoryMb) {
      out.push(
        `task '${name}' needs about ${needMb.toLocaleString("en-US")} MB of memory for its ` +
          `${read} of input, more than Lambda's ${
            lambda.maxMemoryMb.toLocaleString("en-US")
          } MB maximum; ` +
          "declare it on provider.spark(...) instead of provider.serverless(...)",
      );
    } else if (needMb > memoryMb) {
      out.push(
        `task '${name}' needs about ${needMb.toLocaleString("en-US")} MB of memory for its ` +
          `${read} of input, more than its LambdaConfig memoryMb of ${memoryMb}; raise memoryMb ` +
          `to at least ${needMb} (Lambda allows up to ${lambda.maxMemoryMb}) or declare it on ` +
          "provider.spark(...)",
      );
    }
    if (seconds > lambda.maxSeconds) {
      out.push(
        `task '${name}' is estimated to run ${formatSeconds(seconds)} on ${read} of input, ` +
          `longer than Lambda's 15-minute limit; declare it on provider.spark(...) instead of ` +
          "provider.serverless(...)",
      );
    } else if (seconds > timeout) {
      out.push(
        `task '${name}' is estimated to run ${formatSeconds(seconds)}, longer than its ` +
          `LambdaConfig timeoutSeconds of ${timeout}; raise timeoutSeconds to at least ` +
          `${Math.ceil(seconds)} (Lambda allows up to ${lambda.maxSeconds}) or declare it on ` +
          "provider.spark(...)",
      );
    }
    return out;
  }

  /** The model's own assumptions, with the figures it used. */
  #modelNotes(
    graph: PipelineGraph,
    transitions: number,
    waves: number,
    runRequests: number,
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
    if (kinds.has("local")) {
      notes.push("local tasks run in the process that starts the run: no compute charge");
    }
    if (kinds.has("serverless")) {
      notes.push(
        "Lambda: x86_64, one request per task and run, GB-seconds from memoryMb and the " +
          `estimated time; a working set of ${s.workingSetFactor}x the in-memory data plus ` +
          `${s.lambdaRuntimeMb} MB must fit memoryMb`,
      );
    }
    if (kinds.has("spark")) {
      notes.push(
        "EMR Serverless: a driver and the executors, each billed as one worker with " +
          "executorMemory and the fewest vCPUs EMR Serverless allows for that memory, for at " +
          `least ${p.emrServerless.minimumSecondsPerWorker} s; shuffle beyond ` +
          `${p.emrServerless.includedStorageGbPerWorker} GB of storage per worker is charged`,
      );
    }
    notes.push(
      "S3 requests: a GET per input read; per output a lock PUT, the upload (multipart in " +
        `${formatBytes(s.uploadPartBytes)} parts), a COPY keeping the previous object and a ` +
        `COPY into place; DELETEs are free; ${runRequests} run-level requests (journal and run ` +
        "record PUTs, LISTs of the state bucket's journals and run records, a LIST of staging " +
        "per S3 bucket written)",
      `S3 storage: each output is kept a month and overwritten ${s.runsPerMonth} times in it ` +
        "(a daily schedule), so a run pays 1/30 of a month; inputs are not charged",
      `Step Functions: ${transitions} state transitions per run (one per task, ` +
        `${waves} for parallel waves, start and end), no retries`,
    );
    return notes;
  }
}

function memoryMbOf(step: Step): number {
  return settingsOf(step.task.resource, "serverless").memoryMb;
}

function lambdaVcpus(memoryMb: number, s: ModelSettings): number {
  return Math.min(s.lambdaMaxVcpus, memoryMb / s.lambdaMbPerVcpu);
}

/** EMR Serverless worker sizes: vCPUs and the most memory each allows, in GB. */
const EMR_WORKERS: readonly (readonly [number, number])[] = [
  [1, 8],
  [2, 16],
  [4, 30],
  [8, 60],
  [16, 120],
];

function sparkShape(step: Step): { executors: number; memoryGb: number; vcpusPerWorker: number } {
  const settings = settingsOf(step.task.resource, "spark");
  const executors = settings.executors;
  const memoryGb = parseMemoryGb(settings.executorMemory);
  const worker = EMR_WORKERS.find(([, maxGb]) => memoryGb <= maxGb) ?? EMR_WORKERS.at(-1)!;
  return { executors, memoryGb, vcpusPerWorker: worker[0] };
}

/**
 * Spark's memory notation in GB: `4g`, `512m`, `2048` (MiB), `1t`.
 *
 * @param text the setting.
 * @returns gigabytes.
 * @throws {TypeError} for text that is not Spark's memory notation.
 */
export function parseMemoryGb(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)b?\s*$/i.exec(text);
  if (!match) {
    throw new TypeError(
      `SparkConfig executorMemory '${text}' is not Spark's memory notation; use a size such as ` +
        "4g or 512m",
    );
  }
  const value = Number(match[1]);
  switch (match[2].toLowerCase()) {
    case "k":
      return value / 1024 / 1024;
    case "g":
      return value;
    case "t":
      return value * 1024;
    default:
      return value / 1024;
  }
}
