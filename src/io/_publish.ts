/**
 * The step both commit protocols share (files and S3 objects): place every output of a run, and
 * when one cannot be placed, put back the ones placed before it, so that the error can say
 * exactly which buckets changed.
 *
 * @module
 */
import { CommitError, firstLine } from "../core/errors.ts";

/** How one protocol places an output and puts it back. */
export interface Placement<E> {
  /** Replaces the bucket's data with the run's output, retrying what a retry can cure. */
  place(entry: E): Promise<void>;
  /** Makes the bucket's data what it was before the run; safe on an entry never placed. */
  putBack(entry: E): Promise<void>;
  /** What failed, for the message: `bucket 'b/p' could not be replaced by its new file (...)`. */
  failure(entry: E, error: unknown): string;
}

/**
 * Places every entry in order; when one fails, puts back that one and every one before it.
 *
 * @param entries the run's outputs.
 * @param placement how to place and put back.
 * @param pending what completes the run when even putting back fails.
 * @throws {CommitError} with the buckets that changed: none when everything was put back.
 */
export async function placeAll<E extends { readonly location: string }>(
  entries: readonly E[],
  placement: Placement<E>,
  pending: string,
): Promise<void> {
  const placed: E[] = [];
  for (const entry of entries) {
    try {
      await placement.place(entry);
      placed.push(entry);
    } catch (error) {
      const reason = placement.failure(entry, error);
      const undone = new Set<string>();
      try {
        // The failing entry first: it may be half-placed (its previous data kept aside).
        for (const done of [entry, ...placed.reverse()]) {
          await placement.putBack(done);
          undone.add(done.location);
        }
      } catch (undo) {
        const changed = placed.map((e) => e.location).filter((l) => !undone.has(l));
        throw new CommitError(
          `${reason}; putting back the outputs placed before it failed too (${firstLine(undo)})`,
          changed,
          entries.map((e) => e.location).filter((l) => !changed.includes(l)),
          pending,
          { cause: error },
        );
      }
      throw new CommitError(reason, [], entries.map((e) => e.location), undefined, {
        cause: error,
      });
    }
  }
}
