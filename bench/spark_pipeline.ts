/**
 * Spark pipeline benchmark: the local benchmark's clean -> join -> aggregate pipeline (10M orders
 * x 100k customers, `_data.ts`) as Glacier spark tasks in cloud mode on `local[2]` against a real
 * S3 server (versitygw), against the same steps hand-written in PySpark on the same Spark in three
 * deployment shapes, and Glacier's local mode on polars for reference (`_spark_variants.ts`).
 *
 * Each run is a fresh child process; the variants alternate (the order flips every round). Every
 * spark-submit is timed by a wrapper and split into phases by Spark's event log
 * (`_spark_submit.ts`). After the runs, the join step's compiled SQL and the hand-written join are
 * explained on the same Spark and their physical plans compared. Results go to
 * `bench/spark_pipeline_results.md`. Target: Glacier / hand-written PySpark wall <= 1.10.
 *
 * ```sh
 * deno run -A bench/spark_pipeline.ts                       # 10M x 100k, 3 runs of each variant
 * deno run -A bench/spark_pipeline.ts --rows 100000 --runs 1 --warmup 0 --out /tmp/smoke.md
 * ```
 *
 * @module
 */
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { CreateBucketCommand, PutObjectCommand, S3Client } from "../src/io/s3/_sdk.ts";
import { pl, type StepReport } from "../mod.ts";
import { sparkJob } from "../src/backends/spark/compile.ts";
import { ensureSparkVenv, PYSPARK_VERSION } from "../src/stack/spark_venv.ts";
import { type SparkConnectServer, startSparkConnectServer } from "../src/stack/spark_cluster.ts";
import { VERSITYGW_VERSION } from "../src/stack/versitygw.ts";
import { type S3Server, withS3Server } from "../tests/integration/_s3_server.ts";
import { DATA_DIR, ensureInputs, type Inputs } from "./_data.ts";
import {
  type ChildResult,
  machine,
  type Measurement,
  median,
  memory,
  runChild,
  waitForIdle,
} from "./_measure.ts";
import {
  EXECUTOR_MEMORY,
  EXECUTORS,
  MASTER,
  readSubmits,
  sparkTooling,
  type Submit,
  submitScript,
} from "./_spark_submit.ts";
import {
  BUCKETS,
  HANDWRITTEN,
  INPUT_KEYS,
  type RunContext,
  SHOP,
  SPARK_VARIANTS,
  sparkPipeline,
} from "./_spark_variants.ts";
import type { Outputs } from "./_variants.ts";

const SCRIPT = fileURLToPath(import.meta.url);
const BENCH_DIR = dirname(SCRIPT);
const TARGET_WALL = 1.10;
const TICKS_PER_SECOND = 100;
const GLACIER = "glacier-spark";
/** The variants that run through Glacier, each compared with every other variant. */
const GLACIER_VARIANTS: readonly string[] = [GLACIER, "glacier-connect"];
/** The variant the issue's target compares Glacier with. */
const BASELINE = "pyspark";

const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    variant: { type: "string" },
    variants: { type: "string", default: Object.keys(SPARK_VARIANTS).join(",") },
    rows: { type: "string", default: "10000000" },
    customers: { type: "string", default: "100000" },
    runs: { type: "string", default: "3" },
    warmup: { type: "string", default: "1" },
    "warmup-rows": { type: "string", default: "100000" },
    idle: { type: "string", default: "0.3" },
    "idle-wait": { type: "string", default: "30" },
    "max-others": { type: "string", default: "0.5" },
    attempts: { type: "string", default: "2" },
    "skip-explain": { type: "boolean", default: false },
    out: { type: "string", default: join(BENCH_DIR, "spark_pipeline_results.md") },
  },
});
const customers = positiveInt("customers", flags.customers);

if (flags.variant !== undefined) {
  console.log(JSON.stringify(await child(flags.variant, positiveInt("rows", flags.rows))));
} else {
  await parent();
}

/** What a child reports: the pipeline's wall and CPU time, each spark-submit, Glacier's steps. */
interface SparkChildResult extends ChildResult {
  /** Each spark-submit, in order, split into phases. */
  readonly submits: readonly Submit[];
  /** Glacier's step reports, for the variants that run through Glacier. */
  readonly steps: readonly StepReport[];
}

type SparkMeasurement = Measurement & SparkChildResult & {
  /** CPU seconds the S3 server used during the run. */
  readonly s3CpuSeconds: number;
  /** CPU seconds the rest of the machine used, the S3 server's excluded. */
  readonly othersCpuSeconds: number;
};

/** One timed run of one variant, in this process. */
async function child(name: string, rows: number): Promise<SparkChildResult> {
  const variant = SPARK_VARIANTS[name];
  if (variant === undefined) throw new Error(`unknown variant '${name}'`);
  const context: RunContext = {
    dir: join(DATA_DIR, "runs", `spark-${rows}x${customers}`, name),
    inputs: await ensureInputs(rows, customers),
    s3DataDir: requiredEnv("BENCH_S3_DATA_DIR"),
  };
  await variant.prepare(context);
  const toolingDir = await Deno.makeTempDir({ prefix: "bench-spark-tooling-" });
  try {
    const tooling = variant.spark ? await sparkTooling(toolingDir) : undefined;
    for (const [key, value] of Object.entries(tooling?.env ?? {})) Deno.env.set(key, value);
    const baseline = memory();
    const cpuStarted = treeCpuSeconds();
    const started = performance.now();
    const details = await variant.run(context, tooling);
    const wallSeconds = (performance.now() - started) / 1000;
    const processCpuSeconds = treeCpuSeconds();
    return {
      variant: name,
      wallSeconds,
      peakRssBytes: memory().peakRssBytes,
      baselineRssBytes: baseline.rssBytes,
      cpuSeconds: processCpuSeconds - cpuStarted,
      processCpuSeconds,
      submits: tooling ? await readSubmits(tooling) : [],
      steps: details.report?.steps ?? [],
    };
  } finally {
    await Deno.remove(toolingDir, { recursive: true }).catch(() => {});
  }
}

/** CPU time of this process and of its children that ended (spark-submit, the JVM, Python). */
function treeCpuSeconds(): number {
  const stat = Deno.readTextFileSync("/proc/self/stat");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // utime, stime, cutime, cstime: fields 14 to 17 of proc(5); `fields` starts at field 3.
  return fields.slice(11, 15).reduce((sum, f) => sum + Number(f), 0) / TICKS_PER_SECOND;
}

/** CPU seconds a process has used so far (the S3 server). */
function pidCpuSeconds(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

/** Alternates child runs of every variant on one S3 server, checks outputs, writes the report. */
async function parent(): Promise<void> {
  const names = flags.variants.split(",").map((s) => s.trim()).filter((s) => s !== "");
  for (const name of names) {
    if (SPARK_VARIANTS[name] === undefined) throw new Error(`unknown variant '${name}'`);
  }
  const rows = positiveInt("rows", flags.rows);
  const runs = positiveInt("runs", flags.runs);
  const warmup = Number(flags.warmup);
  const warmupRows = positiveInt("warmup-rows", flags["warmup-rows"]);
  const attempts = positiveInt("attempts", flags.attempts);
  const maxOthers = Number(flags["max-others"]);
  const inputs = await ensureInputs(rows, customers);
  const warmupInputs = warmup > 0 ? await ensureInputs(warmupRows, customers) : inputs;
  const started = performance.now();
  const connect = names.includes("glacier-connect") ? await startConnect() : undefined;
  try {
    await withS3Server(async (server) => {
      const env = {
        ...server.env(),
        BENCH_S3_DATA_DIR: server.dataDir,
        ...(connect
          ? { BENCH_SPARK_REMOTE: connect.remote, PYSPARK_PYTHON: connect.venv.python }
          : {}),
      };
      for (const [key, value] of Object.entries(env)) Deno.env.set(key, value);
      for (
        const name of [
          "SPARK_REMOTE",
          "SPARK_MASTER",
          "GLACIER_EMR_APPLICATION_ID",
          "GLACIER_SPARK_IO",
        ]
      ) {
        Deno.env.delete(name);
      }
      await createBuckets(server);
      const results = new Map<string, SparkMeasurement[]>(names.map((n) => [n, []]));
      const discarded: string[] = [];
      let reference: Checked | undefined;
      let uploaded: Inputs | undefined;
      for (let round = -warmup; round < runs; round += 1) {
        const size = round < 0 ? warmupInputs : inputs;
        if (uploaded !== size) {
          await uploadInputs(server, size);
          uploaded = size;
        }
        const order = (round & 1) === 0 ? names : [...names].reverse();
        for (const name of order) {
          for (let attempt = 1;; attempt += 1) {
            const busy = await waitForIdle(Number(flags.idle), Number(flags["idle-wait"]));
            const s3Before = pidCpuSeconds(server.pid);
            const result = await runChild(SCRIPT, [
              "--variant",
              name,
              "--rows",
              String(size.rows),
              "--customers",
              String(customers),
            ]) as Measurement & SparkChildResult;
            const s3CpuSeconds = pidCpuSeconds(server.pid) - s3Before;
            const measured: SparkMeasurement = {
              ...result,
              s3CpuSeconds,
              othersCpuSeconds: Math.max(0, result.backgroundCpuSeconds - s3CpuSeconds),
            };
            const checked = await check(SPARK_VARIANTS[name].outputs({
              dir: join(DATA_DIR, "runs", `spark-${size.rows}x${customers}`, name),
              inputs: size,
              s3DataDir: server.dataDir,
            }));
            if (round >= 0) {
              reference ??= checked;
              if (checked.key !== reference.key) {
                throw new Error(
                  `variant '${name}' produced different output:\n${checked.key}\nexpected:\n${reference.key}`,
                );
              }
            }
            const othersCpus = measured.othersCpuSeconds / measured.processSeconds;
            const disturbed = round >= 0 && othersCpus > maxOthers && attempt < attempts;
            const label = round < 0 ? `warm-up (${size.rows} rows)` : `run ${round + 1}/${runs}`;
            console.error(
              `${label} ${name}: ${
                measured.wallSeconds.toFixed(2)
              } s, ${measured.submits.length} ` +
                `submits, cpu ${measured.cpuSeconds.toFixed(1)} s, S3 server ` +
                `${s3CpuSeconds.toFixed(1)} CPU s, others ${othersCpus.toFixed(2)} CPUs ` +
                `(busy before: ${busy.toFixed(2)} CPUs)${disturbed ? ": discarded, again" : ""}`,
            );
            if (disturbed) {
              discarded.push(`${name} ${measured.wallSeconds.toFixed(1)} s`);
              continue;
            }
            if (round >= 0) results.get(name)!.push(measured);
            break;
          }
        }
      }
      const plans = flags["skip-explain"] ? undefined : await explainJoin(server, inputs);
      const minutes = (performance.now() - started) / 60000;
      const report = await render(names, results, inputs, reference!, plans, {
        runs,
        warmup,
        warmupRows,
        discarded,
        minutes,
      });
      console.log(report);
      await Deno.writeTextFile(flags.out, report);
      console.error(`wrote ${relative(Deno.cwd(), flags.out)} after ${minutes.toFixed(1)} min`);
    });
  } finally {
    await connect?.stop();
  }
}

/**
 * The `glacier-connect` variant's Spark Connect server: `local[2]` like the spark-submit variants,
 * its driver with the memory of two of their executors; started once, before the runs, and not
 * timed (its start is reported).
 */
async function startConnect(): Promise<SparkConnectServer> {
  const started = performance.now();
  const dir = await Deno.makeTempDir({ prefix: "bench-spark-connect-" });
  const server = await startSparkConnectServer({
    venv: await ensureSparkVenv(),
    cores: 2,
    memory: "8g",
    logFile: join(dir, "spark-connect.log"),
  });
  console.error(
    `Spark Connect server ${server.remote} started in ` +
      `${((performance.now() - started) / 1000).toFixed(1)} s (not timed; log ${server.logFile})`,
  );
  return server;
}

function client(server: S3Server): S3Client {
  return new S3Client({
    endpoint: server.endpoint,
    region: server.region,
    forcePathStyle: true,
    credentials: { accessKeyId: server.accessKey, secretAccessKey: server.secretKey },
  });
}

async function createBuckets(server: S3Server): Promise<void> {
  const s3 = client(server);
  try {
    for (const bucket of BUCKETS) await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  } finally {
    s3.destroy();
  }
}

/** Puts the generated inputs at the keys every variant reads them from; not timed. */
async function uploadInputs(server: S3Server, inputs: Inputs): Promise<void> {
  const s3 = client(server);
  try {
    for (
      const [key, file] of [[INPUT_KEYS.orders, inputs.orders], [
        INPUT_KEYS.customers,
        inputs.customers,
      ]]
    ) {
      await s3.send(
        new PutObjectCommand({ Bucket: SHOP, Key: key, Body: await Deno.readFile(file) }),
      );
    }
  } finally {
    s3.destroy();
  }
}

/** What the outputs of one run look like, as one comparable string. */
interface Checked {
  readonly key: string;
  readonly cleanedRows: number;
  readonly joinedRows: number;
  readonly revenueRows: number;
  readonly revenueCents: number;
}

async function check(outputs: Outputs): Promise<Checked> {
  const totals = async (path: string) => {
    const frame = await pl.scanParquet(path).select(
      pl.len().alias("rows"),
      pl.col("order_id").sum().alias("order_ids"),
      pl.col("amount_cents").sum().alias("cents"),
    ).collect();
    return frame.toRecords()[0] as { rows: number; order_ids: number; cents: number };
  };
  const cleaned = await totals(outputs.cleaned);
  const joined = await totals(outputs.joined);
  const revenue = (await pl.scanParquet(outputs.revenue).collect()).sort(["region", "segment"]);
  const records = revenue.toRecords();
  const key = JSON.stringify({ cleaned, joined, revenue: records });
  return {
    key,
    cleanedRows: Number(cleaned.rows),
    joinedRows: Number(joined.rows),
    revenueRows: revenue.height,
    revenueCents: records.reduce((sum, r) => sum + Number(r.revenue_cents), 0),
  };
}

/** The join step's physical plans: Glacier's compiled SQL and the hand-written join. */
interface Plans {
  readonly sql: string;
  readonly compiled: string;
  readonly runner: string;
  readonly handwritten: string;
}

/**
 * Compiles the join step bound to local files (the cleaned orders Glacier's last run wrote, the
 * customers input), and explains it and the hand-written join on the same Spark.
 */
async function explainJoin(server: S3Server, inputs: Inputs): Promise<Plans> {
  const step = sparkPipeline().lineage.find((s) => s.task.name === "join_customers")!;
  const dir = await Deno.makeTempDir({ prefix: "bench-spark-explain-" });
  try {
    const cleaned = join(dir, "cleaned.parquet");
    await Deno.copyFile(join(server.dataDir, SHOP, "stage", "cleaned.parquet"), cleaned);
    const job = sparkJob(step, {
      inputs: {
        orders_df: { uri: cleaned, format: "parquet" },
        customers_df: { uri: inputs.customers, format: "parquet" },
      },
      output: { uri: join(dir, "joined.parquet"), format: "parquet" },
    });
    const jobFile = join(dir, "job.json");
    await Deno.writeTextFile(jobFile, JSON.stringify(job));
    const tooling = await sparkTooling(join(dir, "tooling"));
    const answer = await submitScript(tooling, "explain", HANDWRITTEN, ["--explain", jobFile]);
    return {
      sql: job.sql,
      compiled: String(answer.compiled),
      runner: String(answer.runner),
      handwritten: String(answer.handwritten),
    };
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** A plan with what differs between two identical plans removed: ids, paths, sizes. */
function normalize(plan: string): string {
  return plan
    .replace(/#\d+L?/g, "#n")
    .replace(/plan_id=\d+/g, "plan_id=n")
    .replace(/\[id=#?\d+\]/g, "[id=n]")
    .replace(/(Location: InMemoryFileIndex )\[[^\]]*\]/g, "$1[...]")
    .trim();
}

/** The tree of a formatted plan (without the node details), normalized. */
function tree(plan: string): string {
  const physical = normalize(plan);
  const end = physical.search(/\n\n\(1\)/);
  return end < 0 ? physical : physical.slice(0, end);
}

/** The node detail lines of one plan that the other lacks. */
function differences(a: string, b: string): { onlyA: string[]; onlyB: string[] } {
  const lines = (p: string) => normalize(p).split("\n").map((l) => l.trim()).filter((l) => l);
  const la = lines(a);
  const lb = lines(b);
  const sb = new Set(lb);
  const sa = new Set(la);
  return { onlyA: la.filter((l) => !sb.has(l)), onlyB: lb.filter((l) => !sa.has(l)) };
}

interface RenderInfo {
  readonly runs: number;
  readonly warmup: number;
  readonly warmupRows: number;
  readonly discarded: readonly string[];
  readonly minutes: number;
}

/** Phases of one run: the sums over its submits. */
function phases(m: SparkMeasurement) {
  const sum = (f: (s: Submit) => number) => m.submits.reduce((acc, s) => acc + f(s), 0);
  const submitWall = sum((s) => s.wall);
  return {
    wall: m.wallSeconds,
    outside: m.wallSeconds - submitWall,
    submitWall,
    launch: sum((s) => s.launch),
    setup: sum((s) => s.setup),
    sql: sum((s) => s.sql),
    between: sum((s) => s.between),
    finish: sum((s) => s.finish),
    exit: sum((s) => s.exit),
    answer: sum((s) => Number(s.answer.seconds ?? 0)),
  };
}

async function render(
  names: readonly string[],
  results: ReadonlyMap<string, readonly SparkMeasurement[]>,
  inputs: Inputs,
  checked: Checked,
  plans: Plans | undefined,
  info: RenderInfo,
): Promise<string> {
  const s2 = (x: number) => x.toFixed(2);
  const s1 = (x: number) => x.toFixed(1);
  const of = (name: string) => results.get(name)!;
  const med = (name: string, f: (m: SparkMeasurement) => number) => median(of(name).map(f));
  const range = (name: string, f: (m: SparkMeasurement) => number) => {
    const xs = of(name).map(f);
    return `${s1(Math.min(...xs))}–${s1(Math.max(...xs))}`;
  };
  const wall = (m: SparkMeasurement) => m.wallSeconds;
  const command = ["deno run -A bench/spark_pipeline.ts", ...Deno.args].join(" ");
  const lines = [
    "# Spark pipeline: Glacier spark tasks vs hand-written PySpark on the same Spark",
    "",
    `Clean → join → aggregate over ${inputs.rows.toLocaleString("en-US")} orders × ` +
    `${inputs.customerRows.toLocaleString("en-US")} customers (the local benchmark's inputs, ` +
    "`bench/_data.ts`), every step materialized as zstd Parquet, on PySpark " +
    `${PYSPARK_VERSION} with master \`${MASTER}\` (spark-submit options as Glacier sets them: ` +
    `${EXECUTORS} executors of ${EXECUTOR_MEMORY}, UI off, driver on loopback), S3 on versitygw ` +
    `${VERSITYGW_VERSION} (posix backend) on loopback.`,
    "",
    "Variants (`bench/_spark_variants.ts`, `bench/_spark_handwritten.py`):",
    "",
    ...names.map((name) => `- \`${name}\`: ${SPARK_VARIANTS[name].description}.`),
    "",
    "Each run is a fresh `deno run` process, timed inside from the pipeline's start to its end " +
    "(process start-up and input generation excluded); variants alternate and the order flips " +
    `every round; ${info.warmup} warm-up round(s) at ${
      info.warmupRows.toLocaleString("en-US")
    } rows (JVM, jars, Python and Deno caches), then ${info.runs} measured round(s). Before ` +
    `each run the harness waits up to ${flags["idle-wait"]} s for the machine to go below ` +
    `${flags.idle} busy CPUs; a run during which other processes used more than ` +
    `${flags["max-others"]} CPUs on average is repeated, ${flags.attempts} attempts at most ` +
    `(${info.discarded.length} repeated${
      info.discarded.length > 0 ? `: ${info.discarded.join(", ")}` : ""
    }). CPU = the child and every process it waited for (spark-submit, the JVM, Python); S3 = ` +
    "the versitygw server's CPU during the run; others = the rest of the machine, in average " +
    "busy CPUs over the child process's life (interference: the machine is shared).",
    "",
    `Command: \`${command}\` (${info.minutes.toFixed(0)} min in all).`,
    "",
    "| variant | submits | wall median (s) | wall range (s) | CPU median (s) | S3 server CPU (s) | others median (CPUs) |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...names.map((name) =>
      `| ${name} | ${of(name)[0]?.submits.length ?? 0} | ${s2(med(name, wall))} | ${
        range(name, wall)
      } | ${s1(med(name, (m) => m.cpuSeconds))} | ${s1(med(name, (m) => m.s3CpuSeconds))} | ${
        s2(med(name, (m) => m.othersCpuSeconds / m.processSeconds))
      } |`
    ),
    "",
  ];
  for (const glacier of GLACIER_VARIANTS.filter((g) => results.has(g))) {
    lines.push(
      `| ${glacier} / variant | wall ratio of medians | median of per-round ratios | what the ratio measures |`,
      "| --- | ---: | ---: | --- |",
    );
    const meaning: Record<string, string> = {
      "pyspark": `the issue's target (≤ ${TARGET_WALL.toFixed(2)}): Glacier against one ` +
        "hand-written submit on local files",
      "pyspark-3-submits": "Glacier against the same three-JVM shape on local files: S3 " +
        "staging, one file per output and Glacier's own work",
      "pyspark-s3": "Glacier against its own deployment shape by hand: Glacier's own work " +
        "(compile, checks, commit) and its SQL",
      "pyspark-s3-1-submit": "Glacier against its shape with the steps in one submit: what " +
        "running a chain of spark tasks in one spark-submit would save",
      "polars-local": "Spark against Glacier's local mode on polars",
    };
    for (const name of names.filter((n) => !GLACIER_VARIANTS.includes(n))) {
      const base = of(name).map(wall);
      const paired = median(of(glacier).map((m, i) => m.wallSeconds / base[i]));
      const ratio = med(glacier, wall) / med(name, wall);
      const verdict = name === BASELINE
        ? ` ${ratio <= TARGET_WALL ? "(met)" : "(**not met**)"}`
        : "";
      lines.push(
        `| ${name} | ${ratio.toFixed(3)}${verdict} | ${paired.toFixed(3)} | ${
          meaning[name] ?? ""
        } |`,
      );
    }
    lines.push("");
  }
  const sparkNames = names.filter((n) => SPARK_VARIANTS[n].spark);
  lines.push(
    "## Where the time goes",
    "",
    "Medians over the runs of each run's sums over its spark-submits. From the wrapper and " +
      "Spark's event log: launch = spark-submit's start to Spark's `ApplicationStart` (JVM and " +
      "Python start); set-up = from there to the first SQL execution (SparkContext and SQL engine " +
      "start, S3 downloads, reading Parquet footers, planning); SQL = the SQL executions " +
      "(each step's query and its write); between = outside SQL executions between the first and " +
      "the last (the one-submit variant's later steps' set-up); finish = last SQL end to " +
      "`ApplicationEnd` (S3 uploads, clean-up); exit = JVM exit. Outside = the run's wall time " +
      "outside spark-submits (Glacier: compiling, S3 checks, locks, the commit's copies). " +
      "Driver s = the seconds the driver script reports (Glacier's runner: its `seconds`, from " +
      "its start to its answer).",
    "",
    "| variant | wall | outside submits | spark-submits | launch | set-up | SQL | between | finish | exit | driver s |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...sparkNames.map((name) => {
      const p = (key: keyof ReturnType<typeof phases>) => s2(med(name, (m) => phases(m)[key]));
      return `| ${name} | ${p("wall")} | ${p("outside")} | ${p("submitWall")} | ${p("launch")} | ${
        p("setup")
      } | ${p("sql")} | ${p("between")} | ${p("finish")} | ${p("exit")} | ${p("answer")} |`;
    }),
    "",
  );
  const perStep = sparkNames.filter((n) => of(n)[0]?.submits.length === 3);
  if (perStep.length > 0) {
    lines.push(
      "Per step (medians; Glacier's step = the step's time in Glacier's run report, its " +
        "submit included; download and upload = what the hand-written S3 job measured around " +
        "its boto3 calls):",
      "",
      "| variant | step | Glacier's step | submit | driver s | launch | set-up | SQL | finish | exit | download | upload |",
      "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    );
    const stepNames = ["clean", "join", "aggregate"];
    for (const name of perStep) {
      for (let i = 0; i < 3; i += 1) {
        const m = (f: (s: Submit, r: SparkMeasurement) => number) =>
          s2(med(name, (r) => f(r.submits[i], r)));
        const phase = (key: string) =>
          name === "pyspark-s3"
            ? m((s) =>
              Number((s.answer[stepNames[i]] as Record<string, number> | undefined)?.[key] ?? 0)
            )
            : "";
        const glacierStep = name === GLACIER ? m((_s, r) => r.steps[i]?.seconds ?? 0) : "";
        lines.push(
          `| ${name} | ${stepNames[i]} | ${glacierStep} | ${m((s) => s.wall)} | ${
            m((s) => Number(s.answer.seconds ?? 0))
          } | ${m((s) => s.launch)} | ${m((s) => s.setup)} | ${m((s) => s.sql)} | ${
            m((s) => s.finish)
          } | ${m((s) => s.exit)} | ${phase("download")} | ${phase("upload")} |`,
        );
      }
    }
    lines.push("");
  }
  if (plans) {
    const same = tree(plans.compiled) === tree(plans.handwritten);
    const sameWritten = tree(plans.runner) === tree(plans.handwritten);
    const diff = differences(plans.compiled, plans.handwritten);
    lines.push(
      "## The join step's physical plan: compiled SQL against the hand-written join",
      "",
      "`sparkJob()` compiles the join step (`compileStep`), bound to the cleaned orders of the " +
        "last Glacier run and the customers input as local files; `_spark_handwritten.py " +
        "--explain` registers the views exactly as Glacier's runner does (it imports " +
        "`src/backends/spark/runner.py`'s `read_input` and `check_output`) and prints `EXPLAIN FORMATTED` " +
        "of the compiled query, of the query as the runner writes it on spark-submit (columns " +
        "checked, rows observed; Parquet written by every task, its parts joined after), and of " +
        "the hand-written join. Expression ids, plan ids and file lists are normalized before " +
        "comparing.",
      "",
      `- Compiled SQL vs hand-written join, plan trees: **${same ? "identical" : "different"}**.`,
      `- As written (runner: observe) vs hand-written, plan trees: **${
        sameWritten ? "identical" : "different"
      }**.`,
      `- Node detail lines only in the compiled plan: ${
        diff.onlyA.length === 0 ? "none" : diff.onlyA.map((l) => `\`${l}\``).join("; ")
      }.`,
      `- Node detail lines only in the hand-written plan: ${
        diff.onlyB.length === 0 ? "none" : diff.onlyB.map((l) => `\`${l}\``).join("; ")
      }.`,
      "",
      "<details><summary>The compiled SQL of the join step</summary>",
      "",
      "```sql",
      plans.sql,
      "```",
      "",
      "</details>",
      "",
      "<details><summary>Plans (normalized)</summary>",
      "",
      "Compiled SQL:",
      "",
      "```",
      normalize(plans.compiled),
      "```",
      "",
      "Hand-written:",
      "",
      "```",
      normalize(plans.handwritten),
      "```",
      "",
      "As the runner writes it:",
      "",
      "```",
      tree(plans.runner),
      "```",
      "",
      "</details>",
      "",
    );
  }
  lines.push(
    "## Outputs and runs",
    "",
    `Outputs agree across every measured run and variant: ${
      checked.cleanedRows.toLocaleString("en-US")
    } cleaned rows, ${checked.joinedRows.toLocaleString("en-US")} joined rows (row counts and ` +
      `sums of \`order_id\` and \`amount_cents\` compared), ${checked.revenueRows} revenue rows ` +
      `(compared row by row, sorted by region and segment; ${
        checked.revenueCents.toLocaleString("en-US")
      } revenue cents in all).`,
    "",
    "Runs in order (wall s / CPU s / others CPUs; then each submit's wall = launch + set-up + SQL " +
      "+ between + finish + exit, in s):",
    "",
    ...names.flatMap((name) => [
      `- ${name}: ${
        of(name).map((m) =>
          `${s2(m.wallSeconds)} / ${s1(m.cpuSeconds)} / ${
            s2(m.othersCpuSeconds / m.processSeconds)
          }`
        ).join(", ")
      }`,
      ...of(name).filter((m) => m.submits.length > 0).map((m, i) =>
        `  - run ${i + 1}: ${
          m.submits.map((s) =>
            `${s1(s.wall)} = ${
              [s.launch, s.setup, s.sql, s.between, s.finish, s.exit].map(s1).join(" + ")
            }`
          ).join("; ")
        }`
      ),
    ]),
    "",
    "Machine:",
    "",
    ...(await machine()).map((line) => `- ${line}`),
    `- Java: ${await javaVersion()}; PySpark ${PYSPARK_VERSION}; versitygw ${VERSITYGW_VERSION}`,
    "",
  );
  return lines.join("\n");
}

async function javaVersion(): Promise<string> {
  try {
    const out = await new Deno.Command("java", { args: ["-version"], stderr: "piped" }).output();
    return new TextDecoder().decode(out.stderr).split("\n")[0].trim();
  } catch {
    return "unknown";
  }
}

function requiredEnv(name: string): string {
  const value = Deno.env.get(name);
  if (value === undefined) throw new Error(`${name} is not set: run this script without --variant`);
  return value;
}

function positiveInt(name: string, value: string): number {
  const n = Number(value.replaceAll("_", ""));
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer`);
  return n;
}
