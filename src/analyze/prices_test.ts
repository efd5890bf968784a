import assert from "node:assert/strict";
import { AWS_PRICES, type Price, unitPrice } from "./prices.ts";

function prices(): [string, Price][] {
  const out: [string, Price][] = [];
  for (const [service, entries] of Object.entries(AWS_PRICES)) {
    if (entries === null || typeof entries !== "object" || Array.isArray(entries)) continue;
    for (const [name, value] of Object.entries(entries)) {
      if (value !== null && typeof value === "object") {
        out.push([`${service}.${name}`, value as Price]);
      }
    }
  }
  return out;
}

Deno.test("every price names its region, its source and when it was taken", () => {
  assert.equal(AWS_PRICES.region, "us-east-1");
  assert.match(AWS_PRICES.takenOn, /^\d{4}-\d\d-\d\d$/);
  const all = prices();
  assert.equal(all.length, 10);
  for (const [name, price] of all) {
    assert.match(price.source, /^https:\/\//, name);
    assert.ok(price.usd > 0 && price.per >= 1, name);
    if (!price.confirmed) {
      assert.match(price.note ?? "", /\S/, `${name} says why it is unconfirmed`);
    }
  }
});

Deno.test("the table is data that cannot be changed by accident", () => {
  assert.ok(Object.isFrozen(AWS_PRICES.lambda.x86GbSecond));
  assert.equal(unitPrice(AWS_PRICES.s3Standard.writeRequests), 0.000005);
  assert.equal(unitPrice(AWS_PRICES.stepFunctions.stateTransitions), 0.000025);
});
