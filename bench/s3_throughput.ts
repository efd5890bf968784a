/**
 * S3 throughput of Glacier's cloud mode against plain AWS SDK calls on the same server and the
 * same objects. One versitygw server on loopback (the test harness's, data on the same disk as the
 * temp files) serves every run; each run is a fresh child process that times one operation on one
 * object: Glacier's `bucket.write` / `bucket.read` in cloud mode, the same work as plain
 * `@aws-sdk/client-s3` + `@aws-sdk/lib-storage` + polars calls, and the transfers alone. Variants
 * alternate, medians and Glacier / plain ratios go to `bench/s3_throughput_results.md`.
 *
 * ```sh
 * deno run -A bench/s3_throughput.ts                      # 100 MB and 500 MB objects, 7 runs each
 * deno run -A bench/s3_throughput.ts --sizes 10 --runs 2 --out /tmp/smoke.md
 * ```
 *
 * @module
 */
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { withS3Server } from "../tests/integration/_s3_server.ts";
import { VERSITYGW_BIN } from "../src/stack/versitygw.ts";
import { cpuSeconds, machine, median, memory, waitForIdle } from "./_measure.ts";
import { ensureSource, rowsFor, type SourceObject } from "./_s3_data.ts";
import {
  createBucket,
  objectSize,
  PART_BYTES,
  plainClient,
  QUEUE_SIZE,
  S3_VARIANTS,
  uploadFile,
  WARMUP_ROWS,
} from "./_s3_variants.ts";

const SCRIPT = fileURLToPath(import.meta.url);
const BENCH_DIR = dirname(SCRIPT);
const BUCKET = "bench";
const WARMUP_KEY = "warmup/tiny.parquet";
const MB = 1e6;
const MIB = 1024 * 1024;
/** Clock ticks per second of `/proc` CPU times. */
const TICKS_PER_SECOND = 100;

const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    variant: { type: "string" },
    rows: { type: "string" },
    sizes: { type: "string", default: "100,500" },
    variants: { type: "string", default: Object.keys(S3_VARIANTS).join(",") },
    runs: { type: "string", default: "7" },
    warmup: { type: "string", default: "1" },
    idle: { type: "string", default: "0.15" },
    "idle-wait": { type: "string", default: "300" },
    "idle-seconds": { type: "string", default: "3" },
    "max-others": { type: "string", default: "0.5" },
    attempts: { type: "string", default: "10" },
    out: { type: "string", default: join(BENCH_DIR, "s3_throughput_results.md") },
  },
});

/** What a child prints as the last line of its standard output. */
interface ChildResult {
  readonly variant: string;
  readonly key: string;
  readonly bytes: number;
  readonly check: string;
  /** Wall time of the operation alone, in seconds. */
  readonly wallSeconds: number;
  /** CPU time of the child during the operation, all threads. */
  readonly cpuSeconds: number;
  /** CPU time of the whole child when it reported. */
  readonly processCpuSeconds: number;
  readonly peakRssBytes: number;
  /** Resident memory just before the operation (the frame to write is loaded by then). */
  readonly baselineRssBytes: number;
}

/** A child result with what the parent saw around it. */
interface Measurement extends ChildResult {
  /** Spawn to exit. */
  readonly processSeconds: number;
  /** CPU seconds versitygw used while the child ran. */
  readonly serverCpuSeconds: number;
  /** CPU seconds the rest of the machine used while the child ran (interference). */
  readonly othersCpuSeconds: number;
}

if (flags.variant !== undefined) {
  console.log(JSON.stringify(await child(flags.variant, positiveInt("rows", flags.rows ?? ""))));
} else {
  await parent();
}

/** One timed operation of one variant, in this process. */
async function child(name: string, rows: number): Promise<ChildResult> {
  const variant = S3_VARIANTS[name];
  if (variant === undefined) throw new Error(`unknown variant '${name}'`);
  const source = await ensureSource(rows);
  const run = await variant.prepare({
    bucket: BUCKET,
    sourceKey: sourceKey(rows),
    warmupKey: WARMUP_KEY,
    source,
  });
  const baseline = memory();
  const cpuStarted = cpuSeconds();
  const started = performance.now();
  const outcome = await run();
  const wallSeconds = (performance.now() - started) / 1000;
  const cpu = cpuSeconds() - cpuStarted;
  const { peakRssBytes } = memory();
  const check = outcome.check();
  return {
    variant: name,
    key: outcome.key,
    bytes: outcome.bytes,
    check,
    wallSeconds,
    cpuSeconds: cpu,
    processCpuSeconds: cpuSeconds(),
    peakRssBytes,
    baselineRssBytes: baseline.rssBytes,
  };
}

/** Starts the server, uploads the objects, alternates child runs, writes the report. */
async function parent(): Promise<void> {
  const names = flags.variants.split(",").map((s) => s.trim()).filter((s) => s !== "");
  for (const name of names) {
    if (S3_VARIANTS[name] === undefined) throw new Error(`unknown variant '${name}'`);
  }
  const sizes = flags.sizes.split(",").map((s) => positiveNumber("sizes", s.trim()));
  const runs = positiveInt("runs", flags.runs);
  const warmup = Number(flags.warmup);
  const attempts = positiveInt("attempts", flags.attempts);
  const generating = performance.now();
  const tiny = await ensureSource(WARMUP_ROWS);
  const sources: SourceObject[] = [];
  for (const size of sizes) sources.push(await ensureSource(rowsFor(size)));
  console.error(
    `objects ready in ${((performance.now() - generating) / 1000).toFixed(1)} s: ` +
      sources.map((s) => `${relative(Deno.cwd(), s.path)} (${(s.bytes / MB).toFixed(1)} MB)`)
        .join(", "),
  );
  const results = new Map<number, Map<string, Measurement[]>>(
    sources.map((s) => [s.rows, new Map(names.map((n) => [n, []]))]),
  );
  let discarded = 0;
  /** Measured runs kept although disturbed, because every attempt was. */
  let kept = 0;
  const machineLines = await machine();
  const write = async (done: readonly SourceObject[]) => {
    const report = render(
      names,
      done,
      results,
      runs,
      warmup,
      attempts,
      discarded,
      kept,
      machineLines,
    );
    await Deno.writeTextFile(flags.out, report);
    return report;
  };
  await withS3Server(async (server) => {
    const env = server.env();
    for (const [name, value] of Object.entries(env)) Deno.env.set(name, value);
    machineLines.push(
      `versitygw ${await versitygwVersion()} (posix backend) at ${server.endpoint}, data in ` +
        `\`${server.dataDir}\` (${await filesystemOf(server.dataDir)}); temp files in ` +
        `\`${await tempDir()}\` (${await filesystemOf(await tempDir())})`,
      "AWS SDK: `@aws-sdk/client-s3@3.1175.0`, `@aws-sdk/lib-storage@3.1175.0` (both sides)",
    );
    const client = plainClient();
    try {
      await createBucket(client, BUCKET);
      await uploadFile(client, tiny.path, BUCKET, WARMUP_KEY);
      for (const source of sources) {
        await uploadFile(client, source.path, BUCKET, sourceKey(source.rows));
      }
      for (const source of sources) {
        const byVariant = results.get(source.rows)!;
        let reference: string | undefined;
        for (let round = -warmup; round < runs; round += 1) {
          const order = (round & 1) === 0 ? names : [...names].reverse();
          for (const name of order) {
            for (let attempt = 1;; attempt += 1) {
              await settle();
              const busy = await quiet();
              const result = await runChild(name, source.rows, env, server.pid);
              reference = await verify(client, source, result, reference);
              const disturbed = result.othersCpuSeconds > Number(flags["max-others"]) &&
                attempt < attempts;
              const label = round < 0 ? "warm-up" : `run ${round + 1}/${runs}`;
              console.error(
                `${(source.bytes / MB).toFixed(0)} MB ${label} ${name}: ` +
                  `${result.wallSeconds.toFixed(2)} s (${rate(source.bytes, result.wallSeconds)} ` +
                  `MB/s), cpu ${result.cpuSeconds.toFixed(2)} s, server cpu ` +
                  `${result.serverCpuSeconds.toFixed(2)} s, peak ` +
                  `${(result.peakRssBytes / MIB).toFixed(0)} MiB (busy before: ` +
                  `${busy.toFixed(2)} CPUs, others during: ${result.othersCpuSeconds.toFixed(2)} ` +
                  `CPU s)${disturbed ? ": discarded, again" : ""}`,
              );
              if (disturbed) {
                discarded += 1;
                continue;
              }
              if (round >= 0) {
                byVariant.get(name)!.push(result);
                if (result.othersCpuSeconds > Number(flags["max-others"])) kept += 1;
              }
              break;
            }
          }
        }
        // Each finished object is written at once, so an interrupted run keeps what it measured.
        await write(sources.slice(0, sources.indexOf(source) + 1));
      }
    } finally {
      client.destroy();
    }
  });
  console.log(await write(sources));
  console.error(`wrote ${relative(Deno.cwd(), flags.out)}`);
}

/** Runs one variant in a fresh process, with the server's CPU time and the machine's around it. */
async function runChild(
  name: string,
  rows: number,
  env: Record<string, string>,
  serverPid: number,
): Promise<Measurement> {
  const machineBefore = machineBusySeconds();
  const serverBefore = processCpuSeconds(serverPid);
  const started = performance.now();
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", SCRIPT, "--variant", name, "--rows", String(rows)],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const processSeconds = (performance.now() - started) / 1000;
  const serverCpuSeconds = processCpuSeconds(serverPid) - serverBefore;
  const machineBusy = machineBusySeconds() - machineBefore;
  if (!output.success) {
    const stderr = new TextDecoder().decode(output.stderr);
    throw new Error(`variant '${name}' on ${rows} rows failed (${output.code}):\n${stderr}`);
  }
  const last = new TextDecoder().decode(output.stdout).trim().split("\n").at(-1) ?? "";
  const result = JSON.parse(last) as ChildResult;
  const othersCpuSeconds = Math.max(
    0,
    machineBusy - result.processCpuSeconds - serverCpuSeconds,
  );
  return { ...result, processSeconds, serverCpuSeconds, othersCpuSeconds };
}

/**
 * Checks what a run wrote or read: written objects have the size the writer reported, writers
 * wrote every row, reads of the object agree with each other, downloads got every byte.
 *
 * @returns the reference fingerprint of the reads, set by the first read.
 */
async function verify(
  client: ReturnType<typeof plainClient>,
  source: SourceObject,
  result: ChildResult,
  reference: string | undefined,
): Promise<string | undefined> {
  const fail = (what: string) => {
    throw new Error(`variant '${result.variant}' on ${source.rows} rows: ${what}`);
  };
  if (S3_VARIANTS[result.variant].op === "write") {
    if (result.check !== `${source.rows} rows`) fail(`wrote ${result.check}`);
    const size = await objectSize(client, BUCKET, result.key);
    if (size !== result.bytes) fail(`object has ${size} bytes, writer reported ${result.bytes}`);
    return reference;
  }
  if (S3_VARIANTS[result.variant].op === "download") {
    if (result.bytes !== source.bytes) fail(`downloaded ${result.bytes} of ${source.bytes} bytes`);
    return reference;
  }
  if (reference !== undefined && result.check !== reference) {
    fail(`read ${result.check}, other reads gave ${reference}`);
  }
  return result.check;
}

function render(
  names: readonly string[],
  sources: readonly SourceObject[],
  results: ReadonlyMap<number, ReadonlyMap<string, readonly Measurement[]>>,
  runs: number,
  warmup: number,
  attempts: number,
  discarded: number,
  kept: number,
  machineLines: readonly string[],
): string {
  const s2 = (x: number) => x.toFixed(2);
  const mib = (x: number) => (x / MIB).toFixed(0);
  const lines = [
    "# S3 throughput: Glacier's cloud mode vs plain AWS SDK calls",
    "",
    "One versitygw server on loopback serves every run. Each run is a fresh `deno run` process " +
    "that loads what it needs, moves a small object once (so module loading and connection " +
    "set-up are not timed), then times one operation on the object below. Variants:",
    "",
    ...names.map((name) => `- \`${name}\`: ${S3_VARIANTS[name].description}`),
    "",
    `Both sides use the same SDK versions and client settings (region, endpoint, path-style, 3 ` +
    `attempts, default checksums) and the same upload settings (${PART_BYTES / MIB} MiB parts, ` +
    `queue ${QUEUE_SIZE}). Write variants start from the frame in memory (read from the cached ` +
    "file before timing); read variants end with the frame in memory. The plain writer uses " +
    '`writeParquet(file, { compression: "zstd" })`; Glacier uses `sinkParquet` with zstd and ' +
    "statistics.",
    "",
    "MB/s = object size in 10^6 bytes / wall time of the operation (the same object size for " +
    "every variant of a row). Ratio = Glacier MB/s / plain MB/s (= plain wall / Glacier wall; " +
    "below 1 means Glacier is slower). Variants alternate (the order flips every round), " +
    `${warmup} warm-up round(s) discarded, then ${runs} measured run(s) each. Before each run ` +
    "the harness calls `sync` (so writeback of the previous run does not overlap), waits " +
    `(up to ${flags["idle-wait"]} s) until the machine has been idle (less than ${flags.idle} ` +
    `busy CPU) for ${flags["idle-seconds"]} consecutive second(s), and makes up to ${attempts} ` +
    `attempt(s) at each run until other processes use at most ${flags["max-others"]} CPU s ` +
    `during it (${discarded} repeated here; ${kept} measured run(s) kept although disturbed, ` +
    "as all their attempts were). " +
    "CPU = the child during the operation (all threads); server " +
    "= versitygw's CPU during the whole child; peak = the child's `VmHWM`; baseline = its " +
    "`VmRSS` just before the operation.",
    "",
    `Command: \`${["deno run -A bench/s3_throughput.ts", ...Deno.args].join(" ")}\``,
    "",
    "| object | rows | bytes | MB |",
    "| --- | ---: | ---: | ---: |",
    ...sources.map((s) =>
      `| ${sizeLabel(s)} | ${s.rows.toLocaleString("en-US")} | ${
        s.bytes.toLocaleString("en-US")
      } | ${(s.bytes / MB).toFixed(1)} |`
    ),
    "",
    "| object | variant | wall median (s) | wall range (s) | MB/s | CPU median (s) | server CPU median (s) | peak RSS median (MiB) | baseline RSS (MiB) | process wall median (s) | others median (CPU s) |",
    "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const source of sources) {
    const byVariant = results.get(source.rows)!;
    for (const name of names) {
      const ms = byVariant.get(name)!;
      const med = (f: (m: Measurement) => number) => median(ms.map(f));
      const walls = ms.map((m) => m.wallSeconds);
      lines.push(
        `| ${sizeLabel(source)} | ${name} | ${s2(med((m) => m.wallSeconds))} | ${
          s2(Math.min(...walls))
        }–${s2(Math.max(...walls))} | ${rate(source.bytes, med((m) => m.wallSeconds))} | ${
          s2(med((m) => m.cpuSeconds))
        } | ${s2(med((m) => m.serverCpuSeconds))} | ${mib(med((m) => m.peakRssBytes))} | ${
          mib(med((m) => m.baselineRssBytes))
        } | ${s2(med((m) => m.processSeconds))} | ${s2(med((m) => m.othersCpuSeconds))} |`,
      );
    }
  }
  lines.push("", ...ratioTable(names, sources, results), "");
  lines.push("Runs in order (wall s / CPU s / server CPU s / peak MiB / others CPU s):", "");
  for (const source of sources) {
    for (const name of names) {
      lines.push(
        `- ${sizeLabel(source)} ${name}: ${
          results.get(source.rows)!.get(name)!.map((m) =>
            `${s2(m.wallSeconds)} / ${s2(m.cpuSeconds)} / ${s2(m.serverCpuSeconds)} / ${
              mib(m.peakRssBytes)
            } / ${s2(m.othersCpuSeconds)}`
          ).join(", ")
        }`,
      );
    }
  }
  lines.push("", "Machine:", "", ...machineLines.map((line) => `- ${line}`), "");
  return lines.join("\n");
}

/** Glacier / plain ratios per object, and how much of the plain time is the transfer. */
function ratioTable(
  names: readonly string[],
  sources: readonly SourceObject[],
  results: ReadonlyMap<number, ReadonlyMap<string, readonly Measurement[]>>,
): string[] {
  const pairs = [
    ["write", "glacier-write", "plain-write", "plain-upload"],
    ["read", "glacier-read", "plain-read", "plain-download"],
  ] as const;
  const lines = [
    "| object | op | Glacier MB/s | plain MB/s | Glacier / plain (ratio of medians) | median of per-round ratios | transfer alone MB/s | polars share of plain (s) |",
    "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const source of sources) {
    const byVariant = results.get(source.rows)!;
    const walls = (name: string) => byVariant.get(name)?.map((m) => m.wallSeconds) ?? [];
    for (const [op, glacier, plain, transfer] of pairs) {
      if (!names.includes(glacier) || !names.includes(plain)) continue;
      const g = median(walls(glacier));
      const p = median(walls(plain));
      const paired = median(walls(glacier).map((w, i) => walls(plain)[i] / w));
      const alone = names.includes(transfer) ? median(walls(transfer)) : undefined;
      lines.push(
        `| ${sizeLabel(source)} | ${op} | ${rate(source.bytes, g)} | ${rate(source.bytes, p)} | ${
          (p / g).toFixed(3)
        } | ${paired.toFixed(3)} | ${alone === undefined ? "–" : rate(source.bytes, alone)} | ${
          alone === undefined ? "–" : (p - alone).toFixed(2)
        } |`,
      );
    }
  }
  const diagnoses = [
    ["glacier-write", "plain-sink-write", "Glacier's own work on a write (same encoder)"],
    ["plain-sink-write", "plain-write", "`sinkParquet` vs `writeParquet` (encoder)"],
    ["web-read", "plain-read", "web-stream vs node-stream download, read into a frame"],
    ["web-download", "plain-download", "web-stream vs node-stream download alone"],
  ].filter(([a, b]) => names.includes(a) && names.includes(b));
  if (diagnoses.length > 0) {
    lines.push(
      "",
      "Where the differences come from (diagnostic variants):",
      "",
      "| object | A | B | what differs | A wall median (s) | B wall median (s) | A − B (s) | B / A |",
      "| --- | --- | --- | --- | ---: | ---: | ---: | ---: |",
    );
    for (const source of sources) {
      const byVariant = results.get(source.rows)!;
      const wall = (name: string) => median(byVariant.get(name)!.map((m) => m.wallSeconds));
      for (const [a, b, what] of diagnoses) {
        lines.push(
          `| ${sizeLabel(source)} | ${a} | ${b} | ${what} | ${wall(a).toFixed(2)} | ${
            wall(b).toFixed(2)
          } | ${(wall(a) - wall(b)).toFixed(2)} | ${(wall(b) / wall(a)).toFixed(3)} |`,
        );
      }
    }
  }
  return lines;
}

/**
 * Waits until the machine has been idle for `--idle-seconds` consecutive one-second windows, or
 * `--idle-wait` seconds have passed.
 *
 * @returns the busy CPUs of the last window.
 */
async function quiet(): Promise<number> {
  const deadline = performance.now() + Number(flags["idle-wait"]) * 1000;
  let streak = 0;
  for (;;) {
    const busy = await waitForIdle(Number(flags.idle), 0);
    streak = busy < Number(flags.idle) ? streak + 1 : 0;
    if (streak >= Number(flags["idle-seconds"]) || performance.now() > deadline) return busy;
  }
}

/** Waits for dirty pages to reach the disk, so one run's writeback does not slow the next. */
async function settle(): Promise<void> {
  await new Deno.Command("sync", { stdout: "null", stderr: "null" }).output();
}

/** Busy CPU seconds of the whole machine so far, from `/proc/stat`. */
function machineBusySeconds(): number {
  const line = Deno.readTextFileSync("/proc/stat").split("\n")[0];
  const ticks = line.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = ticks.reduce((a, b) => a + b, 0);
  return (total - ticks[3] - ticks[4]) / TICKS_PER_SECOND;
}

/** User plus system CPU seconds of another process so far, from `/proc/<pid>/stat`. */
function processCpuSeconds(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

async function versitygwVersion(): Promise<string> {
  const out = await new Deno.Command(VERSITYGW_BIN, { args: ["--version"] }).output();
  return new TextDecoder().decode(out.stdout).match(/^Version\s*:\s*(\S+)/m)?.[1] ?? "unknown";
}

async function tempDir(): Promise<string> {
  const dir = await Deno.makeTempDir();
  await Deno.remove(dir);
  return dirname(dir);
}

async function filesystemOf(path: string): Promise<string> {
  const out = await new Deno.Command("df", { args: ["--output=source,fstype", path] }).output();
  const row = new TextDecoder().decode(out.stdout).trim().split("\n").at(-1) ?? "";
  const [device, type] = row.trim().split(/\s+/);
  return `${device}, ${type}`;
}

function sourceKey(rows: number): string {
  return `source/${rows}.parquet`;
}

function sizeLabel(source: SourceObject): string {
  return `${Math.round(source.bytes / MB)} MB`;
}

function rate(bytes: number, seconds: number): string {
  return (bytes / MB / seconds).toFixed(0);
}

function positiveInt(name: string, value: string): number {
  const n = Number(value.replaceAll("_", ""));
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer`);
  return n;
}

function positiveNumber(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must list positive numbers`);
  return n;
}
