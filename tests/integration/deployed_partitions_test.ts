/**
 * Deployed runs of a partitioned pipeline on the local stack: the state machine definition that
 * generate plans, executed by a real ASL interpreter (`_state_machine.ts`), each Lambda task
 * state a real invocation of the module's Lambda artifact under the Runtime Interface Emulator,
 * over a real S3 server. A scheduled time runs the partition it completes; a range runs through
 * the `Map` state; a rerun skips everything; a broken day fails alone, with its error, while the
 * others publish; the all-partitions step runs after the partitions it reads.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { pl, type RunReport } from "../../mod.ts";
import { PutObjectCommand } from "../../src/io/s3/_sdk.ts";
import { S3Ledger } from "../../src/engine/ledger/s3_ledger.ts";
import { S3Storage } from "../../src/io/s3/s3_storage.ts";
import { planTerraform } from "../../src/generate/resource_plan.ts";
import type { AslDefinition } from "../../src/core/deploy/state_machine.ts";
import { withLambdaStack } from "./_lambda_stack.ts";
import { s3Client, withS3Server } from "./_s3_server.ts";
import { runExecution, type StateMachineStack } from "./_state_machine.ts";
import { withAwsEnv } from "../_env.ts";

const BUCKET = "deployed-parts";
const root = await Deno.makeTempDir({ prefix: "glacier-deployed-partitions-test-" });
globalThis.addEventListener("unload", () => {
  try {
    Deno.removeSync(root, { recursive: true });
  } catch {
    // Already gone.
  }
});
const module = join(root, "pipeline", "sales.ts");
await Deno.mkdir(join(root, "pipeline"));
await Deno.writeTextFile(
  module,
  `import { daily, LambdaConfig, pl, Provider, schema, t, values } from "${
    new URL("../../mod.ts", import.meta.url).href
  }";
const provider = new Provider({ localRoot: "${join(root, "local")}" });
const fn = provider.serverless({ config: new LambdaConfig({ memoryMb: 512, timeoutSeconds: 60 }) });
const keys = { date: daily({ start: "2026-01-01" }), region: values(["north", "south"]) };
const Sales = schema({ order_id: t.int64, amount: t.float64 });
const Clean = schema({ order_id: t.int64, amount: t.float64, day: t.string });
const Totals = schema({ region: t.string, amount: t.float64, days: t.uint32 });
export const sales = provider.bucket({ bucket: "${BUCKET}", path: "raw/{region}/{date}.parquet", schema: Sales, partitions: keys });
export const clean = provider.bucket({ bucket: "${BUCKET}", path: "clean/{region}/{date}.parquet", schema: Clean, partitions: keys });
export const totals = provider.bucket({ bucket: "${BUCKET}", path: "report/totals.parquet", schema: Totals });
const cleanSales = fn.task({ name: "clean_sales", input: Sales, output: Clean }, (df, { date }) =>
  df.filter(pl.col("amount").gt(0)).withColumns(pl.lit(date).alias("day")));
// Every partition as one frame: cloud mode runs it in-process, a deployed run in a function.
const total = provider.local().task(
  { name: "total_sales", input: schema({ amount: t.float64, region: t.string, date: t.string }), output: Totals },
  (df) => df.groupBy("region").agg(
    pl.col("amount").sum().alias("amount"),
    pl.col("date").nUnique().cast(pl.UInt32).alias("days"),
  ).sort("region"));
export const report = sales.transform(cleanSales).to(clean).transform(total).to(totals)
  .withName("sales");
`,
);
const cacheDir = join(root, "state", "artifacts");

function salesOf(day: string, region: string): pl.DataFrame {
  const base = Number(day.slice(8, 10)) * 100 + (region === "north" ? 0 : 50);
  return pl.DataFrame({
    order_id: pl.Series("order_id", [base, base + 1, base + 2], pl.Int64),
    amount: pl.Series("amount", [10, 20, -5], pl.Float64),
  });
}

/** What ran, as `task partition` texts, sorted. */
function ran(report: Pick<RunReport, "steps">): string[] {
  return report.steps.filter((s) => s.status === "ran").map((s) =>
    `${s.task}${s.partition ? ` ${s.partition.date} ${s.partition.region}` : ""}`
  ).sort();
}

Deno.test("a partitioned pipeline deployed: the schedule's partition, a range through the Map state, a rerun, a broken day alone", async (t) => {
  const m = await import(pathToFileURL(module).href);
  const graph = m.report.graph();
  const plan = planTerraform(graph, new Map(), {
    schedule: "cron(0 6 * * ? *)",
    partitionConcurrency: 3,
  });
  const definition: AslDefinition = plan.stateMachine.definition;
  assert.equal(
    (definition.States["each partition"] as { MaxConcurrency: number }).MaxConcurrency,
    3,
  );
  await withS3Server((s3) =>
    withLambdaStack({ module, s3, cacheDir }, async (lambda) => {
      const env = lambda.env();
      const stack: StateMachineStack = {
        endpoint: lambda.endpoint,
        env,
        // The package serves every handler and every task: the run's function and a local
        // task's are the one function the stack hosts.
        functionOf: () => "glacier-clean_sales",
      };
      const cloud = <T>(fn: () => Promise<T>) => withAwsEnv(env, fn);
      const storage = () => new S3Storage(env.AWS_REGION);
      const keys = (bucket: string, prefix: string) =>
        cloud(async () => (await storage().list(bucket, prefix)).map((o) => o.key));
      const ledgerRun = (run: string) =>
        cloud(() => new S3Ledger(storage(), env.GLACIER_STATE_BUCKET).run(run));
      for (const day of ["2026-01-01", "2026-01-02", "2026-01-03", "2026-01-04"]) {
        for (const region of ["north", "south"]) {
          await cloud(() =>
            m.sales.write(salesOf(day, region), { partition: { date: day, region }, mode: "cloud" })
          );
        }
      }
      const cleanRows = (day: string, region: string) =>
        cloud(async () =>
          (await m.clean.read({ mode: "cloud", partition: { date: day, region } })).toRecords()
        );
      const totals = () => cloud(async () => (await m.totals.read({ mode: "cloud" })).toRecords());
      /** The run an execution recorded: `commit run`'s output names it in the ledger. */
      const reportOf = async (states: { name: string; output?: unknown }[]) => {
        const begun = states.find((s) => s.name === "begin run")?.output as {
          run: { runId: string };
        };
        return (await ledgerRun(begun.run.runId))!;
      };

      await t.step("a scheduled time runs exactly the partitions it completes", async () => {
        // What the schedule sends: its own time, which completes 3 January (UTC).
        const input = JSON.parse(
          plan.schedule!.input.replace("<aws.scheduler.scheduled-time>", "2026-01-04T06:00:00Z"),
        );
        const execution = await runExecution(definition, input, stack, "scheduled");
        assert.equal(execution.error, undefined, JSON.stringify(execution.error));
        const begun = execution.states.find((s) => s.name === "begin run")!.output as {
          run: { partitions: unknown };
        };
        assert.deepEqual(begun.run.partitions, [
          { date: "2026-01-03", region: "north" },
          { date: "2026-01-03", region: "south" },
        ]);
        const recorded = await reportOf(execution.states as never);
        assert.equal(recorded.status, "succeeded");
        assert.deepEqual(
          ran(recorded),
          ["clean_sales 2026-01-03 north", "clean_sales 2026-01-03 south", "total_sales"],
        );
        const deployed = { north: await cleanRows("2026-01-03", "north"), totals: await totals() };
        assert.deepEqual(deployed.totals, [
          { region: "north", amount: 30, days: 1 },
          { region: "south", amount: 30, days: 1 },
        ]);
        // Cloud mode, made to compute the same selection again, gives the same rows.
        const again: RunReport = await cloud(() =>
          m.report.run({
            mode: "cloud",
            quiet: true,
            force: true,
            partitions: { date: "2026-01-03" },
          })
        );
        assert.deepEqual(ran(again), [
          "clean_sales 2026-01-03 north",
          "clean_sales 2026-01-03 south",
          "total_sales",
        ]);
        assert.deepEqual(await cleanRows("2026-01-03", "north"), deployed.north);
        assert.deepEqual(await totals(), deployed.totals);
        assert.deepEqual(await keys(env.GLACIER_STATE_BUCKET, "locks/"), []);
        assert.deepEqual(await keys(env.GLACIER_STATE_BUCKET, "deployed/"), []);
      });

      await t.step(
        "a range by hand runs through the Map state; the all-partitions step after it",
        async () => {
          const execution = await runExecution(
            definition,
            { partitions: { date: { from: "2026-01-01", to: "2026-01-04" } } },
            stack,
            "range",
          );
          assert.equal(execution.error, undefined, JSON.stringify(execution.error));
          const recorded = await reportOf(execution.states as never);
          assert.equal(recorded.status, "succeeded");
          const byTask = (task: string) => recorded.steps.filter((s) => s.task === task);
          assert.deepEqual(
            byTask("clean_sales").map((s) => [s.partition?.date, s.partition?.region, s.status])
              .sort(),
            ["2026-01-01", "2026-01-02", "2026-01-03", "2026-01-04"].flatMap((d) =>
              ["north", "south"].map((r) => [d, r, d === "2026-01-03" ? "skipped" : "ran"])
            ),
          );
          const [totalStep] = byTask("total_sales");
          assert.equal(totalStep.status, "ran");
          assert.equal(totalStep.reason, "input changed");
          // It started once every partition it reads had been recorded.
          const last = Math.max(
            ...byTask("clean_sales").map((s) => Date.parse(s.startedAt!) + s.seconds * 1000),
          );
          assert.ok(Date.parse(totalStep.startedAt!) >= last - 1);
          assert.deepEqual(await totals(), [
            { region: "north", amount: 120, days: 4 },
            { region: "south", amount: 120, days: 4 },
          ]);
          assert.deepEqual(
            (await cleanRows("2026-01-02", "south")).map((r: Record<string, unknown>) => r.day),
            [
              "2026-01-02",
              "2026-01-02",
            ],
          );
          const entered = execution.states.map((s) => s.name);
          assert.ok(entered.includes("each partition"), "the Map state ran");
          assert.ok(entered.indexOf("wave 1") > entered.indexOf("each partition"));
        },
      );

      await t.step("a rerun of the range skips everything, up to date", async () => {
        const execution = await runExecution(
          definition,
          { partitions: { date: { from: "2026-01-01", to: "2026-01-04" } } },
          stack,
          "rerun",
        );
        assert.equal(execution.error, undefined, JSON.stringify(execution.error));
        const recorded = await reportOf(execution.states as never);
        assert.equal(recorded.steps.length, 9);
        assert.ok(
          recorded.steps.every((s) => s.reason === "up to date"),
          JSON.stringify(recorded.steps),
        );
      });

      await t.step(
        "a broken day's input fails that partition alone; the others publish",
        async () => {
          const day = "2026-01-05";
          await cloud(() =>
            m.sales.write(salesOf(day, "north"), {
              partition: { date: day, region: "north" },
              mode: "cloud",
            })
          );
          const client = s3Client(s3);
          await client.send(
            new PutObjectCommand({
              Bucket: BUCKET,
              Key: `raw/south/${day}.parquet`,
              Body: new TextEncoder().encode("not parquet"),
            }),
          );
          client.destroy();
          const before = await totals();
          const execution = await runExecution(
            definition,
            { partitions: { date: day } },
            stack,
            "broken",
          );
          assert.equal(execution.error?.name, "Glacier.PartitionsFailed");
          assert.match(
            execution.error!.cause,
            /failed for 1 of 2 partitions, and published the others: task 'clean_sales' failed for partition date=2026-01-05\/region=south/,
          );
          const committed = execution.states.find((s) => s.name === "commit run")!.output as {
            report: {
              status: string;
              failedPartitions: { partition: unknown; task: string; error: string }[];
            };
          };
          assert.equal(committed.report.status, "failed");
          assert.deepEqual(committed.report.failedPartitions.map((f) => [f.partition, f.task]), [
            [{ date: day, region: "south" }, "clean_sales"],
          ]);
          assert.match(committed.report.failedPartitions[0].error, /raw\/south\/2026-01-05/);
          assert.equal((await cleanRows(day, "north")).length, 2, "north is published");
          await assert.rejects(() => cleanRows(day, "south"));
          const recorded = await reportOf(execution.states as never);
          assert.equal(recorded.status, "failed");
          const totalStep = recorded.steps.find((s) => s.task === "total_sales")!;
          assert.deepEqual([totalStep.status, totalStep.reason], ["skipped", "upstream failed"]);
          assert.deepEqual(await totals(), before, "the all-partitions step did not run");
          assert.deepEqual(await keys(env.GLACIER_STATE_BUCKET, "locks/"), []);
          assert.deepEqual(await keys(BUCKET, ".glacier/"), [], "nothing staged is left");
        },
      );
    })
  );
});
