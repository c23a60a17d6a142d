import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { createTables } from '../../src/adapters/store/dynamodb/index.js';
import { draft } from '../../src/app/records.js';
import { reconcile } from '../../src/app/reconcile.js';
import { maskCard } from '../../src/core/card.js';
import { newId } from '../../src/core/ids.js';
import { type Payment, recordCard } from '../../src/core/payment.js';
import { rfc3339 } from '../../src/core/time.js';
import type { Gateway } from '../../src/ports/gateway.js';
import { dynamoUrl, freshPrefix } from '../support/dynamodb.js';
import { FUTURE_YEAR, type TestApp, startTestApp } from '../support/harness.js';
import { freshDatabase } from '../support/postgres.js';

/**
 * Three reconcilers racing over the same stuck payments, on every store: each payment gets
 * exactly one `payment.reconciled` record, and its row agrees with it.
 */

const GATEWAY_BUDGET_MS = 200;
const STUCK = 4;

const apps: TestApp[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const t of apps.splice(0)) await t.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const STORES: Record<string, () => Promise<string>> = {
  memory: async () => 'memory:',
  sqlite: async () => {
    const dir = mkdtempSync(join(tmpdir(), 'paylog-race-'));
    dirs.push(dir);
    return `sqlite:${join(dir, 'paylog.db')}`;
  },
  postgres: async () => freshDatabase(inject('postgresUrl'), 'reconcile_race'),
  dynamodb: async () => {
    const url = dynamoUrl(freshPrefix('reconcile-race'));
    await createTables({ url });
    return url;
  },
};

/** What a request that died right after `payment.received` leaves behind, old enough to reconcile. */
async function receivedThenCrashed(t: TestApp): Promise<Payment> {
  const { ctx } = t.services;
  const nowMs = ctx.clock.now() - 2 * GATEWAY_BUDGET_MS;
  const masked = maskCard({ number: '4242424242424242', expMonth: 12, expYear: FUTURE_YEAR, cvc: '123' }, ctx.fingerprintKey);
  const id = newId('txn', nowMs, ctx.random.bytes(16));
  const now = rfc3339(nowMs);
  const payment: Payment = {
    id, object: 'payment', status: 'processing', amount: 2500, currency: 'EUR', merchantId: 'acme', card: masked,
    attempts: 0, declineCode: null, failureCode: null, description: null, merchantReference: null, metadata: {},
    createdAt: now, updatedAt: now, audit: null,
  };
  const caller = { merchantId: 'acme', actor: 'key_crashed', origin: { requestId: 'req_crashed', traceId: null, ip: '127.0.0.1' } };
  await ctx.writer.append({
    records: [draft(caller, 'payment.received', id, 'success', { merchantId: 'acme', amount: 2500, currency: 'EUR', card: recordCard(masked), idempotencyKey: null })],
    payment,
  });
  return payment;
}

describe('three reconcilers racing on the same payments', () => {
  for (const [name, storeUrl] of Object.entries(STORES)) {
    it(`${name}: one payment.reconciled per payment, and the row agrees with it`, async () => {
      const t = await startTestApp({
        PAYLOG_STORE: await storeUrl(), PAYLOG_GATEWAY_BUDGET_MS: String(GATEWAY_BUDGET_MS), PAYLOG_RECONCILE_AFTER_MS: String(GATEWAY_BUDGET_MS),
        PAYLOG_RECONCILE_INTERVAL_MS: '0', PAYLOG_CHECKPOINT_INTERVAL_MS: '0',
      });
      apps.push(t);
      const { ctx, system } = t.services;
      const stuck: Payment[] = [];
      for (let i = 0; i < STUCK; i++) stuck.push(await receivedThenCrashed(t));

      // Every lookup waits until all three reconcilers have asked once (or a bound), so they overlap.
      let asked = 0;
      let release: () => void = () => undefined;
      const allAsked = new Promise<void>((resolve) => { release = resolve; });
      const slow: Gateway = {
        charge: (request, signal) => ctx.gateway.charge(request, signal),
        lookup: async (gatewayKey, signal) => {
          asked += 1;
          if (asked >= 3) release();
          await Promise.race([allAsked, new Promise((resolve) => setTimeout(resolve, 500))]);
          return ctx.gateway.lookup(gatewayKey, signal);
        },
      };
      const results = await Promise.all([0, 1, 2].map(() => reconcile({ ...ctx, gateway: slow }, system)));
      expect(results.flatMap((r) => r.resolved.map((x) => x.id)).sort()).toEqual(stuck.map((p) => p.id).sort());

      for (const p of stuck) {
        const row = (await ctx.store.payments.get('acme', p.id)) as Payment;
        // Never charged: the gateway has nothing under its key.
        expect(row.status).toBe('failed');
        const reconciled = (await ctx.store.journal.readByResource(p.id)).filter((r) => r.type === 'payment.reconciled');
        expect(reconciled).toHaveLength(1);
        expect(reconciled[0]?.data).toMatchObject({ previousStatus: 'processing', status: row.status });
      }
    }, 60_000);
  }
});
