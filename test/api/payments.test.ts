import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../src/core/audit-record.js';
import { ChainVerifier } from '../../src/core/chain-verifier.js';
import { installAdapterWrappers } from '../../src/compose/adapter-wrappers.js';
import { Gate, gatedGateway } from '../support/gate.js';
import { FUTURE_YEAR, type TestApp, paymentBody, startTestApp } from '../support/harness.js';
import { waitFor } from '../support/wait.js';
import { DECLINING_CARDS } from '../support/test-cards.js';

let t: TestApp;
let secret: string;

beforeAll(async () => {
  t = await startTestApp();
  secret = await t.keyFor('acme');
});
afterAll(async () => t.close());

function pay(body: unknown, headers: Record<string, string> = {}) {
  return t.app.inject({
    method: 'POST', url: '/v1/payments',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json', ...headers },
    payload: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

function get(url: string, key = secret) {
  return t.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${key}` } });
}

async function recordsOf(id: string): Promise<AuditRecord[]> {
  return t.services.ctx.store.journal.readByResource(id);
}

describe('approved cards', () => {
  const cards: [string, string][] = [
    ['4242424242424242', 'visa'], ['5555555555554444', 'mastercard'], ['2223003122003222', 'mastercard'],
    ['378282246310005', 'amex'], ['6011111111111117', 'discover'], ['3566002020360505', 'jcb'],
    ['36227206271667', 'diners'], ['6200000000000005', 'unionpay'],
  ];
  it.each(cards)('%s → 201 succeeded (%s)', async (number, brand) => {
    const res = await pay(paymentBody(number));
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(res.headers.location).toBe(`/v1/payments/${body.id}`);
    expect(res.headers['request-id']).toMatch(/^req_[0-9a-z]{26}$/);
    expect(body).toMatchObject({
      object: 'payment', status: 'succeeded', amount: 1099, currency: 'USD', merchantId: 'acme', attempts: 1,
      declineCode: null, failureCode: null, description: 'Order 1234', merchantReference: 'order_1234', metadata: { cart: 'c_9' },
      // At most the first six and the last four, with six hidden: 5 + 4 of an Amex, 4 + 4 of a Diners card.
      card: { brand, bin: number.slice(0, Math.min(6, number.length - 10)), last4: number.slice(-4), expMonth: 12, expYear: FUTURE_YEAR },
    });
    expect(body.id).toMatch(/^txn_[0-9a-z]{26}$/);
    expect(body.card.fingerprint).toMatch(/^fp_/);
    expect(res.body).not.toContain(number);
    const records = await recordsOf(body.id);
    expect(records.map((r) => r.type)).toEqual(['payment.received', 'payment.attempted', 'payment.succeeded']);
    const last = records[records.length - 1] as AuditRecord;
    expect(body.audit).toEqual({ stream: last.stream, seq: last.seq, hash: last.hash });
  });
});

describe('declined cards', () => {
  it.each(DECLINING_CARDS)('%s → 402 %s / %s, never retried', async (number, code, declineCode) => {
    const res = await pay(paymentBody(number));
    expect(res.statusCode).toBe(402);
    const { error } = res.json();
    expect(error).toMatchObject({ type: 'card_error', code, declineCode, requestId: res.headers['request-id'] });
    expect(error.payment).toMatchObject({ status: 'declined', attempts: 1, failureCode: code, declineCode });
    const records = await recordsOf(error.payment.id);
    expect(records.map((r) => r.type)).toEqual(['payment.received', 'payment.attempted', 'payment.declined']);
  });

  it('a number failing Luhn → 402 incorrect_number without a gateway call', async () => {
    const res = await pay(paymentBody('4242424242424241'));
    expect(res.statusCode).toBe(402);
    const { error } = res.json();
    expect(error).toMatchObject({ type: 'card_error', code: 'incorrect_number' });
    expect(error.payment).toMatchObject({ status: 'declined', attempts: 0 });
    expect((await recordsOf(error.payment.id)).map((r) => r.type)).toEqual(['payment.received', 'payment.declined']);
    expect(await t.services.ctx.store.gatewayLedger.get(error.payment.id)).toBeNull();
  });

  it('an expired card → 402 expired_card without a gateway call', async () => {
    const body = paymentBody('4242424242424242');
    (body.paymentMethod as { card: { expYear: number } }).card.expYear = 2020;
    const res = await pay(body);
    expect(res.statusCode).toBe(402);
    expect(res.json().error).toMatchObject({ code: 'expired_card', declineCode: 'expired_card', payment: { attempts: 0 } });
    expect(await t.services.ctx.store.gatewayLedger.get(res.json().error.payment.id)).toBeNull();
  });
});

describe('gateway failures and retries', () => {
  it.each([['4000000005030004', 2], ['4000000004290005', 2], ['4000000005000007', 2]])('%s fails once then approves → 201 after %i attempts', async (number, attempts) => {
    const res = await pay(paymentBody(number));
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({ status: 'succeeded', attempts });
    const types = (await recordsOf(res.json().id)).map((r) => r.type);
    expect(types.filter((x) => x === 'payment.attempted')).toHaveLength(attempts);
  });

  it('4000000005039997 → 503 gateway_unavailable with Retry-After, payment failed', async () => {
    const res = await pay(paymentBody('4000000005039997'));
    expect(res.statusCode).toBe(503);
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    const { error } = res.json();
    expect(error).toMatchObject({ type: 'api_error', code: 'gateway_unavailable' });
    expect(error.payment).toMatchObject({ status: 'failed', attempts: 3, failureCode: 'gateway_unavailable' });
  });

  it('4000000004080000 answers late → the retry gets the same approval: 201, one charge', async () => {
    const res = await pay(paymentBody('4000000004080000'));
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(body.attempts).toBe(2);
    const entry = await t.services.ctx.store.gatewayLedger.get(body.id);
    expect(entry).toMatchObject({ outcome: 'approved', calls: 2 });
    const attempts = (await recordsOf(body.id)).filter((r) => r.type === 'payment.attempted');
    expect(attempts.map((r) => r.data.result)).toEqual(['timeout', 'approved']);
  });

  it.each([['4000000004089993', 'timeout'], ['4000000005020005', 'malformed']])('%s → 202 processing (%s)', async (number, result) => {
    const res = await pay(paymentBody(number));
    expect(res.statusCode).toBe(202);
    expect(res.json()).toMatchObject({ status: 'processing', attempts: 3 });
    const records = await recordsOf(res.json().id);
    expect(records.filter((r) => r.type === 'payment.attempted').every((r) => r.data.result === result)).toBe(true);
    expect(records[records.length - 1]?.type).toBe('payment.processing');
  });
});

describe('malformed requests → 400 naming the field, no transaction', () => {
  const cases: [string, unknown, string, string][] = [
    ['missing amount', (() => { const b = paymentBody(); delete b.amount; return b; })(), 'amount', 'parameter_missing'],
    ['unknown top-level field', paymentBody('4242424242424242', { color: 'red' }), 'color', 'parameter_unknown'],
    ['unknown card field', (() => { const b = paymentBody(); (b.paymentMethod as { card: Record<string, unknown> }).card.pin = '1'; return b; })(), 'paymentMethod.card.pin', 'parameter_unknown'],
    ['string amount', paymentBody('4242424242424242', { amount: '1099' }), 'amount', 'parameter_invalid'],
    ['float amount', paymentBody('4242424242424242', { amount: 10.99 }), 'amount', 'parameter_invalid'],
    ['zero amount', paymentBody('4242424242424242', { amount: 0 }), 'amount', 'parameter_invalid'],
    ['amount too large', paymentBody('4242424242424242', { amount: 100_000_000 }), 'amount', 'parameter_invalid'],
    ['unknown currency', paymentBody('4242424242424242', { currency: 'abc' }), 'currency', 'parameter_invalid'],
    ['non-chargeable currency', paymentBody('4242424242424242', { currency: 'XAU' }), 'currency', 'parameter_invalid'],
    ['short card number', paymentBody('42424242'), 'paymentMethod.card.number', 'parameter_invalid'],
    ['expMonth 13', (() => { const b = paymentBody(); (b.paymentMethod as { card: Record<string, unknown> }).card.expMonth = 13; return b; })(), 'paymentMethod.card.expMonth', 'parameter_invalid'],
    ['3-digit cvc on amex', (() => { const b = paymentBody('378282246310005'); (b.paymentMethod as { card: Record<string, unknown> }).card.cvc = '123'; return b; })(), 'paymentMethod.card.cvc', 'parameter_invalid'],
    ['description too long', paymentBody('4242424242424242', { description: 'x'.repeat(501) }), 'description', 'parameter_invalid'],
    ['card number in description', paymentBody('4242424242424242', { description: 'card 4242 4242 4242 4242' }), 'description', 'parameter_invalid'],
    ['metadata value not a string', paymentBody('4242424242424242', { metadata: { n: 1 } }), 'metadata.n', 'parameter_invalid'],
    ['metadata key too long', paymentBody('4242424242424242', { metadata: { ['k'.repeat(41)]: 'v' } }), 'metadata', 'parameter_invalid'],
    ['too many metadata keys', paymentBody('4242424242424242', { metadata: Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, 'v'])) }), 'metadata', 'parameter_invalid'],
    ['wrong payment method type', paymentBody('4242424242424242', { paymentMethod: { type: 'bank', card: { number: '4242424242424242', expMonth: 1, expYear: FUTURE_YEAR, cvc: '123' } } }), 'paymentMethod.type', 'parameter_invalid'],
  ];
  it.each(cases)('%s', async (_name, body, param, code) => {
    const before = (await t.services.ctx.store.payments.list({ merchantId: 'acme', limit: 100 })).data.length;
    const res = await pay(body);
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({ type: 'invalid_request_error', code, param });
    expect(res.body).not.toContain('4242424242424242');
    expect((await t.services.ctx.store.payments.list({ merchantId: 'acme', limit: 100 })).data.length).toBe(before);
  });

  it('malformed JSON → 400 body_invalid_json, without echoing the body', async () => {
    const res = await pay('{"amount": 1099, "card": "4242424242424242"');
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({ type: 'invalid_request_error', code: 'body_invalid_json' });
    expect(res.body).not.toContain('4242424242424242');
  });

  it('a body over 16 KiB → 413', async () => {
    const res = await pay(paymentBody('4242424242424242', { description: 'x'.repeat(17 * 1024) }));
    expect(res.statusCode).toBe(413);
    expect(res.json().error.code).toBe('body_too_large');
  });

  it.each([['text/plain'], ['application/x-www-form-urlencoded'], ['']])('content type "%s" → 415', async (type) => {
    const res = await t.app.inject({
      method: 'POST', url: '/v1/payments', payload: JSON.stringify(paymentBody()),
      headers: { authorization: `Bearer ${secret}`, ...(type && { 'content-type': type }) },
    });
    expect(res.statusCode).toBe(415);
    expect(res.json().error.code).toBe('unsupported_media_type');
  });

  it('records the rejection as request.rejected without the raw input', async () => {
    const res = await pay(paymentBody('4242424242424242', { amount: 'lots' }));
    expect(res.statusCode).toBe(400);
    const records = await t.services.ctx.store.journal.readStream(t.services.ctx.writer.streamId, 1, 100_000);
    const rejected = records.filter((r) => r.type === 'request.rejected' && r.origin.requestId === res.headers['request-id']);
    expect(rejected).toHaveLength(1);
    expect(rejected[0]).toMatchObject({ outcome: 'failure', reason: 'parameter_invalid', data: { status: 400, param: 'amount' } });
    expect(JSON.stringify(rejected[0])).not.toContain('lots');
  });
});

describe('authentication', () => {
  it.each([
    ['no header', undefined, 'api_key_missing'],
    ['not bearer', 'Basic dXNlcjpwYXNzd29yZA==', 'api_key_invalid'],
    ['malformed secret', 'Bearer not-a-paylog-secret', 'api_key_invalid'],
    ['unknown secret', `Bearer sk_test_${'A'.repeat(43)}`, 'api_key_invalid'],
  ])('%s → 401 and an auth.failed record', async (_name, header, code) => {
    const res = await t.app.inject({ method: 'GET', url: '/v1/payments', headers: header ? { authorization: header } : {} });
    expect(res.statusCode).toBe(401);
    expect(res.json().error).toMatchObject({ type: 'authentication_error', code });
    const records = await t.services.ctx.store.journal.readStream(t.services.ctx.writer.streamId, 1, 100_000);
    const failed = records.find((r) => r.type === 'auth.failed' && r.origin.requestId === res.headers['request-id']);
    expect(failed).toMatchObject({ outcome: 'failure', reason: code, actor: 'anonymous' });
    if (header) expect(JSON.stringify(failed)).not.toContain(header.split(' ')[1]);
  });

  it('a revoked key → 401 api_key_revoked', async () => {
    const { createApiKey, revokeApiKey } = await import('../../src/app/api-keys.js');
    const created = await createApiKey(t.services.ctx, t.services.system, 'acme', 'temp');
    expect((await get('/v1/payments', created.secret)).statusCode).toBe(200);
    await revokeApiKey(t.services.ctx, t.services.system, created.key.id);
    const res = await get('/v1/payments', created.secret);
    expect(res.statusCode).toBe(401);
    expect(res.json().error.code).toBe('api_key_revoked');
  });
});

describe('reading payments', () => {
  it('GET /v1/payments/:id returns the payment; another merchant gets 404', async () => {
    const created = (await pay(paymentBody())).json();
    const res = await get(`/v1/payments/${created.id}`);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual(created);
    const other = await t.keyFor('globex');
    const foreign = await get(`/v1/payments/${created.id}`, other);
    expect(foreign.statusCode).toBe(404);
    expect(foreign.json().error).toMatchObject({ type: 'invalid_request_error', code: 'resource_missing' });
    expect((await get(`/v1/payments/${created.id}/events`, other)).statusCode).toBe(404);
    expect((await get('/v1/payments/txn_nope')).statusCode).toBe(404);
  });

  it('lists newest first with cursor paging and a status filter', async () => {
    const merchant = await t.keyFor('paging');
    const ids: string[] = [];
    for (const number of ['4242424242424242', '4000000000000002', '4242424242424242', '4242424242424242', '4000000000000002']) {
      const res = await t.app.inject({
        method: 'POST', url: '/v1/payments', payload: paymentBody(number),
        headers: { authorization: `Bearer ${merchant}`, 'content-type': 'application/json' },
      });
      ids.push(res.json().id ?? res.json().error.payment.id);
    }
    const newestFirst = [...ids].sort().reverse();
    const page1 = (await get('/v1/payments?limit=2', merchant)).json();
    expect(page1.data.map((p: { id: string }) => p.id)).toEqual(newestFirst.slice(0, 2));
    expect(page1.hasMore).toBe(true);
    const page2 = (await get(`/v1/payments?limit=2&startingAfter=${page1.data[1].id}`, merchant)).json();
    expect(page2.data.map((p: { id: string }) => p.id)).toEqual(newestFirst.slice(2, 4));
    const page3 = (await get(`/v1/payments?limit=2&startingAfter=${page2.data[1].id}`, merchant)).json();
    expect(page3).toMatchObject({ hasMore: false });
    expect(page3.data).toHaveLength(1);
    const declined = (await get('/v1/payments?status=declined', merchant)).json();
    expect(declined.data).toHaveLength(2);
    expect((await get('/v1/payments?limit=0', merchant)).json().error.param).toBe('limit');
    expect((await get('/v1/payments?limit=101', merchant)).statusCode).toBe(400);
    expect((await get('/v1/payments?status=weird', merchant)).statusCode).toBe(400);
  });

  it('filters by exact merchant reference, paged, with a status, only the merchant\'s own', async () => {
    const merchant = await t.keyFor('byref');
    const other = await t.keyFor('byref-other');
    const create = async (key: string, number: string, merchantReference?: string): Promise<string> => {
      const res = await t.app.inject({
        method: 'POST', url: '/v1/payments', payload: paymentBody(number, { merchantReference }),
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      });
      return res.json().id ?? res.json().error.payment.id;
    };
    const reference = 'order 77/ü#&?';
    const matching: string[] = [];
    for (const number of ['4242424242424242', '4000000000000002', '4242424242424242']) {
      matching.push(await create(merchant, number, reference));
      await create(merchant, '4242424242424242', 'order 7');
      await create(merchant, '4242424242424242');
    }
    await create(other, '4242424242424242', reference);
    const newestFirst = [...matching].sort().reverse();
    const q = `merchantReference=${encodeURIComponent(reference)}`;

    const page1 = (await get(`/v1/payments?${q}&limit=2`, merchant)).json();
    expect(page1.data.map((p: { id: string }) => p.id)).toEqual(newestFirst.slice(0, 2));
    expect(page1.data.every((p: { merchantReference: string }) => p.merchantReference === reference)).toBe(true);
    expect(page1.hasMore).toBe(true);
    const page2 = (await get(`/v1/payments?${q}&limit=2&startingAfter=${page1.data[1].id}`, merchant)).json();
    expect(page2).toMatchObject({ hasMore: false });
    expect(page2.data.map((p: { id: string }) => p.id)).toEqual(newestFirst.slice(2));
    const declined = (await get(`/v1/payments?${q}&status=declined`, merchant)).json();
    expect(declined.data.map((p: { id: string }) => p.id)).toEqual([matching[1]]);
    expect((await get(`/v1/payments?${q}`, other)).json().data).toHaveLength(1);
    expect((await get('/v1/payments?merchantReference=order', merchant)).json()).toEqual({ data: [], hasMore: false });

    expect((await get(`/v1/payments?merchantReference=${'x'.repeat(129)}`, merchant)).json().error).toMatchObject({ code: 'parameter_invalid', param: 'merchantReference' });
    expect((await get('/v1/payments?merchantReference=', merchant)).json().error).toMatchObject({ code: 'parameter_invalid', param: 'merchantReference' });
  });

  it('a merchant reference holding a card number → 400 naming merchantReference, never echoing it', async () => {
    for (const value of ['4242424242424242', 'ref 4242-4242-4242-4242', 'card4242424242424242']) {
      const res = await get(`/v1/payments?merchantReference=${encodeURIComponent(value)}`);
      expect(res.statusCode).toBe(400);
      expect(res.json().error).toMatchObject({ type: 'invalid_request_error', code: 'parameter_invalid', param: 'merchantReference' });
      expect(res.body).not.toContain('4242');
      const records = await t.services.ctx.store.journal.readStream(t.services.ctx.writer.streamId, 1, 100_000);
      const rejected = records.filter((r) => r.origin.requestId === res.headers['request-id']);
      expect(JSON.stringify(rejected)).not.toContain('4242');
    }
  });

  it('GET /events returns the records in order, chained and with their hashes', async () => {
    const created = (await pay(paymentBody('4000000005030004'), { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' })).json();
    const res = await get(`/v1/payments/${created.id}/events`);
    expect(res.statusCode).toBe(200);
    const records: AuditRecord[] = res.json().data;
    expect(records.map((r) => r.type)).toEqual(['payment.received', 'payment.attempted', 'payment.attempted', 'payment.succeeded']);
    for (const r of records) {
      expect(r.origin.traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
      expect(r.resource).toBe(created.id);
      expect(r.hash).toMatch(/^[0-9a-f]{64}$/);
    }
    // Records as served recompute to the same hashes.
    const verifier = new ChainVerifier();
    for (const r of records) verifier.add(r);
    expect(verifier.finish().problems.filter((p) => p.kind === 'modified')).toEqual([]);
  });
});

describe('idempotency', () => {
  it('same key and body → the stored response, Idempotent-Replayed: true', async () => {
    const first = await pay(paymentBody('4000000000009995'), { 'idempotency-key': 'order-1' });
    const again = await pay(paymentBody('4000000000009995'), { 'idempotency-key': 'order-1' });
    expect(first.statusCode).toBe(402);
    expect(again.statusCode).toBe(402);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.json()).toEqual(first.json());
    expect(again.headers['request-id']).not.toBe(first.headers['request-id']);
  });

  it('same key, different body → 422 idempotency_key_reused', async () => {
    await pay(paymentBody(), { 'idempotency-key': 'order-2' });
    const res = await pay(paymentBody('4242424242424242', { amount: 2000 }), { 'idempotency-key': 'order-2' });
    expect(res.statusCode).toBe(422);
    expect(res.json().error).toMatchObject({ type: 'idempotency_error', code: 'idempotency_key_reused' });
  });

  it('same key while the first is running → 409 with Retry-After: 1', async () => {
    // The first request is held at its gateway call, after the commit that claimed its key; its
    // attempt timeout outlasts the hold.
    const gate = new Gate();
    gate.close();
    installAdapterWrappers({ gateway: (gateway) => gatedGateway(gateway, gate) });
    const held = await startTestApp({ PAYLOG_GATEWAY_ATTEMPT_TIMEOUT_MS: '10000', PAYLOG_GATEWAY_BUDGET_MS: '20000', PAYLOG_IDEMPOTENCY_LEASE_MS: '60000' }).finally(() => installAdapterWrappers({}));
    try {
      const key = await held.keyFor('acme');
      const post = () => held.app.inject({
        method: 'POST', url: '/v1/payments', payload: JSON.stringify(paymentBody()),
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'idempotency-key': 'order-3' },
      });
      const first = post();
      await waitFor('the first request to reach the gateway', () => gate.waiting === 1);
      const res = await post();
      expect(res.statusCode).toBe(409);
      expect(res.headers['retry-after']).toBe('1');
      expect(res.json().error.code).toBe('idempotency_key_in_use');
      gate.open();
      expect((await first).statusCode).toBe(201);
    } finally {
      gate.open();
      await held.close();
    }
  });

  it('a 400 is not stored: the key stays usable', async () => {
    const bad = await pay(paymentBody('4242424242424242', { amount: -1 }), { 'idempotency-key': 'order-4' });
    expect(bad.statusCode).toBe(400);
    const good = await pay(paymentBody(), { 'idempotency-key': 'order-4' });
    expect(good.statusCode).toBe(201);
    expect(good.headers['idempotent-replayed']).toBeUndefined();
  });

  it('keys are scoped to the merchant', async () => {
    const other = await t.keyFor('initech');
    const mine = await pay(paymentBody(), { 'idempotency-key': 'shared-key' });
    const theirs = await t.app.inject({
      method: 'POST', url: '/v1/payments', payload: paymentBody(),
      headers: { authorization: `Bearer ${other}`, 'content-type': 'application/json', 'idempotency-key': 'shared-key' },
    });
    expect(theirs.statusCode).toBe(201);
    expect(theirs.json().id).not.toBe(mine.json().id);
  });

  it('a key that looks like a card number is accepted, kept only as an HMAC, and redacted in records', async () => {
    const key = 'card 4242 4242 4242 4242';
    const first = await pay(paymentBody(), { 'idempotency-key': key });
    expect(first.statusCode).toBe(201);
    const again = await pay(paymentBody(), { 'idempotency-key': key });
    expect(again.headers['idempotent-replayed']).toBe('true');
    const records = await recordsOf(first.json().id);
    expect(JSON.stringify(records)).not.toContain('4242 4242 4242 4242');
    expect(records[0]?.data.idempotencyKey).toMatch(/redacted/);
  });

  it('UUID keys are accepted whatever their digits', async () => {
    for (const key of ['6f1e2d3c-4b5a-4978-8123-456789012345', '00000000-4000-4000-8000-400000000002', '12345678-1234-4123-8123-424242424242']) {
      expect((await pay(paymentBody(), { 'idempotency-key': key })).statusCode, key).toBe(201);
    }
  });

  it.each([[''], ['x'.repeat(256)], ['caf\u00e9']])('an invalid key %j → 400', async (key) => {
    const res = await pay(paymentBody(), { 'idempotency-key': key });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({ code: 'idempotency_key_invalid', param: 'Idempotency-Key' });
  });
});

describe('service routes', () => {
  it('healthz, readyz, openapi.json and docs answer without a key, with a Request-Id', async () => {
    for (const url of ['/healthz', '/readyz', '/openapi.json']) {
      const res = await t.app.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(200);
      expect(res.headers['request-id']).toMatch(/^req_/);
    }
    const openapi = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    expect(openapi.openapi).toMatch(/^3\./);
    expect(Object.keys(openapi.paths)).toEqual(expect.arrayContaining(['/v1/payments', '/v1/payments/{id}', '/v1/payments/{id}/events']));
    const docs = await t.app.inject({ method: 'GET', url: '/docs/' });
    expect(docs.statusCode).toBe(200);
    expect(docs.headers['content-type']).toMatch(/html/);
  });

  it('unknown routes → 404 resource_missing with a Request-Id', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/v2/nothing' });
    expect(res.statusCode).toBe(404);
    expect(res.json().error).toMatchObject({ code: 'resource_missing', requestId: res.headers['request-id'] });
  });
});

describe('rate limit', () => {
  it('over the per-key limit → 429 rate_limit_error with Retry-After', async () => {
    const limited = await startTestApp({ PAYLOG_RATE_LIMIT: '3' });
    try {
      const key = await limited.keyFor('acme');
      const statuses: number[] = [];
      let last;
      for (let i = 0; i < 5; i++) {
        last = await limited.app.inject({ method: 'GET', url: '/v1/payments', headers: { authorization: `Bearer ${key}` } });
        statuses.push(last.statusCode);
      }
      expect(statuses).toEqual([200, 200, 200, 429, 429]);
      expect(last?.json().error).toMatchObject({ type: 'rate_limit_error', code: 'rate_limited' });
      expect(Number(last?.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      // Another key has its own budget.
      const other = await limited.keyFor('acme');
      expect((await limited.app.inject({ method: 'GET', url: '/v1/payments', headers: { authorization: `Bearer ${other}` } })).statusCode).toBe(200);
    } finally {
      await limited.close();
    }
  });
});
