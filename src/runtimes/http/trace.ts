const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$/;

/** The trace ID of a W3C traceparent header, or null when absent or malformed (which W3C says to ignore). */
export function traceIdOf(header: string | string[] | undefined): string | null {
  if (typeof header !== 'string') return null;
  const match = TRACEPARENT.exec(header.trim().toLowerCase());
  const traceId = match?.[1];
  if (!traceId || /^0+$/.test(traceId) || /^0+$/.test(match[2] as string)) return null;
  return traceId;
}
