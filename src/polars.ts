/**
 * The one place Glacier names its polars dependency, pinned.
 *
 * @module
 */
import pl from "npm:nodejs-polars@0.25.2";

export default pl;
