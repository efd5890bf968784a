/**
 * The S3 client cloud mode uses, configured the standard AWS way: `AWS_REGION`, credentials from
 * the usual chain, and `AWS_ENDPOINT_URL_S3` (or `AWS_ENDPOINT_URL`) for S3-compatible servers,
 * which are addressed path-style.
 *
 * @module
 */
import { S3Client } from "./_sdk.ts";
import { env } from "../../core/env.ts";

/** An S3 client and where it points, for messages. */
export interface S3Connection {
  /** The client. */
  readonly client: S3Client;
  /** The endpoint URL, or the AWS regional endpoint. */
  readonly endpoint: string;
  /** The region. */
  readonly region: string;
}

const connections = new Map<string, S3Connection>();

/**
 * The S3 connection for a region, made once per process and configuration.
 *
 * @param region the provider's region; `AWS_REGION` wins when set.
 * @returns the connection.
 */
export function s3Connection(region: string): S3Connection {
  const endpoint = env("AWS_ENDPOINT_URL_S3") ?? env("AWS_ENDPOINT_URL");
  const resolvedRegion = env("AWS_REGION") ?? env("AWS_DEFAULT_REGION") ?? region;
  const pathStyle = endpoint !== undefined || env("AWS_S3_FORCE_PATH_STYLE") === "true";
  const key = [
    resolvedRegion,
    endpoint,
    pathStyle,
    env("AWS_ACCESS_KEY_ID"),
    env("AWS_SECRET_ACCESS_KEY"),
    env("AWS_SESSION_TOKEN"),
    env("AWS_PROFILE"),
    env("AWS_MAX_ATTEMPTS"),
  ].join("|");
  let connection = connections.get(key);
  if (connection === undefined) {
    connection = {
      client: new S3Client({
        region: resolvedRegion,
        ...(endpoint ? { endpoint } : {}),
        forcePathStyle: pathStyle,
        maxAttempts: Number(env("AWS_MAX_ATTEMPTS") ?? 3),
      }),
      endpoint: endpoint ?? `https://s3.${resolvedRegion}.amazonaws.com`,
      region: resolvedRegion,
    };
    connections.set(key, connection);
  }
  return connection;
}
