/**
 * Names of the cloud resources a task becomes, in one place so that every target (the Lambda
 * invoker, the Terraform generator, the local stack) agrees on them.
 *
 * @module
 */
import type { Task } from "./task.ts";

/**
 * The AWS Lambda function a serverless task runs as: `glacier-<task>`, within Lambda's 64
 * characters of letters, digits, `-` and `_`.
 *
 * @param task the task.
 * @returns the function name.
 */
export function lambdaFunctionName(task: Pick<Task, "name">): string {
  return `glacier-${task.name}`.slice(0, 64);
}
