/**
 * The schemas of the shop in DESIGN section 1, shared by the tests.
 *
 * @module
 */
import { schema, t } from "../mod.ts";

/** Orders. */
export const Orders = schema({ order_id: t.int64, customer_id: t.int64, amount: t.float64 });
/** Customers. */
export const Customers = schema({ customer_id: t.int64, region: t.string });
/** Orders joined with their customer's region. */
export const Joined = schema({
  order_id: t.int64,
  customer_id: t.int64,
  amount: t.float64,
  region: t.string,
});
/** Revenue per region. */
export const Revenue = schema({ region: t.string, revenue: t.float64 });
