/**
 * Numbers as people read them: bytes, seconds, dollars, counts.
 *
 * @module
 */

const BYTE_UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];

/**
 * Bytes in binary units: `512 B`, `45.2 KiB`, `1.5 GiB`.
 *
 * @param bytes the size.
 * @returns the size with its unit.
 */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < BYTE_UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  if (unit === 0) return `${Math.round(value)} B`;
  const digits = value >= 100 || Number.isInteger(value) ? value.toFixed(0) : value.toFixed(1);
  return `${digits} ${BYTE_UNITS[unit]}`;
}

/**
 * A duration: `<0.1 s`, `0.4 s`, `12 s`, `3 min 5 s`, `2 h 10 min`.
 *
 * @param seconds the duration.
 * @returns the duration with its units.
 */
export function formatSeconds(seconds: number): string {
  if (seconds < 0.1) return "<0.1 s";
  if (seconds < 10) return `${seconds.toFixed(1)} s`;
  if (seconds < 60) return `${Math.round(seconds)} s`;
  const whole = Math.round(seconds);
  if (whole < 3600) {
    const s = whole % 60;
    return s === 0 ? `${Math.floor(whole / 60)} min` : `${Math.floor(whole / 60)} min ${s} s`;
  }
  const minutes = Math.round(whole / 60);
  const m = minutes % 60;
  return m === 0 ? `${Math.floor(minutes / 60)} h` : `${Math.floor(minutes / 60)} h ${m} min`;
}

/**
 * US dollars, with enough digits to show cents of a cent: `$0.000213`, `$1.27`.
 *
 * @param usd the amount.
 * @returns the amount with a dollar sign.
 */
export function formatUsd(usd: number): string {
  if (usd === 0) return "$0";
  if (usd < 1) return `$${usd.toFixed(6)}`;
  return `$${usd.toFixed(2)}`;
}

/**
 * A whole count with thousands separators: `1,234,567`.
 *
 * @param n the count.
 * @returns the count.
 */
export function formatCount(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}
