/**
 * What a serverless task costs on AWS Lambda: GB-seconds and a request, with the vCPUs its memory
 * buys; and whether it fits the function's memory, its timeout and Lambda's limits.
 *
 * @module
 */
import type { BackendCost, CostFigures, ModelSettings } from "../../core/cost.ts";
import { unitPrice } from "../../core/cost.ts";
import type { Step } from "../../core/lineage.ts";
import { settingsOf } from "../../core/resource.ts";
import { formatBytes, formatSeconds } from "../../core/units.ts";

const MIB = 1024 * 1024;

/** Lambda: GB-seconds from `memoryMb`, a request per run, and the limits that apply. */
export const lambdaCost: BackendCost = {
  startupSeconds: (figures) => figures.settings.startupSeconds.serverless,
  computeMBps: (step, { settings }) =>
    settings.lambdaMBpsPerVcpu * lambdaVcpus(memoryMbOf(step), settings),
  computeUsd: (step, seconds, _work, { prices }) => {
    const billed = Math.ceil(seconds * 1000) / 1000;
    return (memoryMbOf(step) / 1024) * billed * unitPrice(prices.lambda.x86GbSecond) +
      unitPrice(prices.lambda.requests);
  },
  warnings,
  notes: ({ settings }) => [
    "Lambda: x86_64, one request per task and run, GB-seconds from memoryMb and the " +
    `estimated time; a working set of ${settings.workingSetFactor}x the in-memory data plus ` +
    `${settings.lambdaRuntimeMb} MB must fit memoryMb`,
  ],
};

function warnings(
  step: Step,
  seconds: number,
  work: { inputBytes: number; memoryBytes: number },
  { prices, settings }: CostFigures,
): string[] {
  const lambda = prices.lambda;
  const name = step.task.name;
  const { memoryMb, timeoutSeconds: timeout } = settingsOf(step.task.resource, "serverless");
  const needMb = Math.ceil(
    settings.lambdaRuntimeMb + (settings.workingSetFactor * work.memoryBytes) / MIB,
  );
  const read = formatBytes(work.inputBytes);
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

function memoryMbOf(step: Step): number {
  return settingsOf(step.task.resource, "serverless").memoryMb;
}

function lambdaVcpus(memoryMb: number, s: ModelSettings): number {
  return Math.min(s.lambdaMaxVcpus, memoryMb / s.lambdaMbPerVcpu);
}
