import { afterEach, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/app/context.js';
import { reconcile } from '../../src/app/reconcile.js';
import type { AuditRecord } from '../../src/core/audit-record.js';
import { ChainVerifier } from '../../src/core/chain-verifier.js';
import type { Payment } from '../../src/core/payment.js';
import { rfc3339 } from '../../src/core/time.js';
import type { Gateway } from '../../src/ports/gateway.js';
import { FUTURE_YEAR, type TestApp, paymentBody, startTestApp } from '../support/harness.js';
import { receivedThenCrashed as leftProcessing } from '../support/crashed-requests.js';
import { overlappingLookups } from '../support/gate.js';
import { EVERY_STORE, type StoreKind, freshStoreSettings } from '../support/stores.js';

const apps: TestApp[] = [];
afterEach(async () => {
  for (const t of apps.splice(0)) await t.close();
});

/**
 * Reconciliation waits out the gateway's whole retry budget: a small one here (three 60 ms
 * attempts fit), so the tests wait a fifth of a second, not the default minute.
 */
const GATEWAY_BUDGET_MS = '200';

async function appOn(kind: StoreKind, reconcileAfterMs = GATEWAY_BUDGET_MS): Promise<{ t: TestApp; secret: string }> {
  const t = await startTestApp({ ...await freshStoreSettings(kind, 'reconcile'), PAYLOG_GATEWAY_BUDGET_MS: GATEWAY_BUDGET_MS, PAYLOG_RECONCILE_AFTER_MS: reconcileAfterMs });
  expect(t.services.ctx.store.kind).toBe(kind);
  apps.push(t);
  return { t, secret: await t.keyFor('acme') };
}

async function pay(t: TestApp, secret: string, number: string): Promise<{ status: number; payment: Payment }> {
  const res = await t.app.inject({
    method: 'POST', url: '/v1/payments', payload: paymentBody(number),
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
  });
  const body = res.json();
  return { status: res.statusCode, payment: (body.error?.payment ?? body) as Payment };
}

/**
 * Reconciliation takes payments last changed strictly before now − reconcileAfterMs. Waits until
 * the clock has moved past that for this payment, instead of sleeping for a guessed time.
 */
async function pastUpdate(ctx: AppContext, payment: Payment): Promise<void> {
  const deadline = Date.now() + 2_000 + ctx.settings.reconcileAfterMs;
  while (ctx.clock.now() - ctx.settings.reconcileAfterMs <= Date.parse(payment.updatedAt)) {
    if (Date.now() > deadline) throw new Error('clock did not advance');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function reconciledRecords(ctx: AppContext, id: string): Promise<AuditRecord[]> {
  return (await ctx.store.journal.readByResource(id)).filter((r) => r.type === 'payment.reconciled');
}

/** What a request that died right after `payment.received` leaves behind: a durable, processing payment. */
function receivedThenCrashed(t: TestApp, number: string, agoMs = 0): Promise<Payment> {
  return leftProcessing(t.services.ctx, { card: { number, expMonth: 12, expYear: FUTURE_YEAR, cvc: '123' }, agoMs });
}

async function verifyAll(ctx: AppContext): Promise<void> {
  const verifier = new ChainVerifier(ctx.writer.journal);
  for (const stream of await ctx.store.journal.listStreams()) {
    for (const record of await ctx.store.journal.readStream(stream.id, 1, 1_000_000)) verifier.add(record, { stream: stream.id, seq: record.seq });
  }
  expect(verifier.finish().problems).toEqual([]);
}

describe.each(EVERY_STORE)('reconcile on the %s store', (kind) => {
  const app = (reconcileAfterMs?: string): Promise<{ t: TestApp; secret: string }> => appOn(kind, reconcileAfterMs);

  it.each([
    ['4000000004089993', 'never answers'],
    ['4000000005020005', 'answers garbage'],
  ])('card %s (%s): 202 processing → reconciled to succeeded from the gateway ledger', async (number) => {
    const { t, secret } = await app();
    const { ctx, system } = t.services;
    const { status, payment } = await pay(t, secret, number);
    expect(status).toBe(202);
    expect(payment.status).toBe('processing');
    const before = await ctx.store.payments.get('acme', payment.id);
    expect(before?.audit).toEqual(payment.audit);
    await pastUpdate(ctx, payment);

    const result = await reconcile(ctx, system);
    expect(result).toEqual({ examined: 1, resolved: [{ id: payment.id, status: 'succeeded' }], unresolved: [], overtaken: [] });

    const [record, ...more] = await reconciledRecords(ctx, payment.id);
    expect(more).toEqual([]);
    expect(record).toMatchObject({
      type: 'payment.reconciled', resource: payment.id, actor: 'system:test', outcome: 'success', reason: null,
      data: { previousStatus: 'processing', status: 'succeeded', gatewayAnswer: 'approved', merchantId: 'acme', amount: 1099, currency: 'USD' },
    });
    const after = await ctx.store.payments.get('acme', payment.id);
    expect(after).toMatchObject({ status: 'succeeded', failureCode: null, declineCode: null, attempts: payment.attempts });
    expect(after?.audit).toEqual({ stream: record?.stream, seq: record?.seq, hash: record?.hash });
    expect(after?.audit).not.toEqual(before?.audit);

    // The API shows the same, and the trail ends with the reconciliation.
    const read = await t.app.inject({ method: 'GET', url: `/v1/payments/${payment.id}`, headers: { authorization: `Bearer ${secret}` } });
    expect(read.json()).toMatchObject({ status: 'succeeded', audit: after?.audit });
    const events = await t.app.inject({ method: 'GET', url: `/v1/payments/${payment.id}/events`, headers: { authorization: `Bearer ${secret}` } });
    const types = (events.json().data as AuditRecord[]).map((r) => r.type);
    expect(types[0]).toBe('payment.received');
    expect(types.slice(-2)).toEqual(['payment.processing', 'payment.reconciled']);
    await verifyAll(ctx);
  });

  it('a payment whose gateway call never happened (crash after payment.received) → failed / gateway_unavailable', async () => {
    const { t } = await app();
    const { ctx, system } = t.services;
    const crashed = await receivedThenCrashed(t, '4242424242424242');
    expect(await ctx.gateway.lookup(crashed.id, AbortSignal.timeout(1_000))).toEqual({ kind: 'not_found' });
    await pastUpdate(ctx, crashed);

    const result = await reconcile(ctx, system);
    expect(result).toEqual({ examined: 1, resolved: [{ id: crashed.id, status: 'failed' }], unresolved: [], overtaken: [] });
    const [record] = await reconciledRecords(ctx, crashed.id);
    expect(record).toMatchObject({
      outcome: 'failure', reason: 'gateway_unavailable',
      data: { previousStatus: 'processing', status: 'failed', gatewayAnswer: 'not_found', failureCode: 'gateway_unavailable' },
    });
    const after = await ctx.store.payments.get('acme', crashed.id);
    expect(after).toMatchObject({ status: 'failed', failureCode: 'gateway_unavailable', declineCode: null, attempts: 0 });
    expect(after?.audit).toEqual({ stream: record?.stream, seq: record?.seq, hash: record?.hash });
    // Never charged: reconciliation only looked, it did not charge.
    expect(await t.services.ctx.store.gatewayLedger.get(crashed.id)).toBeNull();
    await verifyAll(ctx);
  });

  it('a payment the gateway declined before the process died → declined with the gateway codes', async () => {
    const { t } = await app();
    const { ctx, system } = t.services;
    const crashed = await receivedThenCrashed(t, '4000000000009995');
    const card = { number: '4000000000009995', expMonth: 12, expYear: FUTURE_YEAR, cvc: '123' };
    await ctx.gateway.charge({ gatewayKey: crashed.id, amount: 2500, currency: 'EUR', card }, AbortSignal.timeout(1_000));
    await pastUpdate(ctx, crashed);

    expect((await reconcile(ctx, system)).resolved).toEqual([{ id: crashed.id, status: 'declined' }]);
    expect(await ctx.store.payments.get('acme', crashed.id)).toMatchObject({ status: 'declined', failureCode: 'card_declined', declineCode: 'insufficient_funds' });
    const [record] = await reconciledRecords(ctx, crashed.id);
    expect(record).toMatchObject({ outcome: 'failure', reason: 'card_declined', data: { status: 'declined', gatewayAnswer: 'declined', declineCode: 'insufficient_funds' } });
  });

  it('leaves alone payments that have been processing for less than reconcileAfterMs', async () => {
    const { t, secret } = await app('60000');
    const { ctx, system } = t.services;
    const fresh = (await pay(t, secret, '4000000004089993')).payment;
    const stale = await receivedThenCrashed(t, '4242424242424242', 120_000);

    const result = await reconcile(ctx, system);
    expect(result).toEqual({ examined: 1, resolved: [{ id: stale.id, status: 'failed' }], unresolved: [], overtaken: [] });
    expect(await ctx.store.payments.get('acme', fresh.id)).toEqual(fresh);
    expect(await reconciledRecords(ctx, fresh.id)).toEqual([]);
  });

  it('a gateway lookup that throws leaves the payment processing and lists it as unresolved; the others still resolve', async () => {
    const { t, secret } = await app();
    const { ctx, system } = t.services;
    const unreachable = (await pay(t, secret, '4000000004089993')).payment;
    const reachable = (await pay(t, secret, '4000000005020005')).payment;
    await pastUpdate(ctx, reachable);
    await pastUpdate(ctx, unreachable);
    const flaky: Gateway = {
      charge: (request, signal) => ctx.gateway.charge(request, signal),
      lookup: async (gatewayKey, signal) => {
        if (gatewayKey === unreachable.id) throw new Error('connect ECONNREFUSED');
        return ctx.gateway.lookup(gatewayKey, signal);
      },
    };
    const before = await ctx.store.journal.readStream(ctx.writer.streamId, 1, 1_000_000);

    const result = await reconcile({ ...ctx, gateway: flaky }, system);
    expect(result).toEqual({ examined: 2, resolved: [{ id: reachable.id, status: 'succeeded' }], unresolved: [unreachable.id], overtaken: [] });
    expect(await ctx.store.payments.get('acme', unreachable.id)).toEqual(unreachable);
    expect(await reconciledRecords(ctx, unreachable.id)).toEqual([]);
    const after = await ctx.store.journal.readStream(ctx.writer.streamId, 1, 1_000_000);
    expect(after.slice(before.length).map((r) => [r.type, r.resource])).toEqual([['payment.reconciled', reachable.id]]);

    // Next time the gateway answers, it resolves.
    expect((await reconcile(ctx, system)).resolved).toEqual([{ id: unreachable.id, status: 'succeeded' }]);
  });

  it('three reconcilers racing on the same payments, while their outcomes also arrive late: one reconciled record each, status only moves forward', async () => {
    const { t, secret } = await app();
    const { ctx, system } = t.services;
    const stuck = [
      ...await Promise.all([0, 1, 2].map(async () => (await pay(t, secret, '4000000004089993')).payment)),
      ...await Promise.all([0, 1, 2].map(() => receivedThenCrashed(t, '5555555555554444'))),
    ];
    for (const p of stuck) await pastUpdate(ctx, p);
    // Every lookup waits until all three reconcilers have asked once, so they overlap for sure.
    const slow = overlappingLookups(ctx.gateway, 3, 200);
    const results = await Promise.all([0, 1, 2].map(() => reconcile({ ...ctx, gateway: slow }, system)));
    const resolved = results.flatMap((r) => r.resolved.map((x) => x.id));
    expect(resolved.sort()).toEqual(stuck.map((p) => p.id).sort());

    for (const p of stuck) {
      const row = await ctx.store.payments.get('acme', p.id) as Payment;
      expect(row.status).not.toBe('processing');
      const reconciled = await reconciledRecords(ctx, p.id);
      expect(reconciled).toHaveLength(1);
      expect(reconciled[0]?.data).toMatchObject({ previousStatus: 'processing', status: row.status });
      // A late write of an older state (a request that was still running) never moves it back.
      await ctx.writer.append({ records: [], payment: { ...p, updatedAt: rfc3339(ctx.clock.now()) } });
      expect((await ctx.store.payments.get('acme', p.id))?.status).toBe(row.status);
      await pastUpdate(ctx, row);
    }
    // Nothing is left to reconcile, and none of them is reconciled again.
    expect(await reconcile(ctx, system)).toEqual({ examined: 0, resolved: [], unresolved: [], overtaken: [] });
    await verifyAll(ctx);
  });

  it('running it twice changes nothing the second time', async () => {
    const { t, secret } = await app();
    const { ctx, system } = t.services;
    const a = (await pay(t, secret, '4000000004089993')).payment;
    const b = await receivedThenCrashed(t, '5555555555554444');
    const settled = await pay(t, secret, '4242424242424242'); // already final: never reconciled
    expect(settled.status).toBe(201);
    for (const p of [a, b, settled.payment]) await pastUpdate(ctx, p);

    const first = await reconcile(ctx, system);
    expect(first.examined).toBe(2);
    expect(first.resolved.map((r) => r.id).sort()).toEqual([a.id, b.id].sort());
    const recordsAfterFirst = await ctx.store.journal.readStream(ctx.writer.streamId, 1, 1_000_000);
    const paymentsAfterFirst = await Promise.all([a.id, b.id, settled.payment.id].map((id) => ctx.store.payments.get('acme', id)));
    // Let the clock pass the reconciliation itself, so the second run would see what the first touched.
    for (const p of paymentsAfterFirst) await pastUpdate(ctx, p as Payment);

    const second = await reconcile(ctx, system);
    expect(second).toEqual({ examined: 0, resolved: [], unresolved: [], overtaken: [] });
    expect(await ctx.store.journal.readStream(ctx.writer.streamId, 1, 1_000_000)).toEqual(recordsAfterFirst);
    expect(await Promise.all([a.id, b.id, settled.payment.id].map((id) => ctx.store.payments.get('acme', id)))).toEqual(paymentsAfterFirst);
    await verifyAll(ctx);
  });
});
