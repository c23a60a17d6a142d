import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestApp, FUTURE_YEAR, startTestApp } from '../support/harness.js';

let t: TestApp;
let secret: string;

beforeAll(async () => {
  t = await startTestApp();
  secret = await t.keyFor('fuzz');
});
afterAll(async () => t.close());

const SAFE_STATUSES = new Set([201, 202, 400, 402, 409, 413, 415, 422, 503]);

/** Bodies near the valid shape: every field may be dropped, retyped or joined by strangers. */
const nearValidBody = fc.record({
  amount: fc.oneof(fc.integer({ min: -5, max: 100_000_005 }), fc.double(), fc.string(), fc.constant(null)),
  currency: fc.oneof(fc.constantFrom('usd', 'JPY', 'kwd', 'xxx', 'EUR'), fc.string({ maxLength: 5 })),
  paymentMethod: fc.oneof(
    fc.record({
      type: fc.constantFrom('card', 'bank'),
      card: fc.record({
        number: fc.oneof(fc.constantFrom('4242424242424242', '4000000000000002', '378282246310005', '4242424242424241'), fc.stringMatching(/^[0-9]{10,20}$/)),
        expMonth: fc.oneof(fc.integer({ min: 0, max: 13 }), fc.string()),
        expYear: fc.oneof(fc.constant(FUTURE_YEAR), fc.integer({ min: 0, max: 10_000 })),
        cvc: fc.oneof(fc.constantFrom('123', '1234'), fc.string({ maxLength: 5 })),
      }, { requiredKeys: [] }),
    }, { requiredKeys: [] }),
    fc.jsonValue(),
  ),
  description: fc.string({ maxLength: 600 }),
  merchantReference: fc.string({ maxLength: 150 }),
  metadata: fc.oneof(fc.dictionary(fc.string({ maxLength: 45 }), fc.string({ maxLength: 20 }), { maxKeys: 55 }), fc.jsonValue()),
  extra: fc.jsonValue(),
}, { requiredKeys: [] });

const headerValue = fc.oneof(fc.string({ maxLength: 300 }), fc.constantFrom('', ' ', '\t'));

describe('arbitrary input never produces a 5xx or a crash', () => {
  it('arbitrary JSON values as bodies', async () => {
    await fc.assert(fc.asyncProperty(fc.jsonValue(), async (body) => {
      const res = await t.app.inject({
        method: 'POST', url: '/v1/payments', payload: JSON.stringify(body),
        headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      });
      expect(SAFE_STATUSES.has(res.statusCode), `${res.statusCode} ${res.body}`).toBe(true);
      expect(res.statusCode).toBeLessThan(500);
      expect(res.headers['request-id']).toMatch(/^req_/);
    }), { numRuns: 300, seed: 20261126 });
  });

  it('near-valid bodies with arbitrary headers', async () => {
    await fc.assert(fc.asyncProperty(nearValidBody, fc.option(headerValue), fc.option(headerValue), fc.constantFrom('application/json', 'application/json; charset=utf-8', 'text/plain', 'APPLICATION/JSON'), async (body, idem, traceparent, type) => {
      const headers: Record<string, string> = { authorization: `Bearer ${secret}`, 'content-type': type };
      if (idem !== null && /^[\x20-\x7e]*$/.test(idem)) headers['idempotency-key'] = idem;
      if (traceparent !== null && /^[\x20-\x7e]*$/.test(traceparent)) headers.traceparent = traceparent;
      const res = await t.app.inject({ method: 'POST', url: '/v1/payments', payload: JSON.stringify(body), headers });
      expect(SAFE_STATUSES.has(res.statusCode), `${res.statusCode} ${res.body}`).toBe(true);
      const json = res.json();
      if (res.statusCode >= 400) expect(json.error.requestId).toBe(res.headers['request-id']);
    }), { numRuns: 400, seed: 42 });
  });

  it('arbitrary bytes as bodies and arbitrary query strings', async () => {
    await fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: 2000 }), fc.string({ maxLength: 100 }), async (bytes, query) => {
      const post = await t.app.inject({
        method: 'POST', url: '/v1/payments', payload: Buffer.from(bytes),
        headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      });
      expect(post.statusCode).toBeLessThan(500);
      const list = await t.app.inject({ method: 'GET', url: `/v1/payments?${encodeURIComponent(query)}=${encodeURIComponent(query)}`, headers: { authorization: `Bearer ${secret}` } });
      expect(list.statusCode).toBeLessThan(500);
      const one = await t.app.inject({ method: 'GET', url: `/v1/payments/${encodeURIComponent(query)}`, headers: { authorization: `Bearer ${secret}` } });
      expect(one.statusCode).toBeLessThan(500);
    }), { numRuns: 300, seed: 7 });
  });
});
