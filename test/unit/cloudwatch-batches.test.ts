import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type BatchLimits, type LogEvent, PUT_LOG_EVENTS_LIMITS, chronological, eventBytes, planBatches,
} from '../../src/adapters/mirror/cloudwatch-batches.js';

const T0 = Date.parse('2026-11-26T16:00:00.000Z');
const HOUR = 60 * 60 * 1000;
const L = PUT_LOG_EVENTS_LIMITS;

const ev = (i: number, message = `m${i}`, timestamp = T0 + i): LogEvent => ({ timestamp, message });
const bytesOf = (batch: readonly LogEvent[]): number => batch.reduce((n, e) => n + Buffer.byteLength(e.message, 'utf8') + 26, 0);

/**
 * Every batch non-empty and within the limits, oldest first, within the span; concatenated,
 * they are the sorted input minus the oversized; nothing lost. Returns what is wrong (plain
 * loops: the property tests call this on thousands of events).
 */
function planProblems(input: readonly LogEvent[], limits: BatchLimits = L): string[] {
  const problems: string[] = [];
  const { batches, oversized } = planBatches(input, limits);
  batches.forEach((batch, b) => {
    if (batch.length === 0) problems.push(`batch ${b} is empty`);
    if (batch.length > limits.maxEvents) problems.push(`batch ${b} has ${batch.length} events`);
    if (bytesOf(batch) > limits.maxBytes) problems.push(`batch ${b} has ${bytesOf(batch)} bytes`);
    for (let i = 1; i < batch.length; i++) {
      if ((batch[i] as LogEvent).timestamp < (batch[i - 1] as LogEvent).timestamp) problems.push(`batch ${b} is out of order at ${i}`);
    }
    const span = (batch.at(-1) as LogEvent).timestamp - (batch[0] as LogEvent).timestamp;
    if (span >= limits.maxSpanMs) problems.push(`batch ${b} spans ${span} ms`);
  });
  const oversizedSet = new Set(oversized);
  const expected = chronological(input).filter((e) => !oversizedSet.has(e));
  const got = batches.flat();
  if (got.length !== expected.length || got.some((e, i) => e !== expected[i])) problems.push('the batches are not the sorted input');
  if (got.length + oversized.length !== input.length) problems.push(`${input.length - got.length - oversized.length} events lost`);
  for (const e of oversized) {
    if (eventBytes(e, limits) <= Math.min(limits.maxEventBytes, limits.maxBytes)) problems.push('an event that fits was set aside');
  }
  return problems;
}

const expectValidPlan = (input: readonly LogEvent[], limits: BatchLimits = L): void => {
  expect(planProblems(input, limits)).toEqual([]);
};

describe('planBatches: PutLogEvents limits', () => {
  it('uses the service limits: 10,000 events, 1,048,576 bytes, 26 bytes per event, 24 hours', () => {
    expect(L).toMatchObject({ maxEvents: 10_000, maxBytes: 1_048_576, eventOverheadBytes: 26, maxSpanMs: 24 * HOUR });
    expect(eventBytes({ timestamp: 0, message: 'héllo' })).toBe(6 + 26);
  });

  it('nothing in, nothing out', () => {
    expect(planBatches([])).toEqual({ batches: [], oversized: [] });
  });

  it('25,000 tiny events → 10,000 + 10,000 + 5,000', () => {
    const events = Array.from({ length: 25_000 }, (_, i) => ev(i, 'x'));
    const { batches } = planBatches(events);
    expect(batches.map((b) => b.length)).toEqual([10_000, 10_000, 5_000]);
    expectValidPlan(events);
  });

  it('bytes count the UTF-8 message plus 26: exactly 1,048,576 fits, one byte more does not', () => {
    // 8 events of (131,046 + 26) = 131,072 bytes each: exactly 1 MiB.
    const exact = Array.from({ length: 8 }, (_, i) => ev(i, 'a'.repeat(131_072 - 26)));
    expect(bytesOf(exact)).toBe(1_048_576);
    expect(planBatches(exact).batches.map((b) => b.length)).toEqual([8]);
    // The same characters but one 'a' made 'é' (two UTF-8 bytes) in the last: 1 byte over → a second batch.
    const over = [...exact.slice(0, 7), ev(7, `${'a'.repeat(131_072 - 26 - 1)}é`)];
    expect(over[7]?.message.length).toBe(exact[7]?.message.length);
    expect(bytesOf(over)).toBe(1_048_577);
    expect(planBatches(over).batches.map((b) => b.length)).toEqual([7, 1]);
  });

  it('the overhead alone splits: 40,330 empty-ish events of 26 bytes need more than one batch by bytes', () => {
    const limits: BatchLimits = { ...L, maxEvents: 1_000_000 };
    const events = Array.from({ length: 40_330 }, (_, i) => ev(i, ''));
    const { batches } = planBatches(events, limits);
    expect(batches.map((b) => b.length)).toEqual([40_329, 1]); // floor(1,048,576 / 26) = 40,329
    expectValidPlan(events, limits);
  });

  it('sorts chronologically, keeping the order of equal timestamps', () => {
    const events = [ev(0, 'c', T0 + 2), ev(1, 'a1', T0), ev(2, 'b', T0 + 1), ev(3, 'a2', T0)];
    expect(planBatches(events).batches).toEqual([[events[1], events[3], events[2], events[0]]]);
  });

  it('a batch spans less than 24 hours', () => {
    const events = [ev(0, 'a', T0), ev(1, 'b', T0 + 23 * HOUR), ev(2, 'c', T0 + 24 * HOUR - 1), ev(3, 'd', T0 + 24 * HOUR), ev(4, 'e', T0 + 47 * HOUR)];
    const { batches } = planBatches(events);
    expect(batches.map((b) => b.map((e) => e.message))).toEqual([['a', 'b', 'c'], ['d', 'e']]);
  });

  it('an event bigger than one event may be is set aside, not sent and not lost', () => {
    const big = ev(1, 'x'.repeat(262_144 - 26 + 1));
    const events = [ev(0), big, ev(2)];
    const plan = planBatches(events);
    expect(plan.oversized).toEqual([big]);
    expect(plan.batches).toEqual([[events[0], events[2]]]);
  });

  it('property: every batch respects count, bytes and span, keeps chronological order, and no event is lost', () => {
    const limitsArb = fc.record({
      maxEvents: fc.integer({ min: 1, max: 20 }),
      maxBytes: fc.integer({ min: 30, max: 400 }),
      eventOverheadBytes: fc.constant(26),
      maxSpanMs: fc.integer({ min: 1, max: 5_000 }),
      maxEventBytes: fc.integer({ min: 30, max: 400 }),
    });
    const eventArb = fc.record({
      timestamp: fc.integer({ min: T0, max: T0 + 20_000 }),
      message: fc.string({ unit: 'binary', maxLength: 80 }),
    });
    fc.assert(
      fc.property(fc.array(eventArb, { maxLength: 200 }), limitsArb, (events, limits) => {
        expectValidPlan(events, limits);
      }),
      { seed: 20_261_126, numRuns: 400 },
    );
  });

  it('property at the real limits: large random batches fit 10,000 events and 1 MiB', () => {
    // Short messages (the count cuts) or long ones (the bytes cut), within an hour (so the span does not).
    const eventsArb = fc.constantFrom(8, 1_500).chain((longest) => fc.array(fc.record({
      timestamp: fc.integer({ min: T0, max: T0 + HOUR }),
      // One- to four-byte UTF-8 characters, repeated (cheap to generate at this volume).
      message: fc.tuple(fc.constantFrom('a', 'é', '€', '😀'), fc.integer({ min: 0, max: longest })).map(([c, n]) => c.repeat(n)),
    }), { minLength: 1_000, maxLength: 22_000, size: 'max' }));
    let cutByBytes = 0;
    let cutByCount = 0;
    fc.assert(
      fc.property(eventsArb, (events) => {
        expectValidPlan(events);
        for (const batch of planBatches(events).batches.slice(0, -1)) {
          if (batch.length === L.maxEvents) cutByCount++;
          else cutByBytes++;
        }
      }),
      { seed: 7, numRuns: 6 },
    );
    // The inputs really were past one request's limits both ways, so the cutting was exercised.
    expect(cutByBytes).toBeGreaterThan(0);
    expect(cutByCount).toBeGreaterThan(0);
  });
});
