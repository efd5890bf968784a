/**
 * The OpenLineage JSON Schemas (spec 2-0-2, copied unchanged into `tests/fixtures/`) as a
 * validator of whole events, each facet checked against its own facet schema; and a replay of a
 * run's report through an observer, in the order the engine calls it.
 *
 * @module
 */
import { Ajv2020, type ValidateFunction } from "npm:ajv@8.20.0/dist/2020.js";
import addFormats from "npm:ajv-formats@3.0.1";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { PipelineGraph } from "../../src/core/graph.ts";
import type { BucketRef } from "../../src/core/lineage.ts";
import type { ObservedRun, RunObserver } from "../../src/core/observer.ts";
import type { RunReport } from "../../src/core/reports.ts";

const SPEC = fileURLToPath(new URL("../fixtures/openlineage-spec/", import.meta.url));

/** Validates events against the spec: the event, then each facet by its key. */
export class EventValidator {
  #event: ValidateFunction;
  #facets = new Map<string, ValidateFunction>();

  constructor() {
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats.default(ajv);
    ajv.addSchema(JSON.parse(Deno.readTextFileSync(join(SPEC, "OpenLineage.json"))));
    for (const entry of Deno.readDirSync(join(SPEC, "facets"))) {
      const schema = JSON.parse(Deno.readTextFileSync(join(SPEC, "facets", entry.name)));
      ajv.addSchema(schema);
      for (const key of Object.keys(schema.properties ?? {})) {
        this.#facets.set(key, ajv.getSchema(schema.$id)!);
      }
    }
    this.#event = ajv.getSchema(
      "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
    )!;
  }

  /**
   * The spec's complaints about an event: none when it is valid.
   *
   * @param event the event, as sent.
   * @returns one line per problem.
   */
  problems(event: Record<string, unknown>): string[] {
    const found: string[] = [];
    if (!this.#event(event)) {
      found.push(...this.#event.errors!.map((e) => `event${e.instancePath}: ${e.message}`));
    }
    const e = event as {
      run: { facets?: object };
      job: { facets?: object };
      inputs?: { facets?: object }[];
      outputs?: { facets?: object; outputFacets?: object }[];
    };
    const groups: [string, object | undefined][] = [
      ["run", e.run.facets],
      ["job", e.job.facets],
      ...(e.inputs ?? []).map((d, i) => [`inputs[${i}]`, d.facets] as [string, object]),
      ...(e.outputs ?? []).flatMap((d, i) => [
        [`outputs[${i}]`, d.facets] as [string, object],
        [`outputs[${i}].outputFacets`, d.outputFacets] as [string, object],
      ]),
    ];
    for (const [where, facets] of groups) {
      for (const [key, facet] of Object.entries(facets ?? {})) {
        const validate = this.#facets.get(key);
        if (validate === undefined) found.push(`${where}.${key}: no schema for this facet`);
        else if (!validate({ [key]: facet })) {
          found.push(
            ...validate.errors!.map((err) => `${where}.${key}${err.instancePath}: ${err.message}`),
          );
        }
      }
    }
    return found;
  }
}

/**
 * Tells an observer about a run that happened, as the engine does while it runs: the run's
 * start, each step that did not skip starting and finishing, in the report's order, the end.
 *
 * @param observer the observer.
 * @param graph the run's graph.
 * @param report what the run did.
 * @param uriOf where a bucket's data lives.
 * @returns the run as the observer saw it.
 */
export async function replay(
  observer: RunObserver,
  graph: PipelineGraph,
  report: RunReport,
  uriOf: (ref: BucketRef) => string,
): Promise<ObservedRun> {
  const run: ObservedRun = {
    runId: report.runId,
    graph,
    mode: report.mode,
    startedAt: new Date(report.startedAt),
    uriOf,
  };
  await observer.runStarted?.(run);
  for (const stepReport of report.steps) {
    const step = graph.steps.find((s) => s.task.name === stepReport.task)!;
    if (stepReport.status !== "skipped") await observer.stepStarted?.(run, step);
    await observer.stepFinished?.(run, step, stepReport);
  }
  await observer.runFinished?.(run, report);
  return run;
}
