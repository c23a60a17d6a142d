import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { rfc3339 } from '../../src/core/time.js';

describe('rfc3339', () => {
  it('is toISOString of the instant, whatever was formatted before it (its cache never answers for another instant)', () => {
    const instant = fc.integer({ min: 0, max: 8.64e15 });
    fc.assert(fc.property(fc.array(fc.oneof(instant, fc.constantFrom(0, 1, 2, 3, 4, 5)), { maxLength: 40 }), (list) => {
      for (const ms of list) expect(rfc3339(ms)).toBe(new Date(ms).toISOString());
    }), { numRuns: 500, seed: 20261201 });
  });

  it('refuses an instant that is not a time, as toISOString does', () => {
    expect(() => rfc3339(Number.NaN)).toThrow(RangeError);
    expect(() => rfc3339(8.64e15 + 1)).toThrow(RangeError);
  });
});
