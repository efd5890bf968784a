import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import {
  CreateBucketCommand,
  GetObjectCommand,
  PutObjectCommand,
  type S3Client,
} from "../../src/io/s3/_sdk.ts";
import { isRunning } from "../../src/stack/process.ts";
import { freePort, startS3Server, VERSITYGW_BIN } from "../../src/stack/versitygw.ts";
import { sourced } from "./_stack_env.ts";
import {
  s3Client,
  type S3Server,
  sharedS3Server,
  stopSharedS3Server,
  withS3Server,
} from "./_s3_server.ts";

const stackScript = new URL("../../tools/stack.ts", import.meta.url).pathname;

/** Runs `fn` with a client for `server` and a fresh bucket named `bucket`. */
async function withBucket<T>(
  server: S3Server,
  bucket: string,
  fn: (client: S3Client) => Promise<T>,
): Promise<T> {
  const client = s3Client(server);
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
    return await fn(client);
  } finally {
    client.destroy();
  }
}

async function getText(client: S3Client, bucket: string, key: string): Promise<string> {
  const response = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return await response.Body!.transformToString();
}

async function answers(endpoint: string): Promise<boolean> {
  try {
    const response = await fetch(endpoint, { signal: AbortSignal.timeout(1000) });
    await response.body?.cancel();
    return true;
  } catch {
    return false;
  }
}

Deno.test("the test server answers a signed PutObject/GetObject round trip", async () => {
  await withS3Server(async (server) => {
    assert.equal(server.endpoint, `http://127.0.0.1:${server.port}`);
    assert.deepEqual(server.env(), {
      AWS_ENDPOINT_URL_S3: server.endpoint,
      AWS_ACCESS_KEY_ID: "glacier",
      AWS_SECRET_ACCESS_KEY: "glacier-local-secret",
      AWS_REGION: "us-east-1",
      AWS_S3_FORCE_PATH_STYLE: "true",
      GLACIER_STATE_BUCKET: "glacier-state",
    });
    await withBucket(server, "shop", async (client) => {
      await client.send(
        new PutObjectCommand({ Bucket: "shop", Key: "raw/orders.csv", Body: "id\n1\n2\n" }),
      );
      assert.equal(await getText(client, "shop", "raw/orders.csv"), "id\n1\n2\n");
    });
    // versitygw's posix backend keeps each object as a plain file under the data directory.
    assert.equal(
      await Deno.readTextFile(join(server.dataDir, "shop/raw/orders.csv")),
      "id\n1\n2\n",
    );
  });
});

Deno.test("a write with If-None-Match: * is refused with 412 when the key exists", async () => {
  await withS3Server((server) =>
    withBucket(server, "cond", async (client) => {
      const put = (body: string) =>
        client.send(
          new PutObjectCommand({ Bucket: "cond", Key: "k", Body: body, IfNoneMatch: "*" }),
        );
      await put("first");
      await assert.rejects(
        put("second"),
        (error: Error & { $metadata?: { httpStatusCode?: number } }) => {
          assert.equal(error.$metadata?.httpStatusCode, 412);
          assert.equal(error.name, "PreconditionFailed");
          return true;
        },
      );
      assert.equal(await getText(client, "cond", "k"), "first");
    })
  );
});

Deno.test("a killed server restarts on the same port with its data", async () => {
  await withS3Server((server) =>
    withBucket(server, "durable", async (client) => {
      await client.send(new PutObjectCommand({ Bucket: "durable", Key: "a", Body: "kept" }));
      const { pid, port } = server;
      await server.kill();
      assert.ok(!existsSync(`/proc/${pid}`), `pid ${pid} still exists after kill()`);
      assert.ok(!(await answers(server.endpoint)), "the port still answers after kill()");

      await server.restart();
      assert.notEqual(server.pid, pid);
      assert.equal(server.port, port);
      assert.equal(await getText(client, "durable", "a"), "kept");
    })
  );
});

Deno.test("stop() ends the process: /proc/<pid> is gone and the port is closed", async () => {
  let stopped: { pid: number; endpoint: string } | undefined;
  await withS3Server(async (server) => {
    stopped = { pid: server.pid, endpoint: server.endpoint };
    assert.ok(existsSync(`/proc/${server.pid}`));
    await server.stop();
  });
  assert.ok(stopped);
  assert.ok(!existsSync(`/proc/${stopped.pid}`), `pid ${stopped.pid} still exists after stop()`);
  assert.ok(!(await answers(stopped.endpoint)));
});

Deno.test("withS3Server stops the server and removes its data when the test body throws", async () => {
  let seen: { pid: number; dataDir: string } | undefined;
  await assert.rejects(
    withS3Server((server) => {
      seen = { pid: server.pid, dataDir: server.dataDir };
      return Promise.reject(new Error("test body failed"));
    }),
    /test body failed/,
  );
  assert.ok(seen);
  assert.ok(!existsSync(`/proc/${seen.pid}`));
  assert.ok(!existsSync(seen.dataDir));
});

Deno.test("a server on a port that is taken is refused before it starts", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const root = await Deno.makeTempDir({ prefix: "glacier-s3-" });
  try {
    await assert.rejects(
      startS3Server({ dataDir: join(root, "data"), port }),
      new RegExp(`port ${port} on 127\\.0\\.0\\.1 is in use by another process`),
    );
  } finally {
    listener.close();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a server that exits at start fails with the end of its log", async () => {
  const root = await Deno.makeTempDir({ prefix: "glacier-s3-" });
  const bin = join(root, "broken-versitygw");
  await Deno.writeTextFile(bin, "#!/bin/sh\necho 'listen: something went wrong' >&2\nexit 1\n");
  await Deno.chmod(bin, 0o755);
  try {
    await assert.rejects(
      startS3Server({ dataDir: join(root, "data"), logFile: join(root, "s3.log"), bin }),
      /did not start: the process exited; the end of .*s3\.log:\nlisten: something went wrong/,
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("sharedS3Server gives every caller the same server until stopSharedS3Server", async () => {
  const first = await sharedS3Server();
  const second = await sharedS3Server();
  assert.equal(second, first);
  const pid = first.pid;
  await stopSharedS3Server();
  assert.ok(!existsSync(`/proc/${pid}`));
  const third = await sharedS3Server();
  assert.notEqual(third, first);
  await stopSharedS3Server();
});

/** Runs `tools/stack.ts` in a new process and returns its exit status and output. */
async function stack(...args: string[]): Promise<{ code: number; out: string }> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", stackScript, ...args],
    stdin: "null",
    env: { NO_COLOR: "1" },
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    out: decoder.decode(output.stdout) + decoder.decode(output.stderr),
  };
}

/** The variables `stack up --no-spark` writes. */
const S3_ENV = [
  "AWS_ENDPOINT_URL_S3",
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
  "AWS_REGION",
  "AWS_S3_FORCE_PATH_STYLE",
];

Deno.test("stack up starts a server that outlives the command, and stack down stops it", async () => {
  const stateDir = await Deno.makeTempDir({ prefix: "glacier-stack-" });
  const port = freePort();
  const flags = ["--state-dir", stateDir, "--s3-port", String(port), "--no-spark"];
  let pid: number | undefined;
  try {
    const up = await stack("up", ...flags, "--buckets", "shop,logs");
    assert.equal(up.code, 0, up.out);
    assert.match(up.out, new RegExp(`s3: started pid \\d+ on http://127\\.0\\.0\\.1:${port}`));
    assert.match(up.out, /bucket 'shop' created/);

    const state = JSON.parse(await Deno.readTextFile(join(stateDir, "stack", "state.json")));
    assert.equal(state.services.length, 1);
    const [s3] = state.services;
    pid = s3.pid as number;
    assert.equal(s3.name, "s3");
    assert.equal(s3.port, port);
    assert.equal(s3.program, VERSITYGW_BIN);
    assert.equal(s3.log, join(stateDir, "stack", "s3.log"));
    assert.ok(!Number.isNaN(Date.parse(s3.startedAt)));

    // The `up` process has exited; its server still runs and answers.
    assert.ok(isRunning(pid), `pid ${pid} did not survive 'stack up'`);
    assert.ok(await answers(`http://127.0.0.1:${port}`));

    const env = await sourced(join(stateDir, "stack.env"), S3_ENV);
    assert.deepEqual(env, {
      AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${port}`,
      AWS_ACCESS_KEY_ID: "glacier",
      AWS_SECRET_ACCESS_KEY: "glacier-local-secret",
      AWS_REGION: "us-east-1",
      AWS_S3_FORCE_PATH_STYLE: "true",
    });
    assert.ok(existsSync(join(stateDir, "stack", "s3", "shop")), "bucket 'shop' has no directory");

    const again = await stack("up", ...flags, "--buckets", "shop");
    assert.equal(again.code, 0, again.out);
    assert.match(again.out, new RegExp(`s3: already running \\(pid ${pid}, port ${port}, .*kept`));
    assert.match(again.out, /bucket 'shop' already exists/);

    const status = await stack("status", ...flags);
    assert.match(status.out, new RegExp(`s3\\s+running\\s+pid ${pid}`));

    const down = await stack("down", ...flags);
    assert.equal(down.code, 0, down.out);
    assert.match(down.out, new RegExp(`s3: pid ${pid} \\(port ${port}\\) stopped`));
    // Stopped: gone, or a zombie until init reaps it (the server's parent, `up`, has exited).
    assert.ok(!isRunning(pid), `pid ${pid} still runs after 'stack down'`);
    assert.ok(!(await answers(`http://127.0.0.1:${port}`)));
    assert.ok(!existsSync(join(stateDir, "stack", "state.json")));
    assert.ok(!existsSync(join(stateDir, "stack.env")));

    const idle = await stack("down", ...flags);
    assert.match(idle.out, /nothing to stop/);
  } finally {
    if (pid !== undefined && isRunning(pid)) Deno.kill(pid, "SIGKILL");
    await Deno.remove(stateDir, { recursive: true });
  }
});

Deno.test("stack down leaves alone a recorded pid that now runs another program", async () => {
  const stateDir = await Deno.makeTempDir({ prefix: "glacier-stack-" });
  const other = new Deno.Command("sleep", { args: ["60"], stdin: "null" }).spawn();
  try {
    await Deno.mkdir(join(stateDir, "stack"));
    const service = {
      name: "s3",
      pid: other.pid,
      program: VERSITYGW_BIN,
      port: 1,
      startedAt: new Date().toISOString(),
      log: join(stateDir, "stack", "s3.log"),
      env: {},
    };
    await Deno.writeTextFile(
      join(stateDir, "stack", "state.json"),
      JSON.stringify({ services: [service] }),
    );
    const down = await stack("down", "--state-dir", stateDir);
    assert.equal(down.code, 0, down.out);
    assert.match(down.out, new RegExp(`pid ${other.pid} .* now runs another program.*left alone`));
    assert.ok(isRunning(other.pid), "'stack down' signalled a process it did not start");
  } finally {
    other.kill("SIGKILL");
    await other.status;
    await Deno.remove(stateDir, { recursive: true });
  }
});
