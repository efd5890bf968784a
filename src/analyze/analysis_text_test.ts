import assert from "node:assert/strict";
import { LambdaConfig, pl, Provider, schema, t } from "../../mod.ts";
import type { Analysis } from "../core/reports.ts";
import { CostModel } from "./cost_model.ts";
import { formatAnalysis } from "./analysis_text.ts";

const Events = schema({ id: t.int64, kind: t.string });
const Counts = schema({ kind: t.string, n: t.uint32 });

function pipeline() {
  const provider = new Provider({ localRoot: "/nonexistent/glacier-format" });
  const lambda = provider.serverless({ config: new LambdaConfig({ memoryMb: 256 }) });
  const events = provider.bucket({
    bucket: "logs",
    path: "events.ndjson",
    schema: Events,
    sizeHint: 3 * 1024 ** 3,
  });
  const counts = provider.bucket({ bucket: "logs", path: "counts.csv", schema: Counts });
  const count = lambda.task(
    { name: "count_kinds", input: Events, output: Counts },
    (df) => df.groupBy("kind").agg(pl.len().alias("n")),
  );
  return events.transform(count).to(counts).withName("kinds");
}

Deno.test("the table has a row per step, the orchestration, the total, warnings and assumptions", () => {
  const analysis = new CostModel().estimate(pipeline().graph(), new Map());
  const text = formatAnalysis(analysis);
  const lines = text.split("\n");
  assert.match(
    lines[0],
    /^pipeline 'kinds': \$0\.\d{6} per run \(AWS us-east-1 prices of \d{4}-\d\d-\d\d\)$/,
  );
  assert.match(
    lines[2],
    /^ {2}task +resource +rows in +rows out +bytes in +bytes out +time +cost$/,
  );
  assert.match(
    lines[3],
    /^ {2}count_kinds +lambda 256 MB +[\d,]+ +[\d,]+ +3 GiB +[\d.]+ \w+ +.+ +\$0\.\d{6}$/,
  );
  assert.match(
    lines[4],
    /^ {2}orchestration: 3 Step Functions transitions, run-level S3 +\$0\.\d{6}$/,
  );
  assert.match(lines[5], /^ {2}total per run +\$0\.\d{6}$/);
  assert.equal(lines[3].length, lines[5].length, "the costs line up");
  assert.ok(text.includes("\nwarnings:\n  - task 'count_kinds' needs about"));
  assert.ok(text.includes("\nassumptions:\n  - input 'logs/events.ndjson': no data found, 3 GiB"));
});

Deno.test("an analysis without the model's details still renders", () => {
  const analysis: Analysis = {
    pipeline: "bare",
    steps: [{
      task: "t1",
      resource: "local",
      inputBytes: 2048,
      inputRows: 1500,
      outputBytes: 100,
      outputRows: 3,
      seconds: 75,
      usd: 0,
    }],
    warnings: [],
    estimatedCost: () => ({ totalUsd: 0, byTask: { t1: 0 }, assumptions: ["none"] }),
  };
  assert.equal(
    formatAnalysis(analysis),
    [
      "pipeline 'bare': $0 per run",
      "",
      "  task  resource  rows in  rows out  bytes in  bytes out        time  cost",
      "  t1    local       1,500         3     2 KiB      100 B  1 min 15 s    $0",
      "  total per run                                                         $0",
      "",
      "assumptions:",
      "  - none",
    ].join("\n"),
  );
});
