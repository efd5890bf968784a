/**
 * What a writer claims of a bucket: the whole bucket, or some of its partitions. Two claims on one
 * bucket conflict when either is whole or their partitions meet, so two runs over disjoint
 * partitions of one bucket both proceed, while a run that writes the whole bucket excludes every
 * partition writer and is excluded by them. Each storage keeps a bucket's claims in one place and
 * changes them atomically (local files: under a short OS file lock; S3: conditional writes of one
 * object), so of two writers whose claims conflict, the second is refused, naming the first.
 *
 * @module
 */
import type { BucketRef } from "../core/lineage.ts";
import { isPartitioned } from "../core/partition_map.ts";
import { partitionText } from "../core/partitions.ts";

/** Who holds a claim, as its holder wrote it. */
export interface ClaimHolder {
  /** The run (or `write`) that holds it. */
  readonly run: string;
  /** The host it runs on. */
  readonly host: string;
  /** Its process id, as seen in its own PID namespace. */
  readonly pid: number;
  /** When it took the claim. */
  readonly since: string;
  /** For a deployed run's claim, what holds it (the state machine execution). */
  readonly lease?: string;
}

/** One writer's claim on one bucket. */
export interface WriteClaim extends ClaimHolder {
  /** The claim's own id (one run may hold claims on several buckets). */
  readonly id: string;
  /** The partitions it writes, as text (`date=2026-01-03`); absent: the whole bucket. */
  readonly partitions?: readonly string[];
}

/** What a writer writes of one bucket. */
export interface BucketWrite {
  /** The bucket (its path with placeholders, for a partitioned one). */
  readonly ref: BucketRef;
  /** The partitions it writes, as text, sorted; absent: the whole bucket. */
  readonly partitions?: readonly string[];
}

/**
 * What a writer writes of each bucket: each target bucket whole, or, when the partitions it writes
 * are known, a partitioned target's partitions (possibly none).
 *
 * @param targets the buckets it writes (a step's target, or one partition of it).
 * @param writes the buckets and partitions it writes, when known (each partition as a reference
 *   to it; those of other buckets are ignored); absent: every target is written whole.
 * @returns one entry per bucket, in location order.
 */
export function bucketWrites(
  targets: readonly BucketRef[],
  writes?: readonly BucketRef[],
): BucketWrite[] {
  const out = new Map<string, { ref: BucketRef; partitions?: Set<string> }>();
  for (const ref of targets) {
    const known = writes !== undefined && isPartitioned(ref);
    if (!out.has(ref.location)) {
      out.set(ref.location, { ref, ...(known ? { partitions: new Set() } : {}) });
    }
  }
  for (const ref of writes ?? []) {
    const entry = out.get(ref.location);
    if (!entry) continue;
    if (entry.partitions && ref.partition) entry.partitions.add(partitionText(ref.partition));
    else if (entry.partitions) out.set(ref.location, { ref: entry.ref });
  }
  return [...out.values()]
    .sort((a, b) => a.ref.location.localeCompare(b.ref.location))
    .map((e) => ({
      ref: e.ref,
      ...(e.partitions ? { partitions: [...e.partitions].sort() } : {}),
    }));
}

/** A claim that stands in a writer's way, and the partitions they both write. */
export interface Conflict {
  /** The other writer's claim. */
  readonly claim: WriteClaim;
  /** The partitions both write; empty when both write the whole bucket. */
  readonly partitions: readonly string[];
}

/**
 * The claims among `others` that conflict with writing `partitions` (absent: the whole bucket).
 *
 * @param partitions what the writer writes.
 * @param others the live claims of other writers.
 * @returns each conflicting claim with the partitions in conflict.
 */
export function conflictsWith(
  partitions: readonly string[] | undefined,
  others: readonly WriteClaim[],
): Conflict[] {
  const out: Conflict[] = [];
  for (const claim of others) {
    if (partitions === undefined || claim.partitions === undefined) {
      const shared = partitions ?? claim.partitions ?? [];
      if (partitions === undefined && claim.partitions?.length === 0) continue;
      if (claim.partitions === undefined && partitions?.length === 0) continue;
      out.push({ claim, partitions: shared });
      continue;
    }
    const theirs = new Set(claim.partitions);
    const shared = partitions.filter((p) => theirs.has(p));
    if (shared.length > 0) out.push({ claim, partitions: shared });
  }
  return out;
}

/**
 * Says who holds a claim, for messages.
 *
 * @param holder the holder.
 * @returns `run R (pid P on H, since S)`, or `deployed run R (EXECUTION, since S)`.
 */
export function describeClaimHolder(holder: ClaimHolder): string {
  return holder.lease !== undefined
    ? `deployed run ${holder.run} (${holder.lease}, since ${holder.since})`
    : `run ${holder.run} (pid ${holder.pid} on ${holder.host}, since ${holder.since})`;
}

/**
 * The message of a writer refused because others write the same bucket or partitions.
 *
 * @param location the bucket.
 * @param mine what the refused writer writes: its partitions, or absent for the whole bucket.
 * @param conflicts who is in its way.
 * @param after what to add, for the storage (how a dead holder's claim ends).
 * @returns the message, naming each holder and the partitions in conflict.
 */
export function refusalMessage(
  location: string,
  mine: readonly string[] | undefined,
  conflicts: readonly Conflict[],
  after = "",
): string {
  const clauses = conflicts.map(({ claim, partitions }) => {
    const who = describeClaimHolder(claim);
    if (mine === undefined && claim.partitions === undefined) return who;
    if (claim.partitions === undefined) {
      return `${who} as a whole, which includes the ${listOf(partitions)} that this run writes`;
    }
    return `${who} at ${listOf(partitions)}${
      mine === undefined ? ", and this run writes the whole bucket" : ", which this run writes too"
    }`;
  });
  return `bucket '${location}' is being written by ${clauses.join("; and by ")}; nothing was ` +
    "changed. Wait for it to finish, or wait for it with run({ wait: SECONDS }) (glacier run " +
    `--wait SECONDS)${after}`;
}

/** `partition date=2026-01-03`, or `partitions a, b, c and 4 more`. */
function listOf(partitions: readonly string[]): string {
  const shown = partitions.slice(0, 8).join(", ");
  const more = partitions.length > 8 ? ` and ${partitions.length - 8} more` : "";
  return `${partitions.length === 1 ? "partition" : "partitions"} ${shown}${more}`;
}
