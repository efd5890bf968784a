/**
 * The one place Glacier names its EMR Serverless SDK dependency, pinned. Only cloud mode on EMR
 * Serverless loads this.
 *
 * @module
 */
export {
  CancelJobRunCommand,
  EMRServerlessClient,
  GetJobRunCommand,
  StartJobRunCommand,
} from "npm:@aws-sdk/client-emr-serverless@3.1164.0";
