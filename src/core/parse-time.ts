/**
 * Reading times back: a record's `ts` and a checkpoint note's signed `time`. Date.parse alone
 * will not do: it reads "2026-02-30" as 2 March and accepts forms RFC 3339 does not, so a
 * verifier would compare times that no writer wrote.
 */

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;
/** What rfc3339() writes: UTC, milliseconds, upper-case T and Z. */
const RFC3339_MS_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

const MINUTE_MS = 60_000;
const HOUR_MINUTES = 60;

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function daysInMonth(year: number, month: number): number {
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return month === 2 && leap ? 29 : (DAYS_IN_MONTH[month - 1] as number);
}

/**
 * Milliseconds since the epoch of an RFC 3339 date-time (any offset, any fraction, which is
 * truncated to milliseconds), or null when it is not one. Leap seconds (:60) are refused: no
 * clock paylog reads produces them.
 */
export function parseRfc3339(text: string): number | null {
  const m = RFC3339.exec(text);
  if (!m) return null;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return null;
  if (hour > 23 || minute > 59 || second > 59) return null;
  let offsetMinutes = 0;
  if (m[8] === undefined) {
    const offHour = Number(m[10]);
    const offMinute = Number(m[11]);
    if (offHour > 23 || offMinute > 59) return null;
    offsetMinutes = (m[9] === '-' ? -1 : 1) * (offHour * HOUR_MINUTES + offMinute);
  }
  const ms = Number((m[7] ?? '').padEnd(3, '0').slice(0, 3));
  // Date.UTC maps years 0–99 to 1900–1999; setUTCFullYear does not.
  const date = new Date(Date.UTC(2000, month - 1, day, hour, minute, second, ms));
  date.setUTCFullYear(year);
  return date.getTime() - offsetMinutes * MINUTE_MS;
}

/** The ms of a time in exactly the form rfc3339() writes (a record's `ts`, a note's `time`), or null. */
export function parseRfc3339MsUtc(text: string): number | null {
  return RFC3339_MS_UTC.test(text) ? parseRfc3339(text) : null;
}
