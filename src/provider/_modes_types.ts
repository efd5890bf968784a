/**
 * The type of the modes table, apart from the table: `provider.ts` takes the type of `MODES` from
 * here (`@ts-types`), so that `deno check` of a program that imports Glacier checks the table's
 * type and not every mode it loads on first use (the engine, the storages, the backends,
 * Terraform generation), which cost more than twice the rest of the library. `modes.ts`
 * declares its table with this same type, and `deno check src` checks it and every mode.
 *
 * @module
 */
import type { Modes } from "../core/modes.ts";

/** Glacier's modes; the value is `MODES` of `modes.ts`. */
export declare const MODES: Modes;
