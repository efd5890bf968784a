/**
 * Partitions as data: the definitions of a bucket's partition keys (`hourly`, `daily`, `weekly`,
 * `monthly`, `values`), their calendars, and a bucket path with `{key}` placeholders.
 *
 * A time key's value in a path: hourly `2026-01-03T07`, daily `2026-01-03`, weekly the week's
 * Monday `2026-01-05`, monthly `2026-01`. Time keys are in UTC unless a daily or coarser
 * definition names a `timezone` (an IANA name such as `Europe/Paris`): the zone decides when a
 * partition is complete (its day has ended there), never how its value is written.
 *
 * @module
 */

/** The kinds of partition key. */
export type PartitionKind = "hourly" | "daily" | "weekly" | "monthly" | "values";

/** The kinds of time key. */
export type TimeKind = Exclude<PartitionKind, "values">;

/** A time key: partitions from `start` to `end` (inclusive; default: the last complete one). */
export interface TimePartitions<K extends TimeKind = TimeKind> {
  /** The calendar. */
  readonly kind: K;
  /** The first partition, as its value (`2026-01-01`; a weekly key starts at the week holding it). */
  readonly start: string;
  /** The last partition, inclusive; without it, the last complete one. */
  readonly end?: string;
  /** The IANA time zone whose days, weeks or months the key follows (default UTC). */
  readonly timezone?: string;
}

/** A key of named values: one partition per value. */
export interface ValuePartitions<V extends string = string> {
  /** The calendar. */
  readonly kind: "values";
  /** The values, in order. */
  readonly values: readonly V[];
}

/** Any partition key definition. */
export type PartitionKey = TimePartitions | ValuePartitions;

/** A bucket's partition keys, by name. */
export type PartitionKeys = Readonly<Record<string, PartitionKey>>;

/** One partition: each key's value, `{ date: "2026-01-03", site: "north" }`. */
export type PartitionValues = Readonly<Record<string, string>>;

/** What `daily`, `weekly` and `monthly` take. */
export interface CalendarOptions {
  /** The first partition (`2026-01-01`; monthly also `2026-01`). */
  readonly start: string;
  /** The last partition, inclusive (default: the last complete one at run time). */
  readonly end?: string;
  /** The IANA time zone whose calendar the key follows (default UTC). */
  readonly timezone?: string;
}

/** What `hourly` takes: hours are always UTC. */
export interface HourlyOptions {
  /** The first hour, `2026-01-01T00` (a date means its hour 00). */
  readonly start: string;
  /** The last hour, inclusive (default: the last complete one at run time). */
  readonly end?: string;
}

/**
 * Hourly partitions, in UTC: values such as `2026-01-03T07`.
 *
 * @param options the first hour and, optionally, the last.
 * @returns the key definition.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { hourly } from "@glacier/glacier";
 * assert.equal(hourly({ start: "2026-01-01T00" }).kind, "hourly");
 * ```
 */
export function hourly(options: HourlyOptions): TimePartitions<"hourly"> {
  return timeKey("hourly", options);
}

/**
 * Daily partitions: values such as `2026-01-03`.
 *
 * @param options the first day, optionally the last and the time zone.
 * @returns the key definition.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { daily } from "@glacier/glacier";
 * const date = daily({ start: "2026-01-01", timezone: "Europe/Paris" });
 * assert.equal(date.timezone, "Europe/Paris");
 * ```
 */
export function daily(options: CalendarOptions): TimePartitions<"daily"> {
  return timeKey("daily", options);
}

/**
 * Weekly partitions, weeks starting on Monday: each value is its week's Monday, `2026-01-05`.
 *
 * @param options the first week (any day of it), optionally the last and the time zone.
 * @returns the key definition.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { weekly } from "@glacier/glacier";
 * assert.equal(weekly({ start: "2026-01-07" }).start, "2026-01-05");
 * ```
 */
export function weekly(options: CalendarOptions): TimePartitions<"weekly"> {
  return timeKey("weekly", options);
}

/**
 * Monthly partitions: values such as `2026-01`.
 *
 * @param options the first month (`2026-01` or a day in it), optionally the last and the time zone.
 * @returns the key definition.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { monthly } from "@glacier/glacier";
 * assert.equal(monthly({ start: "2026-01-15" }).start, "2026-01");
 * ```
 */
export function monthly(options: CalendarOptions): TimePartitions<"monthly"> {
  return timeKey("monthly", options);
}

/**
 * A key of named values, one partition each.
 *
 * @param list the values; each a non-empty path segment.
 * @returns the key definition.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { values } from "@glacier/glacier";
 * assert.deepEqual(values(["north", "south"]).values, ["north", "south"]);
 * ```
 */
export function values<const V extends string>(list: readonly V[]): ValuePartitions<V> {
  if (!Array.isArray(list) || list.length === 0) {
    throw new TypeError("values([...]) needs at least one value, such as values(['north'])");
  }
  for (const value of list) {
    if (typeof value !== "string" || !SEGMENT.test(value)) {
      throw new TypeError(
        `partition value ${JSON.stringify(value)} is not valid: use letters, digits, '_', '-' ` +
          "or '.', not starting with '.'",
      );
    }
  }
  if (new Set(list).size !== list.length) {
    throw new TypeError(`values([...]) lists a value twice: ${JSON.stringify(list)}`);
  }
  return Object.freeze({ kind: "values", values: Object.freeze([...list]) });
}

const SEGMENT = /^[A-Za-z0-9_-][A-Za-z0-9_.-]*$/;
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
/** 1970-01-05, the first Monday after the epoch, as days since the epoch. */
const FIRST_MONDAY = 4;

function timeKey<K extends TimeKind>(
  kind: K,
  options: CalendarOptions | HourlyOptions,
): TimePartitions<K> {
  if (options === null || typeof options !== "object") {
    throw new TypeError(`${kind}() needs options such as { start: "2026-01-01" }`);
  }
  const timezone = (options as CalendarOptions).timezone;
  if (timezone !== undefined) {
    if (kind === "hourly") {
      throw new TypeError(
        "hourly() partitions are in UTC; a timezone is for daily or coarser keys",
      );
    }
    try {
      new Intl.DateTimeFormat("en-US", { timeZone: timezone });
    } catch {
      throw new TypeError(`${kind}() timezone '${timezone}' is not an IANA time zone name`);
    }
  }
  const probe = { kind, start: "", timezone } as TimePartitions;
  const start = indexOfLoose(probe, options.start, "start");
  const end = options.end === undefined ? undefined : indexOfLoose(probe, options.end, "end");
  if (end !== undefined && end < start) {
    throw new RangeError(`${kind}() end '${options.end}' is before its start '${options.start}'`);
  }
  return Object.freeze({
    kind,
    start: format(kind, start),
    ...(end === undefined ? {} : { end: format(kind, end) }),
    ...(timezone === undefined ? {} : { timezone }),
  });
}

/** Parses a start or end, also from a coarser or finer spelling (a date for a month, say). */
function indexOfLoose(key: TimePartitions, text: unknown, what: string): number {
  const found = typeof text === "string" ? looseIndex(key.kind, text) : undefined;
  if (found === undefined) {
    throw new TypeError(
      `${key.kind}() ${what} ${JSON.stringify(text)} is not a ${key.kind} value such as '${
        EXAMPLES[key.kind]
      }'`,
    );
  }
  return found;
}

const EXAMPLES: Readonly<Record<PartitionKind, string>> = {
  hourly: "2026-01-03T07",
  daily: "2026-01-03",
  weekly: "2026-01-05",
  monthly: "2026-01",
  values: "north",
};

function looseIndex(kind: TimeKind, text: string): number | undefined {
  if (kind === "monthly" && /^\d{4}-\d{2}-\d{2}$/.test(text)) {
    return parseIndex("monthly", text.slice(0, 7));
  }
  if (kind === "hourly" && /^\d{4}-\d{2}-\d{2}$/.test(text)) {
    return parseIndex("hourly", `${text}T00`);
  }
  if (kind === "weekly") {
    const day = parseIndex("daily", text);
    return day === undefined ? undefined : Math.floor((day - FIRST_MONDAY) / 7);
  }
  return parseIndex(kind, text);
}

/** A time value as a number: hours, days, weeks or months since the epoch. */
function parseIndex(kind: TimeKind, text: string): number | undefined {
  const pattern = {
    hourly: /^(\d{4})-(\d{2})-(\d{2})T(\d{2})$/,
    daily: /^(\d{4})-(\d{2})-(\d{2})$/,
    weekly: /^(\d{4})-(\d{2})-(\d{2})$/,
    monthly: /^(\d{4})-(\d{2})$/,
  }[kind];
  const m = pattern.exec(text);
  if (!m) return undefined;
  const [y, mo] = [Number(m[1]), Number(m[2])];
  if (mo < 1 || mo > 12) return undefined;
  if (kind === "monthly") return y * 12 + mo - 1;
  const d = Number(m[3]);
  const ms = Date.UTC(y, mo - 1, d);
  if (new Date(ms).getUTCDate() !== d) return undefined;
  const day = Math.floor(ms / DAY_MS);
  if (kind === "daily") return day;
  if (kind === "weekly") {
    return (day - FIRST_MONDAY) % 7 === 0 ? (day - FIRST_MONDAY) / 7 : undefined;
  }
  const h = Number(m[4]);
  return h > 23 ? undefined : day * 24 + h;
}

function format(kind: TimeKind, index: number): string {
  if (kind === "monthly") {
    const y = Math.floor(index / 12);
    return `${String(y).padStart(4, "0")}-${String(index - y * 12 + 1).padStart(2, "0")}`;
  }
  const ms = kind === "hourly"
    ? index * HOUR_MS
    : (kind === "weekly" ? index * 7 + FIRST_MONDAY : index) * DAY_MS;
  const iso = new Date(ms).toISOString();
  return kind === "hourly" ? iso.slice(0, 13) : iso.slice(0, 10);
}

/**
 * Whether a text is a value of a key.
 *
 * @param key the key.
 * @param value the text.
 * @returns `true` when it is.
 */
export function isValueOf(key: PartitionKey, value: string): boolean {
  return key.kind === "values"
    ? key.values.includes(value)
    : parseIndex(key.kind, value) !== undefined;
}

/**
 * How a key's values are written, for messages.
 *
 * @param key the key.
 * @returns an example, or the list of values.
 */
export function describeKey(key: PartitionKey): string {
  return key.kind === "values"
    ? `one of ${key.values.map((v) => `'${v}'`).join(", ")}`
    : `a ${key.kind} value such as '${EXAMPLES[key.kind]}'`;
}

/**
 * A partition key in a few words: `daily from 2026-01-01 (Europe/Paris)`, `north|south`.
 *
 * @param key the key's definition.
 * @returns the text.
 */
export function keySummary(key: PartitionKey): string {
  if (key.kind === "values") return key.values.join("|");
  return `${key.kind} from ${key.start}${key.end === undefined ? "" : ` to ${key.end}`}` +
    (key.timezone === undefined ? "" : ` (${key.timezone})`);
}

/**
 * The values of a key from one value to another, inclusive, in order.
 *
 * @param key a time key.
 * @param from the first value.
 * @param to the last value.
 * @returns the values.
 */
export function valuesBetween(key: TimePartitions, from: string, to: string): string[] {
  const a = parseIndex(key.kind, from);
  const b = parseIndex(key.kind, to);
  if (a === undefined || b === undefined) return [];
  const out: string[] = [];
  for (let i = a; i <= b; i++) out.push(format(key.kind, i));
  return out;
}

/**
 * The value `n` partitions before (negative: after) a value.
 *
 * @param key a time key.
 * @param value the value.
 * @param n how many partitions back.
 * @returns the value.
 */
export function shiftValue(key: TimePartitions, value: string, n: number): string {
  const index = parseIndex(key.kind, value);
  if (index === undefined) throw new TypeError(`'${value}' is not ${describeKey(key)}`);
  return format(key.kind, index - n);
}

/**
 * The last partition of a time key that is complete at a time: whose hour, day, week or month
 * has ended (in the key's time zone).
 *
 * @param key a time key.
 * @param now the time.
 * @returns the value.
 */
export function lastComplete(key: TimePartitions, now: Date): string {
  if (key.kind === "hourly") return format("hourly", Math.floor(now.getTime() / HOUR_MS) - 1);
  const today = Math.floor(localDateMs(now, key.timezone) / DAY_MS);
  if (key.kind === "daily") return format("daily", today - 1);
  if (key.kind === "weekly") return format("weekly", Math.floor((today - FIRST_MONDAY) / 7) - 1);
  const d = new Date(today * DAY_MS);
  return format("monthly", d.getUTCFullYear() * 12 + d.getUTCMonth() - 1);
}

/**
 * The partition of a time key that holds a time (in the key's time zone).
 *
 * @param key a time key.
 * @param at the time.
 * @returns the value.
 */
export function partitionAt(key: TimePartitions, at: Date): string {
  return shiftValue(key, lastComplete(key, at), -1);
}

/**
 * When a partition of a time key begins and ends (in its time zone): a day is 23 or 25 hours
 * long on the days its zone changes to or from daylight saving time.
 *
 * @param key a time key.
 * @param value the partition's value.
 * @returns its first instant and the first instant after it.
 */
export function partitionBounds(key: TimePartitions, value: string): { start: Date; end: Date } {
  const index = parseIndex(key.kind, value);
  if (index === undefined) throw new TypeError(`'${value}' is not ${describeKey(key)}`);
  if (key.kind === "hourly") {
    return { start: new Date(index * HOUR_MS), end: new Date((index + 1) * HOUR_MS) };
  }
  const dayOf = (i: number): number => {
    if (key.kind === "daily") return i;
    if (key.kind === "weekly") return i * 7 + FIRST_MONDAY;
    const y = Math.floor(i / 12);
    return Date.UTC(y, i - y * 12, 1) / DAY_MS;
  };
  return {
    start: new Date(zonedMidnight(dayOf(index), key.timezone)),
    end: new Date(zonedMidnight(dayOf(index + 1), key.timezone)),
  };
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** The wall-clock date and time of an instant in a zone, as if it were UTC, in ms. */
function localDateMs(at: Date, timezone: string | undefined): number {
  if (timezone === undefined) return at.getTime();
  let formatter = formatters.get(timezone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat("en-US", {
      timeZone: timezone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    });
    formatters.set(timezone, formatter);
  }
  const part = Object.fromEntries(formatter.formatToParts(at).map((p) => [p.type, p.value]));
  return Date.UTC(
    Number(part.year),
    Number(part.month) - 1,
    Number(part.day),
    Number(part.hour),
    Number(part.minute),
    Number(part.second),
  );
}

/** The first instant whose date in a zone is a day (days since the epoch), to the second. */
function zonedMidnight(day: number, timezone: string | undefined): number {
  const midnight = day * DAY_MS;
  if (timezone === undefined) return midnight;
  // Zone offsets lie within a day of UTC: search the instants around the wall-clock midnight.
  let low = midnight - DAY_MS;
  let high = midnight + DAY_MS;
  while (high - low > 1000) {
    const mid = low + Math.floor((high - low) / 2000) * 1000;
    if (localDateMs(new Date(mid), timezone) >= midnight) high = mid;
    else low = mid;
  }
  return high;
}

/**
 * The `{placeholders}` of a path, in order.
 *
 * @param path a bucket path.
 * @returns the names between braces.
 */
export function placeholdersOf(path: string): string[] {
  return [...path.matchAll(/\{([^{}]*)\}/g)].map((m) => m[1]);
}

/**
 * A path with each `{key}` replaced by the partition's value.
 *
 * @param path a bucket path with placeholders.
 * @param partition the values.
 * @returns the path of the partition.
 */
export function fillPath(path: string, partition: PartitionValues): string {
  return path.replace(/\{([^{}]*)\}/g, (_, key: string) => partition[key]);
}

/**
 * A partition as text, keys in the bucket's order: `date=2026-01-03/site=north`; empty for none.
 *
 * @param partition the values.
 * @returns the text.
 */
export function partitionText(partition: PartitionValues | undefined): string {
  return partition ? Object.entries(partition).map(([k, v]) => `${k}=${v}`).join("/") : "";
}

/**
 * A partition's values from its text.
 *
 * @param text `date=2026-01-03/site=north`; empty for none.
 * @returns the values.
 */
export function partitionFromText(text: string): PartitionValues {
  if (text === "") return {};
  return Object.fromEntries(
    text.split("/").map((pair) => {
      const at = pair.indexOf("=");
      return [pair.slice(0, at), pair.slice(at + 1)];
    }),
  );
}

/**
 * Reads the partition a file path holds, by the bucket's path template.
 *
 * @param template the bucket's path, with placeholders.
 * @param keys its keys.
 * @returns a function from a path to its partition, or `undefined` when the path is not one.
 */
export function pathMatcher(
  template: string,
  keys: PartitionKeys,
): (path: string) => PartitionValues | undefined {
  const names: string[] = [];
  const source = template.split(/(\{[^{}]*\})/).map((part) => {
    const m = /^\{([^{}]*)\}$/.exec(part);
    if (!m) return part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    names.push(m[1]);
    return "([^/]+)";
  }).join("");
  const pattern = new RegExp(`^${source}$`);
  const order = Object.keys(keys);
  return (path) => {
    const m = pattern.exec(path);
    if (!m) return undefined;
    const found: Record<string, string> = {};
    for (const [i, name] of names.entries()) {
      if (found[name] !== undefined && found[name] !== m[i + 1]) return undefined;
      found[name] = m[i + 1];
    }
    for (const key of order) if (!isValueOf(keys[key], found[key])) return undefined;
    return Object.fromEntries(order.map((k) => [k, found[k]]));
  };
}

/**
 * The part of a path before its first placeholder's folder: where to list a bucket's partitions.
 *
 * @param template a bucket path with placeholders.
 * @returns the fixed folder prefix, `raw/` for `raw/{site}/{date}.parquet`; may be empty.
 */
export function fixedPrefix(template: string): string {
  const cut = template.indexOf("{");
  const head = cut < 0 ? template : template.slice(0, cut);
  return head.slice(0, head.lastIndexOf("/") + 1);
}
