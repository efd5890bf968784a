/**
 * `deno task stack:up` / `stack:down` in this repository: the same as `glacier stack up|down`.
 *
 * @module
 */
import { stackMain } from "../src/stack/stack_command.ts";

try {
  Deno.exit(await stackMain(Deno.args));
} catch (error) {
  console.error(`stack: ${(error as Error).message}`);
  Deno.exit(1);
}
