/**
 * The entry point a Glacier Lambda artifact's `bootstrap` runs: serves the pipeline module named
 * by `GLACIER_MODULE` on the runtime API named by `AWS_LAMBDA_RUNTIME_API`. With
 * `GLACIER_LAMBDA_SELFTEST=1` it only loads the module and prints its task names as JSON, which
 * checks an artifact without a runtime API.
 *
 * @module
 */
import { serveLambda, stepsOf } from "./runtime.ts";

if (import.meta.main) {
  const module = Deno.env.get("GLACIER_MODULE");
  if (!module) {
    console.error(
      "glacier: GLACIER_MODULE is not set; the bootstrap sets it to the packaged module",
    );
    Deno.exit(1);
  }
  if (Deno.env.get("GLACIER_LAMBDA_SELFTEST") === "1") {
    console.log(JSON.stringify({ tasks: [...(await stepsOf(module)).keys()].sort() }));
  } else {
    const api = Deno.env.get("AWS_LAMBDA_RUNTIME_API");
    if (!api) {
      console.error(
        "glacier: AWS_LAMBDA_RUNTIME_API is not set; run this under Lambda or the emulator",
      );
      Deno.exit(1);
    }
    await serveLambda(module, api);
  }
}
