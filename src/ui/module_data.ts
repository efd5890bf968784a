/**
 * What the run UI shows, as plain JSON: the module's graph with each node's state, a bucket's
 * view (schema, checks, versions, column lineage), its first rows, the runs and one run. The
 * server answers its API with these, and the static report embeds them.
 *
 * @module
 */
import { NoDataError } from "../core/errors.ts";
import type { PipelineGraph } from "../core/graph.ts";
import type { BucketRef, Step } from "../core/lineage.ts";
import { keySummaries, mappingSummary } from "../core/partition_map.ts";
import type { CheckResult } from "../core/reports.ts";
import type { RunRecord, RunSummary } from "../engine/ledger/ledger.ts";
import { dtypeName } from "../schema/dtypes.ts";
import { formatOf } from "../io/file_format.ts";
import type pl from "../polars.ts";
import type { UiStore } from "./local_store.ts";
import { type NodeState, sourceState, type StateWithReason, taskState } from "./node_state.ts";
import { type PartitionCount, partitionCount } from "./partitions.ts";

/** How many rows a bucket's view shows. */
export const FIRST_ROWS = 50;
/**
 * What column lineage names for the input columns that decide which rows an output has (join and
 * group keys, filters, sorts) rather than any one column's values.
 */
export const ROWS = "(which rows)";
/** How many of the module's runs the UI lists. */
const RUNS_SHOWN = 50;

/** One input column an output column depends on, and how (OpenLineage's column lineage). */
export interface ColumnSourceData {
  /** The task's input name. */
  readonly input: string;
  /** The input column. */
  readonly column: string;
  /** `DIRECT` or `INDIRECT`. */
  readonly type: string;
  /** `IDENTITY`, `AGGREGATION`, `JOIN`, ... */
  readonly subtype: string;
}

/** A task's column lineage, as the lineage part reads it from the task's polars plan. */
export interface ColumnLineageData {
  /** Each output column's sources. */
  readonly fields: Readonly<Record<string, readonly ColumnSourceData[]>>;
  /** The input columns that decide which rows there are. */
  readonly dataset: readonly ColumnSourceData[];
}

/** A pipeline the module exports. */
export interface PipelineInfo {
  /** Its name. */
  readonly name: string;
  /** What it does. */
  readonly description?: string;
}

/** The module the UI shows. */
export interface UiModule {
  /** The module as given on the command line. */
  readonly module: string;
  /** The name its pipelines go by together (the name of its runs). */
  readonly name: string;
  /** The pipelines it exports. */
  readonly pipelines: readonly PipelineInfo[];
  /** Every pipeline as one graph, each shared step once. */
  readonly graph: PipelineGraph;
  /** Reads a step's column lineage; it may throw, the view then says why there is none. */
  readonly columnLineage: (step: Step) => ColumnLineageData;
}

/** A task or a bucket in the graph. */
export interface GraphNode {
  /** `task:NAME` or `bucket:LOCATION`. */
  readonly id: string;
  /** Which shape it has. */
  readonly kind: "task" | "bucket";
  /** The task's name, or the bucket's path. */
  readonly label: string;
  /** The task's resource (`spark x2`), or the bucket's storage bucket. */
  readonly detail: string;
  /** The state it is drawn in. */
  readonly state: NodeState;
  /** Why. */
  readonly reason: string;
  /** The bucket's location, for a bucket. */
  readonly location?: string;
  /** What the task does. */
  readonly description?: string;
  /** How many partitions the last run left up to date, for a partitioned bucket. */
  readonly partitions?: PartitionCount;
  /** A partitioned bucket's keys, each as `date: daily from 2026-01-01`. */
  readonly keys?: readonly string[];
}

/** An edge: a bucket a task reads, or the bucket a task writes. */
export interface GraphEdge {
  /** The node it leaves. */
  readonly from: string;
  /** The node it reaches. */
  readonly to: string;
  /** The task's input name, for a task with several inputs. */
  readonly label?: string;
  /** How the task reads the input's partitions, when not the same partition (`all partitions`). */
  readonly mapping?: string;
}

/** A run as the runs list shows it. */
export interface RunListing extends RunSummary {
  /** Whether its process is still going (a run the ledger says runs may have died). */
  readonly live: boolean;
}

/** The module's graph and where it stands. */
export interface ModuleView {
  /** The module's name. */
  readonly name: string;
  /** The module as given. */
  readonly module: string;
  /** The mode whose ledger it reads. */
  readonly mode: string;
  /** The ledger. */
  readonly ledger: string;
  /** Its pipelines. */
  readonly pipelines: readonly PipelineInfo[];
  /** Every task and bucket once. */
  readonly nodes: readonly GraphNode[];
  /** Every read and write. */
  readonly edges: readonly GraphEdge[];
  /** The latest run, when there is one. */
  readonly lastRun?: RunListing;
  /** The run in progress, when there is one. */
  readonly liveRun?: string;
  /** Notes on the plan (tasks whose fingerprint uses their source text). */
  readonly notes: readonly string[];
  /** When this was read, ISO 8601. */
  readonly readAt: string;
}

/** A bucket version, as the bucket's view lists it. */
export interface VersionListing {
  /** When it was written, ISO 8601. */
  readonly createdAt: string;
  /** The run that wrote or first found it. */
  readonly runId: string;
  /** The task that wrote it; `null` for data written outside a run. */
  readonly task: string | null;
  /** Rows, when known. */
  readonly rows: number | null;
  /** Bytes, when known. */
  readonly bytes: number | null;
  /** Whether the bucket holds it now. */
  readonly current: boolean;
}

/** A column of one bucket and where its values come from, or go. */
export interface ColumnLink {
  /** The column of the bucket shown. */
  readonly column: string;
  /** The other end: a column of another bucket, through a task. */
  readonly links: readonly {
    readonly task: string;
    readonly bucket: string;
    readonly column: string;
    readonly type: string;
    readonly subtype: string;
  }[];
}

/** Everything about one bucket but its rows. */
export interface BucketView {
  /** `bucket/path`. */
  readonly location: string;
  /** The storage bucket. */
  readonly bucket: string;
  /** The path in it. */
  readonly path: string;
  /** Where the data is: a file or an `s3://` URI. */
  readonly where: string;
  /** The file format, from the path's extension. */
  readonly format: string;
  /** Each column and its dtype. */
  readonly schema: readonly { readonly column: string; readonly dtype: string }[];
  /** Its state, as the graph draws it. */
  readonly state: NodeState;
  /** Why. */
  readonly reason: string;
  /** The task that writes it, with its resource and inputs. */
  readonly producer?: {
    readonly task: string;
    readonly resource: string;
    readonly inputs: Readonly<Record<string, string>>;
  };
  /** The tasks that read it. */
  readonly consumers: readonly { readonly task: string; readonly target: string }[];
  /** Its versions, newest first. */
  readonly versions: readonly VersionListing[];
  /** The last results of its quality checks, with the run that ran them. */
  readonly checks: readonly (CheckResult & { readonly runId: string })[];
  /** Column lineage: each column's sources upstream, and the columns downstream made from it. */
  readonly lineage: {
    readonly upstream: readonly ColumnLink[];
    readonly downstream: readonly ColumnLink[];
    /** Why some of it is missing. */
    readonly notes: readonly string[];
  };
  /** Partitions the last run left up to date, for a partitioned bucket. */
  readonly partitions?: PartitionCount;
  /** A partitioned bucket's keys, each as `date: daily from 2026-01-01`. */
  readonly keys?: readonly string[];
}

/** A bucket's first rows, each cell as text (`null` for a null). */
export interface RowsView {
  /** The columns with their dtypes. */
  readonly columns: readonly { readonly column: string; readonly dtype: string }[];
  /** The rows. */
  readonly rows: readonly (readonly (string | null)[])[];
  /** How many rows the current version has, when the ledger knows. */
  readonly total: number | null;
}

/** The runs of the module. */
export interface RunsView {
  /** The ledger they are read from. */
  readonly ledger: string;
  /** Newest first. */
  readonly runs: readonly RunListing[];
}

/** One run with its steps. */
export interface RunView extends RunRecord {
  /** Whether its process is still going. */
  readonly live: boolean;
  /** Tasks of the module it has not ended yet, while it runs. */
  readonly pending: readonly string[];
}

/** A question the UI answers with a message for people: no such bucket, run, or data. */
export class UiNotFound extends Error {}

/** Reads what the UI shows from a module and its store. */
export class ModuleData {
  readonly #module: UiModule;
  readonly #store: UiStore;
  /** Runs that ended: they do not change. */
  readonly #ended = new Map<string, RunRecord>();
  readonly #producers: Map<string, Step>;

  /**
   * @param module the module.
   * @param store its storage.
   */
  constructor(module: UiModule, store: UiStore) {
    this.#module = module;
    this.#store = store;
    this.#producers = new Map(module.graph.steps.map((s) => [s.target.location, s]));
  }

  /** The module's name. */
  get name(): string {
    return this.#module.name;
  }

  /** Every bucket's location, sources first. */
  get locations(): string[] {
    return this.#module.graph.buckets.map((b) => b.location);
  }

  /**
   * The graph, each node in its state.
   *
   * @returns the view.
   */
  async moduleView(): Promise<ModuleView> {
    const { graph } = this.#module;
    const [plan, history] = await Promise.all([this.#store.plan(), this.#history()]);
    const planned = new Map(plan.steps.map((s) => [s.task, s]));
    const live = history.find((r) => r.live && r.status !== "succeeded" && r.status !== "failed");
    const ended = history.filter((r) => r !== live);
    const lastOf = (task: string) => {
      for (const run of ended) {
        const step = run.steps.find((s) => s.task === task);
        if (step) return step;
      }
      return undefined;
    };
    const liveDone = new Map(live?.steps.map((s) => [s.task, s]) ?? []);
    const states = new Map<Step, StateWithReason>();
    for (const step of graph.steps) {
      const upstreamDone = Object.values(step.sources).every((ref) => {
        const producer = this.#producers.get(ref.location);
        return !producer || liveDone.has(producer.task.name);
      });
      states.set(
        step,
        taskState({
          planned: planned.get(step.task.name) ?? { action: "run", reason: "no previous run" },
          last: lastOf(step.task.name),
          live: live &&
            { runId: live.runId, step: liveDone.get(step.task.name), upstreamDone },
        }),
      );
    }
    const latestSteps = history[0]?.steps ?? [];
    const nodes: GraphNode[] = [];
    for (const ref of graph.buckets) {
      const producer = this.#producers.get(ref.location);
      const state = producer
        ? states.get(producer)!
        : sourceState(await this.#store.present(ref), this.#store.where(ref));
      const partitions = partitionCount(ref.location, latestSteps);
      const keys = keySummaries(ref);
      nodes.push({
        id: bucketId(ref.location),
        kind: "bucket",
        label: ref.path,
        detail: ref.bucket,
        location: ref.location,
        ...state,
        ...(partitions ? { partitions } : {}),
        ...(keys.length > 0 ? { keys } : {}),
      });
    }
    const edges: GraphEdge[] = [];
    for (const step of graph.steps) {
      nodes.push({
        id: taskId(step.task.name),
        kind: "task",
        label: step.task.name,
        detail: step.task.resource.label,
        ...states.get(step)!,
        ...(step.task.description ? { description: step.task.description } : {}),
      });
      const inputs = Object.entries(step.sources);
      for (const [input, ref] of inputs) {
        const mapping = mappingSummary(step, input);
        edges.push({
          from: bucketId(ref.location),
          to: taskId(step.task.name),
          ...(inputs.length > 1 ? { label: input } : {}),
          ...(mapping === undefined ? {} : { mapping }),
        });
      }
      edges.push({ from: taskId(step.task.name), to: bucketId(step.target.location) });
    }
    const ledger = await this.#store.openLedger();
    const where = ledger.where;
    ledger.close();
    return {
      name: this.#module.name,
      module: this.#module.module,
      mode: this.#store.mode,
      ledger: where,
      pipelines: this.#module.pipelines,
      nodes,
      edges,
      ...(history[0] ? { lastRun: listing(history[0]) } : {}),
      ...(live ? { liveRun: live.runId } : {}),
      notes: plan.notes,
      readAt: new Date().toISOString(),
    };
  }

  /**
   * One bucket's view.
   *
   * @param location the bucket, as `bucket/path`.
   * @param module the module's view, when the caller has just read it.
   * @returns the view.
   * @throws {UiNotFound} when the module has no such bucket.
   */
  async bucketView(location: string, module?: ModuleView): Promise<BucketView> {
    const ref = this.#bucket(location);
    const { graph } = this.#module;
    const producer = this.#producers.get(location);
    const consumers = graph.steps.filter((s) =>
      Object.values(s.sources).some((r) => r.location === location)
    );
    const history = await this.#history();
    const node = (module ?? await this.moduleView()).nodes.find((n) =>
      n.id === bucketId(location)
    )!;
    const ledger = await this.#store.openLedger();
    let current;
    try {
      current = (await ledger.current([location])).get(location)?.published;
    } finally {
      ledger.close();
    }
    const versions: VersionListing[] = [];
    for (const run of history) {
      if (run.status !== "succeeded") continue;
      for (const step of run.steps) {
        if (step.target !== location || step.status !== "ran") continue;
        versions.push({
          createdAt: step.startedAt ?? run.startedAt,
          runId: run.runId,
          task: step.task,
          rows: step.rows,
          bytes: step.bytes,
          current: current?.runId === run.runId,
        });
      }
    }
    if (current && !versions.some((v) => v.current)) {
      versions.unshift({
        createdAt: current.createdAt,
        runId: current.runId,
        task: current.task,
        rows: current.rows,
        bytes: current.bytes,
        current: true,
      });
    }
    let checks: (CheckResult & { runId: string })[] = [];
    for (const run of history) {
      const found = run.steps.flatMap((s) => s.checks ?? []).filter((c) => c.bucket === location);
      if (found.length > 0) {
        checks = found.map((c) => ({ ...c, runId: run.runId }));
        break;
      }
    }
    return {
      location,
      bucket: ref.bucket,
      path: ref.path,
      where: this.#store.where(ref),
      format: formatOf(ref.path),
      schema: schemaOf(ref),
      state: node.state,
      reason: node.reason,
      ...(producer
        ? {
          producer: {
            task: producer.task.name,
            resource: producer.task.resource.label,
            inputs: Object.fromEntries(
              Object.entries(producer.sources).map(([name, r]) => [name, r.location]),
            ),
          },
        }
        : {}),
      consumers: consumers.map((s) => ({ task: s.task.name, target: s.target.location })),
      versions,
      checks,
      lineage: this.#lineage(location, producer, consumers),
      ...(node.partitions ? { partitions: node.partitions } : {}),
      ...(node.keys ? { keys: node.keys } : {}),
    };
  }

  /**
   * A bucket's first rows, read through polars.
   *
   * @param location the bucket, as `bucket/path`.
   * @returns the rows, each cell as text.
   * @throws {UiNotFound} when the module has no such bucket, or the bucket has no data.
   */
  async rowsView(location: string): Promise<RowsView> {
    const ref = this.#bucket(location);
    let frame: pl.DataFrame;
    try {
      frame = await this.#store.firstRows(ref, FIRST_ROWS);
    } catch (error) {
      if (error instanceof NoDataError) {
        throw new UiNotFound(
          `bucket '${location}' has no data at ${this.#store.where(ref)}: it was never written, ` +
            "or its file was removed; run the pipeline that writes it",
        );
      }
      throw error;
    }
    const ledger = await this.#store.openLedger();
    let total: number | null = null;
    try {
      total = (await ledger.current([location])).get(location)?.published?.rows ?? null;
    } finally {
      ledger.close();
    }
    const columns = schemaOf(ref);
    const dates = columns.map((c) => c.dtype === "Date");
    const rows = (frame.rows() as unknown[][]).map((row) =>
      row.map((cell, i) => cellText(cell, dates[i]))
    );
    return { columns, rows, total };
  }

  /**
   * The module's runs, newest first.
   *
   * @returns the view.
   */
  async runsView(): Promise<RunsView> {
    const history = await this.#history();
    const ledger = await this.#store.openLedger();
    const where = ledger.where;
    ledger.close();
    return { ledger: where, runs: history.map(listing) };
  }

  /**
   * One run of the module.
   *
   * @param runId the run's id.
   * @returns the run.
   * @throws {UiNotFound} when the module has no run with that id.
   */
  async runView(runId: string): Promise<RunView> {
    const run = (await this.#history()).find((r) => r.runId === runId);
    if (!run) throw new UiNotFound(`module '${this.#module.name}' has no run '${runId}'`);
    const ended = new Set(run.steps.map((s) => s.task));
    const running = run.live && run.status !== "succeeded" && run.status !== "failed";
    return {
      ...run,
      pending: running
        ? this.#module.graph.steps.map((s) => s.task.name).filter((t) => !ended.has(t))
        : [],
    };
  }

  #bucket(location: string): BucketRef {
    const ref = this.#module.graph.buckets.find((b) => b.location === location);
    if (!ref) throw new UiNotFound(`module '${this.#module.name}' has no bucket '${location}'`);
    return ref;
  }

  /** The module's recent runs with their steps, newest first. */
  async #history(): Promise<(RunRecord & { live: boolean })[]> {
    const names = new Set([this.#module.name, ...this.#module.pipelines.map((p) => p.name)]);
    const ledger = await this.#store.openLedger();
    try {
      const summaries = (await ledger.runs(RUNS_SHOWN * 4))
        .filter((r) => names.has(r.pipeline))
        .slice(0, RUNS_SHOWN);
      const out: (RunRecord & { live: boolean })[] = [];
      for (const summary of summaries) {
        let record = this.#ended.get(summary.runId);
        if (!record) {
          record = await ledger.run(summary.runId);
          if (!record) continue;
          if (record.status === "succeeded" || record.status === "failed") {
            this.#ended.set(record.runId, record);
          }
        }
        const open = record.status === "running" || record.status === "publishing";
        out.push({ ...record, live: open && await this.#store.isLive(record.runId) });
      }
      return out;
    } finally {
      ledger.close();
    }
  }

  #lineage(location: string, producer: Step | undefined, consumers: readonly Step[]) {
    const notes: string[] = [];
    const read = (step: Step) => {
      try {
        return this.#module.columnLineage(step);
      } catch (error) {
        notes.push(
          `task '${step.task.name}': no column lineage (${
            error instanceof Error ? error.message.split("\n")[0] : String(error)
          })`,
        );
        return undefined;
      }
    };
    const upstream: ColumnLink[] = [];
    const lineage = producer && read(producer);
    if (producer && lineage) {
      const link = (s: ColumnSourceData) => ({
        task: producer.task.name,
        bucket: producer.sources[s.input]?.location ?? s.input,
        column: s.column,
        type: s.type,
        subtype: s.subtype,
      });
      for (const [column, sources] of Object.entries(lineage.fields)) {
        upstream.push({ column, links: sources.map(link) });
      }
      if (lineage.dataset.length > 0) {
        upstream.push({ column: ROWS, links: lineage.dataset.map(link) });
      }
    }
    const downstream = new Map<string, ColumnLink["links"][number][]>();
    for (const step of consumers) {
      const found = read(step);
      if (!found) continue;
      const inputs = Object.entries(step.sources).filter(([, r]) => r.location === location)
        .map(([name]) => name);
      const fields = [...Object.entries(found.fields), [ROWS, found.dataset] as const];
      for (const [column, sources] of fields) {
        for (const s of sources) {
          if (!inputs.includes(s.input)) continue;
          const links = downstream.get(s.column) ?? [];
          links.push({
            task: step.task.name,
            bucket: step.target.location,
            column,
            type: s.type,
            subtype: s.subtype,
          });
          downstream.set(s.column, links);
        }
      }
    }
    const ref = this.#bucket(location);
    return {
      upstream,
      downstream: Object.keys(ref.schema)
        .filter((c) => downstream.has(c))
        .map((column) => ({ column, links: downstream.get(column)! })),
      notes,
    };
  }
}

/**
 * The graph node id of a bucket.
 *
 * @param location the bucket, as `bucket/path`.
 * @returns `bucket:LOCATION`.
 */
export function bucketId(location: string): string {
  return `bucket:${location}`;
}

/**
 * The graph node id of a task.
 *
 * @param name the task's name.
 * @returns `task:NAME`.
 */
export function taskId(name: string): string {
  return `task:${name}`;
}

function listing(run: RunRecord & { live: boolean }): RunListing {
  const { steps: _steps, ...summary } = run;
  return summary;
}

function schemaOf(ref: BucketRef): { column: string; dtype: string }[] {
  return Object.entries(ref.schema).map(([column, dtype]) => ({
    column,
    dtype: dtypeName(dtype as pl.DataType),
  }));
}

/** A cell as text: dates as ISO dates, big integers exactly, lists and structs as JSON. */
function cellText(cell: unknown, isDate: boolean): string | null {
  if (cell === null || cell === undefined) return null;
  if (cell instanceof Date) return isDate ? cell.toISOString().slice(0, 10) : cell.toISOString();
  if (typeof cell === "object") {
    return JSON.stringify(
      cell,
      (_, v) => (typeof v === "bigint" ? v.toString() : v),
    );
  }
  return String(cell);
}
