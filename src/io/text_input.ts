/**
 * Text inputs read as declared: a CSV file's columns by header name (in any order), every line
 * with the right number of fields, dates in the bucket's format, and NDJSON objects with no key
 * the schema lacks. The checks stream through the file in fixed-size chunks and never hold it in
 * memory.
 *
 * @module
 */
import pl from "../polars.ts";
import { SchemaMismatchError, StorageError } from "../core/errors.ts";
import type { CsvOptions } from "../core/lineage.ts";
import type { Schema } from "../schema/schema.ts";

/** The options polars' CSV sink takes. */
export type CsvWriterOptions = NonNullable<Parameters<pl.LazyDataFrame["sinkCSV"]>[1]>;

/** Bytes read at a time by the streaming checks. */
const CHUNK = 1 << 20;
const NEWLINE = 0x0a;
const RETURN = 0x0d;
const BOM = [0xef, 0xbb, 0xbf];
const SEPARATOR = 1;
const QUOTE = 2;
const LINE_END = 3;
const CARRIAGE_RETURN = 4;

/** What the checks say about a file: its name for messages and the bucket it belongs to. */
export interface TextSource {
  /** The bucket's `bucket/path`. */
  readonly location: string;
  /** Where the data comes from: a path or an `s3://` URI. */
  readonly uri: string;
}

/**
 * Checks a CSV file against a bucket's schema: the header names every declared column once and no
 * other (in any order; a UTF-8 byte order mark is skipped), and every line has one field per
 * column. One pass over the file, a chunk at a time.
 *
 * @param path the local file.
 * @param declared the bucket's schema.
 * @param csv the bucket's CSV options.
 * @param source the bucket and where the file comes from, for messages.
 * @returns the columns in the file's order.
 * @throws {SchemaMismatchError} naming the file and each missing, unknown or repeated column.
 * @throws {StorageError} naming the file and the first line with too few or too many fields.
 */
export function checkCsvFile(
  path: string,
  declared: Schema,
  csv: CsvOptions,
  source: TextSource,
): string[] {
  const expected = Object.keys(declared);
  const header = csv.header ?? true;
  let columns = expected;
  if (header) {
    const records = csvRecords(path, csv);
    const first = records.next();
    records.return(undefined);
    if (first.done) {
      throw new StorageError(
        `bucket '${source.location}' data at ${source.uri} is empty: a CSV file needs a header line naming its columns (${
          expected.join(", ")
        })`,
      );
    }
    columns = first.value.fields;
    const issues = headerIssues(columns, expected);
    if (issues.length > 0) {
      throw new SchemaMismatchError(
        `bucket '${source.location}' data at ${source.uri}: the CSV header ${
          issues.join("; ")
        }; its header is '${columns.join(csv.separator ?? ",")}'`,
      );
    }
  }
  const bad = firstBadRecord(path, csv, columns.length, header);
  if (bad !== undefined) {
    const found = bad.empty
      ? "is empty (polars would read it as a row of nulls)"
      : `has ${bad.count} field${bad.count === 1 ? "" : "s"}`;
    throw new StorageError(
      `bucket '${source.location}' data at ${source.uri}: line ${bad.line} ${found} but the ${
        header ? "header has" : "schema declares"
      } ${columns.length} columns${
        bad.unterminated ? ", and a quoted field there is never closed" : ""
      }; ` +
        "fix or remove that line",
    );
  }
  return columns;
}

function headerIssues(columns: readonly string[], expected: readonly string[]): string[] {
  const issues: string[] = [];
  const seen = new Set<string>();
  for (const name of columns) {
    if (seen.has(name)) issues.push(`names column '${name}' twice`);
    seen.add(name);
  }
  const unknown = columns.filter((c) => !expected.includes(c));
  const missing = expected.filter((c) => !seen.has(c));
  if (missing.length > 0) {
    issues.push(`lacks column ${missing.map((c) => `'${c}'`).join(", ")} that the schema declares`);
  }
  if (unknown.length > 0) {
    issues.push(
      `has column ${unknown.map((c) => `'${c}'`).join(", ")} that the schema does not declare`,
    );
  }
  return issues;
}

/** A record whose field count is wrong, or whose quote is never closed. */
interface BadRecord {
  readonly line: number;
  readonly count: number;
  readonly empty: boolean;
  readonly unterminated: boolean;
}

/**
 * The first record of a CSV file with another number of fields than `expected`, or with a quoted
 * field never closed: one tight pass over the bytes, a chunk at a time, decoding nothing. Quoted
 * fields may hold separators and newlines; a doubled quote inside one is a quote. An empty line is
 * a record of one empty field, as polars reads it (a row of nulls).
 */
function firstBadRecord(
  path: string,
  csv: CsvOptions,
  expected: number,
  skipHeader: boolean,
): BadRecord | undefined {
  // One class per byte value, so that the common byte costs one load and one test.
  const classes = new Uint8Array(256);
  classes[(csv.separator ?? ",").charCodeAt(0)] = SEPARATOR;
  classes[(csv.quote ?? '"').charCodeAt(0)] = QUOTE;
  classes[NEWLINE] = LINE_END;
  classes[RETURN] = CARRIAGE_RETURN;
  let line = 1;
  let start = 1;
  let count = 1;
  let quoted = false;
  let empty = true;
  let skip = skipHeader;
  for (const chunk of chunks(path)) {
    for (let i = 0; i < chunk.length; i++) {
      const kind = classes[chunk[i]];
      if (kind === 0) {
        empty = false;
      } else if (quoted) {
        if (kind === QUOTE) quoted = false;
        else if (kind === LINE_END) line++;
      } else if (kind === SEPARATOR) {
        count++;
        empty = false;
      } else if (kind === LINE_END) {
        if (skip) skip = false;
        else if (count !== expected) return { line: start, count, empty, unterminated: false };
        line++;
        start = line;
        count = 1;
        empty = true;
      } else if (kind === QUOTE) {
        quoted = true;
        empty = false;
      }
    }
  }
  if ((!empty || quoted) && !skip && (count !== expected || quoted)) {
    return { line: start, count, empty: false, unterminated: quoted };
  }
  return undefined;
}

/** One CSV record: the line it starts on, its field count, and its decoded fields. */
interface CsvRecord {
  readonly line: number;
  readonly count: number;
  /** Every field of the first record; of later ones, only the field at the picked index. */
  readonly fields: string[];
  readonly unterminated: boolean;
}

/**
 * The records of a CSV file, read a chunk at a time. The first record's fields are decoded (the
 * header); of later records only the field at index `pick`, if given, and their field counts.
 * Quoted fields may hold separators and newlines; a doubled quote inside one is a quote. An empty
 * line is a record of one empty field.
 */
function* csvRecords(path: string, csv: CsvOptions, pick = -1): Generator<CsvRecord> {
  const sep = (csv.separator ?? ",").charCodeAt(0);
  const quote = (csv.quote ?? '"').charCodeAt(0);
  const decoder = new TextDecoder();
  let line = 1;
  let start = 1;
  let count = 1;
  let quoted = false;
  let empty = true;
  let first = true;
  let field: number[] = [];
  let fields: string[] = [];
  const keep = () => first || count - 1 === pick;
  const close = () => {
    if (keep()) fields.push(unquote(decoder.decode(new Uint8Array(field)), csv.quote ?? '"'));
    if (field.length > 0) field = [];
  };
  for (const chunk of chunks(path)) {
    for (const byte of chunk) {
      if (byte === quote) {
        quoted = !quoted;
        empty = false;
        if (keep()) field.push(byte);
      } else if (quoted) {
        if (byte === NEWLINE) line++;
        if (keep()) field.push(byte);
      } else if (byte === sep) {
        close();
        count++;
        empty = false;
      } else if (byte === NEWLINE) {
        close();
        yield { line: start, count, fields, unterminated: false };
        first = false;
        fields = [];
        line++;
        start = line;
        count = 1;
        empty = true;
      } else if (byte !== RETURN) {
        empty = false;
        if (keep()) field.push(byte);
      }
    }
  }
  if (!empty || quoted) {
    close();
    yield { line: start, count, fields, unterminated: quoted };
  }
}

/**
 * A file's bytes, a chunk at a time into one reused buffer (each chunk is valid until the next),
 * without a leading UTF-8 byte order mark.
 */
function* chunks(path: string): Generator<Uint8Array> {
  const file = Deno.openSync(path, { read: true });
  try {
    const buffer = new Uint8Array(CHUNK);
    let first = true;
    for (;;) {
      const n = file.readSync(buffer);
      if (n === null || n === 0) return;
      const bom = first && n >= 3 && BOM.every((b, k) => buffer[k] === b);
      first = false;
      yield buffer.subarray(bom ? 3 : 0, n);
    }
  } finally {
    file.close();
  }
}

/** Where a lazy frame's CSV data comes from, so that a parse error can be traced to a line. */
interface CsvOrigin {
  readonly path: string;
  readonly uri: string;
  readonly csv: CsvOptions;
  readonly columns: readonly string[];
}

const origins = new WeakMap<pl.LazyDataFrame, CsvOrigin>();

/**
 * Remembers the CSV file a scan reads, for {@linkcode locateParseError}.
 *
 * @param frame the scan.
 * @param path the local file.
 * @param uri where the data comes from, for messages (the path, or an `s3://` URI).
 * @param csv the bucket's CSV options.
 * @param columns the file's columns in order.
 * @returns the frame.
 */
export function rememberCsvOrigin(
  frame: pl.LazyDataFrame,
  path: string,
  uri: string,
  csv: CsvOptions,
  columns: readonly string[],
): pl.LazyDataFrame {
  origins.set(frame, { path, uri, csv, columns });
  return frame;
}

const PARSE_ERRORS = [
  /could not parse `(?<value>.*?)` as dtype `.*?` at column '(?<column>.*?)'/,
  /conversion from `str` to `.*?` failed in column '(?<column>.*?)' for \d+ out of \d+ values: \[(?<json>".*?")[,\]]/,
];

/**
 * When polars failed to parse a value of a CSV input, says on which line of which file it is:
 * the file is searched, a chunk at a time, for the first record whose field in that column holds
 * the value polars names. Costs nothing unless a read failed.
 *
 * @param inputs the scans a step read, as returned by `scanValidated`.
 * @param error what polars threw.
 * @returns `value 'x' of column 'c' is on line N of FILE`, or `undefined` when it cannot tell.
 */
export function locateParseError(
  inputs: Iterable<pl.LazyDataFrame>,
  error: unknown,
): string | undefined {
  const message = error instanceof Error ? error.message : String(error);
  const match = PARSE_ERRORS.map((re) => re.exec(message)?.groups).find((g) => g !== undefined);
  if (match === undefined) return undefined;
  let value: string;
  try {
    value = match.value ?? JSON.parse(match.json);
  } catch {
    return undefined;
  }
  for (const frame of inputs) {
    const origin = origins.get(frame);
    const index = origin?.columns.indexOf(match.column) ?? -1;
    if (origin === undefined || index < 0) continue;
    try {
      const records = csvRecords(origin.path, origin.csv, index);
      if (origin.csv.header ?? true) records.next();
      for (const record of records) {
        if (record.fields[0] === value) {
          const at =
            `value '${value}' of column '${match.column}' is on line ${record.line} of ${origin.uri}`;
          const temporal = /conversion from `str` to `(date|datetime)/.exec(message)?.[1];
          if (temporal === undefined) return at;
          const option = temporal === "date" ? "dateFormat" : "datetimeFormat";
          const declared = origin.csv[option];
          return declared === undefined
            ? `${at}; dates are read as ISO 8601 unless the bucket declares its format: ` +
              `provider.bucket({ ..., csv: { ${option}: "..." } }) in polars' strftime syntax`
            : `${at}, which does not match the bucket's ${option} '${declared}'`;
        }
      }
    } catch {
      continue;
    }
  }
  return undefined;
}

/**
 * A failed read of a CSV bucket, with the line of the value polars could not parse when it can
 * tell: `scan` reads the data again for the search, only when the read failed on a value.
 *
 * @param error what the read threw.
 * @param scan a fresh validated scan of the same data.
 * @returns the error to throw: the same one, or a {@linkcode StorageError} that also names the line.
 */
export async function withParseLocation(
  error: unknown,
  scan: () => Promise<pl.LazyDataFrame>,
): Promise<unknown> {
  if (!(error instanceof StorageError) || !PARSE_ERRORS.some((re) => re.test(error.message))) {
    return error;
  }
  const frame = await scan().catch(() => undefined);
  const where = frame && locateParseError([frame], error);
  return where === undefined ? error : new StorageError(`${error.message}; ${where}`, {
    cause: error,
  });
}

function unquote(text: string, quote: string): string {
  if (text.length >= 2 && text.startsWith(quote) && text.endsWith(quote)) {
    return text.slice(1, -1).replaceAll(quote + quote, quote);
  }
  return text;
}

/**
 * A lazy scan of a CSV file with a bucket's options: fields by the given column order, dates and
 * datetimes parsed strictly, in the bucket's formats or else in ISO 8601 (a value that does not
 * match fails the read, naming the column and the value, rather than being guessed at: polars on
 * its own reads `03/05/2025` day-first).
 *
 * @param path the local file.
 * @param declared the bucket's schema.
 * @param csv the bucket's CSV options.
 * @param columns the file's columns in order (default: the schema's order).
 * @returns the lazy frame, columns in the file's order.
 */
export function scanCsv(
  path: string,
  declared: Schema,
  csv: CsvOptions = {},
  columns: readonly string[] = Object.keys(declared),
): pl.LazyDataFrame {
  const temporal = columns.filter((c) => formatsFor(declared[c], csv) !== undefined);
  const schema = Object.fromEntries(
    columns.map((c) => [c, temporal.includes(c) ? pl.String : declared[c]]),
  );
  const frame = pl.scanCSV(path, {
    schema,
    hasHeader: csv.header ?? true,
    sep: csv.separator ?? ",",
    quoteChar: csv.quote ?? '"',
    ...(csv.nullValues ? { nullValues: [...csv.nullValues] } : {}),
  });
  if (temporal.length === 0) return frame;
  return frame.withColumns(
    ...temporal.map((c) => parseTemporal(c, declared[c], formatsFor(declared[c], csv)!)),
  );
}

/** ISO 8601 as polars and Spark write it, with `T` or a space, fractions optional. */
const ISO_DATETIMES = ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"];

/** The formats a date or datetime column is read in: the bucket's, else ISO 8601's. */
function formatsFor(dtype: pl.DataType, csv: CsvOptions): readonly string[] | undefined {
  if (dtype.variant === "Date") return [csv.dateFormat ?? "%Y-%m-%d"];
  if (dtype.variant !== "Datetime") return undefined;
  if (csv.datetimeFormat !== undefined) return [csv.datetimeFormat];
  const zoned = (dtype as unknown as { timeZone?: string }).timeZone !== undefined;
  return zoned ? [...ISO_DATETIMES.map((f) => `${f}%#z`), ...ISO_DATETIMES] : ISO_DATETIMES;
}

/**
 * Parses a string column in the first of several formats each value matches; a value that matches
 * none fails the read with polars' own error, which names the column and the value.
 */
function parseTemporal(column: string, dtype: pl.DataType, formats: readonly string[]): pl.Expr {
  const raw = pl.col(column);
  if (formats.length === 1) return parse(raw, dtype, formats[0], true).alias(column);
  const any = formats.map((f) => parse(raw, dtype, f, false)).reduce((a, b) => a.fillNull(b));
  const unmatched = pl.when(any.isNull().and(raw.isNotNull())).then(raw).otherwise(pl.lit(null));
  return any.fillNull(parse(unmatched, dtype, formats[0], true)).alias(column);
}

/**
 * nodejs-polars' `str.strptime` is never strict (a value that does not match becomes null), so this
 * calls the same native function with `strict` as asked and `exact` set.
 */
function parse(value: pl.Expr, dtype: pl.DataType, format: string, strict: boolean): pl.Expr {
  // deno-lint-ignore no-explicit-any
  const native = (value as any)._expr;
  // deno-lint-ignore no-explicit-any
  const wrap = (pl as any)._Expr as (e: unknown) => pl.Expr;
  if (dtype.variant === "Date") return wrap(native.strToDate(format, strict, true, false));
  const { timeUnit, timeZone } = dtype as unknown as { timeUnit?: string; timeZone?: string };
  return wrap(
    native.strToDatetime(format, timeUnit ?? "us", timeZone, strict, true, false, undefined),
  ).cast(dtype);
}

/**
 * The options polars' CSV sink takes for a bucket's CSV options.
 *
 * @param csv the bucket's CSV options.
 * @returns the sink options.
 */
export function csvWriteOptions(csv: CsvOptions = {}): CsvWriterOptions {
  return {
    includeHeader: csv.header ?? true,
    ...(csv.separator ? { separator: csv.separator } : {}),
    ...(csv.quote ? { quoteChar: csv.quote } : {}),
    ...(csv.nullValues?.length ? { nullValue: csv.nullValues[0] } : {}),
    ...(csv.dateFormat ? { dateFormat: csv.dateFormat } : {}),
    ...(csv.datetimeFormat ? { datetimeFormat: csv.datetimeFormat } : {}),
  };
}

/**
 * Checks that an NDJSON file's objects have no key the schema lacks and every key it declares:
 * one pass over the bytes, a chunk at a time, that follows strings and nesting to find each
 * line's top-level keys and compares their raw bytes with the declared ones (through a hash, so
 * that a known key is never decoded).
 *
 * @param path the local file.
 * @param declared the bucket's schema.
 * @param source the bucket and where the file comes from, for messages.
 * @throws {SchemaMismatchError} naming the file, the unknown or missing keys, and a line.
 */
export function checkNdjsonFile(path: string, declared: Schema, source: TextSource): void {
  const expected = Object.keys(declared);
  const { seen, unknown } = topLevelKeys(path, expected);
  const missing = expected.filter((_, i) => seen[i] === 0);
  const issues: string[] = [];
  if (unknown.size > 0) {
    const [first, line] = unknown.entries().next().value!;
    const where = unknown.size === 1 ? `first on line ${line}` : `'${first}' first on line ${line}`;
    issues.push(
      `has key ${
        [...unknown.keys()].map((k) => `'${k}'`).join(", ")
      } that the schema does not declare (${where})`,
    );
  }
  if (missing.length > 0) {
    issues.push(
      `never has key ${missing.map((k) => `'${k}'`).join(", ")} that the schema declares`,
    );
  }
  if (issues.length > 0) {
    throw new SchemaMismatchError(
      `bucket '${source.location}' data at ${source.uri}: the NDJSON ${
        issues.join("; ")
      }; fix the keys or the schema`,
    );
  }
}

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
const [J_QUOTE, J_BACKSLASH, J_COMMA, J_COLON, J_OPEN_OBJECT, J_OPEN_ARRAY, J_CLOSE, J_NEWLINE] = [
  1,
  2,
  3,
  4,
  5,
  6,
  7,
  8,
];
/** The class of each byte value for the NDJSON key scan; 0 for every byte that changes nothing. */
const JSON_CLASSES = new Uint8Array(256);
for (
  const [chars, kind] of [
    ['"', J_QUOTE],
    ["\\", J_BACKSLASH],
    [",", J_COMMA],
    [":", J_COLON],
    ["{", J_OPEN_OBJECT],
    ["[", J_OPEN_ARRAY],
    ["}]", J_CLOSE],
    ["\n", J_NEWLINE],
  ] as const
) {
  for (const c of chars) JSON_CLASSES[c.charCodeAt(0)] = kind;
}

function grown(buffer: Uint8Array): Uint8Array {
  const bigger = new Uint8Array(buffer.length * 2);
  bigger.set(buffer);
  return bigger;
}

function sameBytes(bytes: Uint8Array, buffer: Uint8Array, length: number): boolean {
  if (bytes.length !== length) return false;
  for (let i = 0; i < length; i++) if (bytes[i] !== buffer[i]) return false;
  return true;
}

function fnv(bytes: Uint8Array): number {
  let hash = FNV_OFFSET;
  for (const byte of bytes) hash = Math.imul(hash ^ byte, FNV_PRIME);
  return hash >>> 0;
}

/**
 * The top-level keys of every line of an NDJSON file: which declared ones appear (`seen[i]` is 1
 * for `expected[i]`), and each other key with the line it first appears on.
 */
function topLevelKeys(
  path: string,
  expected: readonly string[],
): { seen: Uint8Array; unknown: Map<string, number> } {
  const encoder = new TextEncoder();
  const encoded = expected.map((name) => encoder.encode(JSON.stringify(name).slice(1, -1)));
  const known = new Map<number, number>();
  encoded.forEach((bytes, index) => {
    if (!known.has(fnv(bytes))) known.set(fnv(bytes), index);
  });
  const seen = new Uint8Array(expected.length);
  const unknown = new Map<string, number>();
  const decoder = new TextDecoder();
  let key: Uint8Array = new Uint8Array(256);
  let length = 0;
  let hash = FNV_OFFSET;
  let line = 1;
  let depth = 0;
  let inString = false;
  let escaped = false;
  let inKey = false;
  let expectKey = false;
  const finishKey = () => {
    const index = known.get(hash >>> 0);
    if (index !== undefined && sameBytes(encoded[index], key, length)) {
      seen[index] = 1;
      return;
    }
    const raw = decoder.decode(key.subarray(0, length));
    let name = raw;
    try {
      name = JSON.parse(`"${raw}"`);
    } catch {
      // Not a valid JSON string: polars will refuse the line; name it as written.
    }
    const declared = expected.indexOf(name);
    if (declared >= 0) seen[declared] = 1;
    else if (!unknown.has(name)) unknown.set(name, line);
  };
  for (const chunk of chunks(path)) {
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i];
      const kind = JSON_CLASSES[byte];
      if (inString) {
        if (escaped) {
          escaped = false;
        } else if (kind === J_BACKSLASH) {
          escaped = true;
        } else if (kind === J_QUOTE) {
          inString = false;
          if (inKey) finishKey();
          continue;
        }
        if (inKey) {
          if (length === key.length) key = grown(key);
          key[length++] = byte;
          hash = Math.imul(hash ^ byte, FNV_PRIME);
        }
      } else if (kind === 0) {
        continue;
      } else if (kind === J_QUOTE) {
        inString = true;
        inKey = depth === 1 && expectKey;
        length = 0;
        hash = FNV_OFFSET;
      } else if (kind === J_COLON) {
        expectKey = false;
      } else if (kind === J_COMMA) {
        expectKey = depth === 1;
      } else if (kind === J_OPEN_OBJECT) {
        depth++;
        expectKey = depth === 1;
      } else if (kind === J_OPEN_ARRAY) {
        depth++;
      } else if (kind === J_CLOSE) {
        depth--;
      } else if (kind === J_NEWLINE) {
        line++;
        depth = 0;
      }
    }
  }
  return { seen, unknown };
}
