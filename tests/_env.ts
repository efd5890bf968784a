/**
 * Environment variables set for the length of a test body, restored after, whatever happens.
 *
 * @module
 */

/** The AWS variables a test clears before pointing clients at its own server. */
export const AWS_VARIABLES: readonly string[] = [
  "AWS_ENDPOINT_URL_S3",
  "AWS_ENDPOINT_URL_LAMBDA",
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
  "AWS_SESSION_TOKEN",
  "AWS_REGION",
  "AWS_DEFAULT_REGION",
  "AWS_S3_FORCE_PATH_STYLE",
  "AWS_MAX_ATTEMPTS",
  "AWS_PROFILE",
  "AWS_SHARED_CREDENTIALS_FILE",
  "AWS_CONFIG_FILE",
  "AWS_EC2_METADATA_DISABLED",
  "GLACIER_STATE_BUCKET",
];

/**
 * Runs `fn` with variables set (`undefined` unsets one) after clearing `clear`, and puts every
 * variable it touched back as it was.
 *
 * @param vars the variables to set or unset.
 * @param fn the body.
 * @param clear variables to unset first (default: none).
 * @returns what `fn` returns.
 */
export async function withEnv<T>(
  vars: Readonly<Record<string, string | undefined>>,
  fn: () => Promise<T>,
  clear: readonly string[] = [],
): Promise<T> {
  const names = [...new Set([...clear, ...Object.keys(vars)])];
  const saved = names.map((name) => [name, Deno.env.get(name)] as const);
  for (const name of clear) Deno.env.delete(name);
  for (const [name, value] of Object.entries(vars)) {
    if (value === undefined) Deno.env.delete(name);
    else Deno.env.set(name, value);
  }
  try {
    return await fn();
  } finally {
    for (const [name, value] of saved) {
      if (value === undefined) Deno.env.delete(name);
      else Deno.env.set(name, value);
    }
  }
}

/**
 * Runs `fn` with only the given AWS variables set: the shell's AWS variables are cleared first.
 *
 * @param vars the variables, such as a test server's `env()`.
 * @param fn the body.
 * @returns what `fn` returns.
 */
export function withAwsEnv<T>(vars: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  return withEnv(vars, fn, AWS_VARIABLES);
}
