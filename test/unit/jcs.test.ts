import fc from 'fast-check';
import { canonicalize } from 'json-canonicalize';
import { describe, expect, it } from 'vitest';
import { canonicalJson, canonicalJsonWithout, isSortedPlain } from '../../src/core/jcs.js';

// The reference: json-canonicalize, which produced the hashes of every record written before canonicalJson existed.
describe('canonicalJson (RFC 8785)', () => {
  it('writes the same bytes as json-canonicalize for any JSON value', () => {
    fc.assert(fc.property(fc.jsonValue(), (value) => canonicalJson(value) === canonicalize(value)), { numRuns: 2000 });
  });

  it('writes the same bytes for objects with unicode, escapes, numeric-looking keys and undefined members', () => {
    const key = fc.oneof(fc.string(), fc.string({ unit: 'grapheme' }), fc.constantFrom('10', '2', '-1', '__proto__x', 'é', '\u{1F600}', 'a\u0000'));
    const leaf = fc.oneof(fc.string({ unit: 'binary' }), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.constant(null), fc.constant(undefined));
    const tree = fc.letrec<{ node: unknown }>((tie) => ({
      node: fc.oneof({ depthSize: 'small' }, leaf, fc.array(tie('node')), fc.dictionary(key, tie('node'))),
    })).node;
    fc.assert(fc.property(tree, (value) => value === undefined || canonicalJson(value) === canonicalize(value)), { numRuns: 2000 });
  });

  // Values whose keys are in order take the native JSON.stringify path (isSortedPlain): paylog's own record data.
  it('writes the same bytes as json-canonicalize for values whose keys are already sorted', () => {
    const sortedKeys = (value: unknown): unknown => {
      if (value === null || typeof value !== 'object') return value;
      if (Array.isArray(value)) return value.map(sortedKeys);
      const object = value as Record<string, unknown>;
      const out: Record<string, unknown> = {};
      for (const key of Object.keys(object).sort()) out[key] = sortedKeys(object[key]);
      return out;
    };
    const key = fc.oneof(fc.string({ unit: 'binary' }), fc.constantFrom('10', '2', '-1', 'é', '\u{1F600}', 'a\u0000', '__proto__'));
    const leaf = fc.oneof(fc.string({ unit: 'binary' }), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.integer(), fc.boolean(), fc.constant(null));
    const tree = fc.letrec<{ node: unknown }>((tie) => ({
      node: fc.oneof({ depthSize: 'small' }, leaf, fc.array(tie('node')), fc.dictionary(key, tie('node'))),
    })).node;
    let fast = 0;
    fc.assert(fc.property(tree, (raw) => {
      const value = sortedKeys(raw);
      if (typeof value === 'object' && value !== null && isSortedPlain(value)) fast++;
      return canonicalJson(value) === canonicalize(value);
    }), { numRuns: 3000, seed: 20261201 });
    expect(fast).toBeGreaterThan(300);
  });

  it('leaves to the written-out path what JSON.stringify writes otherwise, or where key order cannot be trusted', () => {
    expect(isSortedPlain({ a: 1, b: { c: [1, 'x', null, true] } })).toBe(true);
    expect(isSortedPlain({ b: 1, a: 2 })).toBe(false);
    expect(isSortedPlain({ 2: 'x', 10: 'y' })).toBe(false); // listed 2, 10: not in UTF-16 order
    expect(isSortedPlain({ a: undefined })).toBe(false);
    expect(isSortedPlain([1, undefined])).toBe(false);
    expect(isSortedPlain({ a: Number.NaN })).toBe(false);
    expect(isSortedPlain({ a: new Date(0) })).toBe(false);
    expect(isSortedPlain(JSON.parse('{"__proto__":1}') as object)).toBe(false);
    let deep: unknown = 1;
    for (let i = 0; i < 40; i++) deep = { a: deep };
    expect(isSortedPlain(deep as object)).toBe(false);
    expect(canonicalJson(deep)).toBe(canonicalize(deep));
    expect(canonicalJson({ 2: 'x', 10: 'y', a: [undefined] })).toBe('{"10":"y","2":"x","a":[null]}');
  });

  it('matches RFC 8785 §3.2.2 examples: sorted keys, no whitespace, ECMAScript numbers', () => {
    expect(canonicalJson({ b: [1e21, 1e-7, -0, 0.1, 333333333.3333333], a: { z: true, y: null }, '\u20ac': 'Euro', '\r': 'CR' }))
      .toBe('{"\\r":"CR","a":{"y":null,"z":true},"b":[1e+21,1e-7,0,0.1,333333333.3333333],"\u20ac":"Euro"}');
  });

  it('refuses non-finite numbers, as the scheme requires', () => {
    expect(() => canonicalJson({ a: Number.NaN })).toThrow(/Non-finite/);
    expect(() => canonicalJson([Number.POSITIVE_INFINITY])).toThrow(/Non-finite/);
  });
});

describe('canonicalJsonWithout', () => {
  it('is the canonical form of the object without that member, and leaves the object alone', () => {
    fc.assert(fc.property(fc.dictionary(fc.string(), fc.jsonValue()), fc.string(), (object, omit) => {
      const before = JSON.stringify(object);
      const { [omit]: _dropped, ...rest } = object;
      return canonicalJsonWithout(object, omit) === canonicalize(rest) && JSON.stringify(object) === before;
    }), { numRuns: 1000 });
  });
});
