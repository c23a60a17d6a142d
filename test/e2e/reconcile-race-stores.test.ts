import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { createTables } from '../../src/adapters/store/dynamodb/index.js';
import type { AppContext } from '../../src/app/context.js';
import { createPayment } from '../../src/app/create-payment.js';
import type { AppendUnit } from '../../src/app/journal-writer.js';
import { RECONCILE_LEASE_MS, reconcile } from '../../src/app/reconcile.js';
import type { Payment, PaymentRequest } from '../../src/core/payment.js';
import { dynamoUrl, freshPrefix } from '../support/dynamodb.js';
import { receivedThenCrashed } from '../support/crashed-requests.js';
import { overlappingLookups, withOverrides } from '../support/gate.js';
import { type TestApp, paymentBody, startTestApp } from '../support/harness.js';
import { freshDatabase } from '../support/postgres.js';

/**
 * Reconcilers racing over the same stuck payments, on every store: three at once, one that
 * stalls past its claim and is taken over, and one settling a payment whose own request settles
 * it at the same moment. Each payment gets one terminal status and at most one
 * `payment.reconciled` record, and its row agrees with its records.
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
const crashed = (t: TestApp): Promise<Payment> => receivedThenCrashed(t.services.ctx, { agoMs: 2 * GATEWAY_BUDGET_MS });

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
      for (let i = 0; i < STUCK; i++) stuck.push(await crashed(t));

      // Every lookup waits until all three reconcilers have asked once (or a bound), so they overlap.
      const slow = overlappingLookups(ctx.gateway, 3, 500);
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

/** A promise with its resolve, to hold one call until the test lets it go. */
function gate<T = void>(): { promise: Promise<T>; open: (value: T) => void } {
  let open: (value: T) => void = () => undefined;
  const promise = new Promise<T>((resolve) => { open = resolve; });
  return { promise, open };
}

/** Records of a payment, and the ones that state an outcome. */
async function outcomes(t: TestApp, id: string): Promise<{ type: string; status: unknown }[]> {
  const records = await t.services.ctx.store.journal.readByResource(id);
  return records
    .filter((r) => ['payment.succeeded', 'payment.declined', 'payment.failed', 'payment.reconciled'].includes(r.type))
    .map((r) => ({ type: r.type, status: r.type === 'payment.reconciled' ? r.data.status : r.type.slice('payment.'.length) }));
}

async function startOn(name: string): Promise<TestApp> {
  const t = await startTestApp({
    PAYLOG_STORE: await (STORES[name] as () => Promise<string>)(), PAYLOG_GATEWAY_BUDGET_MS: String(GATEWAY_BUDGET_MS),
    PAYLOG_RECONCILE_AFTER_MS: String(GATEWAY_BUDGET_MS), PAYLOG_RECONCILE_INTERVAL_MS: '0', PAYLOG_CHECKPOINT_INTERVAL_MS: '0',
  });
  apps.push(t);
  return t;
}

describe('a reconciler that stalls past its claim, taken over by another', () => {
  for (const name of Object.keys(STORES)) {
    it(`${name}: the late one writes nothing; one payment.reconciled`, async () => {
      const t = await startOn(name);
      const { ctx, system } = t.services;
      const stuck = await crashed(t);
      const asked = gate();
      const answer = gate();
      const stalled = withOverrides(ctx.gateway, {
        lookup: async (gatewayKey, signal) => {
          asked.open();
          await answer.promise;
          return ctx.gateway.lookup(gatewayKey, signal);
        },
      });
      const late = reconcile({ ...ctx, gateway: stalled }, system);
      await asked.promise;
      // Past the stalled one's lease, as the next reconciler's clock sees it.
      const later = { now: () => ctx.clock.now() + RECONCILE_LEASE_MS + 1_000 };
      const taker = await reconcile({ ...ctx, clock: later }, system);
      expect(taker.resolved).toEqual([{ id: stuck.id, status: 'failed' }]);
      answer.open();
      const stalledResult = await late;
      expect(stalledResult).toMatchObject({ resolved: [], overtaken: [stuck.id] });

      expect(await outcomes(t, stuck.id)).toEqual([{ type: 'payment.reconciled', status: 'failed' }]);
      expect((await ctx.store.payments.get('acme', stuck.id))?.status).toBe('failed');
      // The writer goes on: the refused commit failed nothing after it.
      await expect(crashed(t)).resolves.toMatchObject({ status: 'processing' });
    }, 60_000);
  }
});

describe('a live request settling its payment while a reconciler settles it too', () => {
  for (const name of Object.keys(STORES)) {
    it(`${name}: one terminal status, at most one payment.reconciled, the client's answer is the final state`, async () => {
      const t = await startOn(name);
      const { ctx, system } = t.services;
      // The live request's outcome commit is held until the reconciler has written its record.
      const outcomeQueued = gate<string>();
      const release = gate();
      const writer = withOverrides(ctx.writer, {
        append: async (unit: AppendUnit) => {
          if (unit.records.some((r) => r.type === 'payment.succeeded')) {
            outcomeQueued.open(unit.payment?.id ?? '');
            await release.promise;
          }
          return ctx.writer.append(unit);
        },
      });
      const live: AppContext = { ...ctx, writer };
      const caller = { merchantId: 'acme', actor: 'key_live', origin: { requestId: 'req_live', traceId: null, ip: '127.0.0.1' } };
      const request = paymentBody('4242424242424242', { merchantReference: 'live-1' }) as unknown as PaymentRequest;
      const answer = createPayment(live, caller, request, 'key-live-1');
      const id = await outcomeQueued.promise;

      // A reconciler whose clock says the payment is past the gateway budget settles it first.
      const ahead = { now: () => ctx.clock.now() + 10 * GATEWAY_BUDGET_MS };
      const reconciled = await reconcile({ ...ctx, clock: ahead }, system);
      expect(reconciled.resolved).toEqual([{ id, status: 'succeeded' }]);
      release.open();
      const response = await answer;
      expect(response.status).toBe(201);
      expect(response.body).toMatchObject({ id, status: 'succeeded' });

      const found = await outcomes(t, id);
      expect(found.filter((r) => r.type === 'payment.reconciled')).toHaveLength(1);
      expect(new Set(found.map((r) => r.status))).toEqual(new Set(['succeeded']));
      expect((await ctx.store.payments.get('acme', id))?.status).toBe('succeeded');
      // The key replays what the client was told.
      const replay = await createPayment(ctx, caller, request, 'key-live-1');
      expect(replay).toMatchObject({ status: 201, body: { id, status: 'succeeded' } });
      // And a second reconcile finds nothing left.
      expect((await reconcile({ ...ctx, clock: ahead }, system)).examined).toBe(0);
    }, 60_000);
  }
});
