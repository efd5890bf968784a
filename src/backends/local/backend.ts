/**
 * The in-process backend: tasks on `provider.local()` run on polars in the process that runs the
 * pipeline, in local and in cloud mode alike, so there is nothing to check, deploy or invoke.
 *
 * @module
 */
import type { Backend } from "../../core/backend.ts";
import { localTerraform } from "./terraform.ts";
import { localCost } from "./cost.ts";

/** Tasks run in this process. */
export const localBackend: Backend & { readonly kind: "local" } = {
  kind: "local",
  title: "this process",
  check: () => Promise.resolve([]),
  executor: () => Promise.resolve(undefined),
  cost: localCost,
  terraform: localTerraform,
  artifactBuilder: () => Promise.resolve(undefined),
};
