import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryStore } from '../../src/adapters/store/memory/index.js';
import { createApiKey } from '../../src/app/api-keys.js';
import { type Store, StoreUnavailableError } from '../../src/ports/store.js';
import { type TestApp, paymentBody, startTestApp } from '../support/harness.js';
import { type ContractProxy, startContractProxy } from '../support/contract-proxy.js';
import { OpenApiContract } from '../support/openapi-contract.js';

/**
 * Real HTTP traffic, through a validating proxy, that reaches every status the OpenAPI document
 * names for every operation, each answer checked against the document on its way back:
 * successes, every client error including 409, 413, 415, 422 and 429, and the 500 and 503 of a
 * store that fails.
 */

type Failure = 'unavailable' | 'bug' | null;

/** A memory store whose every call fails while `failing` says so: 503 store_unavailable, or a bug (500). */
function failingStore(): { store: Store; fail(kind: Failure): void } {
  const inner = createMemoryStore();
  let failing: Failure = null;
  const failable = (fn: (...a: unknown[]) => unknown, self: object) => (...args: unknown[]) => {
    if (failing === 'unavailable') throw new StoreUnavailableError('store down (test)');
    if (failing === 'bug') throw new TypeError('a bug (test)');
    return fn.apply(self, args);
  };
  const wrap = <T extends object>(port: T): T => new Proxy(port, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target) as unknown;
      return typeof value === 'function' ? failable(value as (...a: unknown[]) => unknown, target) : value;
    },
  });
  const store = new Proxy(inner, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target) as unknown;
      if (prop === 'close') return (value as () => Promise<void>).bind(target);
      if (typeof value === 'function') return failable(value as (...a: unknown[]) => unknown, target);
      return typeof value === 'object' && value !== null ? wrap(value) : value;
    },
  });
  return { store, fail: (kind) => { failing = kind; } };
}

const contract = new OpenApiContract();

interface Answer { statusCode: number; headers: Record<string, string>; body: string; json: () => { id: string } }

let t: TestApp;
let limited: TestApp;
let failures: ReturnType<typeof failingStore>;
let merchant: string;
let auditor: string;
let paymentId: string;
let stream: string;
/** Each app listens on loopback behind a validating proxy: the traffic is real HTTP, checked on its way back. */
const proxies = new Map<TestApp, ContractProxy>();

async function behindProxy(app: TestApp): Promise<void> {
  const url = await app.app.listen({ port: 0, host: '127.0.0.1' });
  proxies.set(app, await startContractProxy(url, contract));
}

async function call(app: TestApp, method: 'GET' | 'POST', url: string, secret: string | null, init: { payload?: unknown; headers?: Record<string, string> } = {}): Promise<Answer> {
  const proxy = proxies.get(app) as ContractProxy;
  const body = init.payload === undefined ? undefined : typeof init.payload === 'string' ? init.payload : JSON.stringify(init.payload);
  const headers = {
    ...(secret !== null && { authorization: `Bearer ${secret}` }),
    ...(body !== undefined && { 'content-type': 'application/json' }),
    ...init.headers,
  };
  const res = await fetch(`${proxy.url}${url}`, { method, headers, ...(body !== undefined && { body }) });
  const text = await res.text();
  return { statusCode: res.status, headers: Object.fromEntries(res.headers), body: text, json: () => JSON.parse(text) as { id: string } };
}

beforeAll(async () => {
  failures = failingStore();
  t = await startTestApp({ PAYLOG_CHECKPOINT_EVERY_RECORDS: '2' }, { store: failures.store });
  limited = await startTestApp({ PAYLOG_RATE_LIMIT: '1' });
  await behindProxy(t);
  await behindProxy(limited);
  merchant = await t.keyFor('acme');
  auditor = (await createApiKey(t.services.ctx, t.services.system, '', 'audit firm', 'auditor')).secret;
  const paid = await call(t, 'POST', '/v1/payments', merchant, { payload: paymentBody(), headers: { 'idempotency-key': 'traffic-1' } });
  paymentId = paid.json().id;
  stream = t.services.ctx.writer.streamId;
  await t.services.ctx.writer.checkpointIfDue();
});
afterAll(async () => {
  for (const proxy of proxies.values()) await proxy.close();
  await t?.close();
  await limited?.close();
});

/** One request per operation, with the given key: [method, url, body?]. */
const everyOperation = (): [string, 'GET' | 'POST', string, unknown?][] => [
  ['createPayment', 'POST', '/v1/payments', paymentBody()],
  ['listPayments', 'GET', '/v1/payments'],
  ['getPayment', 'GET', `/v1/payments/${paymentId}`],
  ['listPaymentEvents', 'GET', `/v1/payments/${paymentId}/events`],
  ['getPaymentProof', 'GET', `/v1/payments/${paymentId}/proof`],
  ['getPaymentStats', 'GET', '/v1/payments/stats'],
  ['listCheckpoints', 'GET', '/v1/audit/checkpoints'],
  ['getStreamConsistency', 'GET', `/v1/audit/streams/${stream}/consistency?from=1&to=2`],
  ['getJournalConsistency', 'GET', '/v1/audit/journal/consistency?from=1&to=1'],
];
const AUDIT = new Set(['listCheckpoints', 'getStreamConsistency', 'getJournalConsistency']);

describe('traffic through the OpenAPI contract', () => {
  it('successes, and every client error of every operation', async () => {
    for (const [id, method, url, payload] of everyOperation()) {
      const own = AUDIT.has(id) ? auditor : merchant;
      const other = AUDIT.has(id) ? merchant : auditor;
      const body = payload === undefined ? {} : { payload };
      expect((await call(t, method, url, own, { ...body, headers: { 'idempotency-key': `ok-${id}` } })).statusCode, id).toBeLessThan(300);
      expect((await call(t, method, url, null, body)).statusCode, id).toBe(401);
      expect((await call(t, method, url, other, body)).statusCode, id).toBe(403);
      if (method === 'GET' && id !== 'getPayment' && id !== 'listCheckpoints') {
        expect((await call(t, method, `${url}${url.includes('?') ? '&' : '?'}bogus=1`, own)).statusCode, id).toBe(400);
      }
    }
    expect((await call(t, 'GET', `/v1/payments/${'x'.repeat(65)}`, merchant)).statusCode).toBe(400);
    for (const url of [`/v1/payments/txn_01jdnothere0000000000000000`, '/v1/payments/txn_01jdnothere0000000000000000/events', '/v1/payments/txn_01jdnothere0000000000000000/proof']) {
      expect((await call(t, 'GET', url, merchant)).statusCode, url).toBe(404);
    }
    expect((await call(t, 'GET', '/v1/audit/streams/str_01jdnothere000000000000000/consistency?from=1&to=2', auditor)).statusCode).toBe(404);
    expect((await call(t, 'GET', '/v1/audit/journal/consistency?from=1&to=999999', auditor)).statusCode).toBe(400);
  });

  it('every outcome of a payment: 201, 202, 402, 409, 413, 415, 422, 503', async () => {
    const pay = (card: string, key: string, overrides: Record<string, unknown> = {}) =>
      call(t, 'POST', '/v1/payments', merchant, { payload: paymentBody(card, overrides), headers: { 'idempotency-key': key } });
    expect((await pay('4242424242424242', 'o-201')).statusCode).toBe(201);
    expect((await pay('4242424242424242', 'o-201')).headers['idempotent-replayed']).toBe('true');
    expect((await pay('4000000000000002', 'o-402')).statusCode).toBe(402);
    expect((await pay('4000000005039997', 'o-503')).statusCode).toBe(503);
    expect((await pay('4242424242424242', 'o-201', { amount: 1 })).statusCode).toBe(422);
    expect((await call(t, 'POST', '/v1/payments', merchant, { payload: { amount: 'ten' } })).statusCode).toBe(400);
    expect((await call(t, 'POST', '/v1/payments', merchant, { payload: JSON.stringify({ pad: 'x'.repeat(20_000) }), headers: { 'content-type': 'application/json' } })).statusCode).toBe(413);
    expect((await call(t, 'POST', '/v1/payments', merchant, { payload: 'amount=1', headers: { 'content-type': 'text/plain' } })).statusCode).toBe(415);
    // A second request with the key while the first waits on a gateway that never answers: 409, then 202.
    const first = pay('4000000004089993', 'o-409');
    const second = pay('4000000004089993', 'o-409');
    const statuses = [(await first).statusCode, (await second).statusCode].sort();
    expect(statuses).toEqual([202, 409]);
  });

  it('429 on every operation, from a key over its limit', async () => {
    const secret = await limited.keyFor('acme');
    const audit = (await createApiKey(limited.services.ctx, limited.services.system, '', 'audit firm', 'auditor')).secret;
    for (const [id, method, url, payload] of everyOperation()) {
      const own = AUDIT.has(id) ? audit : secret;
      const path = url.replace(paymentId, 'txn_01jdnothere0000000000000000').replace(stream, limited.services.ctx.writer.streamId);
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++) {
        statuses.push((await call(limited, method, path, own, { ...(payload !== undefined && { payload }), headers: { 'idempotency-key': `l-${id}-${i}` } })).statusCode);
      }
      expect(statuses, id).toContain(429);
    }
  });

  it('503 and 500 when the store fails, on every operation and the readiness probe', async () => {
    // Keys are cached once used: authentication passes, the route's own store call fails.
    for (const kind of ['unavailable', 'bug'] as const) {
      failures.fail(kind);
      try {
        for (const [id, method, url, payload] of everyOperation()) {
          const own = AUDIT.has(id) ? auditor : merchant;
          const res = await call(t, method, url, own, { ...(payload !== undefined && { payload }), headers: { 'idempotency-key': `f-${kind}-${id}` } });
          expect(res.statusCode, `${id} ${kind}`).toBe(kind === 'unavailable' ? 503 : 500);
        }
        if (kind === 'unavailable') expect((await call(t, 'GET', '/readyz', null)).statusCode).toBe(503);
      } finally {
        failures.fail(null);
      }
    }
    expect((await call(t, 'GET', '/readyz', null)).statusCode).toBe(200);
    expect((await call(t, 'GET', '/healthz', null)).statusCode).toBe(200);
  });

  it('every answer matched the document, and reached every status it names for every operation', () => {
    for (const proxy of proxies.values()) expect(proxy.mismatches()).toEqual([]);
    const missing = contract.operations().flatMap(({ operationId, statuses }) =>
      statuses.filter((status) => !contract.covered.has(`${operationId} ${status}`)).map((status) => `${operationId} ${status}`));
    expect(missing).toEqual([]);
  });
});
