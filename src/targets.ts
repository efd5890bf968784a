/**
 * Installs the targets into the builder's registry. Heavy targets load on first use.
 *
 * @module
 */
import { installTargets } from "./core/targets.ts";

installTargets({});
