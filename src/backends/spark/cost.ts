/**
 * What a spark task costs on EMR Serverless: a driver and the executors, each billed as one
 * worker with the task's `executorMemory` and the fewest vCPUs EMR Serverless allows for it, for
 * at least the minimum time, plus shuffle storage beyond what each worker includes.
 *
 * @module
 */
import type { BackendCost } from "../../core/cost.ts";
import { unitPrice } from "../../core/cost.ts";
import type { Step } from "../../core/lineage.ts";
import { settingsOf } from "../../core/resource.ts";

const GIB = 1024 * 1024 * 1024;

/** EMR Serverless: worker time for the driver and executors, and extra shuffle storage. */
export const sparkCost: BackendCost = {
  startupSeconds: (figures) => figures.settings.startupSeconds.spark,
  computeMBps: (step, { settings }) => {
    const spark = sparkShape(step);
    return settings.sparkMBpsPerVcpu * spark.executors * spark.vcpusPerWorker;
  },
  computeUsd: (step, seconds, work, { prices }) => {
    const emr = prices.emrServerless;
    const spark = sparkShape(step);
    const workers = spark.executors + 1;
    const hours = Math.max(emr.minimumSecondsPerWorker, seconds) / 3600;
    const extraStorageGb = Math.max(
      0,
      work.inputMemoryBytes / GIB - emr.includedStorageGbPerWorker * workers,
    );
    return workers * hours *
        (spark.vcpusPerWorker * unitPrice(emr.vcpuHour) +
          spark.memoryGb * unitPrice(emr.memoryGbHour)) +
      extraStorageGb * hours * unitPrice(emr.storageGbHour);
  },
  warnings: () => [],
  notes: ({ prices }) => [
    "EMR Serverless: a driver and the executors, each billed as one worker with " +
    "executorMemory and the fewest vCPUs EMR Serverless allows for that memory, for at " +
    `least ${prices.emrServerless.minimumSecondsPerWorker} s; shuffle beyond ` +
    `${prices.emrServerless.includedStorageGbPerWorker} GB of storage per worker is charged`,
  ],
};

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
