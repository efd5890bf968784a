/**
 * The Apache Spark backend: tasks on `provider.spark()` are compiled to Spark SQL (`compile.ts`)
 * and run by Glacier's PySpark runner on a self-managed Spark or on EMR Serverless.
 *
 * @module
 */
import type { Backend } from "../../core/backend.ts";
import { sparkTerraform } from "./terraform.ts";
import { sparkCost } from "./cost.ts";

/** Tasks run as Spark jobs. */
export const sparkBackend: Backend & { readonly kind: "spark" } = {
  kind: "spark",
  title: "Apache Spark",
  check: async (step) => (await import("./check.ts")).sparkCheck(step),
  executor: async () => (await import("./executor.ts")).sparkExecutor(),
  cost: sparkCost,
  terraform: sparkTerraform,
  artifactBuilder: async () => (await import("./artifact_builder.ts")).sparkArtifactBuilder,
};
