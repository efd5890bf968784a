/**
 * The backends, one per resource kind: the one list a new kind of execution resource joins.
 *
 * @module
 */
import type { Backends } from "../core/backend.ts";
import { lambdaBackend } from "./lambda/backend.ts";
import { localBackend } from "./local/backend.ts";
import { sparkBackend } from "./spark/backend.ts";

/** Every backend, by the kind it implements. */
export const BACKENDS: Backends = Object.freeze({
  local: localBackend,
  serverless: lambdaBackend,
  spark: sparkBackend,
});
