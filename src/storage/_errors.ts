/**
 * The useful part of an error thrown by polars or the runtime.
 *
 * @param error anything thrown.
 * @returns its message's first line, trimmed.
 */
export function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split("\n").map((l) => l.trim()).find((l) => l.length > 0) ?? "unknown error";
}
