import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../src/app/api-keys.js';
import type { AppContext } from '../../src/app/context.js';
import { STATS_PAYMENTS_MAX, paymentStats } from '../../src/app/payment-stats.js';
import { type Services, startServices } from '../../src/compose/services.js';
import { loadConfig } from '../../src/config/config.js';
import type { Payment } from '../../src/core/payment.js';
import type { ListQuery } from '../../src/ports/payment-store.js';
import { buildHttpApp } from '../../src/runtimes/http/app.js';
import { routeAccess } from '../../src/runtimes/http/roles.js';
import { FAST_GATEWAY_ENV, paymentBody } from '../support/harness.js';

/** 2026-11-30T20:00:15Z: 15 s into a minute. */
const T0 = Date.UTC(2026, 10, 30, 20, 0, 15);
const MINUTE = 60_000;

describe('GET /v1/payments/stats: payments per minute by outcome over the last hour', () => {
  const clock = { t: T0, now() { return this.t; } };
  let dataDir: string;
  let services: Services;
  let app: FastifyInstance;
  let acme: string;
  let globex: string;
  let auditor: string;

  const pay = async (secret: string, at: number, number = '4242424242424242') => {
    clock.t = at;
    const res = await app.inject({ method: 'POST', url: '/v1/payments', payload: paymentBody(number), headers: { authorization: `Bearer ${secret}` } });
    expect([201, 402, 503]).toContain(res.statusCode);
  };
  const stats = (secret: string, url = '/v1/payments/stats?window=1h') => app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${secret}` } });

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'paylog-stats-'));
    const config = loadConfig({}, { ...FAST_GATEWAY_ENV, PAYLOG_STORE: 'memory:', PAYLOG_DATA_DIR: dataDir, PAYLOG_CHECKPOINT_INTERVAL_MS: '0' });
    services = await startServices(config, { role: 'test', clock });
    app = await buildHttpApp({ ctx: services.ctx, rateLimitPerSecond: 0, logger: false });
    await app.ready();
    acme = (await createApiKey(services.ctx, services.system, 'acme', null)).secret;
    globex = (await createApiKey(services.ctx, services.system, 'globex', null)).secret;
    auditor = (await createApiKey(services.ctx, services.system, '', 'audit firm', 'auditor')).secret;
    await pay(acme, T0 - 61 * MINUTE); // before the window
    await pay(acme, T0 - 59 * MINUTE); // the oldest minute of the window
    await pay(acme, T0 - 30 * MINUTE);
    await pay(acme, T0 - 30 * MINUTE + 1000, '4000000000000002'); // declined
    await pay(acme, T0 - 20_000, '4000000005039997'); // failed: the gateway is down
    await pay(acme, T0);
    await pay(globex, T0); // another merchant's
    clock.t = T0 + 1000;
  });
  afterAll(async () => {
    await app.close();
    await services.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("counts the merchant's own payments per minute by status, the current minute last", async () => {
    const res = await stats(acme);
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({
      window: '1h', from: '2026-11-30T19:01:00.000Z', to: '2026-11-30T20:01:00.000Z', truncated: false,
      total: { succeeded: 3, declined: 1, failed: 1, processing: 0 },
    });
    expect(body.minutes).toHaveLength(60);
    const nonEmpty = body.minutes.filter((m: { succeeded: number; declined: number; failed: number; processing: number }) => m.succeeded + m.declined + m.failed + m.processing > 0);
    expect(nonEmpty).toEqual([
      { minute: '2026-11-30T19:01:00.000Z', succeeded: 1, declined: 0, failed: 0, processing: 0 },
      { minute: '2026-11-30T19:30:00.000Z', succeeded: 1, declined: 1, failed: 0, processing: 0 },
      { minute: '2026-11-30T19:59:00.000Z', succeeded: 0, declined: 0, failed: 1, processing: 0 },
      { minute: '2026-11-30T20:00:00.000Z', succeeded: 1, declined: 0, failed: 0, processing: 0 },
    ]);
    expect((await stats(acme, '/v1/payments/stats')).json().total).toEqual(body.total);
  });

  it('is for merchant keys: an auditor key gets 403, no key 401, another window 400', async () => {
    expect(routeAccess('/v1/payments/stats')).toBe('payments');
    expect((await stats(globex)).json().total).toEqual({ succeeded: 1, declined: 0, failed: 0, processing: 0 });
    const refused = await stats(auditor);
    expect(refused.statusCode).toBe(403);
    expect(refused.json().error.code).toBe('forbidden_role');
    expect((await app.inject({ method: 'GET', url: '/v1/payments/stats' })).statusCode).toBe(401);
    expect((await stats(acme, '/v1/payments/stats?window=2h')).statusCode).toBe(400);
    expect((await stats(acme, '/v1/payments/stats?since=0')).statusCode).toBe(400);
  });

  it(`reads at most ${STATS_PAYMENTS_MAX} payments and says "truncated" beyond`, async () => {
    const now = T0;
    const all: Payment[] = Array.from({ length: STATS_PAYMENTS_MAX + 50 }, (_, i) => ({
      id: `txn_${String(i).padStart(26, '0')}`, status: 'succeeded', createdAt: new Date(now - Math.floor(i / 200) * 1000).toISOString(),
    }) as unknown as Payment);
    let pages = 0;
    const ctx = {
      clock: { now: () => now },
      store: { payments: { list: async (q: ListQuery) => {
        pages++;
        const from = q.startingAfter === undefined ? 0 : all.findIndex((p) => p.id === q.startingAfter) + 1;
        return { data: all.slice(from, from + q.limit), hasMore: from + q.limit < all.length };
      } } },
    } as unknown as AppContext;
    const result = await paymentStats(ctx, 'acme');
    expect(result.truncated).toBe(true);
    expect(result.total.succeeded).toBe(STATS_PAYMENTS_MAX);
    expect(pages).toBe(STATS_PAYMENTS_MAX / 100 + 1);
  });
});
