import { describe, expect, it } from 'vitest';
import {
  PaylogAuthenticationError, PaylogCardError, PaylogClient, type PaylogClientOptions, PaylogConnectionError, PaylogError, PaylogIdempotencyError,
  PaylogInvalidRequestError, PaylogRateLimitError, PaylogServerError, PaylogUnexpectedResponseError,
} from '../../src/client/index.js';
import { type ScriptedAnswer, droppedConnection, jsonAnswer, recordedSleep, scriptedFetch } from '../support/fake-fetch.js';

/**
 * The client's retries, against a scripted fetch: what is retried, with which key, after how
 * long (the jitter's randomness and the waits are injected: nothing really waits).
 */

const CARD = '4242424242424242';
const PAYMENT = {
  id: 'txn_01jdexample0000000000000000', object: 'payment', status: 'succeeded', amount: 1099, currency: 'USD', merchantId: 'acme',
  card: { brand: 'visa', bin: '424242', last4: '4242', expMonth: 12, expYear: 2030, fingerprint: 'fp_x' }, attempts: 1,
  declineCode: null, failureCode: null, description: null, merchantReference: 'order_1', metadata: {},
  createdAt: '2030-01-01T00:00:00.000Z', updatedAt: '2030-01-01T00:00:00.000Z', audit: null,
};
const PAY = { amount: 1099, currency: 'usd', merchantReference: 'order_1', paymentMethod: { type: 'card' as const, card: { number: CARD, expMonth: 12, expYear: 2030, cvc: '123' } } };

let requestNumber = 0;
function answer(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return jsonAnswer(status, body, { 'request-id': `req_${++requestNumber}`, ...headers });
}
function failure(status: number, type: string, code: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}): Response {
  return answer(status, { error: { type, code, message: `${code} happened`, requestId: 'req_body', ...extra } }, headers);
}

function client(answers: ScriptedAnswer[], options: Partial<PaylogClientOptions> = {}, random = 0.5) {
  const fake = scriptedFetch(answers);
  const waits = recordedSleep();
  const paylog = new PaylogClient({ baseUrl: 'http://paylog.test', apiKey: 'sk_test_x', fetch: fake.fetch, sleep: waits.sleep, random: () => random, ...options });
  return { paylog, requests: fake.requests, waits: waits.waits };
}

async function rejection(promise: Promise<unknown>): Promise<PaylogError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(PaylogError);
  return error as PaylogError;
}

describe('Idempotency-Key', () => {
  it('a POST without one gets a fresh UUID, sent again unchanged on every retry', async () => {
    const { paylog, requests } = client([droppedConnection(), failure(503, 'api_error', 'store_unavailable', {}, { 'retry-after': '0' }), answer(201, PAYMENT)]);
    const created = await paylog.createPayment(PAY);
    expect(requests.map((r) => r.method)).toEqual(['POST', 'POST', 'POST']);
    const keys = requests.map((r) => r.headers['idempotency-key']);
    expect(keys[0]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(new Set(keys)).toEqual(new Set([keys[0]]));
    expect(created).toMatchObject({ status: 201, attempts: 3, idempotencyKey: keys[0], requestId: `req_${requestNumber}`, data: { id: PAYMENT.id } });
    // The same body every time, and each call a new key.
    expect(new Set(requests.map((r) => r.body)).size).toBe(1);
    const again = client([answer(201, PAYMENT)]);
    await again.paylog.createPayment(PAY);
    expect(again.requests[0]?.headers['idempotency-key']).not.toBe(keys[0]);
  });

  it("the caller's key when given one, also on the error thrown after the last attempt", async () => {
    const { paylog, requests } = client([droppedConnection(), droppedConnection()], { retry: { maxAttempts: 2 } });
    const error = await rejection(paylog.createPayment(PAY, { idempotencyKey: 'order-1234' }));
    expect(requests.map((r) => r.headers['idempotency-key'])).toEqual(['order-1234', 'order-1234']);
    expect(error).toBeInstanceOf(PaylogConnectionError);
    expect(error).toMatchObject({ idempotencyKey: 'order-1234', attempts: 2, requestId: null });
  });

  it('a GET carries none', async () => {
    const { paylog, requests } = client([answer(200, PAYMENT)]);
    await paylog.getPayment(PAYMENT.id);
    expect(requests[0]?.headers).not.toHaveProperty('idempotency-key');
    expect(requests[0]?.url).toBe(`http://paylog.test/v1/payments/${PAYMENT.id}`);
    expect(requests[0]?.headers.authorization).toBe('Bearer sk_test_x');
  });
});

describe('what is retried', () => {
  it('a dropped connection, 409 idempotency_key_in_use, 429 and 5xx, until an answer is final', async () => {
    const { paylog, requests } = client([
      droppedConnection(),
      failure(409, 'idempotency_error', 'idempotency_key_in_use', {}, { 'retry-after': '1' }),
      failure(429, 'rate_limit_error', 'rate_limited', {}, { 'retry-after': '1' }),
      failure(500, 'api_error', 'internal_error'),
      answer(201, PAYMENT, { 'idempotent-replayed': 'true' }),
    ], { retry: { maxAttempts: 5 } });
    const created = await paylog.createPayment(PAY);
    expect(requests).toHaveLength(5);
    expect(created).toMatchObject({ status: 201, attempts: 5, idempotentReplayed: true });
  });

  it('GETs too: a read is safe to repeat', async () => {
    const { paylog, requests } = client([droppedConnection(), failure(503, 'api_error', 'overloaded'), answer(200, { data: [], hasMore: false })]);
    expect(await paylog.listPayments({ limit: '5' })).toMatchObject({ attempts: 3, data: { data: [], hasMore: false } });
    expect(requests.map((r) => r.url)).toEqual(Array(3).fill('http://paylog.test/v1/payments?limit=5'));
  });

  it('a 5xx that is no paylog error body (a proxy in between)', async () => {
    const { paylog, requests } = client([new Response('<html>Bad Gateway</html>', { status: 502 }), answer(200, PAYMENT)]);
    expect(await paylog.getPayment(PAYMENT.id)).toMatchObject({ attempts: 2 });
    expect(requests).toHaveLength(2);
  });

  it.each([
    ['402 decline', () => failure(402, 'card_error', 'card_declined', { declineCode: 'generic_decline', payment: { ...PAYMENT, status: 'declined' } }), PaylogCardError],
    ['400', () => failure(400, 'invalid_request_error', 'parameter_invalid', { param: 'currency' }), PaylogInvalidRequestError],
    ['401', () => failure(401, 'authentication_error', 'api_key_invalid'), PaylogAuthenticationError],
    ['403', () => failure(403, 'authentication_error', 'forbidden_role'), PaylogAuthenticationError],
    ['404', () => failure(404, 'invalid_request_error', 'resource_missing'), PaylogInvalidRequestError],
    ['422 key reused', () => failure(422, 'idempotency_error', 'idempotency_key_reused'), PaylogIdempotencyError],
    // Outcomes stored under the key: the same key would only replay them.
    ['503 gateway_unavailable with its failed payment', () => failure(503, 'api_error', 'gateway_unavailable', { payment: { ...PAYMENT, status: 'failed' } }, { 'retry-after': '30' }), PaylogServerError],
    ['a replayed 500', () => failure(500, 'api_error', 'internal_error', {}, { 'idempotent-replayed': 'true' }), PaylogServerError],
  ])('never: %s', async (_what, make, kind) => {
    const { paylog, requests, waits } = client([make(), answer(201, PAYMENT)]);
    const error = await rejection(paylog.createPayment(PAY));
    expect(error).toBeInstanceOf(kind);
    expect(requests).toHaveLength(1);
    expect(waits).toEqual([]);
    expect(error.attempts).toBe(1);
  });

  it('probes answer about this moment: never retried, and a 503 from /readyz is an answer', async () => {
    const health = client([droppedConnection(), answer(200, { status: 'ok' })]);
    expect(await rejection(health.paylog.getHealth())).toBeInstanceOf(PaylogConnectionError);
    expect(health.requests).toHaveLength(1);
    const ready = client([answer(503, { status: 'unavailable' }), answer(200, { status: 'ok' })]);
    expect(await ready.paylog.getReadiness()).toMatchObject({ status: 503, data: { status: 'unavailable' }, attempts: 1 });
  });
});

describe('how long it waits', () => {
  const storeDown = (): Response => failure(503, 'api_error', 'store_unavailable');

  it('full jitter: random(0, min(max, base × 2^(n−1))) before retry n, for at most maxAttempts attempts', async () => {
    const retry = { maxAttempts: 5, backoffBaseMs: 100, backoffMaxMs: 300 };
    const half = client(Array.from({ length: 5 }, storeDown), { retry }, 0.5);
    const error = await rejection(half.paylog.getPayment(PAYMENT.id));
    expect(half.waits).toEqual([50, 100, 150, 150]);
    expect(error).toBeInstanceOf(PaylogServerError);
    expect(error).toMatchObject({ attempts: 5, code: 'store_unavailable', requestId: `req_${requestNumber}` });
    expect(half.requests).toHaveLength(5);
    // The whole range: from nothing to just under the ceiling.
    const none = client(Array.from({ length: 5 }, storeDown), { retry }, 0);
    await rejection(none.paylog.getPayment(PAYMENT.id));
    expect(none.waits).toEqual([0, 0, 0, 0]);
    const most = client(Array.from({ length: 5 }, storeDown), { retry }, 0.999);
    await rejection(most.paylog.getPayment(PAYMENT.id));
    expect(most.waits).toEqual([99, 199, 299, 299]);
  });

  it('the defaults: 4 attempts, waits under 500, 1000 and 2000 ms', async () => {
    const { paylog, waits, requests } = client(Array.from({ length: 5 }, storeDown), {}, 0.999);
    await rejection(paylog.getPayment(PAYMENT.id));
    expect(requests).toHaveLength(4);
    expect(waits).toEqual([499, 999, 1998]);
  });

  it('at least Retry-After, and not at all when it asks for longer than retryAfterMaxMs', async () => {
    const limited = (seconds: string): Response => failure(429, 'rate_limit_error', 'rate_limited', {}, { 'retry-after': seconds });
    const honoured = client([limited('2'), failure(409, 'idempotency_error', 'idempotency_key_in_use', {}, { 'retry-after': '1' }), answer(201, PAYMENT)], { retry: { backoffBaseMs: 1000, backoffMaxMs: 10_000 } }, 0.6);
    await honoured.paylog.createPayment(PAY);
    // Retry-After (2000 ms) wins over a shorter jitter (600 ms); a longer jitter (1200 ms) over Retry-After (1000 ms).
    expect(honoured.waits).toEqual([2000, 1200]);
    const tooLong = client([limited('61'), answer(201, PAYMENT)]);
    const error = await rejection(tooLong.paylog.createPayment(PAY));
    expect(error).toBeInstanceOf(PaylogRateLimitError);
    expect(error).toMatchObject({ retryAfterMs: 61_000, attempts: 1 });
    expect(tooLong.requests).toHaveLength(1);
  });

  it('the last answer is thrown typed, with its Request-Id, when attempts run out', async () => {
    const { paylog } = client([droppedConnection(), new Response('no', { status: 502, headers: { 'request-id': 'req_proxy' } })], { retry: { maxAttempts: 2 } });
    const error = await rejection(paylog.getPayment(PAYMENT.id));
    expect(error).toBeInstanceOf(PaylogUnexpectedResponseError);
    expect(error).toMatchObject({ status: 502, requestId: 'req_proxy', attempts: 2 });
  });
});

describe('settings', () => {
  it.each([
    [{ retry: { maxAttempts: 0 } }, /maxAttempts/],
    [{ retry: { maxAttempts: 11 } }, /maxAttempts/],
    [{ retry: { backoffBaseMs: 2000, backoffMaxMs: 1000 } }, /backoffMaxMs/],
    [{ retry: { retryAfterMaxMs: -1 } }, /retryAfterMaxMs/],
    [{ timeoutMs: 0 }, /timeoutMs/],
  ])('refuses %j', (options, message) => {
    expect(() => new PaylogClient({ baseUrl: 'http://paylog.test', apiKey: 'sk_test_x', ...options })).toThrow(message);
  });
});
