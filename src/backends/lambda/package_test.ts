import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  buildLambdaArtifact,
  type LambdaArtifact,
  LambdaPackageError,
  unpackLambdaArtifact,
} from "./package.ts";

const MOD = fileURLToPath(new URL("../../../mod.ts", import.meta.url));

/** A pipeline module outside the repository that imports Glacier by absolute path. */
const PIPELINE = `
import { LambdaConfig, pl, Provider, schema, t } from ${JSON.stringify(MOD)};

const provider = new Provider();
const local = provider.local();
const small = provider.serverless({ config: new LambdaConfig({ memoryMb: 512, timeoutSeconds: 60 }) });
const big = provider.serverless({ config: new LambdaConfig({ memoryMb: 2048, timeoutSeconds: 300 }) });

const Amounts = schema({ id: t.int64, amount: t.float64 });
const Total = schema({ total: t.float64 });
const raw = provider.bucket({ bucket: "package-test", path: "raw.parquet", schema: Amounts });
const clean = provider.bucket({ bucket: "package-test", path: "clean.parquet", schema: Amounts });
const total = provider.bucket({ bucket: "package-test", path: "total.parquet", schema: Total });
const shown = provider.bucket({ bucket: "package-test", path: "shown.csv", schema: Total });

const positive = small.task(
  { name: "positive", input: Amounts, output: Amounts },
  (df) => df.filter(pl.col("amount").gt(0)),
);
const sum = big.task(
  { name: "sum", input: Amounts, output: Total },
  (df) => df.select(pl.col("amount").sum().alias("total")),
);
const show = local.task({ name: "show", input: Total, output: Total }, (df) => df);

export const report = raw.transform(positive).to(clean).transform(sum).to(total)
  .transform(show).to(shown);
`;

const LOCAL_ONLY = `
import { Provider, schema, t } from ${JSON.stringify(MOD)};
const provider = new Provider();
const S = schema({ id: t.int64 });
const a = provider.bucket({ bucket: "package-test", path: "a.parquet", schema: S });
const b = provider.bucket({ bucket: "package-test", path: "b.parquet", schema: S });
export const copy = a.transform(provider.local().task({ name: "copy", input: S, output: S }, (df) => df)).to(b);
`;

async function sha256(file: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", await Deno.readFile(file));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

async function canRun(...args: string[]): Promise<boolean> {
  try {
    return (await new Deno.Command(args[0], { args: args.slice(1), stdout: "null", stderr: "null" })
      .output()).success;
  } catch {
    return false;
  }
}

Deno.test("LambdaPackager: one deterministic, cached zip that runs offline from a read-only copy", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "glacier-package-test-" });
  await Deno.chmod(dir, 0o755);
  try {
    const module = join(dir, "pipeline.ts");
    await Deno.writeTextFile(module, PIPELINE);
    let first: LambdaArtifact;

    await t.step("lists the serverless tasks as functions and reports the sizes", async () => {
      const started = performance.now();
      first = await buildLambdaArtifact({ module, cacheDir: join(dir, "cache-a"), quiet: true });
      console.log(
        `cold build: ${((performance.now() - started) / 1000).toFixed(1)} s, ` +
          `${first.bytes} bytes zipped, ${first.unzippedBytes} bytes unzipped`,
      );
      assert.deepEqual(first.functions, [
        { name: "glacier-positive", task: "positive", memoryMb: 512, timeoutSeconds: 60 },
        { name: "glacier-sum", task: "sum", memoryMb: 2048, timeoutSeconds: 300 },
      ]);
      assert.equal(first.runtime, "provided.al2023");
      assert.equal(first.cached, false);
      assert.match(first.file, /cache-a\/lambda-[0-9a-f]{64}\.zip$/);
      assert.equal((await Deno.stat(first.file)).size, first.bytes);
      assert.equal(first.sha256, await sha256(first.file));
      // The Deno binary alone is over 80 MB; the whole must stay under Lambda's 250 MB.
      assert.ok(first.unzippedBytes > 150 * 1024 * 1024, `${first.unzippedBytes} unzipped`);
      assert.ok(first.unzippedBytes < 262_144_000, `${first.unzippedBytes} unzipped`);
      assert.ok(first.bytes < first.unzippedBytes / 2, `${first.bytes} zipped`);
    });

    await t.step("reuses the cached zip", async () => {
      const started = performance.now();
      const again = await buildLambdaArtifact({
        module,
        cacheDir: join(dir, "cache-a"),
        quiet: true,
      });
      console.log(`cached build: ${((performance.now() - started) / 1000).toFixed(1)} s`);
      assert.equal(
        again.cached,
        true,
        "same inputs, same key (was a packaged file edited meanwhile?)",
      );
      assert.equal(again.file, first.file);
      assert.equal(again.sha256, first.sha256);
    });

    await t.step("builds the same bytes from the same inputs", async () => {
      const other = await buildLambdaArtifact({
        module,
        cacheDir: join(dir, "cache-b"),
        quiet: true,
      });
      assert.equal(other.cached, false);
      assert.equal(
        other.sha256,
        first.sha256,
        "same inputs, same bytes (was a packaged file edited meanwhile?)",
      );
      assert.equal(other.bytes, first.bytes);
      await Deno.remove(join(dir, "cache-b"), { recursive: true });
    });

    await t.step("refuses an artifact over the size limit, naming its largest parts", async () => {
      const error = await buildLambdaArtifact({
        module,
        cacheDir: join(dir, "cache-c"),
        quiet: true,
        limitBytes: 100 * 1024 * 1024,
      }).then(() => undefined, (e) => e);
      assert.ok(error instanceof LambdaPackageError, String(error));
      assert.match(error.message, /unzipped, over the limit of 100\.0 MB \(104857600 bytes\)/);
      assert.match(error.message, /npm nodejs-polars-linux-x64-gnu@0\.25\.2 \d+\.\d MB/);
      assert.match(error.message, /bin\/deno \d+\.\d MB/);
      assert.equal(await Deno.stat(join(dir, "cache-c")).then(() => true, () => false), false);
    });

    await t.step(
      "packages a module of local tasks: no function on the stack, the same zip in AWS",
      async () => {
        const localOnly = join(dir, "local_only.ts");
        await Deno.writeTextFile(localOnly, LOCAL_ONLY);
        const artifact = await buildLambdaArtifact({
          module: localOnly,
          cacheDir: join(dir, "cache-d"),
          quiet: true,
        });
        assert.deepEqual(artifact.functions, []);
        assert.ok((await Deno.stat(artifact.file)).size > 0);
      },
    );

    await t.step(
      "unpacks with modes; the bootstrap serves the module offline, read-only",
      async () => {
        const unpacked = join(dir, "function");
        await unpackLambdaArtifact(first.file, unpacked);
        assert.equal((await Deno.stat(join(unpacked, "bootstrap"))).mode! & 0o777, 0o755);
        assert.equal((await Deno.stat(join(unpacked, "bin", "deno"))).mode! & 0o777, 0o755);
        assert.equal((await Deno.stat(join(unpacked, "app", "deno.json"))).mode! & 0o777, 0o644);
        const musl = join(unpacked, "app/node_modules/.deno/nodejs-polars-linux-x64-musl@0.25.2");
        assert.deepEqual(
          [...Deno.readDirSync(join(musl, "node_modules", "nodejs-polars-linux-x64-musl"))].map((
            e,
          ) => e.name),
          ["package.json"],
        );
        await assert.rejects(
          unpackLambdaArtifact(first.file, unpacked),
          LambdaPackageError,
          "not empty",
        );

        // Lambda runs the bootstrap as an unprivileged user from a read-only directory with only
        // /tmp writable. As root, run it as `nobody` (who cannot write the root-owned files) in a
        // network namespace of its own; otherwise, make the copy read-only.
        const tmp = join(dir, "tmp");
        await Deno.mkdir(tmp, { mode: 0o777 });
        await Deno.chmod(tmp, 0o777);
        const env = [
          "PATH=/usr/bin:/bin",
          `TMPDIR=${tmp}`,
          "GLACIER_LAMBDA_SELFTEST=1",
          "HTTP_PROXY=http://127.0.0.1:9",
          "HTTPS_PROXY=http://127.0.0.1:9",
          "NPM_CONFIG_REGISTRY=http://127.0.0.1:9",
        ];
        let command = ["env", "-i", ...env, join(unpacked, "bootstrap")];
        if (
          Deno.uid() === 0 &&
          await canRun("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "true")
        ) {
          command = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", ...command];
          if (await canRun("unshare", "-n", "true")) command = ["unshare", "-n", ...command];
        } else {
          await new Deno.Command("chmod", { args: ["-R", "a-w", unpacked] }).output();
        }
        const out = await new Deno.Command(command[0], {
          args: command.slice(1),
          stdout: "piped",
          stderr: "piped",
          clearEnv: true,
        }).output();
        const stderr = new TextDecoder().decode(out.stderr);
        assert.ok(out.success, `bootstrap failed: ${stderr}`);
        assert.deepEqual(JSON.parse(new TextDecoder().decode(out.stdout)), {
          tasks: ["positive", "show", "sum"],
        });
        await new Deno.Command("chmod", { args: ["-R", "u+w", unpacked] }).output();
      },
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
