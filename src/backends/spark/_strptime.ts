/**
 * `str.strptime(dtype, format)` in Spark SQL with polars' meaning. nodejs-polars parses with
 * `strict=false, exact=false`: a value that does not parse is null, and the format may match
 * anywhere in the text. Polars tries chrono's parser at each character of the text in turn, keeps
 * the first place where a prefix parses to a valid date, and ignores what follows it.
 *
 * Spark's own parser (`to_timestamp`) does not follow chrono's rules (chrono skips whitespace
 * before a number, reads `%Y` as up to four digits or a signed number of any length, lets a space
 * in the format match any run of whitespace, and checks ranges as it goes), so the compiler
 * spells chrono's grammar for the format out as a regex: a lookahead finds every place where it
 * matches (`regexp_extract_all`), the fields of each match are checked as chrono checks them, and
 * the first valid one is the value. The regex is deterministic (possessive quantifiers), as
 * chrono's scanner is: it never backtracks into a number.
 *
 * @module
 */
import { stringLiteral } from "./_types.ts";

/** A field chrono reads from the text. */
type Field = "year" | "year2" | "month" | "day" | "hour" | "minute" | "second" | "fraction";

/** How one directive reads: its regex and the field its group holds. */
interface Piece {
  readonly regex: string;
  readonly field?: Field;
}

/** Whitespace, then one to `n` ASCII digits: chrono's unsigned numbers. */
function unsigned(field: Field, n: number): Piece {
  return { regex: `\\s*+([0-9]{1,${n}}+)`, field };
}

const DIRECTIVES: Readonly<Record<string, Piece>> = {
  // A sign makes the year a number of any length; without one, up to four digits.
  "%Y": { regex: "\\s*+(?:([+-])(?=[0-9])0*+([0-9]*+)|([0-9]{1,4}+))", field: "year" },
  "%y": unsigned("year2", 2),
  "%m": unsigned("month", 2),
  "%d": unsigned("day", 2),
  "%e": unsigned("day", 2),
  "%H": unsigned("hour", 2),
  "%M": unsigned("minute", 2),
  "%S": unsigned("second", 2),
  "%.f": { regex: "(?:\\.([0-9]{1,9}+)[0-9]*+|(?!\\.))", field: "fraction" },
  "%.3f": { regex: "(?:\\.([0-9]{3})|(?!\\.))", field: "fraction" },
  "%.6f": { regex: "(?:\\.([0-9]{6})|(?!\\.))", field: "fraction" },
  "%3f": { regex: "([0-9]{3})", field: "fraction" },
  "%6f": { regex: "([0-9]{6})", field: "fraction" },
  "%%": { regex: "%" },
};

const COMPOSITES: Readonly<Record<string, string>> = {
  "%F": "%Y-%m-%d",
  "%T": "%H:%M:%S",
  "%R": "%H:%M",
  "%D": "%m/%d/%y",
};

/** chrono's `NaiveDate` years. */
const MIN_YEAR = -262143;
const MAX_YEAR = 262142;

/** A regex that matches `text` literally, whitespace in it matching any run of whitespace. */
function literalRegex(text: string): string {
  let out = "";
  for (const ch of text) {
    // Rust's whitespace, which is Java's `\s` under `(?U)` (JavaScript's also holds U+FEFF).
    if (/^\s$/u.test(ch) && ch !== "\uFEFF") {
      if (!out.endsWith("\\s*+")) out += "\\s*+";
    } else out += /[\\^$.|?*+()[\]{}]/.test(ch) ? `\\${ch}` : ch;
  }
  return out;
}

/**
 * The SQL of `str.strptime(dtype, format)` with polars' meaning, or why Spark cannot give it.
 *
 * @param x the SQL of the string.
 * @param format the chrono format.
 * @param target `date`, or the datetime's unit (`ms`, `us`).
 * @returns the SQL (a `DATE` or a `TIMESTAMP_NTZ`), or the reason for a refusal.
 */
export function strptimeSql(
  x: string,
  format: string,
  target: "date" | "ms" | "us",
): { sql: string } | { unsupported: string } {
  const expanded = format.replace(/%(?:\.?[369]?f|:z|.?)/g, (d) => COMPOSITES[d] ?? d);
  let regex = "";
  const groups = new Map<Field, number>();
  let group = 0;
  for (const [token] of expanded.matchAll(/%(?:\.?[369]?f|:z|.?)|[^%]+/g)) {
    if (!token.startsWith("%")) {
      regex += literalRegex(token);
      continue;
    }
    const read = DIRECTIVES[token];
    if (read === undefined) return { unsupported: `directive '${token}'` };
    regex += read.regex;
    const field = read.field;
    if (field === undefined) continue;
    const taken = [...groups.keys()].some((f) =>
      f === field || (f.startsWith("year") && field.startsWith("year"))
    );
    if (taken) return { unsupported: `the ${field.replace("2", "")} given twice` };
    groups.set(field, group + 1);
    group += field === "year" ? 3 : 1;
  }
  const year = groups.has("year") || groups.has("year2");
  if (!year || !groups.has("month") || !groups.has("day")) {
    return { unsupported: "a format without a year, a month and a day (polars gives null)" };
  }
  const anchored = stringLiteral(`(?U)^${regex}`);
  const g = (field: Field, offset = 0) =>
    `regexp_extract(m, ${anchored}, ${groups.get(field)! + offset})`;
  const int = (field: Field) => groups.has(field) ? `CAST(${g(field)} AS INT)` : "0";
  const fields: [string, string][] = [
    [
      "y",
      groups.has("year")
        ? `CASE WHEN ${g("year")} = '' THEN CAST(${g("year", 2)} AS INT) WHEN length(${
          g("year", 1)
        }) > 6 THEN NULL ELSE (CASE WHEN ${g("year")} = '-' THEN -1 ELSE 1 END) * ` +
          `CAST(concat('0', ${g("year", 1)}) AS INT) END`
        : `(CASE WHEN ${int("year2")} < 70 THEN 2000 ELSE 1900 END + ${int("year2")})`,
    ],
    ["mo", int("month")],
    ["d", int("day")],
    ["h", int("hour")],
    ["mi", int("minute")],
    ["s", int("second")],
    ["f", groups.has("fraction") ? g("fraction") : "''"],
  ];
  const leap = "(pmod(p.y, 4) = 0 AND (pmod(p.y, 100) != 0 OR pmod(p.y, 400) = 0))";
  const lastDay = `CASE WHEN p.mo = 2 THEN CASE WHEN ${leap} THEN 29 ELSE 28 END ` +
    "WHEN p.mo IN (4, 6, 9, 11) THEN 30 ELSE 31 END";
  const valid = [
    `p.y BETWEEN ${MIN_YEAR} AND ${MAX_YEAR}`,
    "p.mo BETWEEN 1 AND 12",
    `p.d BETWEEN 1 AND ${lastDay}`,
    "p.h BETWEEN 0 AND 23",
    "p.mi BETWEEN 0 AND 59",
    // A second of 60 is a leap second: chrono reads it as the next minute's first second.
    "p.s BETWEEN 0 AND 60",
  ].join(" AND ");
  const date = "make_date(p.y, p.mo, p.d)";
  let value = date;
  if (target !== "date") {
    // chrono gives a time of day only when the hour and the minute are both in the format;
    // otherwise polars parses the date alone (the other fields are still checked) as midnight.
    const timed = groups.has("hour") && groups.has("minute");
    const fraction = !groups.has("fraction")
      ? "0"
      : target === "ms"
      ? `CAST(rpad(p.f, 3, '0') AS BIGINT) * 1000`
      : `CAST(rpad(p.f, 6, '0') AS BIGINT)`;
    value = timed
      ? `timestampadd(MICROSECOND, p.h * 3600000000L + p.mi * 60000000L + p.s * 1000000L + ` +
        `${fraction}, CAST(${date} AS TIMESTAMP_NTZ))`
      : `CAST(${date} AS TIMESTAMP_NTZ)`;
  }
  const parsed = `transform(regexp_extract_all(${x}, ${
    stringLiteral(`(?U)(?=(${regex}))`)
  }, 1), m -> named_struct(${fields.map(([k, v]) => `'${k}', ${v}`).join(", ")}))`;
  return {
    sql: `get(filter(transform(${parsed}, p -> CASE WHEN ${valid} THEN ${value} END), ` +
      `v -> v IS NOT NULL), 0)`,
  };
}
