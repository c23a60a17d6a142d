import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseRfc3339, parseRfc3339MsUtc } from '../../src/core/parse-time.js';
import { rfc3339 } from '../../src/core/time.js';

/** Years 0001–9999, the range RFC 3339 can write. */
const MS_MIN = Date.parse('0001-01-01T00:00:00.000Z');
const MS_MAX = Date.parse('9999-12-31T23:59:59.999Z');

describe('parseRfc3339', () => {
  it('reads back every time rfc3339() writes, exactly (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: MS_MIN, max: MS_MAX }), (ms) => {
        expect(parseRfc3339(rfc3339(ms))).toBe(ms);
        expect(parseRfc3339MsUtc(rfc3339(ms))).toBe(ms);
      }),
      { seed: 3339, numRuns: 500 },
    );
  });

  it('reads offsets, lower-case separators and any fraction as the instant they name', () => {
    const at = Date.parse('2026-11-26T16:00:00.000Z');
    expect(parseRfc3339('2026-11-26T17:00:00+01:00')).toBe(at);
    expect(parseRfc3339('2026-11-26T15:30:00-00:30')).toBe(at);
    expect(parseRfc3339('2026-11-26t16:00:00z')).toBe(at);
    expect(parseRfc3339('2026-11-26T16:00:00.123456789Z')).toBe(at + 123);
    expect(parseRfc3339('2026-11-26T16:00:00.1Z')).toBe(at + 100);
    expect(parseRfc3339('2024-02-29T00:00:00Z')).toBe(Date.parse('2024-02-29T00:00:00Z'));
    expect(parseRfc3339('2000-02-29T00:00:00Z')).not.toBeNull();
    expect(parseRfc3339('0050-06-01T00:00:00.000Z')).toBe(Date.parse('0050-06-01T00:00:00.000Z'));
  });

  it.each([
    '', 'yesterday', '2026-11-26', '16:00:00Z', '2026-11-26T16:00:00', '2026-11-26 16:00:00Z', '2026-11-26T16:00Z',
    '2026-02-30T00:00:00Z', '2026-02-29T00:00:00Z', '1900-02-29T00:00:00Z', '2026-13-01T00:00:00Z', '2026-00-01T00:00:00Z',
    '2026-11-31T00:00:00Z', '2026-11-26T24:00:00Z', '2026-11-26T16:60:00Z', '2026-11-26T16:00:60Z', '2026-11-26T16:00:00+24:00',
    '2026-11-26T16:00:00+01:60', '2026-11-26T16:00:00+0100', '2026-11-26T16:00:00.Z', '2026-11-26T16:00:00.1234567890Z',
    '+002026-11-26T16:00:00.000Z', '26-11-26T16:00:00Z', '2026-11-26T16:00:00Z ', ' 2026-11-26T16:00:00Z', '1795708800000',
  ])('%j is not an RFC 3339 time', (text) => {
    expect(parseRfc3339(text)).toBeNull();
  });

  it('parseRfc3339MsUtc takes only the form rfc3339() writes', () => {
    for (const text of ['2026-11-26T16:00:00Z', '2026-11-26T16:00:00.12Z', '2026-11-26T16:00:00.1234Z', '2026-11-26T17:00:00.000+01:00', '2026-11-26t16:00:00.000z']) {
      expect(parseRfc3339MsUtc(text), text).toBeNull();
      expect(parseRfc3339(text), text).not.toBeNull();
    }
  });
});
