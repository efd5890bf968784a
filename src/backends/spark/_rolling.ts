/**
 * Windows along the rows and quantiles in Spark SQL with polars' semantics: the frame of a
 * `rolling_*` by row count (trailing, or centred as polars centres it), its `min_periods` test,
 * and a quantile picked from the sorted non-null values by polars' interpolation rules.
 *
 * @module
 */
import { floatLiteral } from "./_types.ts";

/** The rows a rolling window covers around the current one. */
export interface RollingFrame {
  /** Rows before the current one. */
  readonly preceding: number;
  /** Rows after the current one. */
  readonly following: number;
}

/**
 * The frame polars gives a window of `size` rows: the row and the `size - 1` before it, or,
 * centred, `size / 2` (rounded down) before and the rest after (`size` 4: two before, one after).
 *
 * @param size the window size.
 * @param center whether the window is centred on the row.
 * @returns the rows before and after.
 */
export function rollingFrame(size: number, center: boolean): RollingFrame {
  if (!center) return { preceding: size - 1, following: 0 };
  const preceding = Math.floor(size / 2);
  return { preceding, following: size - preceding - 1 };
}

/**
 * A `ROWS BETWEEN` clause for a frame.
 *
 * @param frame the frame.
 * @returns the clause.
 */
export function rowsBetween(frame: RollingFrame): string {
  const start = frame.preceding === 0 ? "CURRENT ROW" : `${frame.preceding} PRECEDING`;
  const end = frame.following === 0 ? "CURRENT ROW" : `${frame.following} FOLLOWING`;
  return `ROWS BETWEEN ${start} AND ${end}`;
}

/** polars' interpolation methods that Spark can reproduce. */
export const QUANTILE_METHODS: ReadonlySet<string> = new Set([
  "Nearest",
  "Lower",
  "Higher",
  "Midpoint",
  "Linear",
]);

/**
 * The quantile of a sorted array of doubles as polars computes it: with `n` values the position
 * is `(n - 1) * q`; `nearest` rounds it half away from zero, `lower` and `higher` take the floor
 * and ceiling, `midpoint` averages those two values and `linear` interpolates between them. NaN
 * sorts above every number, as in polars. Fewer than `minCount` values (none, by default) give
 * null.
 *
 * @param sorted the SQL of the sorted array (`sort_array(collect_list(...))`), evaluated once.
 * @param q the quantile, between 0 and 1.
 * @param method the interpolation method, one of {@linkcode QUANTILE_METHODS}.
 * @param minCount the fewest values that give a result.
 * @returns the SQL, a DOUBLE.
 */
export function quantileSql(sorted: string, q: number, method: string, minCount = 1): string {
  const a = "glacier_sorted";
  const position = `(CAST(size(${a}) - 1 AS DOUBLE) * ${floatLiteral(q)})`;
  const at = (index: string) => `${a}[CAST(${index} AS INT)]`;
  const lower = at(`floor(${position})`);
  const higher = at(`ceil(${position})`);
  const pick: Record<string, string> = {
    Nearest: at(`round(${position})`),
    Lower: lower,
    Higher: higher,
    Midpoint: `((${lower} + ${higher}) / 2.0D)`,
    Linear: `(${lower} + (${higher} - ${lower}) * (${position} - floor(${position})))`,
  };
  const value = pick[method];
  if (value === undefined) throw new Error(`no quantile method '${method}'`);
  const guarded = `CASE WHEN size(${a}) < ${Math.max(1, minCount)} THEN NULL ELSE ${value} END`;
  // The lambda names the array once, however often the method reads it.
  return `transform(array(${sorted}), ${a} -> ${guarded})[0]`;
}
