/**
 * OpenLineage run events (spec 2-0-2) for Glacier's runs and steps: their jobs, datasets and
 * facets. A run is one job named after the pipeline (or module); each step is a child job
 * `<pipeline>.<task>` whose `parent` facet names the run. Datasets follow OpenLineage's naming:
 * an S3 object is namespace `s3://bucket` and its key, a local file is namespace `file` and its
 * absolute path.
 *
 * @module
 */
import type pl from "../polars.ts";
import type { ObservedRun } from "../core/observer.ts";
import type { BucketRef, Step } from "../core/lineage.ts";
import type { CheckResult, StepReport } from "../core/reports.ts";
import type { Schema } from "../schema/schema.ts";
import { dtypeName } from "../schema/dtypes.ts";
import type { ColumnLineage } from "./column_lineage.ts";

/** Who wrote the events: OpenLineage's `producer`. */
export const PRODUCER = "https://jsr.io/@glacier/glacier";

/** The OpenLineage schema every event follows. */
export const RUN_EVENT_SCHEMA =
  "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent";

/** What a run or step event says happened. */
export type EventType = "START" | "COMPLETE" | "FAIL" | "ABORT";

/** A facet: its content, with the producer and the schema it follows. */
export type Facet = Readonly<Record<string, unknown>> & {
  readonly _producer: string;
  readonly _schemaURL: string;
};

/** A dataset as an event names it. */
export interface Dataset {
  /** `s3://bucket`, or `file`. */
  readonly namespace: string;
  /** The object key, or the absolute path. */
  readonly name: string;
  /** Dataset facets: `schema`, `dataSource`, `columnLineage`, `dataQualityAssertions`. */
  readonly facets?: Readonly<Record<string, Facet>>;
  /** Output facets: `outputStatistics`. */
  readonly outputFacets?: Readonly<Record<string, Facet>>;
}

/** An OpenLineage run event. */
export interface RunEvent {
  /** START, then COMPLETE, FAIL or ABORT. */
  readonly eventType: EventType;
  /** When, as an ISO 8601 time. */
  readonly eventTime: string;
  /** The run: its UUID and run facets. */
  readonly run: { readonly runId: string; readonly facets?: Readonly<Record<string, Facet>> };
  /** The job: its namespace, name and job facets. */
  readonly job: {
    readonly namespace: string;
    readonly name: string;
    readonly facets?: Readonly<Record<string, Facet>>;
  };
  /** The datasets read. */
  readonly inputs: readonly Dataset[];
  /** The datasets written. */
  readonly outputs: readonly Dataset[];
  /** {@linkcode PRODUCER}. */
  readonly producer: string;
  /** {@linkcode RUN_EVENT_SCHEMA}. */
  readonly schemaURL: string;
}

/**
 * The OpenLineage name of a bucket's location: an `s3://bucket/key` URI is namespace
 * `s3://bucket` and name `key`; a local path is namespace `file` and the path.
 *
 * @param uri where the data lives: an `s3://` URI or an absolute file path.
 * @returns the dataset's namespace and name.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { datasetName } from "./events.ts";
 * assert.deepEqual(datasetName("s3://shop/raw/orders.parquet"), {
 *   namespace: "s3://shop",
 *   name: "raw/orders.parquet",
 * });
 * assert.deepEqual(datasetName("/data/shop/raw/orders.parquet"), {
 *   namespace: "file",
 *   name: "/data/shop/raw/orders.parquet",
 * });
 * ```
 */
export function datasetName(uri: string): { namespace: string; name: string } {
  const s3 = /^s3:\/\/([^/]+)\/(.*)$/.exec(uri);
  if (s3) return { namespace: `s3://${s3[1]}`, name: s3[2] };
  return { namespace: "file", name: uri.replace(/^file:\/\//, "") };
}

/**
 * The OpenLineage run id (a UUID) of a Glacier run or step: a Glacier id that is a UUID as it
 * is, any other the name-based UUID (version 5) of `glacier:<id>`, so the same run always has
 * the same OpenLineage id.
 *
 * @param id a Glacier run id, or a step's `<run id>/<task>`.
 * @returns a UUID.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { lineageRunId } from "./events.ts";
 * const id = await lineageRunId("2026-01-03T07-00-00-000Z-1a2b3c4d");
 * assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
 * assert.equal(await lineageRunId("2026-01-03T07-00-00-000Z-1a2b3c4d"), id);
 * ```
 */
export async function lineageRunId(id: string): Promise<string> {
  if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)) {
    return id.toLowerCase();
  }
  const name = new TextEncoder().encode(`glacier:${id}`);
  const bytes = new Uint8Array(URL_NAMESPACE.length + name.length);
  bytes.set(URL_NAMESPACE);
  bytes.set(name, URL_NAMESPACE.length);
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-1", bytes)).slice(0, 16);
  hash[6] = (hash[6] & 0x0f) | 0x50;
  hash[8] = (hash[8] & 0x3f) | 0x80;
  const hex = [...hash].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${
    hex.slice(20)
  }`;
}

/** RFC 4122's URL namespace, 6ba7b811-9dad-11d1-80b4-00c04fd430c8. */
const URL_NAMESPACE = new Uint8Array(
  "6ba7b8119dad11d180b400c04fd430c8".match(/../g)!.map((h) => parseInt(h, 16)),
);

/** The facet schemas, as the spec's files name them. */
const FACETS = {
  schema: "1-2-0/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet",
  dataSource: "1-0-1/DatasourceDatasetFacet.json#/$defs/DatasourceDatasetFacet",
  columnLineage: "1-2-0/ColumnLineageDatasetFacet.json#/$defs/ColumnLineageDatasetFacet",
  dataQualityAssertions:
    "1-1-0/DataQualityAssertionsDatasetFacet.json#/$defs/DataQualityAssertionsDatasetFacet",
  outputStatistics:
    "1-0-2/OutputStatisticsOutputDatasetFacet.json#/$defs/OutputStatisticsOutputDatasetFacet",
  errorMessage: "1-0-1/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet",
  jobType: "2-0-4/JobTypeJobFacet.json#/$defs/JobTypeJobFacet",
  documentation: "1-1-0/DocumentationJobFacet.json#/$defs/DocumentationJobFacet",
  parent: "1-2-0/ParentRunFacet.json#/$defs/ParentRunFacet",
} as const;

function facet(kind: keyof typeof FACETS, content: Record<string, unknown>): Facet {
  return {
    _producer: PRODUCER,
    _schemaURL: `https://openlineage.io/spec/facets/${FACETS[kind]}`,
    ...content,
  };
}

/** A run as the events see it: its OpenLineage id and job. */
export interface LineageRun {
  /** The namespace of the jobs (`OPENLINEAGE_NAMESPACE`, default `glacier`). */
  readonly namespace: string;
  /** The run's OpenLineage id. */
  readonly runId: string;
  /** The run as the engine reports it. */
  readonly run: ObservedRun;
}

/** What a step's event says beyond its type. */
export interface StepDetails {
  /** The step's OpenLineage run id. */
  readonly runId: string;
  /** When, as an ISO 8601 time. */
  readonly eventTime: string;
  /** Its column lineage, when its plan could be read. */
  readonly lineage?: ColumnLineage;
  /** What it did, for COMPLETE and FAIL. */
  readonly report?: StepReport;
}

/**
 * The event of the run's own job.
 *
 * @param lineage the run.
 * @param eventType what happened.
 * @param eventTime when, as an ISO 8601 time.
 * @param error the run's error, for FAIL.
 * @returns the event.
 */
export function runEvent(
  lineage: LineageRun,
  eventType: EventType,
  eventTime: string,
  error?: string,
): RunEvent {
  const { graph } = lineage.run;
  return {
    eventType,
    eventTime,
    run: { runId: lineage.runId, ...runFacets(error) },
    job: {
      namespace: lineage.namespace,
      name: graph.name,
      facets: jobFacets("JOB", graph.description),
    },
    inputs: [],
    outputs: [],
    producer: PRODUCER,
    schemaURL: RUN_EVENT_SCHEMA,
  };
}

/**
 * The event of a step's job, `<pipeline>.<task>`, a child of the run's.
 *
 * @param lineage the run.
 * @param step the step.
 * @param eventType what happened.
 * @param details its run id, time, column lineage and report.
 * @returns the event.
 */
export function stepEvent(
  lineage: LineageRun,
  step: Step,
  eventType: EventType,
  details: StepDetails,
): RunEvent {
  const { run, namespace } = lineage;
  const report = details.report;
  const checks = report?.checks ?? [];
  const parent = facet("parent", {
    run: { runId: lineage.runId },
    job: { namespace, name: run.graph.name },
    root: { run: { runId: lineage.runId }, job: { namespace, name: run.graph.name } },
  });
  const inputs = Object.values(step.sources).map((ref) => dataset(run, ref, checks));
  const written = eventType === "COMPLETE" && report !== undefined;
  const output: Dataset = {
    ...dataset(
      run,
      step.target,
      checks,
      details.lineage && columnLineageFacet(run, step, details.lineage),
    ),
    ...(written
      ? {
        outputFacets: {
          outputStatistics: facet("outputStatistics", {
            rowCount: report.rows,
            size: report.bytes,
          }),
        },
      }
      : {}),
  };
  const facets = runFacets(eventType === "FAIL" ? report?.error ?? report?.reason : undefined);
  return {
    eventType,
    eventTime: details.eventTime,
    run: { runId: details.runId, facets: { parent, ...facets.facets } },
    job: {
      namespace,
      name: `${run.graph.name}.${step.task.name}`,
      facets: jobFacets("TASK", step.task.description),
    },
    inputs,
    outputs: eventType === "ABORT" ? [] : [output],
    producer: PRODUCER,
    schemaURL: RUN_EVENT_SCHEMA,
  };
}

function runFacets(error: string | undefined): { facets?: Record<string, Facet> } {
  if (error === undefined) return {};
  return {
    facets: {
      errorMessage: facet("errorMessage", { message: error, programmingLanguage: "TypeScript" }),
    },
  };
}

function jobFacets(jobType: string, description: string | undefined): Record<string, Facet> {
  return {
    jobType: facet("jobType", { processingType: "BATCH", integration: "GLACIER", jobType }),
    ...(description ? { documentation: facet("documentation", { description }) } : {}),
  };
}

/** A bucket as a dataset: its name, schema, data source and the checks run on it. */
function dataset(
  run: ObservedRun,
  ref: BucketRef,
  checks: readonly CheckResult[],
  lineage?: Facet,
): Dataset {
  const { namespace, name } = datasetName(run.uriOf(ref));
  const own = checks.filter((c) => c.bucket === ref.location);
  return {
    namespace,
    name,
    facets: {
      schema: facet("schema", { fields: schemaFields(ref.schema) }),
      dataSource: facet("dataSource", {
        name: namespace,
        uri: namespace === "file" ? "file:///" : namespace,
      }),
      ...(lineage ? { columnLineage: lineage } : {}),
      ...(own.length > 0
        ? {
          dataQualityAssertions: facet("dataQualityAssertions", {
            assertions: own.map((c) => assertion(c, ref.schema)),
          }),
        }
        : {}),
    },
  };
}

function schemaFields(schema: Schema): Record<string, unknown>[] {
  return Object.entries(schema).map(([name, dtype], i) => field(name, dtype, i + 1));
}

function field(name: string, dtype: pl.DataType, position?: number): Record<string, unknown> {
  const inner = (dtype as unknown as { inner: unknown[] | null }).inner;
  const nested = dtype.variant === "Struct"
    ? {
      fields: (inner as { name: string; dtype: pl.DataType }[]).map((f) => field(f.name, f.dtype)),
    }
    : {};
  return {
    name,
    type: dtypeName(dtype),
    ...(position === undefined ? {} : { ordinal_position: position }),
    ...nested,
  };
}

/**
 * A check result as an assertion: a name of the form `kind(column, ...)` gives the assertion's
 * kind and, when its first argument is a column of the bucket, its column.
 */
function assertion(check: CheckResult, schema: Schema): Record<string, unknown> {
  const call = /^([A-Za-z_]+)\((.*)\)$/.exec(check.name);
  const first = call?.[2].split(",")[0].trim().replace(/^\[/, "");
  return {
    assertion: call?.[1] ?? check.name,
    success: check.passed,
    ...(first !== undefined && first in schema ? { column: first } : {}),
    severity: check.severity,
    name: check.name,
    actual: `${check.failingRows} failing rows`,
  };
}

/** The column lineage facet: each output column's input fields, and the row-deciding columns. */
function columnLineageFacet(run: ObservedRun, step: Step, lineage: ColumnLineage): Facet {
  const where = new Map(
    Object.entries(step.sources).map(([input, ref]) => [input, datasetName(run.uriOf(ref))]),
  );
  const inputFields = (sources: ColumnLineage["dataset"]) => {
    const byField = new Map<
      string,
      { namespace: string; name: string; field: string; transformations: Record<string, unknown>[] }
    >();
    for (const source of sources) {
      const at = where.get(source.input);
      if (at === undefined) continue;
      const key = `${at.namespace}\u0000${at.name}\u0000${source.column}`;
      let entry = byField.get(key);
      if (entry === undefined) {
        entry = { ...at, field: source.column, transformations: [] };
        byField.set(key, entry);
      }
      entry.transformations.push({
        type: source.type,
        subtype: source.subtype,
        masking: false,
      });
    }
    return [...byField.values()];
  };
  const fields: Record<string, unknown> = {};
  for (const [column, sources] of Object.entries(lineage.fields)) {
    if (sources.length > 0) fields[column] = { inputFields: inputFields(sources) };
  }
  return facet("columnLineage", { fields, dataset: inputFields(lineage.dataset) });
}
