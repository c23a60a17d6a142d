let lastMs = Number.NaN;
let lastText = '';

/**
 * RFC 3339 UTC with milliseconds, e.g. 2026-11-26T16:00:00.123Z. The last answer is kept:
 * a payment formats the same millisecond several times, and toISOString allocates a Date.
 */
export function rfc3339(ms: number): string {
  if (ms !== lastMs) {
    lastText = new Date(ms).toISOString();
    lastMs = ms;
  }
  return lastText;
}
