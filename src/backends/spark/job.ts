/**
 * A Spark job as Glacier ships it: the task compiled to one Spark SQL query over named views, and
 * where its inputs and output live. The same JSON drives `spark-submit` on a self-managed Spark
 * and `StartJobRun` on EMR Serverless.
 *
 * @module
 */
import type { ArrowSpec } from "./_types.ts";

export type { ArrowSpec } from "./_types.ts";

import type { SparkChecks } from "./checks_sql.ts";

/** A column: its name and its Spark SQL type (`BIGINT`, `STRING`, `ARRAY<STRING>`, ...). */
export type SparkColumn = readonly [name: string, type: string];

/** Where a table is and how it is stored. */
export interface SparkTable {
  /** `s3://bucket/key` or a local path. */
  readonly uri: string;
  /** The file format, as Glacier names it. */
  readonly format: "parquet" | "csv" | "ndjson" | "ipc";
  /** The columns, in order. */
  readonly columns: readonly SparkColumn[];
  /** A CSV table's layout, when its bucket declares one. */
  readonly csv?: SparkCsv;
  /**
   * For a Parquet or Arrow IPC output: the Arrow type of each column as its bucket stores it,
   * which the runner casts Spark's result to (Spark has no unsigned integers and writes
   * microseconds).
   */
  readonly arrow?: readonly (readonly [name: string, type: ArrowSpec])[];
}

/** A CSV bucket's options in Spark's terms: datetime formats are Spark patterns. */
export interface SparkCsv {
  /** The field separator. */
  readonly separator?: string;
  /** The quote character, also used to escape itself (doubled). */
  readonly quote?: string;
  /** The text of a null field. */
  readonly nullValue?: string;
  /** `false` when the file has no header line. */
  readonly header?: boolean;
  /** Spark's pattern for DATE columns, such as `MM/dd/yyyy`. */
  readonly dateFormat?: string;
  /** Spark's pattern for TIMESTAMP and TIMESTAMP_NTZ columns. */
  readonly timestampFormat?: string;
}

/** One partition of an input read by partitions. */
export interface SparkPart {
  /** `s3://bucket/key` or a local path. */
  readonly uri: string;
  /** Its key values, by key. */
  readonly values: Readonly<Record<string, string>>;
}

/** One input: the view the SQL reads it as. */
export interface SparkInput extends SparkTable {
  /** The temporary view name the SQL refers to. */
  readonly view: string;
  /**
   * For an input read by partitions (one, a window, or every partition): each partition's file,
   * in order; the view is their rows one file after another. `uri` then names the bucket, for
   * messages.
   */
  readonly parts?: readonly SparkPart[];
  /**
   * The partition keys the task reads as columns: the last of `columns`, as STRING, each row
   * holding its partition's value (they are in no file).
   */
  readonly keys?: readonly string[];
}

/** A task compiled for Spark, with its bindings. */
export interface SparkJob {
  /** The job format's version. */
  readonly glacier: 1;
  /** The task's name. */
  readonly task: string;
  /** The query: reads the input views, yields the output columns in order. */
  readonly sql: string;
  /** The inputs, by the task's input name (`input` for single-source tasks). */
  readonly inputs: Readonly<Record<string, SparkInput>>;
  /** Where the output goes: one object or file, not a directory of parts. */
  readonly output: SparkTable;
  /** The target bucket's quality checks, which the runner runs on the file it wrote. */
  readonly checks?: SparkChecks;
}

/** One job of a batch, and the jobs before it whose output it reads. */
export interface SparkBatchUnit {
  /** The job. */
  readonly job: SparkJob;
  /**
   * The positions of the earlier units whose staged output it reads: when one of them failed it
   * does not run, and fails too.
   */
  readonly after?: readonly number[];
}

/**
 * Several jobs that the runner runs one after another in one Spark session (one `spark-submit`,
 * one EMR Serverless job run), each writing its own output and ending on its own: it answers
 * each unit's result or error in `units`.
 */
export interface SparkBatch {
  /** The job format's version. */
  readonly glacier: 1;
  /**
   * The batch's name, unique in its run (its first task and a sequence number): it names the
   * Spark application and, on EMR Serverless, the job run and its files.
   */
  readonly task: string;
  /** The units, in the order they run. */
  readonly units: readonly SparkBatchUnit[];
}
