/**
 * `dt.truncate(every)` in Spark SQL with polars' meaning: a value rounded down to a multiple of
 * `every` counted from the Unix epoch (months from January 1970, weeks from Monday
 * 1970-01-05), for dates and naive datetimes; a datetime with a time zone is truncated in its
 * zone's wall-clock time and brought back to an instant as polars does (see
 * {@linkcode zonedTruncateSql}).
 *
 * @module
 */

import { stringLiteral } from "./_types.ts";

const MICROS: Readonly<Record<string, bigint>> = {
  us: 1n,
  ms: 1_000n,
  s: 1_000_000n,
  m: 60_000_000n,
  h: 3_600_000_000n,
  d: 86_400_000_000n,
  w: 604_800_000_000n,
};

/** Where polars counts weeks from: Monday 1970-01-05, four days after the epoch. */
const WEEK_ORIGIN_DAYS = 4;

const EPOCH_NTZ = "TIMESTAMP_NTZ'1970-01-01 00:00:00'";

/**
 * The SQL of `dt.truncate(every)`, or why Spark cannot give polars' answer.
 *
 * @param x the SQL of the value.
 * @param kind `date` for a `DATE`, `datetime` for a `TIMESTAMP_NTZ`.
 * @param every polars' duration string, such as `1mo`, `15m`, `2w`.
 * @returns the SQL, or the reason for a refusal.
 */
export function truncateSql(
  x: string,
  kind: "date" | "datetime",
  every: string,
): { sql: string } | { unsupported: string } {
  const match = /^(\d+)(us|ms|s|m|h|d|w|mo|q|y)$/.exec(every);
  if (match === null || Number(match[1]) === 0) {
    return { unsupported: `'${every}' (one positive count of one unit)` };
  }
  const n = BigInt(match[1]);
  const unit = match[2];
  const months = unit === "mo" ? n : unit === "q" ? 3n * n : unit === "y" ? 12n * n : undefined;
  if (months !== undefined) {
    const index = `((year(${x}) - 1970) * 12 + month(${x}) - 1)`;
    const start = `add_months(DATE'1970-01-01', CAST(${index} - pmod(${index}, ${months}) AS INT))`;
    return { sql: kind === "date" ? start : `CAST(${start} AS TIMESTAMP_NTZ)` };
  }
  const step = MICROS[unit] * n;
  const origin = unit === "w" ? WEEK_ORIGIN_DAYS : 0;
  if (kind === "date") {
    if (unit !== "d" && unit !== "w") return { unsupported: `'${every}' on a Date` };
    const days = `(unix_date(${x}) - ${origin})`;
    const width = step / MICROS.d;
    return {
      sql: `date_from_unix_date(CAST(${days} - pmod(${days}, ${width}) + ${origin} AS INT))`,
    };
  }
  const originMicros = BigInt(origin) * MICROS.d;
  const micros = `(timestampdiff(MICROSECOND, ${EPOCH_NTZ}, ${x}) - ${originMicros})`;
  return {
    sql:
      `timestampadd(MICROSECOND, ${micros} - pmod(${micros}, ${step}) + ${originMicros}, ${EPOCH_NTZ})`,
  };
}

/**
 * The SQL of `dt.truncate(every)` of a datetime with a time zone (a Spark `TIMESTAMP`), or why
 * Spark cannot give polars' answer. Polars truncates the wall-clock time in the zone, then finds
 * the instant of the result: a wall-clock time that occurs twice (when clocks go back) takes the
 * input's UTC offset when that offset reads it, else the earlier one; one that never occurs (when
 * clocks go forward) moves forward by the gap, as Java's `ZonedDateTime` does (`convert_timezone`).
 *
 * @param x the SQL of the value, a `TIMESTAMP`.
 * @param zone the IANA time zone, such as `Europe/Berlin`.
 * @param every polars' duration string.
 * @returns the SQL of a `TIMESTAMP`, or the reason for a refusal.
 */
export function zonedTruncateSql(
  x: string,
  zone: string,
  every: string,
): { sql: string } | { unsupported: string } {
  const z = stringLiteral(zone);
  const micros = (ntz: string) => `timestampdiff(MICROSECOND, ${EPOCH_NTZ}, ${ntz})`;
  // The instant as a UTC wall-clock time, then as the zone's: independent of the session's zone.
  const utc = `timestampadd(MICROSECOND, unix_micros(${x}), ${EPOCH_NTZ})`;
  const local = `convert_timezone('UTC', ${z}, ${utc})`;
  const truncated = truncateSql(local, "datetime", every);
  if ("unsupported" in truncated) return truncated;
  const wall = truncated.sql;
  // The result read with the input's offset (its wall-clock time less its UTC time).
  const offset = `(${micros(local)} - ${micros(utc)})`;
  const same = `timestampadd(MICROSECOND, -${offset}, ${wall})`;
  const result = `CASE WHEN convert_timezone('UTC', ${z}, ${same}) = ${wall} THEN ${same} ` +
    `ELSE convert_timezone(${z}, 'UTC', ${wall}) END`;
  return { sql: `timestamp_micros(${micros(result)})` };
}
