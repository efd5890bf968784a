/**
 * The prices cost analysis uses, kept as data: one AWS region, each price with where it was read
 * and when. Free tiers are not deducted (an estimate of one run should not depend on what else
 * the account runs that month).
 *
 * @module
 */

export type { Price, PriceTable } from "../core/cost.ts";
export { unitPrice } from "../core/cost.ts";
import type { PriceTable } from "../core/cost.ts";

const LAMBDA_PAGE = "https://aws.amazon.com/lambda/pricing/";
const LAMBDA_WHITEPAPER =
  "https://docs.aws.amazon.com/whitepapers/latest/how-aws-pricing-works/lambda.html";
const EMR_PAGE = "https://aws.amazon.com/emr/pricing/";
const EMR_BILLING_DOC =
  "https://docs.aws.amazon.com/sdk-for-kotlin/api/latest/emrserverless/aws.sdk.kotlin.services.emrserverless.model/-job-run/billed-resource-utilization.html";
const S3_PAGE = "https://aws.amazon.com/s3/pricing/";
const STEP_FUNCTIONS_PAGE = "https://aws.amazon.com/step-functions/pricing/";

/**
 * AWS on-demand prices in US East (N. Virginia), looked up on 2026-11-26 in stored copies of the
 * pages named in each entry. AWS's own pricing pages render most of their tables in the browser,
 * so the stored copies of the Lambda, EMR and S3 pages show no figures; where no AWS text had a
 * figure, the entry says so (`confirmed: false`) and names the secondary sources that agree on it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { AWS_PRICES } from "./prices.ts";
 * const perGbSecond = AWS_PRICES.lambda.x86GbSecond.usd / AWS_PRICES.lambda.x86GbSecond.per;
 * assert.equal(perGbSecond, 0.0000166667);
 * ```
 */
export const AWS_PRICES: PriceTable = deepFreeze({
  region: "us-east-1",
  currency: "USD",
  takenOn: "2026-11-26",
  lambda: {
    x86GbSecond: {
      usd: 0.0000166667,
      per: 1,
      unit: "GB-second",
      source: LAMBDA_WHITEPAPER,
      confirmed: true,
      note: `AWS's whitepaper "How AWS Pricing Works" gives $0.00001667 per GB-second (rounded); ` +
        "the unrounded first-tier figure is from https://modal.com/blog/aws-lambda-price-article " +
        "(2025-05-16) and https://cloudchipr.com/blog/aws-lambda-pricing (2024). Cheaper tiers " +
        `start above 6 billion GB-seconds a month. Official page: ${LAMBDA_PAGE}`,
    },
    armGbSecond: {
      usd: 0.0000133334,
      per: 1,
      unit: "GB-second",
      source: "https://cloudchipr.com/blog/aws-lambda-pricing",
      sourceDate: "2024",
      confirmed: false,
      note: `Not readable on ${LAMBDA_PAGE}; the same figure is in artillery's price table ` +
        "(https://app.unpkg.com/artillery@2.0.28/files/lib/platform/aws-lambda/prices.js). " +
        "Glacier's Lambda functions are x86_64, so the estimate does not use it.",
    },
    requests: {
      usd: 0.2,
      per: 1_000_000,
      unit: "request",
      source: LAMBDA_WHITEPAPER,
      confirmed: true,
      note: "The same for x86_64 and arm64.",
    },
    maxMemoryMb: 10_240,
    maxSeconds: 900,
  },
  emrServerless: {
    vcpuHour: {
      usd: 0.052624,
      per: 1,
      unit: "vCPU-hour",
      source: EMR_PAGE,
      confirmed: false,
      note: "Could not be read on the AWS page (its tables render in the browser). Several " +
        "independent public cost notes of 2026 give this x86_64 us-east-1 figure; verify before " +
        "relying on it.",
    },
    memoryGbHour: {
      usd: 0.0057785,
      per: 1,
      unit: "GB-hour",
      source: EMR_PAGE,
      confirmed: false,
      note: "Not readable on the AWS page; the same secondary sources as the vCPU-hour price.",
    },
    storageGbHour: {
      usd: 0.000111,
      per: 1,
      unit: "GB-hour",
      source: EMR_PAGE,
      confirmed: false,
      note: "Not readable on the AWS page; one secondary source only. Charged only for storage " +
        `beyond the 20 GB each worker includes (${EMR_BILLING_DOC}).`,
    },
    minimumSecondsPerWorker: 60,
    includedStorageGbPerWorker: 20,
  },
  s3Standard: {
    writeRequests: {
      usd: 0.005,
      per: 1_000,
      unit: "PUT, COPY, POST or LIST request",
      source: "https://c3x.dev/blog/s3-request-fees-explained",
      confirmed: false,
      note: `Not readable on ${S3_PAGE}; also given by https://www.cloudkaramchari.com/blog/` +
        "understanding-per-1000-put-copy-post-or-list-requests-in-amazon-s3-pricing/. " +
        "DELETE requests are free.",
    },
    readRequests: {
      usd: 0.0004,
      per: 1_000,
      unit: "GET, SELECT or other request",
      source: "https://c3x.dev/blog/s3-request-fees-explained",
      confirmed: false,
      note: `Not readable on ${S3_PAGE}.`,
    },
    storageGbMonth: {
      usd: 0.023,
      per: 1,
      unit: "GB-month",
      source: "https://gist.github.com/EverettBerry/a37438006529a55f42da6fdbc44a505c",
      sourceDate: "2022-07-07",
      confirmed: false,
      note:
        `First 50 TB a month. Not readable on ${S3_PAGE}; https://deepeshsoni.com/archives/256 ` +
        "and https://www.cloudtoggle.com/?p=1823 give the same figure.",
    },
  },
  stepFunctions: {
    stateTransitions: {
      usd: 0.025,
      per: 1_000,
      unit: "state transition",
      source: STEP_FUNCTIONS_PAGE,
      confirmed: true,
      note: "Read in the page's table for US East (N. Virginia); retries count as transitions.",
    },
  },
  notes: [
    "On-demand prices; free tiers (Lambda 1M requests and 400,000 GB-s, Step Functions 4,000 " +
    "transitions a month) and Savings Plans are not deducted.",
    "Entries with confirmed: false could not be read on an AWS page from here; check them at " +
    "the AWS page named in the entry before relying on an estimate for a budget.",
    "Data transfer inside the region (S3 to Lambda and EMR) is free and not priced.",
  ],
});

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object") {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
