/**
 * Packing log events into PutLogEvents requests (pure). The service's constraints
 * (API reference, PutLogEvents): at most 10,000 events and 1,048,576 bytes per request, the
 * size being the sum of every message's UTF-8 length plus 26 bytes per event; events in
 * chronological order; a request may not span more than 24 hours; one event at most 256 KB.
 */

export interface LogEvent {
  /** Milliseconds since the epoch. */
  timestamp: number;
  message: string;
}

export interface BatchLimits {
  maxEvents: number;
  maxBytes: number;
  /** Counted for every event on top of its message's UTF-8 bytes. */
  eventOverheadBytes: number;
  /** The newest event of a batch is less than this after its oldest. */
  maxSpanMs: number;
  /** One event, overhead included. */
  maxEventBytes: number;
}

export const PUT_LOG_EVENTS_LIMITS: Readonly<BatchLimits> = Object.freeze({
  maxEvents: 10_000,
  maxBytes: 1_048_576,
  eventOverheadBytes: 26,
  maxSpanMs: 24 * 60 * 60 * 1000,
  maxEventBytes: 262_144,
});

export interface BatchPlan {
  /** Requests to send, in this order; every event of the input is in exactly one batch or in oversized. */
  batches: LogEvent[][];
  /** Events larger than one event may be: they cannot be sent at all. */
  oversized: LogEvent[];
}

/** An event's size as PutLogEvents counts it. */
export function eventBytes(event: LogEvent, limits: Pick<BatchLimits, 'eventOverheadBytes'> = PUT_LOG_EVENTS_LIMITS): number {
  return Buffer.byteLength(event.message, 'utf8') + limits.eventOverheadBytes;
}

/** Oldest first; events with equal timestamps keep their order (Array.prototype.sort is stable). */
export function chronological(events: readonly LogEvent[]): LogEvent[] {
  return [...events].sort((a, b) => a.timestamp - b.timestamp);
}

/**
 * Sorts the events chronologically and cuts them greedily into as few consecutive batches as
 * the limits allow: a batch ends when the next event would exceed the count, the bytes, or
 * the time span.
 */
export function planBatches(events: readonly LogEvent[], limits: Readonly<BatchLimits> = PUT_LOG_EVENTS_LIMITS): BatchPlan {
  const batches: LogEvent[][] = [];
  const oversized: LogEvent[] = [];
  const maxEventBytes = Math.min(limits.maxEventBytes, limits.maxBytes);
  let current: LogEvent[] = [];
  let bytes = 0;
  let first = 0;
  for (const event of chronological(events)) {
    const size = eventBytes(event, limits);
    if (size > maxEventBytes) {
      oversized.push(event);
      continue;
    }
    if (current.length > 0 && (
      current.length >= limits.maxEvents ||
      bytes + size > limits.maxBytes ||
      event.timestamp - first >= limits.maxSpanMs
    )) {
      batches.push(current);
      current = [];
    }
    if (current.length === 0) {
      bytes = 0;
      first = event.timestamp;
    }
    current.push(event);
    bytes += size;
  }
  if (current.length > 0) batches.push(current);
  return { batches, oversized };
}
