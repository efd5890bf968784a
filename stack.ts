/**
 * The local stack: the real software cloud mode talks to, on loopback. An S3-compatible server
 * (versitygw), with `--module` the AWS Lambda Runtime Interface Emulator hosting the module's
 * serverless tasks, and an Apache Spark master and worker (PySpark 4.0.1). `glacier stack up`
 * installs what is missing into `.glacier/` of the current directory, starts it and writes
 * `.glacier/stack.env`; `glacier stack down` stops exactly what it started, by PID.
 *
 * ```sh
 * deno run -A jsr:@glacier/glacier/cli stack up --module pipelines.ts
 * source .glacier/stack.env
 * deno run -A jsr:@glacier/glacier/cli pipelines.ts run --mode cloud
 * deno run -A jsr:@glacier/glacier/cli stack down
 * ```
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { stackMain } from "@glacier/glacier/stack";
 * const status = await stackMain(["--help"]);
 * assert.equal(status, 0);
 * ```
 *
 * @module
 */
export { stackMain } from "./src/stack/stack_command.ts";
