import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { copy } from '../../src/adapters/store/memory/state.js';

const roundTrip = (value: unknown): unknown => JSON.parse(JSON.stringify(value)) as unknown;

/** Same value, same member order (toStrictEqual does not look at order), or the same error. */
function sameAsRoundTrip(value: unknown): void {
  let expected: unknown;
  let expectedError: unknown = null;
  try {
    expected = roundTrip(value);
  } catch (err) {
    expectedError = err;
  }
  if (expectedError !== null) {
    expect(() => copy(value)).toThrow((expectedError as Error).constructor as new () => Error);
    return;
  }
  const copied = copy(value);
  expect(copied).toStrictEqual(expected);
  expect(JSON.stringify(copied)).toBe(JSON.stringify(expected));
}

// The memory store's copy must be exactly JSON.parse(JSON.stringify(value)), only cheaper.
describe('memory store copy', () => {
  it('is the JSON round trip of any JSON value, and shares no object with it', () => {
    fc.assert(fc.property(fc.jsonValue(), (value) => {
      sameAsRoundTrip(value);
      if (typeof value === 'object' && value !== null) expect(copy(value)).not.toBe(value);
    }), { numRuns: 2000 });
  });

  it('is the JSON round trip of anything: undefined members, -0, non-finite numbers, dates, boxed values, null prototypes', () => {
    const anything = fc.anything({
      withBoxedValues: true, withDate: true, withMap: true, withSet: true, withNullPrototype: true, withObjectString: true,
      withSparseArray: true, withTypedArray: true, withBigInt: true, key: fc.oneof(fc.string(), fc.constantFrom('__proto__', '10', 'toJSON')),
    });
    fc.assert(fc.property(anything, sameAsRoundTrip), { numRuns: 3000 });
  });

  it('takes the round trip for the values it does not copy itself', () => {
    sameAsRoundTrip({ at: new Date(0), n: Object(1) as number, s: Object('x') as string, f: () => 1, list: [undefined, () => 1, Symbol('s')] });
    sameAsRoundTrip(JSON.parse('{"__proto__":{"a":1},"b":2}'));
    sameAsRoundTrip({ toJSON: () => ({ replaced: true }) });
    sameAsRoundTrip({ big: 1n });
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    sameAsRoundTrip(cyclic);
    let deep: unknown = 'leaf';
    for (let i = 0; i < 200; i++) deep = { deeper: [deep] };
    sameAsRoundTrip(deep);
    expect(() => copy(undefined)).toThrow(SyntaxError);
  });
});
