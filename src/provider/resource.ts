/**
 * Execution resources: where tasks are declared.
 *
 * @module
 */
import type pl from "../polars.ts";
import type { Schema } from "../schema/schema.ts";
import type { ResourceInfo } from "../core/resource.ts";
import type { PartitionValues } from "../core/partitions.ts";
import {
  createTask,
  type InputFrames,
  type MultiTask,
  type MultiTaskSpec,
  type SingleTask,
  type SingleTaskSpec,
  type TaskInputs,
} from "../core/task.ts";

/** An execution resource. Tasks declared on it run there in cloud mode, in-process locally. */
export interface ExecutionResource {
  /** The resource as the pipeline graph records it. */
  readonly info: ResourceInfo;

  /**
   * Declares a single-source task.
   *
   * @param spec name, input schema and output schema.
   * @param body builds the output plan from the input frame; its second parameter is the
   *   partition being computed (`{ date: "2026-01-03" }`; `{}` for an unpartitioned target).
   * @returns the task.
   */
  task<const I extends Schema, const O extends Schema, const N extends string>(
    spec: SingleTaskSpec<I, O, N>,
    body: (df: pl.LazyDataFrame<I>, partition: PartitionValues) => pl.LazyDataFrame,
  ): SingleTask<I, O, N>;

  /**
   * Declares a multi-source task.
   *
   * @param spec name, named input schemas and output schema.
   * @param body builds the output plan from the named input frames; its second parameter is the
   *   partition being computed.
   * @returns the task.
   */
  task<const I extends TaskInputs, const O extends Schema, const N extends string>(
    spec: MultiTaskSpec<I, O, N>,
    body: (inputs: InputFrames<I>, partition: PartitionValues) => pl.LazyDataFrame,
  ): MultiTask<I, O, N>;
}

/** The implementation behind {@link ExecutionResource}. */
export class ExecutionResourceImpl implements ExecutionResource {
  readonly info: ResourceInfo;

  constructor(info: ResourceInfo) {
    this.info = Object.freeze({
      ...info,
      settings: Object.freeze({ ...info.settings }),
    }) as ResourceInfo;
    Object.freeze(this);
  }

  // deno-lint-ignore no-explicit-any
  task(spec: any, body: any): any {
    return createTask(this.info, spec, body);
  }
}
