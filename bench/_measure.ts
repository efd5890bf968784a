/**
 * Measuring helpers for process-level benchmarks: peak resident memory of the current process,
 * child processes that report one measurement as JSON, medians and a machine description.
 *
 * @module
 */
import { relative } from "node:path";
import { pl } from "../mod.ts";

/** Resident memory of this process, from `/proc/self/status`, in bytes. */
export interface Memory {
  /** `VmHWM`: the peak resident set size so far. */
  readonly peakRssBytes: number;
  /** `VmRSS`: the resident set size now. */
  readonly rssBytes: number;
}

/**
 * Reads this process's current and peak resident memory (Linux only).
 *
 * @returns both, in bytes.
 */
export function memory(): Memory {
  const status = Deno.readTextFileSync("/proc/self/status");
  const kib = (field: string): number => {
    const match = status.match(new RegExp(`^${field}:\\s+(\\d+) kB$`, "m"));
    if (match === null) throw new Error(`/proc/self/status has no ${field} line`);
    return Number(match[1]) * 1024;
  };
  return { peakRssBytes: kib("VmHWM"), rssBytes: kib("VmRSS") };
}

/** Clock ticks per second of `/proc` CPU times (`getconf CLK_TCK`, 100 on Linux). */
const TICKS_PER_SECOND = 100;

/**
 * CPU time this process has used so far, all threads, user plus system (Linux only).
 *
 * @returns seconds, at 10 ms resolution.
 */
export function cpuSeconds(): number {
  // Fields 14 and 15 of proc(5), utime and stime.
  return statSeconds(14, 15);
}

/**
 * CPU time that this process's ended and waited-for children have used so far, user plus system
 * (Linux only): the difference across a `Deno.Command(...).outputSync()` is that child's.
 *
 * @returns seconds, at 10 ms resolution.
 */
export function childrenCpuSeconds(): number {
  // Fields 16 and 17 of proc(5), cutime and cstime.
  return statSeconds(16, 17);
}

/** The sum of two clock-tick fields of `/proc/self/stat`, numbered as in proc(5), in seconds. */
function statSeconds(a: number, b: number): number {
  const stat = Deno.readTextFileSync("/proc/self/stat");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // `fields` starts at field 3.
  return (Number(fields[a - 3]) + Number(fields[b - 3])) / TICKS_PER_SECOND;
}

/** Busy and total CPU time of the whole machine so far, from `/proc/stat`, in seconds. */
export interface MachineCpu {
  /** CPU time spent busy, all CPUs. */
  readonly busy: number;
  /** CPU time, busy or idle, all CPUs. */
  readonly total: number;
}

/**
 * Reads the machine's CPU time so far (Linux only).
 *
 * @returns busy and total seconds, all CPUs.
 */
export function machineCpu(): MachineCpu {
  const line = Deno.readTextFileSync("/proc/stat").split("\n")[0];
  const ticks = line.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = ticks.reduce((a, b) => a + b, 0);
  const idle = ticks[3] + ticks[4];
  return { busy: (total - idle) / TICKS_PER_SECOND, total: total / TICKS_PER_SECOND };
}

/**
 * Waits until the rest of the machine is nearly idle: other processes compete for the same CPUs
 * and make wall times noisy. Samples one-second windows until the busy CPUs drop below
 * `threshold`, or gives up after `maxSeconds`.
 *
 * @param threshold busy CPUs (e.g. 0.1 = a tenth of one core) below which the machine is idle.
 * @param maxSeconds how long to wait at most.
 * @returns the busy CPUs of the last window.
 */
export async function waitForIdle(threshold: number, maxSeconds: number): Promise<number> {
  const deadline = performance.now() + maxSeconds * 1000;
  for (;;) {
    const before = machineCpu();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const after = machineCpu();
    const busy = (after.busy - before.busy) / ((after.total - before.total) || 1) *
      navigator.hardwareConcurrency;
    if (busy < threshold || performance.now() > deadline) return busy;
  }
}

/** What a child run prints as the last line of its standard output. */
export interface ChildResult {
  /** The variant it ran. */
  readonly variant: string;
  /** Wall time of the pipeline alone, in seconds. */
  readonly wallSeconds: number;
  /** Peak resident memory of the whole child process, in bytes. */
  readonly peakRssBytes: number;
  /** Resident memory just before the pipeline started (after imports and setup), in bytes. */
  readonly baselineRssBytes: number;
  /** CPU time of the pipeline alone, all threads, in seconds. */
  readonly cpuSeconds: number;
  /** CPU time of the whole child process when it reported, in seconds. */
  readonly processCpuSeconds: number;
}

/** A child result with the wall time of the whole child process as its parent saw it. */
export interface Measurement extends ChildResult {
  /** From spawn to exit, including Deno's startup, module loading and setup. */
  readonly processSeconds: number;
  /**
   * CPU seconds the rest of the machine used while the child ran: a measure of interference
   * from other processes (the machine has `nproc` CPUs to share).
   */
  readonly backgroundCpuSeconds: number;
}

/**
 * Runs `deno run -A <script> <args>` as a fresh process and parses the JSON on its last line.
 *
 * @param script the module to run.
 * @param args its arguments.
 * @returns its result and the process wall time.
 * @throws {Error} with the child's stderr when it fails.
 */
export async function runChild(script: string, args: readonly string[]): Promise<Measurement> {
  const cpuBefore = machineCpu();
  const started = performance.now();
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", script, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const processSeconds = (performance.now() - started) / 1000;
  const machineBusy = machineCpu().busy - cpuBefore.busy;
  const stdout = new TextDecoder().decode(output.stdout).trim();
  if (!output.success) {
    const stderr = new TextDecoder().decode(output.stderr);
    throw new Error(`child ${script} ${args.join(" ")} failed (${output.code}):\n${stderr}`);
  }
  const last = stdout.split("\n").at(-1) ?? "";
  const result = JSON.parse(last) as ChildResult;
  const backgroundCpuSeconds = Math.max(0, machineBusy - result.processCpuSeconds);
  return { ...result, processSeconds, backgroundCpuSeconds };
}

/**
 * The median of some numbers (the mean of the middle two for an even count).
 *
 * @param values at least one number.
 * @returns the median.
 */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError("median of no values");
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * Describes the machine a benchmark ran on, as markdown list items.
 *
 * @returns one line per fact: CPUs, CPU model, memory, kernel, Deno, polars, the git state.
 */
export async function machine(): Promise<string[]> {
  const cpuinfo = await Deno.readTextFile("/proc/cpuinfo");
  const model = cpuinfo.match(/^model name\s*:\s*(.+)$/m)?.[1] ?? "unknown";
  const meminfo = await Deno.readTextFile("/proc/meminfo");
  const memKib = Number(meminfo.match(/^MemTotal:\s+(\d+) kB$/m)?.[1] ?? NaN);
  const nproc = (await text("nproc", [])).trim();
  const kernel = (await text("uname", ["-sr"])).trim();
  const head = (await text("git", ["rev-parse", "--short", "HEAD"])).trim();
  const changed = (await text("git", ["status", "--porcelain", "--", "src", "mod.ts"]))
    .split("\n").filter((line) => line.length > 3).map((line) => `\`${line.slice(3)}\``);
  return [
    `CPUs (\`nproc\`): ${nproc}; model: ${model}`,
    `Memory: ${(memKib / 1024 / 1024).toFixed(1)} GiB`,
    `Kernel: ${kernel}`,
    `Deno: ${Deno.version.deno} (V8 ${Deno.version.v8}, TypeScript ${Deno.version.typescript})`,
    `nodejs-polars: ${pl.version}`,
    `Glacier: git ${head}` +
    (changed.length === 0 ? "" : ` with uncommitted changes in ${changed.join(", ")}`),
  ];
}

/**
 * Ends a markdown report with the machine it ran on, prints it and writes it to a file.
 *
 * @param lines the report's lines before the machine.
 * @param out the file to write.
 */
export async function writeReport(lines: readonly string[], out: string): Promise<void> {
  const report = [
    ...lines,
    "Machine:",
    "",
    ...(await machine()).map((line) => `- ${line}`),
    "",
  ].join("\n");
  console.log(report);
  await Deno.writeTextFile(out, report);
  console.error(`wrote ${relative(Deno.cwd(), out)}`);
}

async function text(command: string, args: string[]): Promise<string> {
  try {
    const out = await new Deno.Command(command, { args, stdout: "piped", stderr: "null" }).output();
    return new TextDecoder().decode(out.stdout);
  } catch {
    return "unknown";
  }
}
