/**
 * The cloud ledger on a real S3 server (versitygw): runs in cloud mode skip what is up to date
 * and say why the rest runs, an object replaced outside Glacier is noticed by its ETag, `plan` and
 * `runs` read the state bucket, and two runs publishing at once both land in the ledger.
 */
import assert from "node:assert/strict";
import { PutObjectCommand } from "../../src/io/s3/_sdk.ts";
import { pl, Provider, type RunReport, schema, t } from "../../mod.ts";
import { openCloudLedger } from "../../src/engine/cloud.ts";
import { s3Client, type S3Server, withS3Server } from "./_s3_server.ts";
import { withAwsEnv } from "../_env.ts";

const N = schema({ n: t.int64 });
const Sum = schema({ total: t.int64 });

function cloud<T>(fn: (server: S3Server) => Promise<T>): Promise<T> {
  return withS3Server((server) => withAwsEnv(server.env(), () => fn(server)));
}

/** raw -> doubled -> total in one S3 bucket; a second, independent chain raw -> copy. */
async function pipelines(bucket: string, factor = 2) {
  const provider = new Provider({ localRoot: await Deno.makeTempDir() });
  const local = provider.local();
  const raw = provider.bucket({ bucket, path: "raw/n.parquet", schema: N });
  const doubled = provider.bucket({ bucket, path: "mid/doubled.parquet", schema: N });
  const total = provider.bucket({ bucket, path: "out/total.parquet", schema: Sum });
  const copy = provider.bucket({ bucket, path: "out/copy.parquet", schema: N });
  const double = local.task(
    { name: "double", input: N, output: N },
    (df) => df.select(pl.col("n").mul(pl.lit(factor)).cast(pl.Int64).alias("n")),
  );
  const sum = local.task(
    { name: "sum", input: N, output: Sum },
    (df) => df.select(pl.col("n").sum().cast(pl.Int64).alias("total")),
  );
  const copyTask = local.task({ name: "copy", input: N, output: N }, (df) => df);
  return {
    raw,
    total,
    totals: raw.transform(double).to(doubled).transform(sum).to(total).withName("totals"),
    copies: raw.transform(copyTask).to(copy).withName("copies"),
  };
}

function why(report: RunReport): string[] {
  return report.steps.map((s) => `${s.task} ${s.status}: ${s.reason}`);
}

const nums = (values: number[]) => pl.DataFrame({ n: pl.Series("n", values, pl.Int64) });

Deno.test("cloud runs skip what is up to date, notice objects replaced outside Glacier, and plan predicts them", () =>
  cloud(async (server) => {
    const bucket = `ledger-${crypto.randomUUID().slice(0, 8)}`;
    const p = await pipelines(bucket);
    await p.raw.write(nums([1, 2, 3]), { mode: "cloud" });
    const first = await p.totals.run({ mode: "cloud", quiet: true });
    assert.deepEqual(why(first), ["double ran: no previous run", "sum ran: no previous run"]);
    const again = await p.totals.run({ mode: "cloud", quiet: true });
    assert.deepEqual(why(again), ["double skipped: up to date", "sum skipped: up to date"]);

    // The output replaced with a plain S3 put: its ETag says it changed.
    const bytes = nums([0]).select(pl.col("n").alias("total")).writeParquet();
    await s3Client(server).send(
      new PutObjectCommand({ Bucket: bucket, Key: "out/total.parquet", Body: bytes }),
    );
    const plan = await p.totals.run({ mode: "plan", storage: "cloud" });
    assert.deepEqual(plan.steps.map((s) => `${s.task} ${s.action}: ${s.reason}`), [
      "double skip: up to date",
      "sum run: output changed outside Glacier",
    ]);
    const repaired = await p.totals.run({ mode: "cloud", quiet: true });
    assert.deepEqual(why(repaired), [
      "double skipped: up to date",
      "sum ran: output changed outside Glacier",
    ]);
    assert.equal(Number((await p.total.read({ mode: "cloud" })).getColumn("total").get(0)), 12);

    // A changed task reruns; the same rows downstream stop the cascade.
    const edited = await pipelines(bucket, 4);
    const rerun = await edited.totals.run({ mode: "cloud", quiet: true });
    assert.deepEqual(why(rerun), ["double ran: task code changed", "sum ran: input changed"]);

    const ledger = await openCloudLedger(edited.totals.graph());
    const runs = await ledger.runs(10);
    assert.deepEqual(runs.map((r) => [r.status, r.ran, r.skipped]), [
      ["succeeded", 2, 0],
      ["succeeded", 1, 1],
      ["succeeded", 0, 2],
      ["succeeded", 2, 0],
    ]);
    const shown = await ledger.run(runs[0].runId);
    assert.deepEqual(shown?.steps.map((s) => s.reason), ["task code changed", "input changed"]);
  }));

Deno.test("two cloud runs publishing at once both land in the ledger", () =>
  cloud(async () => {
    const bucket = `ledger-${crypto.randomUUID().slice(0, 8)}`;
    const p = await pipelines(bucket);
    await p.raw.write(nums([1, 2]), { mode: "cloud" });
    const [a, b] = await Promise.all([
      p.totals.run({ mode: "cloud", quiet: true }),
      p.copies.run({ mode: "cloud", quiet: true }),
    ]);
    assert.equal(a.status, "succeeded");
    assert.equal(b.status, "succeeded");
    const [again, copied] = await Promise.all([
      p.totals.run({ mode: "cloud", quiet: true }),
      p.copies.run({ mode: "cloud", quiet: true }),
    ]);
    assert.deepEqual(why(again), ["double skipped: up to date", "sum skipped: up to date"]);
    assert.deepEqual(why(copied), ["copy skipped: up to date"]);
  }));
