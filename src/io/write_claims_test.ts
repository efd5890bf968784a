import assert from "node:assert/strict";
import { daily, Provider, schema, t } from "../../mod.ts";
import { atPartition } from "../core/partition_map.ts";
import { bucketWrites, conflictsWith, refusalMessage, type WriteClaim } from "./write_claims.ts";

const provider = new Provider({ localRoot: "/tmp/glacier-claims" });
const N = schema({ n: t.int64 });
const days = provider.bucket({
  bucket: "lab",
  path: "out/{date}.parquet",
  schema: N,
  partitions: { date: daily({ start: "2026-01-01" }) },
});
const report = provider.bucket({
  bucket: "lab",
  path: "report.parquet",
  schema: N,
});
const claim = (run: string, partitions?: string[]): WriteClaim => ({
  id: run,
  run,
  host: "build-1",
  pid: 42,
  since: "2026-01-05T06:00:00.000Z",
  ...(partitions ? { partitions } : {}),
});

Deno.test("a run claims the partitions it writes of a partitioned bucket, and an unpartitioned bucket whole", () => {
  const writes = [
    atPartition(days, { date: "2026-01-02" }),
    atPartition(days, { date: "2026-01-01" }),
    report,
  ];
  assert.deepEqual(
    bucketWrites([report, days], writes).map((w) => [w.ref.location, w.partitions]),
    [["lab/out/{date}.parquet", ["date=2026-01-01", "date=2026-01-02"]], [
      "lab/report.parquet",
      undefined,
    ]],
  );
  // Work not known yet: every target whole.
  assert.deepEqual(bucketWrites([days]).map((w) => w.partitions), [undefined]);
  // A partitioned target the run computes no partition of: an empty claim, in nobody's way.
  assert.deepEqual(bucketWrites([days], [report]).map((w) => w.partitions), [[]]);
});

Deno.test("claims conflict when either is whole or their partitions meet, and the refusal names both", () => {
  const a = claim("a", ["date=2026-01-01", "date=2026-01-02"]);
  const whole = claim("w");
  const empty = claim("e", []);
  assert.deepEqual(conflictsWith(["date=2026-01-03"], [a, empty]), []);
  assert.deepEqual(conflictsWith(["date=2026-01-02", "date=2026-01-03"], [a]), [
    { claim: a, partitions: ["date=2026-01-02"] },
  ]);
  assert.deepEqual(conflictsWith(undefined, [a, empty]), [{ claim: a, partitions: a.partitions }]);
  assert.deepEqual(conflictsWith(["date=2026-01-09"], [whole]), [
    { claim: whole, partitions: ["date=2026-01-09"] },
  ]);
  assert.deepEqual(conflictsWith([], [whole]), []);
  assert.deepEqual(conflictsWith(undefined, [whole]), [{ claim: whole, partitions: [] }]);
  assert.equal(
    refusalMessage(
      "lab/out/{date}.parquet",
      ["date=2026-01-02"],
      conflictsWith(["date=2026-01-02"], [a]),
    ),
    "bucket 'lab/out/{date}.parquet' is being written by run a (pid 42 on build-1, since " +
      "2026-01-05T06:00:00.000Z) at partition date=2026-01-02, which this run writes too; nothing " +
      "was changed. Wait for it to finish, or wait for it with run({ wait: SECONDS }) (glacier run " +
      "--wait SECONDS)",
  );
});
