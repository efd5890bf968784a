/**
 * The one place Glacier names its AWS Lambda SDK dependency, pinned. Only cloud mode loads this.
 *
 * @module
 */
export {
  InvokeCommand,
  type InvokeCommandOutput,
  LambdaClient,
} from "npm:@aws-sdk/client-lambda@3.1164.0";
