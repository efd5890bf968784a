/**
 * S3 failures as errors a person can act on: each names the bucket and the object, and says what
 * to do. Expected cases carry no stack-trace soup; the SDK error stays in `cause`.
 *
 * @module
 */
import { type GlacierError, NoDataError, StorageError } from "../../core/errors.ts";

/** What was being done when S3 failed. */
export interface S3Context {
  /** The operation, in words: "read", "write", "list", "lock". */
  readonly op: string;
  /** The S3 bucket. */
  readonly bucket: string;
  /** The object key, if any. */
  readonly key?: string;
  /** The Glacier bucket (`bucket/path`), if any. */
  readonly location?: string;
  /** The endpoint, for messages. */
  readonly endpoint: string;
  /** What to say when the object does not exist. */
  readonly missing?: string;
}

interface SdkError {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  cause?: unknown;
}

const NETWORK =
  /ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|ECONNRESET|EHOSTUNREACH|socket hang up|getaddrinfo|Connection refused|error sending request/i;
const CREDENTIALS = new Set([
  "InvalidAccessKeyId",
  "SignatureDoesNotMatch",
  "ExpiredToken",
  "InvalidToken",
  "TokenRefreshRequired",
]);

/**
 * Turns an SDK error into a Glacier error.
 *
 * @param error what the SDK threw.
 * @param context what was being done.
 * @returns the error to throw.
 */
export function s3Failure(error: unknown, context: S3Context): GlacierError {
  const e = (error ?? {}) as SdkError;
  const name = e.name ?? "Error";
  const status = e.$metadata?.httpStatusCode;
  const uri = `s3://${context.bucket}${context.key ? `/${context.key}` : ""}`;
  const subject = context.location ? `bucket '${context.location}' (${uri})` : uri;
  const text = `${e.message ?? ""} ${e.code ?? ""} ${String((e.cause as SdkError)?.message ?? "")}`;
  if (
    name === "NoSuchKey" || (name === "NotFound" && context.key) ||
    (status === 404 && context.key && name !== "NoSuchBucket")
  ) {
    return new NoDataError(context.missing ?? `${subject} has no data`, { cause: error });
  }
  if (name === "NoSuchBucket" || (name === "NotFound" && !context.key)) {
    // Reading from a bucket that does not exist finds no data; anything else cannot proceed.
    const family = context.op === "read" ? NoDataError : StorageError;
    return new family(
      `S3 bucket '${context.bucket}' does not exist at ${context.endpoint}, so ${subject} cannot be ` +
        `${
          context.op === "read" ? "read" : "used"
        }; create it (the local stack: glacier stack up ` +
        `--buckets ${context.bucket}), or write to it in cloud mode, which creates it`,
      { cause: error },
    );
  }
  if (name === "CredentialsProviderError" || /Could not load credentials/i.test(text)) {
    return new StorageError(
      `no AWS credentials found to ${context.op} ${subject}; set AWS_ACCESS_KEY_ID and ` +
        "AWS_SECRET_ACCESS_KEY, or AWS_PROFILE; for the local stack: source .glacier/stack.env",
      { cause: error },
    );
  }
  if (CREDENTIALS.has(name)) {
    return new StorageError(
      `S3 at ${context.endpoint} rejected the credentials (${name}) when asked to ${context.op} ` +
        `${subject}; check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE); for the ` +
        "local stack: source .glacier/stack.env",
      { cause: error },
    );
  }
  if (name === "AccessDenied" || status === 403) {
    return new StorageError(
      `S3 at ${context.endpoint} refused to ${context.op} ${subject} (${name}, HTTP 403): the ` +
        `credentials are wrong or lack permission; they need ${permissionFor(context.op)} on ` +
        `arn:aws:s3:::${context.bucket}${context.key ? `/${context.key}` : ""}`,
      { cause: error },
    );
  }
  if (NETWORK.test(text) || NETWORK.test(name)) {
    const code = text.match(NETWORK)?.[0] ?? name;
    return new StorageError(
      `cannot reach S3 at ${context.endpoint} (${code}) to ${context.op} ${subject}; is the server ` +
        "running and AWS_ENDPOINT_URL_S3 right? For the local stack: glacier stack up, then " +
        "source .glacier/stack.env",
      { cause: error },
    );
  }
  return new StorageError(
    `S3 failed to ${context.op} ${subject}: ${name}${status ? ` (HTTP ${status})` : ""}: ` +
      `${(e.message ?? "").split("\n")[0]}`,
    { cause: error },
  );
}

function permissionFor(op: string): string {
  switch (op) {
    case "read":
      return "s3:GetObject";
    case "list":
      return "s3:ListBucket";
    default:
      return "s3:PutObject and s3:DeleteObject";
  }
}
