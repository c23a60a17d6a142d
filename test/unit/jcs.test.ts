import fc from 'fast-check';
import { canonicalize } from 'json-canonicalize';
import { describe, expect, it } from 'vitest';
import { canonicalJson, canonicalJsonWithout } from '../../src/core/jcs.js';

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
