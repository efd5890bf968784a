/**
 * A CSV bucket's options as Spark's CSV reader and writer take them: polars' strftime formats
 * become Spark datetime patterns, and what Spark cannot express is refused by name before a job
 * starts.
 *
 * @module
 */
import { UnsupportedError } from "../../core/errors.ts";
import type { BucketRef } from "../../core/lineage.ts";
import { formatOf } from "../../io/file_format.ts";
import { formatPieces } from "../../io/strftime.ts";
import type { SparkCsv } from "./job.ts";

/** polars (chrono) directives and the Spark datetime pattern letters that print and parse alike. */
const PATTERNS: Readonly<Record<string, string>> = {
  "%Y": "yyyy",
  "%y": "yy",
  "%m": "MM",
  "%b": "MMM",
  "%h": "MMM",
  "%B": "MMMM",
  "%d": "dd",
  "%a": "EEE",
  "%A": "EEEE",
  "%j": "DDD",
  "%H": "HH",
  "%I": "hh",
  "%M": "mm",
  "%S": "ss",
  "%p": "a",
  "%.3f": ".SSS",
  "%.6f": ".SSSSSS",
  "%3f": "SSS",
  "%6f": "SSSSSS",
  "%z": "xx",
  "%:z": "xxx",
  "%F": "yyyy-MM-dd",
  "%T": "HH:mm:ss",
  "%D": "MM/dd/yy",
  "%R": "HH:mm",
  "%%": "%",
};

/**
 * A polars strftime format as a Spark datetime pattern.
 *
 * @param format the format, such as `%m/%d/%Y %H:%M`.
 * @returns the pattern, such as `MM/dd/yyyy HH:mm`, or the directive Spark cannot express.
 */
export function sparkPattern(format: string): { pattern: string } | { unsupported: string } {
  let pattern = "";
  for (const piece of formatPieces(format)) {
    if ("literal" in piece) {
      pattern += /^[-/:., _]*$/.test(piece.literal)
        ? piece.literal
        : `'${piece.literal.replaceAll("'", "''")}'`;
      continue;
    }
    const letters = PATTERNS[piece.directive];
    if (letters === undefined) return { unsupported: piece.directive };
    pattern += letters;
  }
  return { pattern };
}

/**
 * The Spark CSV options of a bucket a Spark task reads or writes.
 *
 * @param task the task's name, for messages.
 * @param ref the bucket.
 * @returns the options, or `undefined` when the bucket is not CSV or has none.
 * @throws {UnsupportedError} naming the task, the bucket, the option and what Spark lacks.
 */
export function sparkCsvOptions(task: string, ref: BucketRef): SparkCsv | undefined {
  const csv = ref.csv;
  if (csv === undefined || formatOf(ref.path) !== "csv") return undefined;
  const refuse = (what: string) =>
    new UnsupportedError(
      `task '${task}' runs on Spark, but bucket '${ref.location}' csv option ${what}; ` +
        "change the option or declare the task on provider.local() or provider.serverless()",
    );
  if ((csv.nullValues?.length ?? 0) > 1) {
    throw refuse(
      `'nullValues' has ${csv.nullValues!.length} values and Spark reads one null value per file`,
    );
  }
  const patterns: Record<string, string> = {};
  for (
    const [option, key] of [["dateFormat", "dateFormat"], ["datetimeFormat", "timestampFormat"]]
  ) {
    const format = csv[option as "dateFormat" | "datetimeFormat"];
    if (format === undefined) continue;
    const mapped = sparkPattern(format);
    if ("unsupported" in mapped) {
      throw refuse(
        `'${option}' '${format}' has directive '${mapped.unsupported}', which Spark's datetime ` +
          "patterns cannot express",
      );
    }
    patterns[key] = mapped.pattern;
  }
  return {
    ...(csv.separator ? { separator: csv.separator } : {}),
    ...(csv.quote ? { quote: csv.quote } : {}),
    ...(csv.nullValues?.length ? { nullValue: csv.nullValues[0] } : {}),
    ...(csv.header === false ? { header: false } : {}),
    ...patterns,
  };
}
