import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/app/context.js';
import { requestFingerprint } from '../../src/app/request-fingerprint.js';
import type { AuditRecord } from '../../src/core/audit-record.js';
import type { Payment } from '../../src/core/payment.js';
import { rfc3339 } from '../../src/core/time.js';
import type { CardDetails } from '../../src/core/card.js';
import { type TestApp, paymentBody, startTestApp } from '../support/harness.js';
import { storedIdempotencyKey } from '../../src/app/idempotency.js';
import { EVERY_STORE, freshStoreSettings } from '../support/stores.js';
import { receivedThenCrashed } from '../support/crashed-requests.js';

/**
 * A request that dies while holding its Idempotency-Key leaves a claim behind (and perhaps
 * a payment). The crash is simulated through the stores: the claim is made directly, with a
 * lease that has already run out, as if its holder had died a minute ago.
 */

let t: TestApp;
let secret: string;
let ctx: AppContext;

function pay(body: unknown, key: string) {
  return t.app.inject({
    method: 'POST', url: '/v1/payments', payload: JSON.stringify(body),
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json', 'idempotency-key': key },
  });
}

/** Claims the key as the dead request did, `leaseLeftMs` before its lease ends (negative: already expired). */
async function claimAsDeadRequest(key: string, body: unknown, leaseLeftMs: number): Promise<void> {
  const nowMs = ctx.clock.now();
  const result = await ctx.store.idempotency.claim({
    merchantId: 'acme', key: storedIdempotencyKey(ctx, key),
    fingerprint: requestFingerprint(ctx.fingerprintKey, body),
    now: rfc3339(nowMs - 120_000),
    leaseExpiresAt: rfc3339(nowMs + leaseLeftMs),
    expiresAt: rfc3339(nowMs + 24 * 3_600_000),
  });
  expect(result).toEqual({ kind: 'claimed' });
}

/** What the dead request had made durable before dying: payment.received, its processing payment, and the key's paymentId. */
function receivedBeforeDying(key: string, body: ReturnType<typeof paymentBody>): Promise<Payment> {
  return receivedThenCrashed(ctx, {
    card: (body.paymentMethod as { card: CardDetails }).card, amount: body.amount as number, currency: 'USD',
    description: body.description as string, merchantReference: body.merchantReference as string,
    metadata: body.metadata as Record<string, string>, idempotencyKey: key, agoMs: 60_000,
  });
}

async function streamRecords(): Promise<AuditRecord[]> {
  return ctx.store.journal.readStream(ctx.writer.streamId, 1, 1_000_000);
}

function receivedWithKey(records: AuditRecord[], key: string): AuditRecord[] {
  return records.filter((r) => r.type === 'payment.received' && r.data.idempotencyKey === key);
}

describe.each(EVERY_STORE)('a key held by a request that died (%s store)', (kind) => {
  beforeEach(async () => {
    t = await startTestApp(await freshStoreSettings(kind, 'recovery'));
    expect(t.services.ctx.store.kind).toBe(kind);
    secret = await t.keyFor('acme');
    ctx = t.services.ctx;
  });
  afterEach(async () => t.close());

  it('blocks retries with 409 while its lease lasts (the control case)', async () => {
    const body = paymentBody();
    await claimAsDeadRequest('order-live', body, 60_000);
    const res = await pay(body, 'order-live');
    expect(res.statusCode).toBe(409);
    expect(res.json().error.code).toBe('idempotency_key_in_use');
    expect(receivedWithKey(await streamRecords(), 'order-live')).toEqual([]);
  });

  it('without a payment: once the lease has expired, the retry runs as a normal new payment', async () => {
    const body = paymentBody();
    await claimAsDeadRequest('order-1', body, -1_000);

    const res = await pay(body, 'order-1');
    expect(res.statusCode).toBe(201);
    expect(res.headers['idempotent-replayed']).toBeUndefined();
    const created = res.json() as Payment;
    expect(created).toMatchObject({ status: 'succeeded', attempts: 1, merchantId: 'acme' });
    const received = receivedWithKey(await streamRecords(), 'order-1');
    expect(received.map((r) => r.resource)).toEqual([created.id]);

    const again = await pay(body, 'order-1');
    expect(again.statusCode).toBe(201);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.json()).toEqual(created);
    expect(receivedWithKey(await streamRecords(), 'order-1')).toHaveLength(1);
  });

  it('with a different body after expiry: still 422, the key stays bound to the first body', async () => {
    const body = paymentBody();
    await claimAsDeadRequest('order-2', body, -1_000);
    const res = await pay({ ...body, amount: 1100 }, 'order-2');
    expect(res.statusCode).toBe(422);
    expect(res.json().error.code).toBe('idempotency_key_reused');
  });

  it('with a payment: the retry answers that payment as it stands (202 processing), never a second transaction, and later retries replay it', async () => {
    const body = paymentBody();
    await claimAsDeadRequest('order-3', body, -1_000);
    const orphan = await receivedBeforeDying('order-3', body);
    expect(orphan.audit?.seq).toBeGreaterThan(1);

    const res = await pay(body, 'order-3');
    expect(res.statusCode).toBe(202);
    expect(res.headers.location).toBe(`/v1/payments/${orphan.id}`);
    const answered = res.json() as Payment;
    expect(answered).toEqual(orphan);
    expect(answered).toMatchObject({ id: orphan.id, status: 'processing', attempts: 0 });

    const records = await streamRecords();
    expect(receivedWithKey(records, 'order-3').map((r) => r.resource)).toEqual([orphan.id]);
    expect(records.filter((r) => r.type === 'payment.received')).toHaveLength(1);
    // The gateway was not called on the dead request's behalf: reconciliation settles it.
    expect(records.filter((r) => r.type === 'payment.attempted')).toEqual([]);
    expect(await ctx.store.gatewayLedger.get(orphan.id)).toBeNull();
    expect(records.filter((r) => r.type === 'idempotency.replayed')).toMatchObject([
      { resource: orphan.id, reason: 'recovered_after_crash', data: { idempotencyKey: 'order-3', recovered: true } },
    ]);

    // The answer was stored under the key: a further retry replays it.
    const again = await pay(body, 'order-3');
    expect(again.statusCode).toBe(202);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.headers.location).toBe(`/v1/payments/${orphan.id}`);
    expect(again.json()).toEqual(answered);
    const after = await streamRecords();
    expect(after.filter((r) => r.type === 'payment.received')).toHaveLength(1);
    expect(after.filter((r) => r.type === 'idempotency.replayed')).toHaveLength(2);

    // Only one payment exists for the merchant.
    const list = await t.app.inject({ method: 'GET', url: '/v1/payments', headers: { authorization: `Bearer ${secret}` } });
    expect((list.json().data as Payment[]).map((p) => p.id)).toEqual([orphan.id]);
  });
});
