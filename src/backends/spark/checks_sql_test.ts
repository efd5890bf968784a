import assert from "node:assert/strict";
import { pl, Provider, schema, t, UnsupportedError } from "../../../mod.ts";
import { compileChecks } from "./checks_sql.ts";

const provider = new Provider({ localRoot: "/nonexistent/glacier-checks-sql" });
const Readings = schema({ site: t.string, celsius: t.float64 });

Deno.test("an expr check Spark cannot run is refused before the job, naming the check and bucket", () => {
  const bucket = provider.bucket({
    bucket: "lab",
    path: "readings.parquet",
    schema: Readings,
    checks: (c) => [c.expr("smooth", pl.col("celsius").rollingSkew(3).lt(1))],
  });
  assert.throws(() => compileChecks(bucket, "audit", "clean"), (error: unknown) => {
    assert.ok(error instanceof UnsupportedError, String(error));
    assert.match(
      error.message,
      /^check 'smooth' of bucket 'lab\/readings.parquet' cannot run inside the Spark job of task 'clean': .*rolling_skew/,
    );
    return true;
  });
});

Deno.test("accepted values are Spark string literals, quotes and backslashes escaped", () => {
  const bucket = provider.bucket({
    bucket: "lab",
    path: "readings.parquet",
    schema: Readings,
    checks: (c) => [c.acceptedValues("site", ["north's", "a\\b"])],
  });
  const compiled = compileChecks(bucket, "audit", "clean")!;
  assert.ok(compiled.counts.includes("`site` NOT IN ('north\\'s', 'a\\\\b')"), compiled.counts);
});
