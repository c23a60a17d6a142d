import { describe, expect, it } from 'vitest';
import { type AggregatedEvent, OTHER_KEYS, RecordAggregator, type RecordAggregatorOptions } from '../../src/app/record-aggregator.js';
import type { RecordDraft } from '../../src/core/audit-record.js';
import { AuthFailureLimiter, clientAddress } from '../../src/runtimes/http/auth-limiter.js';

const MINUTE_MS = 60_000;
/** 2026-11-30T20:00:15Z: 15 s into a minute. */
const T0 = Date.UTC(2026, 10, 30, 20, 0, 15);

function setup(overrides: Partial<RecordAggregatorOptions> = {}) {
  const clock = { t: T0, now() { return this.t; } };
  const written: RecordDraft[] = [];
  const aggregator = new RecordAggregator({
    type: 'auth.failed', outcome: 'failure', windowMs: MINUTE_MS, individualMax: 2, keysMax: 3, resourcesMax: 2, clock,
    write: async (records) => { written.push(...records); },
    onError: (err) => { throw err; },
    ...overrides,
  });
  return { clock, written, aggregator };
}

const event = (key: string, reason = 'api_key_invalid', resource: string | null = null): AggregatedEvent => ({
  key, actor: 'anonymous', ip: key, resource, counts: { reason },
});

describe('RecordAggregator', () => {
  it('records the first events of a key in a window, counts the rest, and writes one summary when the window ends', async () => {
    const { clock, written, aggregator } = setup();
    const decisions = Array.from({ length: 10 }, (_, i) => aggregator.note(event('10.0.0.1', i % 2 === 0 ? 'api_key_invalid' : 'api_key_missing')));
    expect(decisions).toEqual(['record', 'record', ...Array<string>(8).fill('counted')]);
    await aggregator.flushEnded();
    expect(written).toEqual([]);
    clock.t = T0 + MINUTE_MS;
    await aggregator.flushEnded();
    expect(written).toEqual([{
      type: 'auth.failed', actor: 'anonymous', origin: { requestId: null, traceId: null, ip: '10.0.0.1' }, resource: null, outcome: 'failure', reason: null,
      data: {
        summary: true, window: { start: '2026-11-30T20:00:00.000Z', end: '2026-11-30T20:01:00.000Z' }, count: 8,
        reason: { api_key_invalid: 4, api_key_missing: 4 }, resources: [],
      },
    }]);
    // A new window: the key's first events are recorded again.
    expect(aggregator.note(event('10.0.0.1'))).toBe('record');
  });

  it('writes nothing for a key whose events were all recorded on their own', async () => {
    const { clock, written, aggregator } = setup();
    aggregator.note(event('10.0.0.1'));
    aggregator.note(event('10.0.0.1'));
    clock.t += MINUTE_MS;
    await aggregator.flushEnded();
    expect(written).toEqual([]);
  });

  it('bounds the keys it tracks: events of further keys share one summary marked otherKeys', async () => {
    const { written, aggregator } = setup({ individualMax: 0 });
    for (let i = 0; i < 100; i++) expect(aggregator.note(event(`10.0.${i}.1`))).toBe('counted');
    expect(aggregator.size).toBe(4);
    await aggregator.close();
    expect(written).toHaveLength(4);
    const other = written.find((r) => r.data.otherKeys === true);
    expect(other).toMatchObject({ origin: { ip: null }, data: { count: 97 } });
    expect(written.reduce((n, r) => n + (r.data.count as number), 0)).toBe(100);
    expect(OTHER_KEYS).toBe('(other)');
  });

  it('names at most resourcesMax resources and counts the rest', async () => {
    const { written, aggregator } = setup({ individualMax: 0 });
    for (const id of ['key_a', 'key_b', 'key_c', 'key_a', 'key_d']) aggregator.note(event('10.0.0.1', 'api_key_revoked', id));
    await aggregator.close();
    expect(written[0]?.data).toMatchObject({ count: 5, resources: ['key_a', 'key_b'], resourcesOmitted: 2 });
  });

  it('on close writes the current window up to now, and records every later event on its own', async () => {
    const { clock, written, aggregator } = setup({ individualMax: 1 });
    aggregator.note(event('10.0.0.1'));
    aggregator.note(event('10.0.0.1'));
    clock.t = T0 + 5_000;
    await aggregator.close();
    expect(written.map((r) => r.data)).toEqual([
      { summary: true, window: { start: '2026-11-30T20:00:00.000Z', end: '2026-11-30T20:00:20.000Z' }, count: 1, reason: { api_key_invalid: 1 }, resources: [] },
    ]);
    expect(aggregator.note(event('10.0.0.1'))).toBe('record');
  });

  it('stays in the current window when the clock steps back', async () => {
    const { clock, written, aggregator } = setup({ individualMax: 1 });
    aggregator.note(event('10.0.0.1'));
    clock.t = T0 - MINUTE_MS;
    expect(aggregator.note(event('10.0.0.1'))).toBe('counted');
    await aggregator.flushEnded();
    expect(written).toEqual([]);
  });

  it('reports summaries it could not write, and goes on', async () => {
    const failed: RecordDraft[][] = [];
    const { clock, aggregator } = setup({
      individualMax: 0,
      write: () => Promise.reject(new Error('store down')),
      onError: (_err, records) => { failed.push(records); },
    });
    aggregator.note(event('10.0.0.1'));
    clock.t += MINUTE_MS;
    await aggregator.flushEnded();
    expect(failed).toHaveLength(1);
    expect(aggregator.note(event('10.0.0.1'))).toBe('counted');
  });
});

describe('AuthFailureLimiter', () => {
  it('refuses an address that failed perWindow times until the window ends, and no other address', () => {
    const limiter = new AuthFailureLimiter(3);
    for (let i = 0; i < 3; i++) {
      expect(limiter.retryAfterS('10.0.0.1', T0)).toBe(0);
      limiter.fail('10.0.0.1', T0);
    }
    expect(limiter.retryAfterS('10.0.0.1', T0)).toBe(45);
    expect(limiter.retryAfterS('10.0.0.1', T0 + 44_500)).toBe(1);
    expect(limiter.retryAfterS('10.0.0.2', T0)).toBe(0);
    expect(limiter.retryAfterS('10.0.0.1', T0 + 45_000)).toBe(0);
  });

  it('is off at 0, and stops tracking new addresses when full', () => {
    const off = new AuthFailureLimiter(0);
    for (let i = 0; i < 100; i++) off.fail('10.0.0.1', T0);
    expect(off.retryAfterS('10.0.0.1', T0)).toBe(0);
    const small = new AuthFailureLimiter(1, MINUTE_MS, 2);
    for (const address of ['a', 'b', 'c']) small.fail(address, T0);
    expect([small.retryAfterS('a', T0), small.retryAfterS('b', T0), small.retryAfterS('c', T0)]).toEqual([45, 45, 0]);
  });

  it('counts IPv4 as is (also IPv4-mapped) and IPv6 by its /64', () => {
    expect(clientAddress('203.0.113.7')).toBe('203.0.113.7');
    expect(clientAddress('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(clientAddress('2001:db8:1:2:3:4:5:6')).toBe('2001:db8:1:2::/64');
    expect(clientAddress('2001:db8:1:2::9')).toBe('2001:db8:1:2::/64');
    expect(clientAddress('2001:0DB8::1')).toBe('2001:db8:0:0::/64');
    expect(clientAddress('::1')).toBe('0:0:0:0::/64');
    expect(clientAddress('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
  });
});
