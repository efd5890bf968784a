import assert from "node:assert/strict";
import { formatBytes, formatCount, formatSeconds, formatUsd } from "./units.ts";

Deno.test("sizes, durations, dollars and counts read as people write them", () => {
  assert.deepEqual(
    [0, 512, 2048, 1536, 100 * 1024 ** 2, 1.25 * 1024 ** 3].map(formatBytes),
    ["0 B", "512 B", "2 KiB", "1.5 KiB", "100 MiB", "1.3 GiB"],
  );
  assert.deepEqual(
    [0.01, 0.42, 12.4, 60, 185, 7260].map(formatSeconds),
    ["<0.1 s", "0.4 s", "12 s", "1 min", "3 min 5 s", "2 h 1 min"],
  );
  assert.deepEqual([0, 0.000213, 1.2749].map(formatUsd), ["$0", "$0.000213", "$1.27"]);
  assert.equal(formatCount(1234567.4), "1,234,567");
});
