/**
 * A CSV bucket's options, checked when the bucket is declared.
 *
 * @module
 */
import type { CsvOptions } from "../core/lineage.ts";
import { formatPieces } from "../io/strftime.ts";

const KEYS = new Set([
  "separator",
  "quote",
  "nullValues",
  "dateFormat",
  "datetimeFormat",
  "header",
]);

/**
 * Checks a bucket's CSV options and freezes them.
 *
 * @param location the bucket's `bucket/path`, for messages.
 * @param isCsv whether the bucket's path is a CSV file.
 * @param given the options from `provider.bucket({ ..., csv })`.
 * @returns the frozen options, or `undefined` when none were given.
 * @throws {TypeError} naming the bucket and the option that is wrong.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { csvOptions } from "./csv.ts";
 * const csv = csvOptions("shop/raw/orders.csv", true, { separator: ";", dateFormat: "%d.%m.%Y" });
 * assert.equal(csv?.separator, ";");
 * ```
 */
export function csvOptions(
  location: string,
  isCsv: boolean,
  given: CsvOptions | undefined,
): CsvOptions | undefined {
  if (given === undefined) return undefined;
  const wrong = (what: string) => new TypeError(`bucket '${location}' csv option ${what}`);
  if (!isCsv) {
    throw new TypeError(
      `bucket '${location}' has csv options but its path is not a .csv file; remove them`,
    );
  }
  if (given === null || typeof given !== "object") throw wrong("must be an object");
  for (const key of Object.keys(given)) {
    if (!KEYS.has(key)) {
      throw wrong(`'${key}' is not known; use ${[...KEYS].join(", ")}`);
    }
  }
  for (const key of ["separator", "quote"] as const) {
    const value = given[key];
    if (
      value !== undefined &&
      (typeof value !== "string" || !/^[\x20-\x7e\t]$/.test(value))
    ) {
      throw wrong(
        `'${key}' must be one printable ASCII character or a tab, got ${JSON.stringify(value)}`,
      );
    }
  }
  if ((given.separator ?? ",") === (given.quote ?? '"')) {
    throw wrong(
      `'separator' and 'quote' must differ, both are ${JSON.stringify(given.quote ?? '"')}`,
    );
  }
  if (
    given.nullValues !== undefined &&
    (!Array.isArray(given.nullValues) ||
      given.nullValues.some((v) => typeof v !== "string" || /[\r\n]/.test(v)))
  ) {
    throw wrong("'nullValues' must be an array of strings without line breaks");
  }
  for (const key of ["dateFormat", "datetimeFormat"] as const) {
    const value = given[key];
    if (value === undefined) continue;
    if (typeof value !== "string" || !value.includes("%")) {
      throw wrong(
        `'${key}' must be a polars strftime format such as '%m/%d/%Y', got ${
          JSON.stringify(value)
        }`,
      );
    }
    try {
      formatPieces(value);
    } catch (error) {
      throw wrong(`'${key}': ${(error as Error).message}`);
    }
  }
  if (given.header !== undefined && typeof given.header !== "boolean") {
    throw wrong("'header' must be true or false");
  }
  return Object.freeze({
    ...given,
    ...(given.nullValues ? { nullValues: Object.freeze([...given.nullValues]) } : {}),
  });
}
