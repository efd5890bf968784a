/**
 * Buckets and the fluent chain: `bucket.transform(task).to(bucket)`.
 *
 * @module
 */
import type pl from "../polars.ts";
import type { ExactErrors, FeedErrors } from "../schema/checks.ts";
import { messages } from "../schema/messages.ts";
import { exactIssues, feedIssues, type Schema } from "../schema/schema.ts";
import { t } from "../schema/dtypes.ts";
import { UnsupportedError, WiringError } from "./errors.ts";
import { buildGraph, type PipelineGraph } from "./graph.ts";
import { type BucketRef, type Lineage, mergeLineage, type Step } from "./lineage.ts";
import type { MappingErrors } from "./partition_checks.ts";
import { mappingIssues } from "./partition_map.ts";
import type { PartitionKeys, PartitionValues, TimePartitions } from "./partitions.ts";
import type {
  Analysis,
  AnalyzeOptions,
  CheckOptions,
  CheckReport,
  ExecuteOptions,
  GenerateOptions,
  GenerateReport,
  PlanOptions,
  PlanReport,
  RunOptions,
  RunReport,
  StorageMode,
  VisualizeFormat,
  WriteReport,
} from "./reports.ts";
import type { Modes } from "./modes.ts";
import type { Task, TaskInputs } from "./task.ts";

/** The output schema of a task type. */
export type OutputOf<T> = T extends { readonly output: Schema } ? T["output"] : never;
/** The name of a task type. */
export type NameOf<T> = T extends { readonly name: string } ? T["name"] : string;

/**
 * `Ok` when a union of messages is empty, else the messages.
 *
 * The messages are `NoInfer`: the checked parameter is also where the task or bucket type is
 * inferred from, and inference would otherwise walk into the message types of every call (about
 * 2,200 instantiations per step of a pipeline with TypeScript 6, 3,500 with TypeScript 5).
 *
 * @internal
 */
type Verdict<E, Ok> = [E] extends [never] ? Ok : NoInfer<E>;

/**
 * {@link Verdict} for messages that hold other checks' results (`FeedErrors<...>`), spelled out
 * so that the message prints them rather than the alias; its caller passes them as `NoInfer`.
 * `E & string` is the same union without the alias. (A key remapping, `keyof { [M in E & string
 * as M]: 0 }`, spells it out too, but inference instantiates it while the task is still unknown,
 * and its key constraint then expands every message type: about 1,250 instantiations per
 * `new Pipeline(...).transform(task)`.)
 *
 * @internal
 */
type SpelledVerdict<E, Ok> = [E] extends [never] ? Ok : E & string;

/**
 * What `bucket.transform(task)` accepts: the task itself when it fits the bucket, else the
 * message saying why it does not.
 */
export type SingleSourceCheck<S extends Schema, L extends string, T> = T extends {
  readonly kind: "single";
  readonly input: Schema;
  readonly name: string;
} ? Verdict<FeedErrors<S, T["input"], { bucket: L; task: T["name"]; input: string }>, T>
  : T extends { readonly kind: "multi"; readonly name: infer N extends string }
    ? `task '${N}' takes named inputs: use new Pipeline({ ... }).transform(task)`
  : T;

/**
 * What `.to(bucket)` accepts: the bucket when its schema equals the task output and its
 * partitions map from the inputs' (`Src`, one member per input), else why not.
 */
export type TargetCheck<O extends Schema, N extends string, B, Src = never> = B extends BucketShape
  ? Verdict<
    | ExactErrors<O, B["schema"], { bucket: B["location"]; task: N }>
    | MappingErrors<Src, B["location"], B["partitions"], N>,
    B
  >
  : B;

/**
 * The columns a bucket gives a task: its schema, and its partition keys as String columns (every
 * row of a partition holds its key's value).
 */
export type FedColumns<S extends Schema, K> = [keyof K] extends [never] ? S
  : S & { readonly [Key in keyof K]: pl.String };

/** What the wiring checks need to know of a bucket type. */
export interface BucketShape {
  /** The bucket's schema. */
  readonly schema: Schema;
  /** `bucket/path`. */
  readonly location: string;
  /** Its partition keys; `{}` when it has none. */
  readonly partitions: PartitionKeys;
}

/** What a step's partition check knows of one input: its location and keys. */
export interface SourceOf<L extends string, K> {
  /** `bucket/path`. */
  readonly location: L;
  /** Its partition keys. */
  readonly partitions: K;
}

/** Options of a direct read or write. */
export interface IoOptions {
  /** `local` (default): the filesystem under the provider's `localRoot`; `cloud`: S3. */
  readonly mode?: StorageMode;
}

/** Options of a direct read. */
export interface ReadOptions<K = PartitionKeys> extends IoOptions {
  /**
   * The partition to read, by each key's value: with every key, that partition's data (the
   * bucket's columns); with some keys, every partition that has those values, the keys as columns.
   */
  readonly partition?: { readonly [Key in keyof K]?: string };
}

/** Options of a direct write. */
export interface WriteOptions<K = PartitionKeys> extends IoOptions {
  /** The partition to write, by each key's value; required for a partitioned bucket. */
  readonly partition?: { readonly [Key in keyof K]: string };
}

/** The time keys of a bucket's keys. */
export type TimeKeysOf<K> = {
  [Key in keyof K & string]: K[Key] extends TimePartitions ? Key : never;
}[keyof K & string];

/** Options of `visualize()`. */
export interface VisualizeOptions {
  /** `mermaid` (default), `dot` or `ascii`. */
  readonly format?: VisualizeFormat;
}

/**
 * A typed storage location. Every bucket is equal: any bucket can feed a task and any can be a
 * task's target. A bucket returned by `.to()` also carries the lineage that produces it, and that
 * lineage is the pipeline definition.
 *
 * @typeParam S the bucket's schema; plain `Bucket` is any bucket.
 * @typeParam L its location `bucket/path`, as a literal type for messages.
 * @typeParam K its partition keys, `{}` when it has none.
 */
export interface Bucket<
  // deno-lint-ignore no-explicit-any
  S extends Schema = any,
  L extends string = string,
  // deno-lint-ignore ban-types
  K extends PartitionKeys = {},
> extends BucketRef {
  /** The columns the data has. */
  readonly schema: S;
  /** `bucket/path`. */
  readonly location: L;
  /** Its partition keys (`{}` when it has none); the path has a `{placeholder}` for each. */
  readonly partitions: K;
  /** The steps that produce this bucket, upstream first; empty for a bucket nothing produces. */
  readonly lineage: Lineage;
  /** The pipeline's name, set by {@link Bucket.withName}. */
  readonly pipelineName?: string;
  /** The pipeline's description, set by {@link Bucket.withName}. */
  readonly description?: string;

  /**
   * Starts a step that reads this bucket with a single-source task. Complete it with `.to()`.
   *
   * @param task a task whose input columns this bucket has, with the same dtypes.
   * @returns the unfinished step.
   */
  transform<const T extends Task>(
    task: SingleSourceCheck<FedColumns<S, K>, L, T>,
  ): Transform<OutputOf<T>, NameOf<T>, SourceOf<L, K>>;

  /**
   * This bucket read with a window of earlier partitions: each partition of the target gets its
   * own partition and the `n` previous ones of each named time key (fewer before the key's start).
   *
   * @param window how many earlier partitions, by time key: `{ date: 6 }` for a week of days.
   * @returns the bucket, to give to `.transform()` or a `Pipeline`.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { daily, Provider, schema, t } from "@glacier/glacier";
   * const provider = new Provider({ localRoot: await Deno.makeTempDir() });
   * const sales = provider.bucket({
   *   bucket: "shop",
   *   path: "sales/{date}.parquet",
   *   schema: schema({ amount: t.float64 }),
   *   partitions: { date: daily({ start: "2026-01-01" }) },
   * });
   * assert.deepEqual(sales.lookback({ date: 6 }).window, { date: 6 });
   * ```
   */
  lookback(window: { readonly [Key in TimeKeysOf<K>]?: number }): Bucket<S, L, K>;

  /** The lookback window this bucket is read with, by time key; `{}` for none. */
  readonly window: Readonly<Record<string, number>>;

  /**
   * Names the pipeline that ends in this bucket.
   *
   * @param name the pipeline's name.
   * @param description what it does.
   * @returns the same bucket and lineage, named.
   */
  withName(name: string, description?: string): Bucket<S, L, K>;

  /**
   * Checks the pipeline that ends in this bucket without data: each task on empty frames.
   *
   * @param options `{ mode: "check" }`.
   * @returns each task's issues.
   */
  run(options: CheckOptions): Promise<CheckReport>;
  /**
   * Writes the pipeline's Terraform.
   *
   * @param options `{ mode: "generate", outputDir, schedule? }`.
   * @returns the files written and what is still missing.
   */
  run(options: GenerateOptions): Promise<GenerateReport>;
  /**
   * Estimates what one run of the pipeline costs on AWS.
   *
   * @param options `{ mode: "analyze", storage? }`.
   * @returns the estimate.
   */
  run(options: AnalyzeOptions): Promise<Analysis>;
  /**
   * Says, without running anything, which steps a run would compute and why (from the ledger),
   * and what those steps would cost.
   *
   * @param options `{ mode: "plan", storage?, force? }`.
   * @returns each step's action and reason, and the estimated cost.
   */
  run(options: PlanOptions): Promise<PlanReport>;
  /**
   * Runs the pipeline that ends in this bucket: `local` in-process on files, `cloud` each task on
   * its resource with S3 storage.
   *
   * @param options the mode and its options.
   * @returns what each step did.
   */
  run(options: ExecuteOptions): Promise<RunReport>;

  /**
   * Reads the bucket's data, validated against its schema. A partitioned bucket gives every
   * partition (or those that `partition` selects), its keys as String columns; one partition given
   * by every key gives that partition's data alone.
   *
   * @param options the storage mode (default `local`) and the partition.
   * @returns the data.
   */
  read(options?: ReadOptions<K>): Promise<pl.DataFrame<S>>;

  /**
   * Stores a frame in the bucket (or in one partition of it), atomically, after validating it
   * against the schema.
   *
   * @param frame the data; extra columns are dropped, columns are stored in schema order.
   * @param options the storage mode (default `local`) and, for a partitioned bucket, the partition.
   * @returns where it went, rows and bytes.
   */
  write(frame: pl.DataFrame, options?: WriteOptions<K>): Promise<WriteReport>;

  /**
   * Draws the pipeline that ends in this bucket.
   *
   * @param options the format.
   * @returns Mermaid (default), Graphviz dot or ASCII text.
   */
  visualize(options?: VisualizeOptions): string;

  /**
   * The pipeline graph that ends in this bucket.
   *
   * @returns the validated DAG.
   */
  graph(): PipelineGraph;
}

/**
 * An unfinished step: a task applied to its sources. Only `.to(bucket)` completes it; it has no
 * `run`.
 *
 * @typeParam O the task's output schema.
 * @typeParam N the task's name.
 * @typeParam Src the inputs' locations and partition keys, one union member per input.
 */
export interface Transform<O extends Schema, N extends string, Src = never> {
  /**
   * Materializes the step into a bucket whose schema equals the task's output schema and whose
   * partitions map from the inputs' (the same keys, or none).
   *
   * @param target the bucket to write.
   * @returns the target bucket, carrying the lineage that produces it.
   */
  to<const B extends BucketShape>(target: TargetCheck<O, N, B, Src>): B;
}

/** @internal */
export interface BucketInit {
  readonly ref: BucketRef;
  readonly lineage: Lineage;
  readonly modes: Modes;
  readonly pipelineName?: string;
  readonly description?: string;
  readonly window?: Readonly<Record<string, number>>;
}

const NO_KEYS: PartitionKeys = Object.freeze({});

/** The implementation behind {@link Bucket}: every call returns a new immutable value. */
export class BucketImpl implements Bucket {
  readonly bucket: string;
  readonly path: string;
  readonly location: string;
  readonly schema: Schema;
  readonly sizeHint?: number;
  readonly settings: BucketRef["settings"];
  readonly csv?: BucketRef["csv"];
  readonly checks?: BucketRef["checks"];
  readonly partitions: PartitionKeys;
  readonly window: Readonly<Record<string, number>>;
  readonly lineage: Lineage;
  readonly pipelineName?: string;
  readonly description?: string;
  readonly #modes: Modes;

  constructor(init: BucketInit) {
    this.#modes = init.modes;
    this.bucket = init.ref.bucket;
    this.path = init.ref.path;
    this.location = init.ref.location;
    this.schema = init.ref.schema;
    this.sizeHint = init.ref.sizeHint;
    this.settings = init.ref.settings;
    if (init.ref.csv !== undefined) this.csv = init.ref.csv;
    if (init.ref.checks !== undefined) this.checks = init.ref.checks;
    this.partitions = init.ref.partitions ?? NO_KEYS;
    this.window = init.window ?? NO_KEYS as Readonly<Record<string, never>>;
    this.lineage = init.lineage;
    this.pipelineName = init.pipelineName;
    this.description = init.description;
    Object.freeze(this);
  }

  /** The plain reference to this bucket that steps record. */
  get ref(): BucketRef {
    const { bucket, path, location, schema, sizeHint, settings, csv, checks, partitions } = this;
    return Object.freeze({
      bucket,
      path,
      location,
      schema,
      sizeHint,
      settings,
      ...(csv === undefined ? {} : { csv }),
      ...(checks === undefined ? {} : { checks }),
      ...(Object.keys(partitions).length === 0 ? {} : { partitions }),
    });
  }

  lookback(window: Readonly<Record<string, number>>): Bucket {
    for (const [key, n] of Object.entries(window ?? {})) {
      const def = this.partitions[key];
      if (def === undefined || def.kind === "values") {
        throw new WiringError(
          `lookback() of bucket '${this.location}' names '${key}', which is not one of its time ` +
            `keys (${
              Object.entries(this.partitions).filter(([, d]) => d.kind !== "values")
                .map(([k]) => `'${k}'`).join(", ") || "it has none"
            })`,
        );
      }
      if (!Number.isInteger(n) || n < 0) {
        throw new WiringError(
          `lookback() of bucket '${this.location}' needs a whole number of earlier '${key}' ` +
            `partitions, got ${String(n)}`,
        );
      }
    }
    return new BucketImpl({
      ref: this.ref,
      lineage: this.lineage,
      modes: this.#modes,
      window: Object.freeze({ ...window }),
    });
  }

  // deno-lint-ignore no-explicit-any
  transform(task: any): Transform<any, any> {
    const t = requireTask(task);
    if (t.kind !== "single") throw new WiringError(messages.needsPipeline(t.name));
    const issues = feedIssues(fedColumns(this), t.input, { bucket: this.location, task: t.name });
    if (issues.length > 0) throw new WiringError(issues.join("; "));
    return new TransformImpl(t, { input: this });
  }

  withName(name: string, description?: string): Bucket {
    if (typeof name !== "string" || name.length === 0) {
      throw new TypeError(`withName() on bucket '${this.location}' needs a non-empty name`);
    }
    return new BucketImpl({
      ref: this.ref,
      lineage: this.lineage,
      modes: this.#modes,
      pipelineName: name,
      description,
    });
  }

  graph(): PipelineGraph {
    return buildGraph(this.pipelineName ?? this.location, this.lineage, this.description);
  }

  run(options: CheckOptions): Promise<CheckReport>;
  run(options: GenerateOptions): Promise<GenerateReport>;
  run(options: AnalyzeOptions): Promise<Analysis>;
  run(options: PlanOptions): Promise<PlanReport>;
  run(options: ExecuteOptions): Promise<RunReport>;
  async run(
    options: RunOptions,
  ): Promise<CheckReport | GenerateReport | Analysis | PlanReport | RunReport> {
    if (options === null || typeof options !== "object" || typeof options.mode !== "string") {
      throw new TypeError(`run() on '${this.location}' needs options such as { mode: "local" }`);
    }
    const graph = this.graph();
    if (graph.steps.length === 0) {
      throw new WiringError(
        `bucket '${this.location}' has no lineage, so there is nothing to run; ` +
          "build a pipeline with .transform(task).to(bucket) and run the bucket it returns",
      );
    }
    switch (options.mode) {
      case "check":
        return await this.#modes.check(graph, options);
      case "generate":
        return await this.#modes.generate(graph, options);
      case "analyze":
        return await this.#modes.analyze(graph, options);
      case "plan":
        return await this.#modes.plan(graph, options);
      case "local":
        return await this.#modes.local(graph, options);
      case "cloud":
        return await this.#modes.cloud(graph, options);
      default:
        throw new UnsupportedError(
          `run mode '${(options as { mode: string }).mode}' is not known; use one of: ` +
            "local, cloud, plan, check, generate, analyze",
        );
    }
  }

  // deno-lint-ignore no-explicit-any
  async read(options?: ReadOptions): Promise<pl.DataFrame<any>> {
    const io = await this.#modes.io(storageMode(options));
    return await io.read(this.ref, options?.partition as PartitionValues | undefined);
  }

  async write(frame: pl.DataFrame, options?: WriteOptions): Promise<WriteReport> {
    const io = await this.#modes.io(storageMode(options));
    return await io.write(this.ref, frame, options?.partition as PartitionValues | undefined);
  }

  visualize(options?: VisualizeOptions): string {
    return this.#modes.render(this.graph(), options?.format ?? "mermaid");
  }

  /**
   * One pipeline made of several that end in buckets of one provider: shared upstream steps once.
   *
   * @param buckets the pipelines' last buckets.
   * @param name the combined pipeline's name.
   * @returns a bucket whose lineage holds every step of every pipeline.
   */
  static combine(buckets: readonly Bucket[], name: string): Bucket {
    const [first] = buckets as readonly BucketImpl[];
    return new BucketImpl({
      ref: first.ref,
      lineage: mergeLineage(...buckets.map((b) => b.lineage)),
      modes: first.#modes,
      pipelineName: name,
    });
  }

  /**
   * This bucket's step graph, with the same modes: what `.to()` makes of a declared bucket.
   *
   * @param lineage the steps that produce it.
   * @returns the bucket, carrying them.
   */
  withLineage(lineage: Lineage): BucketImpl {
    return new BucketImpl({ ref: this.ref, lineage, modes: this.#modes });
  }
}

/**
 * The columns a bucket gives a task: its schema, and its partition keys as String columns.
 *
 * @param ref the bucket.
 * @returns the schema with the keys.
 */
export function fedColumns(ref: BucketRef): Schema {
  const keys = Object.keys(ref.partitions ?? {});
  if (keys.length === 0) return ref.schema;
  return { ...ref.schema, ...Object.fromEntries(keys.map((k) => [k, t.string])) };
}

function storageMode(options: IoOptions | undefined): StorageMode {
  const mode = options?.mode ?? "local";
  if (mode !== "local" && mode !== "cloud") {
    throw new UnsupportedError(`storage mode '${mode}' is not known; use 'local' or 'cloud'`);
  }
  return mode;
}

/** The implementation behind {@link Transform}. */
class TransformImpl implements Transform<Schema, string, unknown> {
  readonly #task: Task;
  readonly #sources: Readonly<Record<string, BucketImpl>>;

  constructor(task: Task, sources: Record<string, BucketImpl>) {
    this.#task = task;
    this.#sources = Object.freeze({ ...sources });
  }

  // deno-lint-ignore no-explicit-any
  to(target: any): any {
    if (!(target instanceof BucketImpl)) {
      throw new WiringError(
        `.to() of task '${this.#task.name}' needs a bucket made by provider.bucket(...)`,
      );
    }
    if (target.lineage.length > 0) {
      throw new WiringError(
        `.to() of task '${this.#task.name}' got bucket '${target.location}', which another ` +
          "step already produces; pass the bucket declared with provider.bucket(...) instead",
      );
    }
    const issues = exactIssues(this.#task.output, target.schema, {
      task: this.#task.name,
      bucket: target.location,
    });
    if (issues.length > 0) throw new WiringError(issues.join("; "));
    const sources = Object.entries(this.#sources);
    const refs = Object.fromEntries(sources.map(([k, b]) => [k, b.ref]));
    const mapping = mappingIssues(refs, target.ref, this.#task.name);
    if (mapping.length > 0) throw new WiringError(mapping.join("; "));
    const windows = sources.filter(([, b]) => Object.keys(b.window).length > 0);
    for (const [, b] of windows) {
      if (Object.keys(target.partitions).length === 0) {
        throw new WiringError(
          `task '${this.#task.name}' reads bucket '${b.location}' with lookback(), but bucket ` +
            `'${target.location}' that it writes is not partitioned; a window needs a target ` +
            "partitioned by the same keys",
        );
      }
    }
    const step: Step = Object.freeze({
      task: this.#task,
      sources: Object.freeze(refs),
      target: target.ref,
      ...(windows.length === 0
        ? {}
        : { lookback: Object.freeze(Object.fromEntries(windows.map(([k, b]) => [k, b.window]))) }),
    });
    return target.withLineage(mergeLineage(...sources.map(([, b]) => b.lineage), [step]));
  }
}

function requireTask(task: unknown): Task {
  const t = task as Task;
  if (t === null || typeof t !== "object" || typeof t.apply !== "function" || !t.name) {
    throw new WiringError(
      ".transform() needs a task declared with resource.task({ name, input, output }, fn)",
    );
  }
  return t;
}

/** What `new Pipeline(inputs).transform(task)` accepts: the task when it fits, else why not. */
export type MultiSourceCheck<I extends Readonly<Record<string, BucketShape>>, T> = T extends {
  readonly kind: "multi";
  readonly inputs: infer TI extends TaskInputs;
  readonly name: infer N extends string;
} ? SpelledVerdict<
    NoInfer<
      | {
        [K in Exclude<keyof I, keyof TI> & string]: `task '${N}' has no input named '${K}'`;
      }[Exclude<keyof I, keyof TI> & string]
      | {
        [K in Exclude<keyof TI, keyof I> & string]:
          `task '${N}' needs input '${K}', which the Pipeline does not give`;
      }[Exclude<keyof TI, keyof I> & string]
      | {
        [K in keyof TI & keyof I & string]: FeedErrors<
          FedColumns<I[K]["schema"], I[K]["partitions"]>,
          TI[K],
          { bucket: I[K]["location"]; task: N; input: K }
        >;
      }[keyof TI & keyof I & string]
    >,
    T
  >
  : T extends { readonly kind: "single"; readonly name: infer N extends string }
    ? `task '${N}' takes one input: use bucket.transform(task)`
  : T;

/**
 * The start of a multi-source step: named buckets for a task with named inputs.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Pipeline, pl, Provider, schema, t } from "@glacier/glacier";
 * const provider = new Provider({ localRoot: await Deno.makeTempDir() });
 * const A = schema({ id: t.int64, x: t.float64 });
 * const B = schema({ id: t.int64, y: t.string });
 * const AB = schema({ id: t.int64, x: t.float64, y: t.string });
 * const join = provider.local().task(
 *   { name: "join_ab", inputs: { left: A, right: B }, output: AB },
 *   ({ left, right }) => left.join(right, { on: "id" }),
 * );
 * const ab = new Pipeline({
 *   left: provider.bucket({ bucket: "demo", path: "a.parquet", schema: A }),
 *   right: provider.bucket({ bucket: "demo", path: "b.parquet", schema: B }),
 * }).transform(join).to(provider.bucket({ bucket: "demo", path: "ab.parquet", schema: AB }));
 * assert.equal(ab.lineage.length, 1);
 * ```
 */
export class Pipeline<const I extends Readonly<Record<string, BucketShape>>> {
  readonly #inputs: I;

  /**
   * Names the buckets of a multi-source step.
   *
   * @param inputs the buckets, by the input names the task declares.
   */
  constructor(inputs: I) {
    if (inputs === null || typeof inputs !== "object" || Object.keys(inputs).length === 0) {
      throw new WiringError("new Pipeline() needs named buckets, such as { orders_df: orders }");
    }
    for (const [name, bucket] of Object.entries(inputs)) {
      if (!(bucket instanceof BucketImpl)) {
        throw new WiringError(`Pipeline input '${name}' is not a bucket made by provider.bucket()`);
      }
    }
    this.#inputs = Object.freeze({ ...inputs });
  }

  /** The buckets, by input name. */
  get inputs(): I {
    return this.#inputs;
  }

  /**
   * Starts a step that reads the named buckets with a multi-source task.
   *
   * @param task a task whose input names are exactly this Pipeline's names.
   * @returns the unfinished step; complete it with `.to(bucket)`.
   */
  transform<const T extends Task>(
    task: MultiSourceCheck<I, T>,
  ): Transform<
    OutputOf<T>,
    NameOf<T>,
    { [K in keyof I]: SourceOf<I[K]["location"], I[K]["partitions"]> }[keyof I]
  > {
    const t = requireTask(task);
    if (t.kind !== "multi") throw new WiringError(messages.needsBucket(t.name));
    const given = this.#inputs as unknown as Record<string, BucketImpl>;
    const issues: string[] = [];
    for (const name of Object.keys(given)) {
      if (!(name in t.inputs)) issues.push(messages.unknownInput(t.name, name));
    }
    for (const [name, want] of Object.entries(t.inputs as TaskInputs)) {
      const bucket = given[name];
      if (bucket === undefined) issues.push(messages.missingInput(t.name, name));
      else {
        issues.push(
          ...feedIssues(fedColumns(bucket), want, {
            bucket: bucket.location,
            task: t.name,
            input: name,
          }),
        );
      }
    }
    if (issues.length > 0) throw new WiringError(issues.join("; "));
    // deno-lint-ignore no-explicit-any
    return new TransformImpl(t, given) as unknown as Transform<OutputOf<T>, NameOf<T>, any>;
  }
}
