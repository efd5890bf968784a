import assert from "node:assert/strict";
import { join } from "node:path";
import { pl, Provider, schema, t } from "../../mod.ts";
import { localSizeProbe } from "./size_probe.ts";

Deno.test("the local probe measures a bucket's file, and finds nothing where there is no data", async () => {
  const root = await Deno.makeTempDir({ prefix: "glacier-probe-" });
  try {
    const provider = new Provider({ localRoot: root });
    const bucket = provider.bucket({
      bucket: "probe",
      path: "a/b.csv",
      schema: schema({ x: t.int64 }),
    });
    const probe = localSizeProbe();
    assert.equal(await probe(bucket), undefined);
    await bucket.write(pl.DataFrame({ x: pl.Series("x", [1, 2, 3], pl.Int64) }));
    const path = join(root, "probe", "a", "b.csv");
    assert.deepEqual(await probe(bucket), { bytes: (await Deno.stat(path)).size, where: path });
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

interface InfoModule {
  readonly specifier: string;
  readonly dependencies?: readonly {
    readonly code?: { readonly specifier: string };
    readonly isDynamic?: boolean;
  }[];
}

Deno.test("analysis loads the AWS SDK only through the cloud probe's dynamic import", async () => {
  const entry = new URL("./mod.ts", import.meta.url);
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry.pathname],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    modules: InfoModule[];
    redirects: Record<string, string>;
  };
  const byName = new Map(info.modules.map((m) => [m.specifier, m]));
  const seen = new Set<string>();
  const visit = (specifier: string) => {
    const resolved = info.redirects[specifier] ?? specifier;
    if (seen.has(resolved)) return;
    seen.add(resolved);
    for (const dep of byName.get(resolved)?.dependencies ?? []) {
      if (!dep.isDynamic && dep.code) visit(dep.code.specifier);
    }
  };
  visit(entry.href);
  const sdk = [...seen].filter((s) => s.includes("@aws-sdk"));
  assert.deepEqual(sdk, [], "statically reachable from src/analyze/mod.ts");
  assert.ok([...seen].some((s) => s.endsWith("/src/analyze/size_probe.ts")));
});
