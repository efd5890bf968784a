/**
 * Quality-check results per bucket version, cached in the ledger: a result depends only on the
 * data and the check's definition, so a version is audited once per check. Adding or changing a
 * check audits the current version without recomputing it, and an unchanged raw input is not
 * audited again.
 *
 * @module
 */
import { auditBucket } from "../core/checks_audit.ts";
import { checkIdentity, type QualityCheck } from "../core/checks.ts";
import type { BucketRef } from "../core/lineage.ts";
import type { CheckResult } from "../core/reports.ts";
import type { RunSession } from "../core/session.ts";
import type { Ledger } from "./ledger/ledger.ts";

/** The audits of one run. */
export class VersionAudits {
  readonly #ledger: Ledger;
  readonly #session: RunSession;
  readonly #done = new Map<string, Promise<CheckResult[]>>();

  /**
   * The audits of a run.
   *
   * @param ledger where results are cached.
   * @param session the run's storage, to read a version that must be audited.
   */
  constructor(ledger: Ledger, session: RunSession) {
    this.#ledger = ledger;
    this.#session = session;
  }

  /**
   * The results of a bucket version's checks: those the ledger holds for it, and the others run
   * now on the data (and recorded). Each result has the check's current severity.
   *
   * @param ref the bucket (or partition).
   * @param versionKey the version's key.
   * @param missing what to say when the bucket has no data.
   * @returns one result per check of the bucket.
   */
  of(ref: BucketRef, versionKey: string, missing: string): Promise<CheckResult[]> {
    const checks = ref.checks ?? [];
    if (checks.length === 0) return Promise.resolve([]);
    const key = `${ref.location}\u0000${versionKey}`;
    let found = this.#done.get(key);
    if (!found) {
      found = this.#audit(ref, checks, versionKey, missing);
      this.#done.set(key, found);
    }
    return found;
  }

  /**
   * Records the results an executor ran on the version a step wrote.
   *
   * @param ref the bucket.
   * @param versionKey the new version's key.
   * @param results the results, one per check.
   */
  async record(
    ref: BucketRef,
    versionKey: string,
    results: readonly CheckResult[],
  ): Promise<void> {
    const byName = new Map((ref.checks ?? []).map((c) => [c.name, checkIdentity(c).hash]));
    const entries = new Map<string, CheckResult>();
    for (const result of results) {
      const hash = byName.get(result.name);
      if (hash !== undefined) entries.set(hash, result);
    }
    if (entries.size > 0) await this.#ledger.recordChecks(this.#session.runId, versionKey, entries);
  }

  async #audit(
    ref: BucketRef,
    checks: readonly QualityCheck[],
    versionKey: string,
    missing: string,
  ): Promise<CheckResult[]> {
    const cached = await this.#ledger.checkResults(versionKey);
    const ids = checks.map((check) => ({ check, hash: checkIdentity(check).hash }));
    const unknown = ids.filter(({ hash }) => !cached.has(hash)).map(({ check }) => check);
    const fresh = unknown.length > 0
      ? await auditBucket(this.#session, ref, { missing, checks: unknown })
      : [];
    if (fresh.length > 0) await this.record(ref, versionKey, fresh);
    const freshByName = new Map(fresh.map((r) => [r.name, r]));
    return ids.map(({ check, hash }) => {
      const result = freshByName.get(check.name) ?? cached.get(hash)!;
      return { ...result, name: check.name, bucket: ref.location, severity: check.severity };
    });
  }
}
