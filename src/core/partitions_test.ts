import assert from "node:assert/strict";
import {
  daily,
  hourly,
  lastComplete,
  monthly,
  partitionAt,
  partitionBounds,
  pathMatcher,
  shiftValue,
  values,
  valuesBetween,
  weekly,
} from "./partitions.ts";

Deno.test("calendars: values, ranges and shifts across months and years", () => {
  const day = daily({ start: "2025-12-30" });
  assert.deepEqual(valuesBetween(day, "2025-12-30", "2026-01-02"), [
    "2025-12-30",
    "2025-12-31",
    "2026-01-01",
    "2026-01-02",
  ]);
  assert.equal(shiftValue(day, "2024-03-01", 1), "2024-02-29");
  assert.deepEqual(
    valuesBetween(hourly({ start: "2026-01-01" }), "2026-01-01T22", "2026-01-02T01"),
    [
      "2026-01-01T22",
      "2026-01-01T23",
      "2026-01-02T00",
      "2026-01-02T01",
    ],
  );
  assert.deepEqual(valuesBetween(monthly({ start: "2025-11" }), "2025-11", "2026-02"), [
    "2025-11",
    "2025-12",
    "2026-01",
    "2026-02",
  ]);
  assert.throws(() => daily({ start: "2026-02-30" }), /is not a daily value/);
  assert.throws(() => values([]), /at least one value/);
});

Deno.test("weeks start on Monday: a week's value is its Monday", () => {
  assert.equal(weekly({ start: "2026-01-01" }).start, "2025-12-29");
  assert.equal(weekly({ start: "2026-01-11" }).start, "2026-01-05");
  assert.deepEqual(valuesBetween(weekly({ start: "2026-01-05" }), "2026-01-05", "2026-01-19"), [
    "2026-01-05",
    "2026-01-12",
    "2026-01-19",
  ]);
  // A Sunday evening in UTC is still that week; in Tokyo it is already Monday.
  const at = new Date("2026-01-11T20:00:00Z");
  assert.equal(partitionAt(weekly({ start: "2026-01-05" }), at), "2026-01-05");
  assert.equal(
    partitionAt(weekly({ start: "2026-01-05", timezone: "Asia/Tokyo" }), at),
    "2026-01-12",
  );
});

Deno.test("time zones: the last complete day, and days of 23 and 25 hours", () => {
  const at = new Date("2026-01-10T23:30:00Z");
  assert.equal(lastComplete(daily({ start: "2026-01-01" }), at), "2026-01-09");
  assert.equal(
    lastComplete(daily({ start: "2026-01-01", timezone: "Europe/Paris" }), at),
    "2026-01-10",
  );
  assert.equal(lastComplete(hourly({ start: "2026-01-01" }), at), "2026-01-10T22");
  assert.equal(lastComplete(monthly({ start: "2026-01" }), at), "2025-12");
  const paris = daily({ start: "2026-01-01", timezone: "Europe/Paris" });
  const spring = partitionBounds(paris, "2026-03-29");
  assert.equal(spring.start.toISOString(), "2026-03-28T23:00:00.000Z");
  assert.equal((spring.end.getTime() - spring.start.getTime()) / 3_600_000, 23);
  const autumn = partitionBounds(paris, "2026-10-25");
  assert.equal((autumn.end.getTime() - autumn.start.getTime()) / 3_600_000, 25);
  const york = partitionBounds(
    monthly({ start: "2026-01", timezone: "America/New_York" }),
    "2026-03",
  );
  assert.equal(york.start.toISOString(), "2026-03-01T05:00:00.000Z");
  assert.equal(york.end.toISOString(), "2026-04-01T04:00:00.000Z");
  assert.throws(() => daily({ start: "2026-01-01", timezone: "Mars/Olympus" }), /not an IANA/);
  assert.throws(() => hourly({ start: "2026-01-01", timezone: "UTC" } as never), /in UTC/);
});

Deno.test("paths: a file's partition is read back by the path's template", () => {
  const keys = { date: daily({ start: "2026-01-01" }), site: values(["north", "south"]) };
  const match = pathMatcher("raw/{site}/{date}.parquet", keys);
  assert.deepEqual(match("raw/north/2026-01-03.parquet"), { date: "2026-01-03", site: "north" });
  assert.equal(match("raw/east/2026-01-03.parquet"), undefined);
  assert.equal(match("raw/north/2026-01-32.parquet"), undefined);
  assert.equal(match("raw/north/.x.glacier-tmp"), undefined);
});
