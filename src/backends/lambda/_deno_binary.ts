/**
 * The Deno executable a Lambda artifact ships: the one from the npm package
 * `@deno/linux-x64-glibc` at the version of the Deno that builds the artifact.
 *
 * @module
 */
import { join } from "node:path";
import { GlacierError } from "../../core/errors.ts";
import { runDeno } from "./_deno.ts";

const PACKAGE = "@deno/linux-x64-glibc";

async function isFile(path: string): Promise<boolean> {
  return await Deno.stat(path).then((s) => s.isFile, () => false);
}

async function npmCacheDir(): Promise<string> {
  const info = await runDeno(["info", "--json"], "find Deno's npm cache");
  return (JSON.parse(info) as { npmCache: string }).npmCache;
}

/**
 * The path of the Linux x86-64 (glibc) Deno executable at this Deno's version, from the npm
 * package `@deno/linux-x64-glibc` in Deno's npm cache; installs the package into the cache when
 * it is not there yet.
 *
 * @returns the executable's path.
 * @throws {GlacierError} when the package cannot be installed.
 */
export async function linuxDenoBinary(): Promise<string> {
  const version = Deno.version.deno;
  const cached = join(await npmCacheDir(), "registry.npmjs.org", PACKAGE, version, "deno");
  if (await isFile(cached)) return cached;
  const dir = await Deno.makeTempDir({ prefix: "glacier-deno-binary-" });
  try {
    await Deno.writeTextFile(join(dir, "deno.json"), '{ "nodeModulesDir": "auto" }\n');
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["install", `npm:${PACKAGE}@${version}`],
      cwd: dir,
      env: { DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const installed = join(dir, "node_modules", PACKAGE, "deno");
    if (!out.success || !(await isFile(installed))) {
      throw new GlacierError(
        `cannot install npm:${PACKAGE}@${version}, the Deno executable a Lambda function runs: ${
          new TextDecoder().decode(out.stderr).trim()
        }`,
      );
    }
    if (await isFile(cached)) return cached;
    throw new GlacierError(
      `installed npm:${PACKAGE}@${version}, but Deno's npm cache has no '${cached}'`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
