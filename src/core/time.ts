/** RFC 3339 UTC with milliseconds, e.g. 2026-11-26T16:00:00.123Z. */
export function rfc3339(ms: number): string {
  return new Date(ms).toISOString();
}
