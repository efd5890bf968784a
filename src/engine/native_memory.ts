/**
 * Polars' memory between the partitions of a backfill. Every polars frame and plan is a small
 * JavaScript object over memory that polars allocates natively; nodejs-polars does not tell V8
 * how much, so V8, seeing a small heap, puts off the collections that would free it, and a
 * backfill's resident memory grows with its number of partitions (by about 80 KB for each
 * partition of 10,000 rows, `bench/partitions_results.md`). A run that computes many partitions
 * therefore asks V8 for a full collection every so often: after a number of partitions, or of
 * bytes written, whichever comes first.
 *
 * @module
 */
import v8 from "node:v8";
import vm from "node:vm";

/** How many computed items, at most, between two collections. */
const ITEMS = 64;
/** How many bytes written, at most, between two collections. */
const BYTES = 256 * 1024 * 1024;

/** Counts what a run computed since the last collection and collects when it is enough. */
export class NativeMemory {
  #items = 0;
  #bytes = 0;
  readonly #collect: () => void;

  /**
   * A counter over a collection function.
   *
   * @param collect runs a full garbage collection (default: V8's, when it can be reached).
   */
  constructor(collect: () => void = fullCollection()) {
    this.#collect = collect;
  }

  /**
   * Notes one computed item; collects after {@link ITEMS} items or {@link BYTES} bytes.
   *
   * @param bytes what the item wrote.
   */
  computed(bytes: number): void {
    this.#items++;
    this.#bytes += bytes;
    if (this.#items < ITEMS && this.#bytes < BYTES) return;
    this.#items = 0;
    this.#bytes = 0;
    this.#collect();
  }
}

let gc: (() => void) | undefined;

/**
 * V8's full garbage collection, reached through `--expose-gc` set at run time (which gives `gc`
 * to new contexts only, not to the program's own); a no-op where that is not possible.
 */
function fullCollection(): () => void {
  if (gc === undefined) {
    try {
      v8.setFlagsFromString("--expose-gc");
      const found = vm.runInNewContext("gc");
      gc = typeof found === "function" ? found as () => void : () => {};
    } catch {
      gc = () => {};
    }
  }
  return gc;
}
