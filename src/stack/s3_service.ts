/**
 * The stack's S3 service: versitygw on a fixed loopback port over `<state dir>/stack/s3/`, and
 * bucket creation for `stack:up --buckets`.
 *
 * @module
 */
import { join } from "node:path";
import { answersHttp, type ServiceDefinition, type StackOptions } from "./service.ts";
import type { Service } from "./state.ts";
import { DEFAULT_S3_CREDENTIALS, ensureVersitygw, startS3Server } from "./versitygw.ts";

/** The S3 server's port when `--s3-port` is not given. */
export const DEFAULT_S3_PORT = 7070;

/** Starts versitygw detached, with data in `<state dir>/stack/s3/` and a log beside it. */
export const s3Service: ServiceDefinition = {
  name: "s3",
  async start(options: StackOptions): Promise<Service> {
    const bin = await ensureVersitygw();
    const log = join(options.paths.stack, "s3.log");
    const server = await startS3Server({
      dataDir: join(options.paths.stack, "s3"),
      port: options.s3Port,
      logFile: log,
      bin,
      detached: true,
    });
    return {
      name: "s3",
      pid: server.pid,
      program: bin,
      port: server.port,
      startedAt: new Date().toISOString(),
      log,
      env: server.env(),
    };
  },
  healthy(service: Service): Promise<boolean> {
    return answersHttp(service.port);
  },
};

/**
 * Creates each bucket on the S3 server that `env` points at; one that exists already is fine.
 *
 * @param env the service's variables (`AWS_ENDPOINT_URL_S3`, keys, region)
 * @param buckets bucket names
 * @returns for each bucket, whether it was created (`false`: it existed)
 */
export async function createBuckets(
  env: Readonly<Record<string, string>>,
  buckets: readonly string[],
): Promise<Map<string, boolean>> {
  const { CreateBucketCommand, S3Client } = await import("../io/s3/_sdk.ts");
  const client = new S3Client({
    endpoint: env.AWS_ENDPOINT_URL_S3,
    region: env.AWS_REGION ?? DEFAULT_S3_CREDENTIALS.region,
    forcePathStyle: true,
    credentials: {
      accessKeyId: env.AWS_ACCESS_KEY_ID ?? DEFAULT_S3_CREDENTIALS.accessKey,
      secretAccessKey: env.AWS_SECRET_ACCESS_KEY ?? DEFAULT_S3_CREDENTIALS.secretKey,
    },
  });
  const created = new Map<string, boolean>();
  try {
    for (const bucket of buckets) {
      try {
        await client.send(new CreateBucketCommand({ Bucket: bucket }));
        created.set(bucket, true);
      } catch (error) {
        if ((error as Error).name !== "BucketAlreadyOwnedByYou") {
          throw new Error(`could not create bucket '${bucket}': ${(error as Error).message}`);
        }
        created.set(bucket, false);
      }
    }
  } finally {
    client.destroy();
  }
  return created;
}
