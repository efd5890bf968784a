/**
 * The words of every wiring error. Each function here has a twin at the type level in
 * `checks.ts` (or, for quality checks, in `../core/checks.ts`) that prints the same sentence, so
 * `deno check` and `glacier check` agree.
 *
 * @module
 */

/** Messages about wiring buckets, tasks and pipelines, shared by type checks and run-time checks. */
export const messages = {
  /** A bucket given to a task lacks a column the task reads. */
  missingInputColumn(bucket: string, column: string, task: string, input?: string): string {
    const given = input === undefined ? "" : ` given as '${input}'`;
    return `bucket '${bucket}'${given} lacks column '${column}' that task '${task}' reads`;
  },
  /** A bucket given to a task has a column of another dtype. */
  inputDtype(bucket: string, column: string, have: string, task: string, want: string): string {
    return `column '${column}' of bucket '${bucket}' is ${have} but task '${task}' reads ${want}`;
  },
  /** A struct column given to a task has a field of another dtype. */
  inputFieldDtype(
    bucket: string,
    column: string,
    field: string,
    have: string,
    task: string,
    want: string,
  ): string {
    return `field '${field}' of column '${column}' of bucket '${bucket}' is ${have} but task '${task}' reads ${want}`;
  },
  /** A struct column given to a task lacks a field the task reads. */
  missingInputField(bucket: string, column: string, field: string, task: string): string {
    return `column '${column}' of bucket '${bucket}' lacks field '${field}' that task '${task}' reads`;
  },
  /** A struct column given to a task has a field the task does not read (struct dtypes must match). */
  extraInputField(bucket: string, column: string, field: string, task: string): string {
    return `column '${column}' of bucket '${bucket}' has field '${field}' that task '${task}' does not read`;
  },
  /** A task writes a struct field with another dtype than the target bucket declares. */
  outputFieldDtype(
    column: string,
    field: string,
    out: string,
    task: string,
    have: string,
    bucket: string,
  ): string {
    return `field '${field}' of column '${column}' is ${out} in the output of task '${task}' but ${have} in bucket '${bucket}'`;
  },
  /** A task writes a struct field the target bucket does not declare. */
  extraOutputField(task: string, column: string, field: string, bucket: string): string {
    return `task '${task}' writes field '${field}' of column '${column}' that bucket '${bucket}' does not have`;
  },
  /** A target bucket's struct column has a field the task does not write. */
  missingOutputField(bucket: string, column: string, field: string, task: string): string {
    return `column '${column}' of bucket '${bucket}' has field '${field}' that task '${task}' does not write`;
  },
  /** A task writes a column the target bucket does not declare. */
  extraOutputColumn(task: string, column: string, bucket: string): string {
    return `task '${task}' writes column '${column}' that bucket '${bucket}' does not have`;
  },
  /** A target bucket declares a column the task does not write. */
  missingOutputColumn(bucket: string, column: string, task: string): string {
    return `bucket '${bucket}' has column '${column}' that task '${task}' does not write`;
  },
  /** A task writes a column with another dtype than the target bucket declares. */
  outputDtype(column: string, out: string, task: string, have: string, bucket: string): string {
    return `column '${column}' is ${out} in the output of task '${task}' but ${have} in bucket '${bucket}'`;
  },
  /** A `Pipeline` names an input the task does not declare. */
  unknownInput(task: string, input: string): string {
    return `task '${task}' has no input named '${input}'`;
  },
  /** A task declares an input the `Pipeline` does not give. */
  missingInput(task: string, input: string): string {
    return `task '${task}' needs input '${input}', which the Pipeline does not give`;
  },
  /** A multi-source task was given to a single bucket. */
  needsPipeline(task: string): string {
    return `task '${task}' takes named inputs: use new Pipeline({ ... }).transform(task)`;
  },
  /** A single-source task was given to a `Pipeline`. */
  needsBucket(task: string): string {
    return `task '${task}' takes one input: use bucket.transform(task)`;
  },
  /** A bucket path has a `{placeholder}` that names no partition key. */
  placeholderWithoutKey(bucket: string, key: string): string {
    return `path of bucket '${bucket}' has placeholder '{${key}}' but no partition key '${key}'`;
  },
  /** A partition key has no `{placeholder}` in the bucket's path. */
  keyWithoutPlaceholder(bucket: string, key: string): string {
    return `partition key '${key}' of bucket '${bucket}' has no placeholder '{${key}}' in its path`;
  },
  /** A partition key has the name of a schema column. */
  keyIsColumn(bucket: string, key: string): string {
    return `partition key '${key}' of bucket '${bucket}' is also a column of its schema; rename one (reading every partition adds the key as a column)`;
  },
  /** A partitioned input feeds a target partitioned without one of its keys. */
  keyNotInTarget(source: string, key: string, target: string, task: string): string {
    return `bucket '${source}' is partitioned by '${key}' but bucket '${target}' that task '${task}' writes is not; give them the same keys, or leave the target unpartitioned to read every partition as one frame`;
  },
  /** A partitioned target is fed by a partitioned input without one of its keys. */
  keyNotInSource(target: string, key: string, source: string, task: string): string {
    return `bucket '${target}' that task '${task}' writes is partitioned by '${key}' but bucket '${source}' that it reads is not; give them the same keys, or leave the input unpartitioned to read it whole`;
  },
  /** A key of one kind feeds a key of another kind (daily into monthly, say). */
  keyKindDiffers(
    key: string,
    source: string,
    have: string,
    target: string,
    want: string,
    task: string,
  ): string {
    return `partition key '${key}' is ${have} in bucket '${source}' but ${want} in bucket '${target}' that task '${task}' writes; only the same partitions map to each other`;
  },
  /** Stored data lacks a column that the bucket's schema declares. */
  dataMissingColumn(bucket: string, column: string, want: string, uri: string): string {
    return `bucket '${bucket}' data at ${uri} lacks column '${column}' (${want}) that its schema declares`;
  },
  /** Stored data has a column of another dtype than the bucket's schema declares. */
  dataDtype(bucket: string, column: string, have: string, want: string, uri: string): string {
    return `column '${column}' of bucket '${bucket}' is ${have} in ${uri} but the schema declares ${want}`;
  },
  /** A quality check names a column the bucket does not have. */
  checkMissingColumn(bucket: string, column: string, check: string): string {
    return `bucket '${bucket}' lacks column '${column}' that check '${check}' reads`;
  },
  /** A quality check names a column whose dtype it cannot compare. */
  checkDtype(column: string, bucket: string, dtype: string, check: string): string {
    return `column '${column}' of bucket '${bucket}' is ${dtype}, which check '${check}' cannot compare`;
  },
} as const;
