/**
 * The quality-check corpus (`tests/_check_corpus.ts`) on a real Apache Spark: each bucket's
 * checks compiled to Spark SQL, run by the Spark runner's own code (`run_checks` on the output
 * read back as `read_input` reads it), must give the outcomes the corpus expects, which polars
 * gives too (`tests/unit/checks_test.ts`), and the same failing rows as polars. The corpus runs in
 * one session of the Spark Connect server the Spark test files share.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { CheckResult, Schema } from "../../mod.ts";
import { auditFrame } from "../../src/core/checks_audit.ts";
import { compileChecks } from "../../src/backends/spark/checks_sql.ts";
import { sparkType } from "../../src/backends/spark/_types.ts";
import { sharedSparkConnect } from "./_spark_cluster.ts";
import { checkCases } from "../_check_corpus.ts";

const HARNESS = fileURLToPath(new URL("./_spark_checks_harness.py", import.meta.url));
const REPO = fileURLToPath(new URL("../..", import.meta.url));

/** A sample as a multiset: Spark returns failing rows in no particular order. */
function rows(sample: readonly Record<string, unknown>[]): string[] {
  return sample.map((row) => JSON.stringify(row)).sort();
}

Deno.test({
  name: "checks on Spark: the corpus gives the same results as on polars",
  sanitizeResources: false,
  sanitizeOps: false,
}, async (t) => {
  const server = await sharedSparkConnect();
  const dir = await Deno.makeTempDir({ prefix: "glacier-spark-checks-" });
  const cases = checkCases();
  const polars = new Map<string, CheckResult[]>();
  const spec = { results: join(dir, "results.json"), cases: [] as unknown[] };
  for (const c of cases) {
    const path = join(dir, `${c.name}.parquet`);
    c.frame.writeParquet(path);
    polars.set(c.name, await auditFrame(c.bucket, c.frame.lazy()));
    spec.cases.push({
      name: c.name,
      table: {
        uri: path,
        format: "parquet",
        columns: Object.entries(c.bucket.schema as Schema).map((
          [name, dtype],
        ) => [name, sparkType(dtype)]),
      },
      checks: compileChecks(c.bucket, "glacier_audit", "corpus"),
    });
  }
  await Deno.writeTextFile(join(dir, "spec.json"), JSON.stringify(spec));
  const output = await new Deno.Command(server.venv.python, {
    args: [HARNESS, join(dir, "spec.json"), server.remote],
    cwd: REPO,
    stdin: "null",
  }).output();
  if (!output.success) {
    const text = new TextDecoder().decode(output.stderr).split("\n").slice(-40).join("\n");
    throw new Error(`the Spark checks harness failed (exit ${output.code}):\n${text}`);
  }
  const spark = JSON.parse(await Deno.readTextFile(spec.results)) as Record<
    string,
    CheckResult[] | { error: string }
  >;
  for (const c of cases) {
    await t.step(c.name, () => {
      const results = spark[c.name];
      assert.ok(Array.isArray(results), `Spark failed: ${JSON.stringify(results)}`);
      assert.deepEqual(
        results.map(({ name, passed, failingRows }) => ({ name, passed, failingRows })),
        c.expect,
      );
      for (const [i, result] of polars.get(c.name)!.entries()) {
        assert.equal(results[i].severity, result.severity);
        assert.equal(results[i].bucket, result.bucket);
        if (result.failingRows <= 5) {
          assert.deepEqual(rows(results[i].sample), rows(result.sample), `${result.name}: rows`);
        } else {
          assert.equal(results[i].sample.length, result.sample.length, `${result.name}: rows`);
        }
      }
    });
  }
  await Deno.remove(dir, { recursive: true });
});
