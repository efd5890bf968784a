/**
 * What the cost model and the backends share: prices as published, the figures the time model
 * rests on, and the part of the model each backend brings (`BackendCost`). The price data itself
 * is kept, dated, in `src/analyze/prices.ts`.
 *
 * @module
 */
import type { Step } from "./lineage.ts";

/** One published price. */
export interface Price {
  /** US dollars for `per` units. */
  readonly usd: number;
  /** How many units `usd` buys, as published (1, 1,000 or 1,000,000). */
  readonly per: number;
  /** The unit, as published: `GB-second`, `request`, `vCPU-hour`. */
  readonly unit: string;
  /** Where the figure was read. */
  readonly source: string;
  /** The date the source gives for itself, when it gives one (`YYYY-MM-DD` or `YYYY`). */
  readonly sourceDate?: string;
  /** `true` when the figure was read on an AWS page; `false` when only secondary sources had it. */
  readonly confirmed: boolean;
  /** What to know about the figure. */
  readonly note?: string;
}

/** The prices of one AWS region. */
export interface PriceTable {
  /** The AWS region the prices are for. */
  readonly region: string;
  /** The currency of every price. */
  readonly currency: "USD";
  /** When the prices were looked up (`YYYY-MM-DD`). */
  readonly takenOn: string;
  /** AWS Lambda, on-demand. */
  readonly lambda: {
    /** Duration on x86_64, first tier. */
    readonly x86GbSecond: Price;
    /** Duration on arm64, first tier. */
    readonly armGbSecond: Price;
    /** Requests. */
    readonly requests: Price;
    /** The most memory a function can have, in MB. */
    readonly maxMemoryMb: number;
    /** The longest a function can run, in seconds. */
    readonly maxSeconds: number;
  };
  /** Amazon EMR Serverless, x86_64. */
  readonly emrServerless: {
    /** vCPU time. */
    readonly vcpuHour: Price;
    /** Memory time. */
    readonly memoryGbHour: Price;
    /** Ephemeral storage time beyond what each worker includes. */
    readonly storageGbHour: Price;
    /** The least time a worker is billed for, in seconds. */
    readonly minimumSecondsPerWorker: number;
    /** The ephemeral storage each worker includes, in GB. */
    readonly includedStorageGbPerWorker: number;
  };
  /** Amazon S3 Standard. */
  readonly s3Standard: {
    /** PUT, COPY, POST and LIST requests. */
    readonly writeRequests: Price;
    /** GET, SELECT and all other requests (HEAD included). */
    readonly readRequests: Price;
    /** Storage, first 50 TB a month. */
    readonly storageGbMonth: Price;
  };
  /** AWS Step Functions, standard workflows. */
  readonly stepFunctions: {
    /** State transitions. */
    readonly stateTransitions: Price;
  };
  /** What to know about the table as a whole. */
  readonly notes: readonly string[];
}

/**
 * A price per single unit: `usd / per`.
 *
 * @param price a published price.
 * @returns US dollars for one unit.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { unitPrice } from "./cost.ts";
 * const price = { usd: 0.2, per: 1_000_000, unit: "request", source: "", confirmed: true };
 * assert.equal(unitPrice(price), 0.2 / 1_000_000);
 * ```
 */
export function unitPrice(price: Price): number {
  return price.usd / price.per;
}

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

/** What a step reads and writes, as the cost model sized it. */
export interface StepWork {
  /** Bytes it reads, as stored. */
  readonly inputBytes: number;
  /** In-memory size of what it reads. */
  readonly inputMemoryBytes: number;
  /** In-memory size of what it reads and writes. */
  readonly memoryBytes: number;
}

/** The prices and figures a backend's part of the model uses. */
export interface CostFigures {
  /** The prices. */
  readonly prices: PriceTable;
  /** The time and request figures. */
  readonly settings: ModelSettings;
}

/** A backend's part of the cost model: how fast its resource works and what it charges. */
export interface BackendCost {
  /**
   * Seconds before a step's work begins (a function's or a job's start).
   *
   * @param figures the prices and figures.
   * @returns seconds.
   */
  startupSeconds(figures: CostFigures): number;
  /**
   * How fast the resource works through a step's data.
   *
   * @param step the step.
   * @param figures the prices and figures.
   * @returns MB/s of in-memory data.
   */
  computeMBps(step: Step, figures: CostFigures): number;
  /**
   * What the resource charges for a step that runs `seconds`.
   *
   * @param step the step.
   * @param seconds its estimated run time.
   * @param work what it reads and writes.
   * @param figures the prices and figures.
   * @returns US dollars.
   */
  computeUsd(step: Step, seconds: number, work: StepWork, figures: CostFigures): number;
  /**
   * What will not fit the resource's settings or limits.
   *
   * @param step the step.
   * @param seconds its estimated run time.
   * @param work what it reads and writes.
   * @param figures the prices and figures.
   * @returns one warning each, naming the task and what to change.
   */
  warnings(step: Step, seconds: number, work: StepWork, figures: CostFigures): string[];
  /**
   * The assumptions behind the resource's figures, listed when a graph has a step on it.
   *
   * @param figures the prices and figures.
   * @returns one sentence each.
   */
  notes(figures: CostFigures): string[];
}
