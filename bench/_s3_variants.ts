/**
 * The variants the S3 throughput benchmark times: Glacier's cloud-mode `bucket.write` and
 * `bucket.read` through the public API, and the same work done with plain `@aws-sdk/client-s3`
 * and `@aws-sdk/lib-storage` calls (the same SDK versions, client settings, part size and queue
 * as Glacier's S3 backend), plus the transfers alone.
 *
 * @module
 */
import { createReadStream, createWriteStream } from "node:fs";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import {
  CreateBucketCommand,
  GetObjectCommand,
  HeadObjectCommand,
  S3Client,
} from "../src/io/s3/_sdk.ts";
import { Upload } from "../src/io/s3/_sdk.ts";
import { AwsConfig, pl, Provider } from "../mod.ts";
import { sourceFrame, type SourceObject, ThroughputSchema } from "./_s3_data.ts";

/** Multipart part size, as in `src/io/s3/s3_storage.ts`. */
export const PART_BYTES = 16 * 1024 * 1024;
/** Parts uploaded at once, as in `src/io/s3/s3_storage.ts`. */
export const QUEUE_SIZE = 4;
/** Rows of the small object each child writes or reads once before it is timed. */
export const WARMUP_ROWS = 1000;

/** Where a child's objects live. */
export interface S3Objects {
  /** The S3 bucket. */
  readonly bucket: string;
  /** The object every read variant reads, uploaded by the parent from `source`. */
  readonly sourceKey: string;
  /** The small object read variants read once before they are timed. */
  readonly warmupKey: string;
  /** The cached local file of the object. */
  readonly source: SourceObject;
}

/** What one timed operation did. */
export interface Outcome {
  /** The object key it wrote or read. */
  readonly key: string;
  /** Bytes of the object it wrote or read. */
  readonly bytes: number;
  /** What it read or wrote, to compare across runs (computed after the timing). */
  readonly check: () => string;
}

/** One benchmarked way to move the object. */
export interface S3Variant {
  /** What it measures: a write, a read into a frame, or a download alone. */
  readonly op: "write" | "read" | "download";
  /** One line for the report. */
  readonly description: string;
  /**
   * Untimed preparation: loads the frame to write, makes the client and moves a small object
   * once, so that module loading and connection set-up are not timed.
   *
   * @returns the operation to time.
   */
  prepare(objects: S3Objects): Promise<() => Promise<Outcome>>;
}

/** The variants by name, in report order. */
export const S3_VARIANTS: Readonly<Record<string, S3Variant>> = {
  "glacier-write": {
    op: "write",
    description: 'Glacier: `bucket.write(frame, { mode: "cloud" })` (validate, lock, ' +
      "`sinkParquet` zstd to a temp file, row count, multipart upload, unlock)",
    async prepare(objects) {
      const frame = pl.readParquet(objects.source.path);
      const provider = new Provider({ config: new AwsConfig() });
      const key = `glacier/${objects.source.rows}.parquet`;
      const target = provider.bucket({
        bucket: objects.bucket,
        path: key,
        schema: ThroughputSchema,
      });
      const warm = provider.bucket({
        bucket: objects.bucket,
        path: "warmup/glacier.parquet",
        schema: ThroughputSchema,
      });
      await warm.write(sourceFrame(WARMUP_ROWS).collectSync(), { mode: "cloud" });
      return async () => {
        const report = await target.write(frame, { mode: "cloud" });
        return { key, bytes: report.bytes, check: () => `${report.rows} rows` };
      };
    },
  },
  "plain-write": {
    op: "write",
    description: "plain: `writeParquet` zstd to a temp file, then lib-storage `Upload` " +
      `(${PART_BYTES / 1024 / 1024} MiB parts, queue ${QUEUE_SIZE}), temp file removed`,
    async prepare(objects) {
      const frame = pl.readParquet(objects.source.path);
      const client = plainClient();
      const key = `plain/${objects.source.rows}.parquet`;
      await writeFrame(client, sourceFrame(WARMUP_ROWS).collectSync(), objects.bucket, "warmup/p");
      return async () => {
        const bytes = await writeFrame(client, frame, objects.bucket, key);
        return { key, bytes, check: () => `${frame.height} rows` };
      };
    },
  },
  "plain-upload": {
    op: "write",
    description: "plain: lib-storage `Upload` of the existing parquet file alone (transfer only)",
    async prepare(objects) {
      const client = plainClient();
      const key = `upload/${objects.source.rows}.parquet`;
      await uploadFile(client, objects.source.path, objects.bucket, "warmup/upload");
      return async () => {
        await uploadFile(client, objects.source.path, objects.bucket, key);
        return { key, bytes: objects.source.bytes, check: () => `${objects.source.rows} rows` };
      };
    },
  },
  "plain-sink-write": {
    op: "write",
    description: "diagnostic: as `plain-write` but encoded the way Glacier encodes, " +
      '`frame.lazy().sinkParquet(file, { compression: "zstd", statistics: true }).collect()`',
    async prepare(objects) {
      const frame = pl.readParquet(objects.source.path);
      const client = plainClient();
      const key = `sink/${objects.source.rows}.parquet`;
      const encode = (f: pl.DataFrame, file: string) =>
        f.lazy().sinkParquet(file, { compression: "zstd", statistics: true }).collect();
      const tiny = sourceFrame(WARMUP_ROWS).collectSync();
      await writeFrame(client, tiny, objects.bucket, "warmup/sink", encode);
      return async () => {
        const bytes = await writeFrame(client, frame, objects.bucket, key, encode);
        return { key, bytes, check: () => `${frame.height} rows` };
      };
    },
  },
  "glacier-read": {
    op: "read",
    description: 'Glacier: `bucket.read({ mode: "cloud" })` (journal check, GetObject streamed ' +
      "to a temp file, validated `scanParquet` + `collect`, temp file removed)",
    async prepare(objects) {
      const provider = new Provider({ config: new AwsConfig() });
      const { bucket, sourceKey, warmupKey } = objects;
      const source = provider.bucket({ bucket, path: sourceKey, schema: ThroughputSchema });
      const warm = provider.bucket({ bucket, path: warmupKey, schema: ThroughputSchema });
      await warm.read({ mode: "cloud" });
      return async () => {
        const frame = await source.read({ mode: "cloud" });
        return { key: sourceKey, bytes: objects.source.bytes, check: () => fingerprint(frame) };
      };
    },
  },
  "plain-read": {
    op: "read",
    description: "plain: GetObject piped to a temp file (`stream.pipeline` into " +
      "`fs.createWriteStream`), then `pl.readParquet`, temp file removed",
    async prepare(objects) {
      const client = plainClient();
      const { bucket, sourceKey } = objects;
      await readFrame(client, bucket, objects.warmupKey);
      return async () => {
        const frame = await readFrame(client, bucket, sourceKey);
        return { key: sourceKey, bytes: objects.source.bytes, check: () => fingerprint(frame) };
      };
    },
  },
  "plain-download": {
    op: "download",
    description: "plain: GetObject piped to a temp file alone (transfer only), temp file removed",
    async prepare(objects) {
      const client = plainClient();
      const { bucket, sourceKey } = objects;
      await withTempFile((file) => downloadFile(client, bucket, objects.warmupKey, file));
      return async () => {
        const bytes = await withTempFile(async (file) => {
          await downloadFile(client, bucket, sourceKey, file);
          return (await Deno.stat(file)).size;
        });
        return { key: sourceKey, bytes, check: () => `${bytes} bytes` };
      };
    },
  },
  "web-download": {
    op: "download",
    description: "diagnostic: GetObject streamed to a temp file through the SDK's web-stream " +
      "bridge, `Body.transformToWebStream().pipeTo((await Deno.open(file)).writable)`, alone " +
      "(how `S3Storage.download` streamed before commit 66e6c18)",
    async prepare(objects) {
      const client = plainClient();
      const { bucket, sourceKey } = objects;
      await withTempFile((file) => downloadFileWeb(client, bucket, objects.warmupKey, file));
      return async () => {
        const bytes = await withTempFile(async (file) => {
          await downloadFileWeb(client, bucket, sourceKey, file);
          return (await Deno.stat(file)).size;
        });
        return { key: sourceKey, bytes, check: () => `${bytes} bytes` };
      };
    },
  },
  "web-read": {
    op: "read",
    description: "diagnostic: as `plain-read` but downloaded as `web-download` downloads, then " +
      "`pl.readParquet`",
    async prepare(objects) {
      const client = plainClient();
      const { bucket, sourceKey } = objects;
      await readFrame(client, bucket, objects.warmupKey, downloadFileWeb);
      return async () => {
        const frame = await readFrame(client, bucket, sourceKey, downloadFileWeb);
        return { key: sourceKey, bytes: objects.source.bytes, check: () => fingerprint(frame) };
      };
    },
  },
};

/**
 * An S3 client configured the way Glacier's `s3Connection` configures one, from the standard AWS
 * variables: `AWS_REGION`, `AWS_ENDPOINT_URL_S3` (path-style), credentials from the default chain.
 *
 * @returns the client.
 */
export function plainClient(): S3Client {
  const endpoint = Deno.env.get("AWS_ENDPOINT_URL_S3");
  return new S3Client({
    region: Deno.env.get("AWS_REGION") ?? "us-east-1",
    ...(endpoint ? { endpoint } : {}),
    forcePathStyle: endpoint !== undefined,
    maxAttempts: 3,
  });
}

/**
 * Creates a bucket.
 *
 * @param client the client.
 * @param bucket the S3 bucket.
 */
export async function createBucket(client: S3Client, bucket: string): Promise<void> {
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
}

/**
 * The size of an object.
 *
 * @param client the client.
 * @param bucket the S3 bucket.
 * @param key the key.
 * @returns its size in bytes.
 */
export async function objectSize(client: S3Client, bucket: string, key: string): Promise<number> {
  const out = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
  return out.ContentLength ?? 0;
}

/**
 * Uploads a file with lib-storage, with Glacier's part size and queue.
 *
 * @param client the client.
 * @param file the local file.
 * @param bucket the S3 bucket.
 * @param key the key.
 */
export async function uploadFile(
  client: S3Client,
  file: string,
  bucket: string,
  key: string,
): Promise<void> {
  await new Upload({
    client,
    params: { Bucket: bucket, Key: key, Body: createReadStream(file) },
    partSize: PART_BYTES,
    queueSize: QUEUE_SIZE,
    leavePartsOnError: false,
  }).done();
}

/** Streams an object into a new local file with node streams. */
async function downloadFile(
  client: S3Client,
  bucket: string,
  key: string,
  file: string,
): Promise<void> {
  const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  await pipeline(out.Body as Readable, createWriteStream(file));
}

/**
 * Streams an object into a new local file with web streams, as `S3Storage.download` did before
 * it switched to Node streams.
 */
async function downloadFileWeb(
  client: S3Client,
  bucket: string,
  key: string,
  file: string,
): Promise<void> {
  const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const handle = await Deno.open(file, { write: true, create: true, truncate: true });
  await out.Body!.transformToWebStream().pipeTo(handle.writable);
}

/** How a frame becomes a parquet file. */
type Encoder = (frame: pl.DataFrame, file: string) => unknown;

/** `writeParquet`, zstd: the plain way to write a frame to a parquet file. */
const writeParquet: Encoder = (frame, file) => frame.writeParquet(file, { compression: "zstd" });

/** Encodes a frame to a temp file and uploads it; returns the object's size. */
function writeFrame(
  client: S3Client,
  frame: pl.DataFrame,
  bucket: string,
  key: string,
  encode: Encoder = writeParquet,
): Promise<number> {
  return withTempFile(async (file) => {
    await encode(frame, file);
    const bytes = (await Deno.stat(file)).size;
    await uploadFile(client, file, bucket, key);
    return bytes;
  });
}

/** How an object reaches a local file. */
type Downloader = (client: S3Client, bucket: string, key: string, file: string) => Promise<void>;

/** Downloads an object to a temp file and reads it with polars. */
function readFrame(
  client: S3Client,
  bucket: string,
  key: string,
  download: Downloader = downloadFile,
): Promise<pl.DataFrame> {
  return withTempFile(async (file) => {
    await download(client, bucket, key, file);
    return pl.readParquet(file);
  });
}

/** Runs `fn` with a path in a new temp directory, then removes the directory. */
async function withTempFile<T>(fn: (file: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "bench-s3-" });
  try {
    return await fn(join(dir, "data.parquet"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Rows, the sum of `id` and the largest `key` and `y`: what two reads must agree on. */
function fingerprint(frame: pl.DataFrame): string {
  const summary = frame.select(
    pl.len().alias("rows"),
    pl.col("id").sum().alias("id_sum"),
    pl.col("key").max().alias("key_max"),
    pl.col("y").max().alias("y_max"),
  ).toRecords()[0];
  return JSON.stringify(summary, (_, v) => typeof v === "bigint" ? v.toString() : v);
}
