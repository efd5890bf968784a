/**
 * Glacier's own version, as published (it must equal `version` in `deno.json`; a test keeps them
 * equal). Code fingerprints include it, so a new Glacier recomputes what it computes differently.
 *
 * @module
 */

/** This Glacier's version. */
export const GLACIER_VERSION = "0.1.0";
