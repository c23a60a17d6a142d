/** The last few answers, in a ring: a payment formats a handful of instants (now, a lease's end, a key's expiry) over and over. */
const CACHED_TIMES = 4;
const cachedMs: number[] = new Array<number>(CACHED_TIMES).fill(Number.NaN);
const cachedText: string[] = new Array<string>(CACHED_TIMES).fill('');
let next = 0;

/**
 * RFC 3339 UTC with milliseconds, e.g. 2026-11-26T16:00:00.123Z. The last few answers are
 * kept: a payment formats the same millisecond several times, and toISOString allocates a Date.
 * Four, not one: the idempotency claim's lease end and expiry came between the times of a
 * payment's records, so a cache of one missed on nearly every call.
 */
export function rfc3339(ms: number): string {
  for (let i = 0; i < CACHED_TIMES; i++) if (cachedMs[i] === ms) return cachedText[i] as string;
  const text = new Date(ms).toISOString();
  cachedMs[next] = ms;
  cachedText[next] = text;
  next = (next + 1) % CACHED_TIMES;
  return text;
}
