/**
 * Names for generated resources: Terraform identifiers and AWS names, stable for the same
 * pipeline and within each service's length and character limits.
 *
 * @module
 */
import { createHash } from "node:crypto";

/**
 * A short, stable hash of a text, for names that had to be shortened or changed.
 *
 * @param text the full name.
 * @returns eight hexadecimal digits.
 */
export function shortHash(text: string): string {
  return createHash("sha256").update(text).digest("hex").slice(0, 8);
}

/**
 * Lowercase letters, digits and single dashes: what every AWS name accepts.
 *
 * @param text any text, such as a pipeline name.
 * @returns the text as a slug; `pipeline` when nothing is left.
 */
export function slug(text: string): string {
  const s = text.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "");
  return s === "" ? "pipeline" : s;
}

/**
 * An AWS name from parts joined by `-`, shortened with a hash of the whole when it is too long.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { awsName, slug } from "./names.ts";
 * assert.equal(awsName(["glacier", slug("Revenue by region")], 64), "glacier-revenue-by-region");
 * assert.equal(awsName(["glacier", "x".repeat(80)], 64).length, 64);
 * ```
 *
 * @param parts the parts, such as `glacier`, the pipeline's slug and a task name.
 * @param max the service's length limit.
 * @returns the name, at most `max` characters.
 */
export function awsName(parts: readonly string[], max: number): string {
  const full = parts.join("-");
  if (full.length <= max) return full;
  return `${full.slice(0, max - 9).replace(/[-_.]+$/, "")}-${shortHash(full)}`;
}

/**
 * The Terraform identifier of a task's resources: `task_` and the task's name, which task
 * names always fit.
 *
 * @param task the task's name.
 * @returns the identifier.
 */
export function taskId(task: string): string {
  return `task_${task}`;
}

/**
 * The Terraform identifier of an S3 bucket's resources. S3 names have no `_`, so replacing `.`
 * by `_` keeps them apart.
 *
 * @param bucket the S3 bucket's name.
 * @returns the identifier.
 */
export function bucketId(bucket: string): string {
  return `bucket_${bucket.replaceAll(".", "_")}`;
}

/**
 * A Terraform reference to a resource's attribute, as a template string.
 *
 * @param type the resource type, such as `aws_s3_bucket`.
 * @param id the resource's identifier.
 * @param attribute the attribute, such as `arn`.
 * @returns `${type.id.attribute}`.
 */
export function ref(type: string, id: string, attribute: string): string {
  return "${" + `${type}.${id}.${attribute}` + "}";
}

/**
 * A literal text inside a Terraform template string: `${` and `%{` are escaped.
 *
 * @param text the text.
 * @returns the text as Terraform reads it literally.
 */
export function literal(text: string): string {
  return text.replaceAll("${", "$${").replaceAll("%{", "%%{");
}

/**
 * Orders texts by their UTF-16 code units, the same on every machine and locale.
 *
 * @param a one text.
 * @param b another.
 * @returns negative, zero or positive, as `Array.prototype.sort` expects.
 */
export function byText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Text as IAM, KMS and Lambda descriptions take it: printable ASCII only.
 *
 * @param text the description.
 * @returns it, with every other character as `?`.
 */
export function ascii(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, "?");
}
