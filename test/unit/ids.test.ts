import fc from 'fast-check';
import { TypeID } from 'typeid-js';
import { v7 as uuidv7 } from 'uuid';
import { describe, expect, it } from 'vitest';
import { type IdPrefix, isId, newId } from '../../src/core/ids.js';

const FC = { numRuns: 200, seed: 4217 } as const;
const T0 = Date.parse('2026-11-26T16:00:00.123Z');
const bytes = (fill: number, length = 16) => new Uint8Array(length).fill(fill);
const PREFIXES: IdPrefix[] = ['txn', 'req', 'key', 'str'];
const MSECS_MAX = 2 ** 48 - 1; // UUIDv7 holds 48 bits of milliseconds

const randomBytes = fc.uint8Array({ minLength: 16, maxLength: 16 });

describe('newId', () => {
  it('is txn_ followed by 26 lowercase base32 characters', () => {
    const id = newId('txn', T0, bytes(0xab));
    expect(id).toMatch(/^txn_[0-7][0-9a-hjkmnp-tv-z]{25}$/);
    expect(id).toHaveLength(4 + 26);
  });

  it('uses the prefix it is given', () => {
    for (const prefix of PREFIXES) {
      const id = newId(prefix, T0, bytes(1));
      expect(id.startsWith(`${prefix}_`)).toBe(true);
      expect(isId(prefix, id)).toBe(true);
    }
  });

  it('is deterministic for the same time and random bytes', () => {
    expect(newId('txn', T0, bytes(7))).toBe(newId('txn', T0, bytes(7)));
    fc.assert(fc.property(fc.integer({ min: 0, max: MSECS_MAX }), randomBytes, (msecs, random) =>
      newId('txn', msecs, random) === newId('txn', msecs, Uint8Array.from(random))), FC);
  });

  it('differs for different random bytes at the same time', () => {
    expect(newId('txn', T0, bytes(1))).not.toBe(newId('txn', T0, bytes(2)));
  });

  it('differs for different times with the same random bytes', () => {
    expect(newId('txn', T0, bytes(1))).not.toBe(newId('txn', T0 + 1, bytes(1)));
  });

  it('encodes the time first: the same millisecond shares the leading 10 characters', () => {
    const a = newId('txn', T0, bytes(0x00));
    const b = newId('txn', T0, bytes(0xff));
    expect(a.slice(0, 4 + 10)).toBe(b.slice(0, 4 + 10));
  });

  it('sorts a later millisecond after an earlier one, whatever the random bytes', () => {
    expect(newId('txn', T0, bytes(0xff)) < newId('txn', T0 + 1, bytes(0x00))).toBe(true);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: MSECS_MAX - 1 }), fc.integer({ min: 1, max: 2 ** 40 }), randomBytes, randomBytes, (msecs, delta, r1, r2) => {
        const later = Math.min(msecs + delta, MSECS_MAX);
        return newId('txn', msecs, r1) < newId('txn', later, r2);
      }),
      FC,
    );
  });

  it('is the TypeID typeid-js makes of the same UUIDv7', () => {
    fc.assert(fc.property(fc.constantFrom(...PREFIXES), fc.integer({ min: 0, max: MSECS_MAX }), randomBytes, (prefix, msecs, random) =>
      newId(prefix, msecs, random) === TypeID.fromUUID(prefix, uuidv7({ msecs, random })).toString()), { ...FC, numRuns: 2000 });
  });

  it('throws on fewer than 16 random bytes', () => {
    expect(() => newId('txn', T0, bytes(1, 15))).toThrow(RangeError);
    expect(() => newId('txn', T0, new Uint8Array(0))).toThrow(RangeError);
    expect(() => newId('txn', T0, bytes(1, 16))).not.toThrow();
  });
});

describe('isId', () => {
  const id = newId('txn', T0, bytes(0x5a));

  it('accepts an id of the prefix', () => {
    expect(isId('txn', id)).toBe(true);
  });

  it('rejects an id of another prefix', () => {
    expect(isId('req', id)).toBe(false);
    expect(isId('txn', newId('req', T0, bytes(0x5a)))).toBe(false);
  });

  it.each([
    ['empty', ''],
    ['the prefix alone', 'txn_'],
    ['no separator', 'txn01jdq2abcdefghjkmnpqrstvw'],
    ['one character short', id.slice(0, -1)],
    ['one character long', `${id}0`],
    ['uppercase', `txn_${id.slice(4).toUpperCase()}`],
    ['excluded letters i l o u', `txn_0${'i'.repeat(25)}`],
    ['first character above 7 (overflows 128 bits)', `txn_8${id.slice(5)}`],
    ['a hyphenated UUID', 'txn_0190a0b1-2c3d-7e4f-8a5b-6c7d8e9f0a1b'],
    ['surrounding space', ` ${id}`],
  ])('rejects %s', (_what, value) => {
    expect(isId('txn', value)).toBe(false);
  });

  it('accepts every generated id', () => {
    fc.assert(fc.property(fc.constantFrom(...PREFIXES), fc.integer({ min: 0, max: MSECS_MAX }), randomBytes, (prefix, msecs, random) =>
      isId(prefix, newId(prefix, msecs, random))), FC);
  });
});
