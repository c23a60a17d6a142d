import fc from 'fast-check';
import { canonicalize } from 'json-canonicalize';
import { describe, expect, it } from 'vitest';
import { canonicalPaymentRequest, requestFingerprint } from '../../src/app/request-fingerprint.js';
import { canonicalJson } from '../../src/core/jcs.js';

const text = fc.string({ unit: 'binary', maxLength: 30 });
/** Mostly well-formed payment requests, now and then a member missing, of another type, undefined or extra. */
const odd = fc.oneof(fc.constant(undefined), fc.jsonValue(), text);
const maybe = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | unknown> => fc.oneof({ weight: 30, arbitrary: arb }, { weight: 1, arbitrary: odd });
const card = fc.record({
  number: maybe(fc.stringMatching(/^[0-9]{12,19}$/)), expMonth: maybe(fc.integer({ min: 1, max: 12 })),
  expYear: maybe(fc.integer({ min: 2000, max: 2100 })), cvc: maybe(fc.stringMatching(/^[0-9]{3,4}$/)),
});
const body = fc.tuple(
  fc.record({
    amount: maybe(fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }))),
    currency: maybe(text),
    paymentMethod: maybe(fc.record({ type: maybe(fc.constant('card')), card: maybe(card) })),
    description: maybe(text),
    merchantReference: maybe(text),
    metadata: maybe(fc.dictionary(text, text, { maxKeys: 5 })),
  }, { requiredKeys: ['amount', 'currency', 'paymentMethod'] }),
  fc.option(fc.tuple(text, fc.jsonValue()), { nil: null, freq: 2 }),
).map(([b, extra]) => (extra ? { ...b, [extra[0]]: extra[1] } : b));

describe('canonicalPaymentRequest', () => {
  it('is the RFC 8785 form of any body, payment request or not', () => {
    fc.assert(fc.property(body, (b) => {
      const expected = canonicalize(b);
      return canonicalPaymentRequest(b) === expected && canonicalJson(b) === expected;
    }), { numRuns: 3000, seed: 20261201 });
    fc.assert(fc.property(fc.jsonValue(), (v) => canonicalPaymentRequest(v) === canonicalize(v)), { numRuns: 500, seed: 20261201 });
  });

  it('writes a usual payment request out in sorted order', () => {
    const request = {
      amount: 1099, currency: 'usd', paymentMethod: { type: 'card', card: { number: '4242424242424242', expMonth: 12, expYear: 2030, cvc: '123' } },
      description: 'Order 1234', merchantReference: 'order_1234', metadata: { z: '1', a: '2' },
    };
    expect(canonicalPaymentRequest(request)).toBe(canonicalize(request));
    expect(canonicalPaymentRequest(request)).toBe('{"amount":1099,"currency":"usd","description":"Order 1234","merchantReference":"order_1234",'
      + '"metadata":{"a":"2","z":"1"},"paymentMethod":{"card":{"cvc":"123","expMonth":12,"expYear":2030,"number":"4242424242424242"},"type":"card"}}');
    const key = Buffer.alloc(32, 7);
    expect(requestFingerprint(key, request)).toBe(requestFingerprint(key, JSON.parse(JSON.stringify(request)) as unknown));
  });
});
