import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as client from '../../src/client/index.js';
import {
  type AnyPaylogApiError, type ErrorType, PaylogApiError, PaylogCardError, PaylogClient, PaylogConnectionError, PaylogError,
  PaylogUnexpectedResponseError, isPaylogApiError,
} from '../../src/client/index.js';
import { droppedConnection, jsonAnswer, recordedSleep, scriptedFetch } from '../support/fake-fetch.js';

/**
 * The client's errors: every error example of the OpenAPI document comes out as the class of
 * its type with its code, the Request-Id of the answer is on every result and every error, and
 * no error holds what the request carried.
 */

/** The exported class of an error type, named as Stripe's SDKs name theirs: card_error → PaylogCardError; api_error → PaylogServerError. */
function classOf(type: ErrorType): unknown {
  const name = type === 'api_error' ? 'server' : type.replace(/_error$/, '');
  return (client as Record<string, unknown>)[`Paylog${name.replace(/(^|_)([a-z])/g, (_m, _s, c: string) => c.toUpperCase())}Error`];
}

interface Example { status: number; body: { error: { type: ErrorType; code: string; requestId: string; payment?: unknown } } }
const document = JSON.parse(readFileSync(new URL('../../docs/openapi.json', import.meta.url), 'utf8')) as {
  paths: Record<string, Record<string, { operationId: string; responses: Record<string, { content?: Record<string, { examples?: Record<string, { value: Example['body'] }> }> }> }>>;
};
const EXAMPLES: Example[] = Object.values(document.paths).flatMap((methods) => Object.values(methods).flatMap((op) => Object.entries(op.responses).flatMap(([status, response]) =>
  Object.values(response.content ?? {}).flatMap((media) => Object.values(media.examples ?? {}).filter((e) => e.value.error !== undefined).map((e) => ({ status: Number(status), body: e.value }))))));

/** A client that answers once with `response` and never retries. */
function once(response: Response | Error) {
  const fake = scriptedFetch([response]);
  return { paylog: new PaylogClient({ baseUrl: 'http://paylog.test', apiKey: 'sk_test_x', fetch: fake.fetch, sleep: recordedSleep().sleep, retry: { maxAttempts: 1 } }), requests: fake.requests };
}

async function thrown(promise: Promise<unknown>): Promise<PaylogError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(PaylogError);
  return error as PaylogError;
}

describe('typed errors', () => {
  it('the document has examples of every error type', () => {
    const types = new Set(EXAMPLES.map((e) => e.body.error.type));
    expect([...types].sort()).toEqual(['api_error', 'authentication_error', 'card_error', 'idempotency_error', 'invalid_request_error', 'rate_limit_error']);
    for (const type of types) expect(Object.getPrototypeOf(classOf(type))).toBe(PaylogApiError);
  });

  it.each(EXAMPLES.map((e) => [e.status, e.body.error.code, e] as const))('%i %s: the class of its type, with its code and Request-Id', async (_status, _code, example) => {
    const { paylog } = once(jsonAnswer(example.status, example.body, { 'request-id': 'req_header' }));
    const error = await thrown(paylog.getPayment('txn_x'));
    expect(error).toBeInstanceOf(classOf(example.body.error.type) as typeof PaylogApiError);
    expect(isPaylogApiError(error)).toBe(true);
    expect(error).toMatchObject({ status: example.status, type: example.body.error.type, code: example.body.error.code, requestId: 'req_header', message: expect.any(String) });
    expect((error as PaylogApiError).payment).toEqual(example.body.error.payment);
  });

  it("takes the body's requestId when the header is missing", async () => {
    const { paylog } = once(jsonAnswer(404, { error: { type: 'invalid_request_error', code: 'resource_missing', message: 'No such payment.', requestId: 'req_body' } }));
    expect(await thrown(paylog.getPayment('txn_x'))).toMatchObject({ requestId: 'req_body' });
  });

  it('a decline carries its decline code and the declined payment', async () => {
    const payment = { id: 'txn_1', status: 'declined' };
    const { paylog } = once(jsonAnswer(402, { error: { type: 'card_error', code: 'card_declined', declineCode: 'insufficient_funds', message: 'The card was declined.', requestId: 'req_1', payment } }));
    const error = await thrown(paylog.getPayment('txn_x'));
    expect(error).toBeInstanceOf(PaylogCardError);
    expect(error).toMatchObject({ code: 'card_declined', declineCode: 'insufficient_funds', payment });
  });

  it('narrowing the union by type narrows code (checked by the compiler)', () => {
    const codeOf = (error: AnyPaylogApiError): string => {
      if (error.type === 'card_error') {
        const code: 'card_declined' | 'expired_card' | 'incorrect_cvc' | 'incorrect_number' | 'processing_error' = error.code;
        // @ts-expect-error an idempotency code is no card error's
        const wrong: 'idempotency_key_in_use' = error.code;
        return code + String(wrong);
      }
      return error.code;
    };
    expect(codeOf.length).toBe(1);
  });

  it('an answer without the error body, and no answer at all', async () => {
    const bare = once(jsonAnswer(400, { error: 'Bad Request', message: 'Client Error', statusCode: 400 }));
    const error = await thrown(bare.paylog.getPayment('txn_x'));
    expect(error).toBeInstanceOf(PaylogUnexpectedResponseError);
    expect(error).toMatchObject({ status: 400, requestId: null });
    const none = once(droppedConnection());
    const dropped = await thrown(none.paylog.getPayment('txn_x'));
    expect(dropped).toBeInstanceOf(PaylogConnectionError);
    expect(dropped.message).toBe('GET /v1/payments/{id}: no answer from the paylog API (fetch failed)');
  });
});

describe('no error holds what the request carried', () => {
  const CARD = '4000000000000002';
  const pay = { amount: 1099, currency: 'usd', paymentMethod: { type: 'card' as const, card: { number: CARD, expMonth: 12, expYear: 2030, cvc: '739' } } };
  const shown = (error: PaylogError): string => [String(error), error.stack, JSON.stringify(error), JSON.stringify(Object.entries(error)), String(error.cause)].join('\n');

  it.each([
    ['no answer', (): Response | Error => droppedConnection()],
    ['a proxy page', (): Response | Error => new Response('<html>502</html>', { status: 502 })],
    ['a 400', (): Response | Error => jsonAnswer(400, { error: { type: 'invalid_request_error', code: 'parameter_invalid', message: 'bad', param: 'currency', requestId: 'req_1' } })],
  ])('%s: neither the card number, its CVC nor the API key', async (_what, make) => {
    const { paylog, requests } = once(make());
    const error = await thrown(paylog.createPayment(pay));
    expect(requests[0]?.body).toContain(CARD);
    for (const secret of [CARD, '739', 'sk_test_x']) expect(shown(error)).not.toContain(secret);
  });
});

describe('Request-Id', () => {
  const HEADERS = { 'request-id': 'req_ok' };
  const calls: [string, (paylog: PaylogClient) => Promise<{ requestId: string | null }>][] = [
    ['createPayment', (p) => p.createPayment({ amount: 1, currency: 'usd', paymentMethod: { type: 'card', card: { number: '4242424242424242', expMonth: 1, expYear: 2030, cvc: '123' } } })],
    ['listPayments', (p) => p.listPayments()],
    ['getPayment', (p) => p.getPayment('txn_1')],
    ['listPaymentEvents', (p) => p.listPaymentEvents('txn_1')],
    ['getPaymentProof', (p) => p.getPaymentProof('txn_1')],
    ['getPaymentStats', (p) => p.getPaymentStats()],
    ['listCheckpoints', (p) => p.listCheckpoints()],
    ['getStreamConsistency', (p) => p.getStreamConsistency('str_1', { from: '1', to: '2' })],
    ['getJournalConsistency', (p) => p.getJournalConsistency({ from: '1', to: '2' })],
    ['getHealth', (p) => p.getHealth()],
    ['getReadiness', (p) => p.getReadiness()],
  ];

  it('every operation of the document has its method', () => {
    const operationIds = Object.values(document.paths).flatMap((methods) => Object.values(methods).map((op) => op.operationId));
    expect(calls.map(([name]) => name).sort()).toEqual(operationIds.sort());
  });

  it.each(calls)('%s: on its result, and on its error', async (_name, call) => {
    const ok = once(jsonAnswer(200, {}, HEADERS));
    expect(await call(ok.paylog)).toMatchObject({ requestId: 'req_ok' });
    const failing = once(jsonAnswer(401, { error: { type: 'authentication_error', code: 'api_key_invalid', message: 'Invalid API key.', requestId: 'req_bad' } }, { 'request-id': 'req_bad' }));
    expect(await thrown(call(failing.paylog))).toMatchObject({ requestId: 'req_bad' });
  });
});
