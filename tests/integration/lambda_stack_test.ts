/**
 * The local stack's Lambda side: a pipeline module's serverless tasks as Lambda functions under
 * the AWS Lambda Runtime Interface Emulator, behind the Lambda router, reading and writing a real
 * S3 server; invoked with `@aws-sdk/client-lambda` as cloud mode does, and answered in Lambda's
 * wire format. Then `stack up --module` and `stack down`, checked process by process.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import {
  InvokeCommand,
  type InvokeCommandOutput,
  LambdaClient,
} from "../../src/backends/lambda/_sdk.ts";
import { GetObjectCommand, HeadObjectCommand } from "../../src/io/s3/_sdk.ts";
import { pl, type RunReport } from "../../mod.ts";
import type { TaskEvent } from "../../src/backends/lambda/protocol.ts";
import { commandLine, descendants, freePort, isRunning } from "../../src/stack/process.ts";
import { RIE_BIN } from "../../src/stack/rie.ts";
import { withLambdaStack } from "./_lambda_stack.ts";
import { s3Client, type S3Server, withS3Server } from "./_s3_server.ts";
import { withAwsEnv } from "../_env.ts";

const BUCKET = "lambda-stack";
const INPUT_KEY = "raw/nums.parquet";

/**
 * One temporary directory for the file: the pipeline module, and a state directory whose
 * artifact cache and unpacked artifacts the harness fills and `stack up` then reuses.
 */
const root = await Deno.makeTempDir({ prefix: "glacier-lambda-stack-test-" });
globalThis.addEventListener("unload", () => {
  try {
    Deno.removeSync(root, { recursive: true });
  } catch {
    // Already gone.
  }
});
const module = join(root, "pipeline", "numbers.ts");
await Deno.mkdir(join(root, "pipeline"));
await Deno.writeTextFile(
  module,
  `import { LambdaConfig, pl, Provider, schema, t } from "${
    new URL("../../mod.ts", import.meta.url).href
  }";
const provider = new Provider({ localRoot: "${join(root, "local")}" });
const roomy = provider.serverless({
  config: new LambdaConfig({ memoryMb: 512, timeoutSeconds: 60 }),
});
const brief = provider.serverless({
  config: new LambdaConfig({ memoryMb: 256, timeoutSeconds: 2 }),
});
const Nums = schema({ n: t.int64 });
const Doubled = schema({ n: t.int64, twice: t.int64 });
export const nums = provider.bucket({ bucket: "${BUCKET}", path: "${INPUT_KEY}", schema: Nums });
const double = roomy.task({ name: "double", input: Nums, output: Doubled }, (df) =>
  df.withColumns(pl.col("n").mul(2).cast(pl.Int64).alias("twice")));
const fail = roomy.task({ name: "fail", input: Nums, output: Nums }, () => {
  throw new Error("no luck with these numbers");
});
const spin = brief.task({ name: "spin", input: Nums, output: Nums }, (df) => {
  const end = Date.now() + 30_000;
  while (Date.now() < end) { /* busy, past the 2 s timeout */ }
  return df;
});
export const doubled = nums.transform(double)
  .to(provider.bucket({ bucket: "${BUCKET}", path: "out/doubled.parquet", schema: Doubled }));
export const failed = nums.transform(fail)
  .to(provider.bucket({ bucket: "${BUCKET}", path: "out/failed.parquet", schema: Nums }));
export const spun = nums.transform(spin)
  .to(provider.bucket({ bucket: "${BUCKET}", path: "out/spun.parquet", schema: Nums }));
`,
);
const cacheDir = join(root, "state", "artifacts");
const unpackRoot = join(root, "state", "stack", "lambda");

/** Writes the module's input bucket to S3, as a user would, in cloud mode. */
async function seed(env: Record<string, string>): Promise<void> {
  const { nums } = await import(pathToFileURL(module).href);
  await withAwsEnv(
    env,
    () => nums.write(pl.DataFrame({ n: pl.Series("n", [1, 2, 3], pl.Int64) }), { mode: "cloud" }),
  );
}

function lambdaClient(endpoint: string, env: Record<string, string>): LambdaClient {
  return new LambdaClient({
    endpoint,
    region: env.AWS_REGION,
    credentials: {
      accessKeyId: env.AWS_ACCESS_KEY_ID,
      secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
    },
    maxAttempts: 1,
  });
}

function event(task: string, outputKey: string): TaskEvent {
  return {
    glacier: 1,
    task,
    run: "lambda-stack-test",
    inputs: { input: { bucket: BUCKET, key: INPUT_KEY } },
    output: { bucket: BUCKET, key: outputKey },
  };
}

async function invoke(
  client: LambdaClient,
  functionName: string,
  payload: TaskEvent,
  qualifier?: string,
): Promise<{ out: InvokeCommandOutput; body: Record<string, unknown>; ms: number }> {
  const started = performance.now();
  const out = await client.send(
    new InvokeCommand({
      FunctionName: functionName,
      Payload: new TextEncoder().encode(JSON.stringify(payload)),
      ...(qualifier ? { Qualifier: qualifier } : {}),
    }),
  );
  const ms = performance.now() - started;
  return { out, body: JSON.parse(new TextDecoder().decode(out.Payload)), ms };
}

/** The stack's S3 server, as the harness's client helpers take it. */
function s3Server(env: Record<string, string>): S3Server {
  return {
    endpoint: env.AWS_ENDPOINT_URL_S3,
    region: env.AWS_REGION,
    accessKey: env.AWS_ACCESS_KEY_ID,
    secretKey: env.AWS_SECRET_ACCESS_KEY,
  } as S3Server;
}

async function exists(server: S3Server, key: string): Promise<boolean> {
  try {
    await s3Client(server).send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
    return true;
  } catch {
    return false;
  }
}

async function readParquet(server: S3Server, key: string): Promise<Record<string, unknown>[]> {
  const out = await s3Client(server).send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  const bytes = await out.Body!.transformToByteArray();
  return pl.readParquet(Buffer.from(bytes)).sort("n").toRecords();
}

Deno.test("serverless tasks run under the Lambda emulator and answer in Lambda's wire format", async (t) => {
  await withS3Server((s3) =>
    withLambdaStack({ module, s3, cacheDir, unpackRoot }, async (stack) => {
      assert.deepEqual(stack.functions.map((f) => [f.name, f.memoryMb, f.timeoutSeconds]), [
        ["glacier-double", 512, 60],
        ["glacier-fail", 512, 60],
        ["glacier-spin", 256, 2],
      ]);
      assert.equal(stack.env().AWS_ENDPOINT_URL_LAMBDA, stack.endpoint);
      await seed(stack.env());
      const client = lambdaClient(stack.endpoint, stack.env());
      try {
        await t.step(
          "a task reads its input from S3 and writes its output where the event says",
          async () => {
            const cold = await invoke(
              client,
              "glacier-double",
              event("double", "runs/1/doubled.parquet"),
            );
            assert.equal(cold.out.StatusCode, 200, await stack.log("glacier-double"));
            assert.equal(cold.out.FunctionError, undefined, JSON.stringify(cold.body));
            assert.equal(cold.out.ExecutedVersion, "$LATEST");
            assert.equal(cold.body.rows, 3);
            assert.deepEqual(await readParquet(s3, "runs/1/doubled.parquet"), [
              { n: 1, twice: 2 },
              { n: 2, twice: 4 },
              { n: 3, twice: 6 },
            ]);
            const warm = await invoke(
              client,
              "glacier-double",
              event("double", "runs/2/doubled.parquet"),
              "$LATEST",
            );
            assert.equal(warm.body.rows, 3);
            const init = /INIT REPORT\(durationMs: ([\d.]+)\)/.exec(
              await stack.log("glacier-double"),
            );
            console.log(
              `glacier-double: cold invocation ${Math.round(cold.ms)} ms (init ${
                Math.round(Number(init?.[1]))
              } ms), warm ${Math.round(warm.ms)} ms`,
            );
          },
        );

        await t.step("invocations of one function at once are queued, not refused", async () => {
          const answers = await Promise.all(
            [3, 4, 5].map((run) =>
              invoke(client, "glacier-double", event("double", `runs/${run}/doubled.parquet`))
            ),
          );
          assert.deepEqual(answers.map((a) => [a.out.FunctionError, a.body.rows]), [
            [undefined, 3],
            [undefined, 3],
            [undefined, 3],
          ]);
        });

        await t.step("an asynchronous invocation is accepted with 202 and runs", async () => {
          const out = await client.send(
            new InvokeCommand({
              FunctionName: "glacier-double",
              InvocationType: "Event",
              Payload: new TextEncoder().encode(
                JSON.stringify(event("double", "runs/event/doubled.parquet")),
              ),
            }),
          );
          assert.equal(out.StatusCode, 202);
          const deadline = Date.now() + 10_000;
          while (!(await exists(s3, "runs/event/doubled.parquet")) && Date.now() < deadline) {
            await new Promise((r) => setTimeout(r, 50));
          }
          assert.equal((await readParquet(s3, "runs/event/doubled.parquet")).length, 3);
        });

        await t.step(
          "a task that throws is an Unhandled function error with its message",
          async () => {
            const { out, body } = await invoke(
              client,
              "glacier-fail",
              event("fail", "runs/1/failed.parquet"),
            );
            assert.equal(out.StatusCode, 200);
            assert.equal(out.FunctionError, "Unhandled");
            assert.equal(typeof body.errorType, "string");
            assert.match(String(body.errorMessage), /no luck with these numbers/);
            assert.ok(
              !(await exists(s3, "runs/1/failed.parquet")),
              "a failed task wrote its output",
            );
          },
        );

        await t.step(
          "a task that runs past its timeout is a Sandbox.Timedout function error",
          async () => {
            const { out, body, ms } = await invoke(
              client,
              "glacier-spin",
              event("spin", "runs/1/spun.parquet"),
            );
            assert.equal(out.StatusCode, 200);
            assert.equal(out.FunctionError, "Unhandled");
            assert.deepEqual(body, {
              errorType: "Sandbox.Timedout",
              errorMessage: "Task timed out after 2.00 seconds",
            });
            assert.ok(ms < 15_000, `the timeout took ${ms} ms`);
            assert.ok(
              !(await exists(s3, "runs/1/spun.parquet")),
              "a timed-out task wrote its output",
            );
          },
        );

        await t.step("an unknown function is a ResourceNotFoundException", async () => {
          const error = await client.send(
            new InvokeCommand({ FunctionName: "glacier-nope", Payload: new Uint8Array() }),
          ).then(() => undefined, (e) => e as Error & { $metadata: { httpStatusCode: number } });
          assert.ok(error, "invoking a function that does not exist succeeded");
          assert.equal(error.name, "ResourceNotFoundException");
          assert.equal(error.$metadata.httpStatusCode, 404);
          assert.equal(
            error.message,
            `Function not found: arn:aws:lambda:${s3.region}:000000000000:function:glacier-nope`,
          );
        });

        await t.step("a function whose emulator is down is a 502 that names it", async () => {
          const spin = stack.functions.find((f) => f.name === "glacier-spin")!;
          Deno.kill(spin.pid, "SIGKILL");
          while (isRunning(spin.pid)) await new Promise((r) => setTimeout(r, 20));
          const error = await client.send(
            new InvokeCommand({ FunctionName: "glacier-spin", Payload: new Uint8Array() }),
          ).then(() => undefined, (e) => e as Error & { $metadata: { httpStatusCode: number } });
          assert.ok(error, "invoking a function whose emulator is down succeeded");
          assert.equal(error.$metadata.httpStatusCode, 502);
          assert.match(
            error.message,
            new RegExp(
              `emulator of function 'glacier-spin' .*\\(pid ${spin.pid}\\) is not running`,
            ),
          );
        });
      } finally {
        client.destroy();
      }
    })
  );
});

/** Runs `tools/stack.ts` in a new process and returns its exit status and output. */
async function stackCommand(...args: string[]): Promise<{ code: number; out: string }> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("../../tools/stack.ts", import.meta.url).pathname,
      ...args,
    ],
    stdin: "null",
    env: { NO_COLOR: "1" },
  }).output();
  const decoder = new TextDecoder();
  return { code: output.code, out: decoder.decode(output.stdout) + decoder.decode(output.stderr) };
}

/** The variables `stack.env` exports. */
async function sourced(envFile: string): Promise<Record<string, string>> {
  const text = await Deno.readTextFile(envFile);
  return Object.fromEntries(
    [...text.matchAll(/^export ([A-Z0-9_]+)='([^']*)'$/gm)].map((m) => [m[1], m[2]]),
  );
}

interface RecordedService {
  name: string;
  pid: number;
  program: string;
  port: number;
  lambda?: { function: string; task: string; dir: string };
}

Deno.test("stack up --module runs a module's functions behind the router, and stack down stops every process", async () => {
  const stateDir = join(root, "state");
  const lambdaPort = freePort();
  const flags = ["--state-dir", stateDir, "--s3-port", String(freePort()), "--no-spark"];
  let services: RecordedService[] = [];
  try {
    const up = await stackCommand(
      "up",
      ...flags,
      "--lambda-port",
      String(lambdaPort),
      "--module",
      module,
    );
    assert.equal(up.code, 0, up.out);
    services = JSON.parse(await Deno.readTextFile(join(stateDir, "stack", "state.json"))).services;
    assert.deepEqual(services.map((s) => s.name), [
      "s3",
      "lambda-router",
      "lambda:glacier-double",
      "lambda:glacier-fail",
      "lambda:glacier-spin",
    ]);
    const [s3, router, double, , spin] = services;
    for (const service of services) {
      assert.ok(isRunning(service.pid), `${service.name} (pid ${service.pid}) does not run`);
      assert.equal(commandLine(service.pid)?.[0], service.program);
    }
    assert.equal(double.program, RIE_BIN);
    assert.equal(router.program, Deno.execPath());
    assert.equal(router.port, lambdaPort);

    const env = await sourced(join(stateDir, "stack.env"));
    assert.equal(env.AWS_ENDPOINT_URL_LAMBDA, `http://127.0.0.1:${lambdaPort}`);
    assert.equal(env.AWS_ENDPOINT_URL_S3, `http://127.0.0.1:${s3.port}`);
    const routes = JSON.parse(await Deno.readTextFile(join(stateDir, "stack", "lambda.json")));
    assert.deepEqual(Object.keys(routes.functions), [
      "glacier-double",
      "glacier-fail",
      "glacier-spin",
    ]);
    assert.equal(routes.functions["glacier-double"].pid, double.pid);

    // The stack's functions answer through the stack's router, and their runtimes are the
    // emulators' children.
    await seed(env);
    const client = lambdaClient(env.AWS_ENDPOINT_URL_LAMBDA, env);
    try {
      const { out, body } = await invoke(
        client,
        "glacier-double",
        event("double", "stack/d.parquet"),
      );
      assert.equal(out.FunctionError, undefined, JSON.stringify(body));
      assert.equal(body.rows, 3);
    } finally {
      client.destroy();
    }
    const runtimes = descendants(double.pid);
    assert.ok(runtimes.length > 0, "the emulator of glacier-double has no runtime process");

    const again = await stackCommand(
      "up",
      ...flags,
      "--lambda-port",
      String(lambdaPort),
      "--module",
      module,
    );
    assert.equal(again.code, 0, again.out);
    for (const service of services) {
      assert.match(
        again.out,
        new RegExp(`${service.name}: already running \\(pid ${service.pid},`),
      );
    }

    // A module that cannot be built fails `up`, and what ran stays recorded for `down`.
    const broken = await stackCommand(
      "up",
      ...flags,
      "--lambda-port",
      String(lambdaPort),
      "--module",
      join(root, "pipeline", "missing.ts"),
    );
    assert.equal(broken.code, 1, broken.out);
    assert.match(broken.out, /stack: cannot import module '.*missing\.ts'/);
    const kept = JSON.parse(await Deno.readTextFile(join(stateDir, "stack", "state.json")));
    assert.deepEqual(
      kept.services.map((s: RecordedService) => s.pid).sort(),
      services.map((s) => s.pid).sort(),
    );

    const status = await stackCommand("status", ...flags);
    assert.match(
      status.out,
      new RegExp(
        `lambda:glacier-spin\\s+running\\s+pid ${spin.pid}.*task 'spin', 256 MB, 2 s`,
      ),
    );
    assert.match(status.out, new RegExp(`lambda-router\\s+running\\s+pid ${router.pid}`));

    // Cloud mode runs the deployed function while it is built from the module's code, refuses it
    // once the task is edited, and runs the edited task once the stack is redeployed from it.
    const runDoubled = async (file: string): Promise<RunReport> => {
      const { doubled } = await import(`${pathToFileURL(file).href}?v=${crypto.randomUUID()}`);
      return await withAwsEnv(env, () => doubled.run({ mode: "cloud", quiet: true }));
    };
    const first = await runDoubled(module);
    assert.deepEqual(first.steps.map((s) => s.reason), ["no previous run"]);
    const edited = join(root, "pipeline", "numbers_edited.ts");
    await Deno.writeTextFile(
      edited,
      (await Deno.readTextFile(module)).replace('pl.col("n").mul(2)', 'pl.col("n").mul(3)'),
    );
    await assert.rejects(
      runDoubled(edited),
      (e: Error) =>
        e.name === "StaleDeploymentError" &&
        /task 'double' failed on Lambda function 'glacier-double': built from another version of task 'double'/
          .test(e.message) &&
        /nothing was read or written/.test(e.message) &&
        /glacier stack up --module MODULE/.test(e.message),
    );
    const redeployed = await stackCommand(
      "up",
      ...flags,
      "--lambda-port",
      String(lambdaPort),
      "--module",
      edited,
    );
    assert.equal(redeployed.code, 0, redeployed.out);
    const rerun = await runDoubled(edited);
    assert.deepEqual(rerun.steps.map((s) => s.reason), ["task code changed"]);
    assert.deepEqual(await readParquet(s3Server(env), "out/doubled.parquet"), [
      { n: 1, twice: 3 },
      { n: 2, twice: 6 },
      { n: 3, twice: 9 },
    ]);
    services = JSON.parse(await Deno.readTextFile(join(stateDir, "stack", "state.json"))).services;
    const down = await stackCommand("down", ...flags);
    assert.equal(down.code, 0, down.out);
    for (const pid of [...services.map((s) => s.pid), ...runtimes]) {
      assert.ok(!isRunning(pid), `pid ${pid} still runs after 'stack down':\n${down.out}`);
    }
    assert.ok(!existsSync(join(stateDir, "stack", "state.json")));
    assert.ok(!existsSync(join(stateDir, "stack", "lambda.json")));
    assert.ok(!existsSync(join(stateDir, "stack.env")));
  } finally {
    for (const service of services) {
      if (isRunning(service.pid)) Deno.kill(service.pid, "SIGKILL");
    }
  }
});
