/**
 * polars' strftime format strings (chrono's syntax), split into directives and literal text, so
 * that they can be checked when a bucket is declared and translated for other engines.
 *
 * @module
 */

/** One piece of a format: a directive such as `%Y`, or literal text. */
export type FormatPiece = { readonly directive: string } | { readonly literal: string };

/** The directives chrono parses and formats that Glacier accepts in a bucket's CSV options. */
const DIRECTIVES = new Set([
  "%Y",
  "%y",
  "%m",
  "%b",
  "%B",
  "%h",
  "%d",
  "%e",
  "%a",
  "%A",
  "%j",
  "%H",
  "%I",
  "%M",
  "%S",
  "%p",
  "%f",
  "%.f",
  "%.3f",
  "%.6f",
  "%.9f",
  "%3f",
  "%6f",
  "%9f",
  "%z",
  "%:z",
  "%Z",
  "%F",
  "%T",
  "%D",
  "%R",
  "%%",
]);

/**
 * Splits a strftime format into directives and literal text.
 *
 * @param format the format, such as `%m/%d/%Y %H:%M`.
 * @returns its pieces, in order.
 * @throws {TypeError} naming the first directive chrono does not know or Glacier does not accept.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatPieces } from "./strftime.ts";
 * assert.equal(formatPieces("%d.%m.%Y").length, 5);
 * ```
 */
export function formatPieces(format: string): FormatPiece[] {
  const pieces: FormatPiece[] = [];
  let literal = "";
  for (let i = 0; i < format.length; i++) {
    if (format[i] !== "%") {
      literal += format[i];
      continue;
    }
    const directive = /^%(?:\.?[369]?f|:z|.)/.exec(format.slice(i))?.[0] ?? "%";
    if (!DIRECTIVES.has(directive)) {
      throw new TypeError(
        `format '${format}' has directive '${directive}', which Glacier does not accept; use ` +
          "polars' strftime directives such as %Y %m %d %H %M %S %.f %z",
      );
    }
    if (literal !== "") pieces.push({ literal });
    literal = "";
    pieces.push({ directive });
    i += directive.length - 1;
  }
  if (literal !== "") pieces.push({ literal });
  return pieces;
}
