/**
 * Dtypes are polars' own, and nested and temporal columns wire like any other.
 *
 * @module
 */
import { type ListOf, pl, Provider, schema, type StructOf, t } from "../../mod.ts";
import { assertType, type Extends, type IsExact } from "./_assert.ts";

assertType<IsExact<typeof t.int8, pl.Int8>>();
assertType<IsExact<typeof t.int16, pl.Int16>>();
assertType<IsExact<typeof t.int32, pl.Int32>>();
assertType<IsExact<typeof t.int64, pl.Int64>>();
assertType<IsExact<typeof t.uint8, pl.UInt8>>();
assertType<IsExact<typeof t.uint16, pl.UInt16>>();
assertType<IsExact<typeof t.uint32, pl.UInt32>>();
assertType<IsExact<typeof t.uint64, pl.UInt64>>();
assertType<IsExact<typeof t.float32, pl.Float32>>();
assertType<IsExact<typeof t.float64, pl.Float64>>();
assertType<IsExact<typeof t.bool, pl.Bool>>();
assertType<IsExact<typeof t.string, pl.String>>();
assertType<IsExact<typeof t.date, pl.Date>>();
// Parameterized dtypes are polars' own classes, possibly with static-only extras.
assertType<Extends<typeof t.datetime, pl.Datetime>>();
assertType<Extends<ReturnType<typeof t.datetimeOf>, pl.Datetime>>();
assertType<Extends<ReturnType<typeof t.list>, pl.List>>();
assertType<Extends<ReturnType<typeof t.struct>, pl.Struct>>();

const tags = t.list(t.string);
const address = t.struct({ city: t.string, zip: t.int32 });
assertType<IsExact<typeof tags, ListOf<pl.String>>>();
assertType<
  IsExact<typeof address, StructOf<{ readonly city: pl.String; readonly zip: pl.Int32 }>>
>();
// Still polars' own `List` and `Struct`: usable wherever polars takes a dtype.
const asList: pl.List = tags;
const asStruct: pl.Struct = address;
const asDtype: pl.DataType = asList ?? asStruct;

const Event = schema({
  id: t.int64,
  day: t.date,
  at: t.datetime,
  tags: t.list(t.string),
  scores: t.list(t.list(t.float32)),
  address: t.struct({ city: t.string, zip: t.int32 }),
  ok: t.bool,
});
// A schema's static type is nodejs-polars' own `Schema`.
assertType<IsExact<typeof Event.address, typeof address>>();
const asSchema: pl.Schema = Event;
assertType<IsExact<typeof Event.day, pl.Date>>();

const Daily = schema({
  day: t.date,
  tags: t.list(t.string),
  address: t.struct({ city: t.string, zip: t.int32 }),
  n: t.uint32,
});
const DayInput = schema({
  day: t.date,
  tags: t.list(t.string),
  address: t.struct({ city: t.string, zip: t.int32 }),
});
const Tagged = schema({ tags: t.list(t.string), at: t.datetime });

const provider = new Provider();
const local = provider.local();
const events = provider.bucket({ bucket: "logs", path: "raw/events.parquet", schema: Event });
const daily = provider.bucket({ bucket: "logs", path: "out/daily.parquet", schema: Daily });
const tagged = provider.bucket({ bucket: "logs", path: "out/tagged.arrow", schema: Tagged });

const perDay = local.task(
  { name: "events_per_day", input: DayInput, output: Daily },
  (df) => {
    assertType<IsExact<typeof df, pl.LazyDataFrame<typeof DayInput>>>();
    return df.groupBy(["day", "tags", "address"]).agg(pl.len().alias("n"));
  },
);
const keepTags = local.task(
  { name: "keep_tags", input: Tagged, output: Tagged },
  (df) => df.select("tags", "at"),
);

// Lists, structs, dates and datetimes match when their dtypes (and list items) match.
const dailyOut = events.transform(perDay).to(daily);
const taggedOut = events.transform(keepTags).to(tagged);
assertType<IsExact<typeof dailyOut, typeof daily>>();
assertType<IsExact<typeof taggedOut, typeof tagged>>();

/** Keeps the unused conversions referenced; never called. */
export function dtypes(): readonly unknown[] {
  return [asDtype, asSchema];
}
