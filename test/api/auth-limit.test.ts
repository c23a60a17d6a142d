import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../src/app/api-keys.js';
import { type Services, startServices } from '../../src/compose/services.js';
import { loadConfig } from '../../src/config/config.js';
import type { AuditRecord } from '../../src/core/audit-record.js';
import { buildHttpApp } from '../../src/runtimes/http/app.js';
import { FAST_GATEWAY_ENV } from '../support/harness.js';

/** 2026-11-30T20:00:15Z: 15 s into a minute, so Retry-After is 45. */
const T0 = Date.UTC(2026, 10, 30, 20, 0, 15);
const LIMIT = 3;
const ATTACKER = '198.51.100.7';
const MERCHANT = '203.0.113.20';
const UNKNOWN_SECRET = `sk_test_${'A'.repeat(43)}`;

describe('failed authentication is limited per client address (PCI DSS 10.2.1.4 records, issue 13 item 4)', () => {
  const clock = { t: T0, now() { return this.t; } };
  let dataDir: string;
  let services: Services;
  let app: FastifyInstance;
  let lookups = 0;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'paylog-auth-limit-'));
    const config = loadConfig({}, { ...FAST_GATEWAY_ENV, PAYLOG_STORE: 'memory:', PAYLOG_DATA_DIR: dataDir, PAYLOG_CHECKPOINT_INTERVAL_MS: '0' });
    services = await startServices(config, { role: 'test', clock });
    const keys = services.ctx.store.keys;
    const findByHash = keys.findByHash.bind(keys);
    keys.findByHash = async (hash) => { lookups++; return findByHash(hash); };
    app = await buildHttpApp({ ctx: services.ctx, rateLimitPerSecond: 0, authFailuresPerMinute: LIMIT, logger: false });
    await app.ready();
  });
  afterAll(async () => {
    await services.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const get = (secret: string | null, remoteAddress: string) => app.inject({
    method: 'GET', url: '/v1/payments', remoteAddress, headers: secret === null ? {} : { authorization: `Bearer ${secret}` },
  });
  const authFailed = async (): Promise<AuditRecord[]> =>
    (await services.ctx.store.journal.readStream(services.ctx.writer.streamId, 1, 100_000)).filter((r) => r.type === 'auth.failed');

  it('answers 429 too_many_auth_failures with Retry-After once an address has failed the limit, without looking its key up, while other addresses keep working', async () => {
    const secret = (await createApiKey(services.ctx, services.system, 'acme', null)).secret;
    for (let i = 0; i < LIMIT; i++) {
      const res = await get(i === 0 ? null : UNKNOWN_SECRET, ATTACKER);
      expect(res.statusCode).toBe(401);
    }
    // Each failure up to the limit is a record of its own, durable before its 401.
    expect((await authFailed()).map((r) => [r.origin.ip, r.reason, r.data.route])).toEqual([
      [ATTACKER, 'api_key_missing', '/v1/payments'], [ATTACKER, 'api_key_invalid', '/v1/payments'], [ATTACKER, 'api_key_invalid', '/v1/payments'],
    ]);

    const before = lookups;
    const blocked = await get(UNKNOWN_SECRET, ATTACKER);
    expect(blocked.statusCode).toBe(429);
    expect(blocked.headers['retry-after']).toBe('45');
    expect(blocked.json().error).toMatchObject({ type: 'rate_limit_error', code: 'too_many_auth_failures', requestId: blocked.headers['request-id'] });
    // The address is blocked for the rest of the minute, a valid key included (decision in docs/api.md).
    clock.t = T0 + 30_000;
    const validButBlocked = await get(secret, ATTACKER);
    expect(validButBlocked.statusCode).toBe(429);
    expect(validButBlocked.headers['retry-after']).toBe('15');
    expect(lookups).toBe(before);
    // Counted, not recorded one by one.
    expect(await authFailed()).toHaveLength(LIMIT);

    // A merchant at another address is not affected.
    expect((await get(secret, MERCHANT)).statusCode).toBe(200);
    // Nor are the routes outside the API.
    expect((await app.inject({ method: 'GET', url: '/healthz', remoteAddress: ATTACKER })).statusCode).toBe(200);

    // The next minute the address may try again.
    clock.t = T0 + 45_000;
    expect((await get(secret, ATTACKER)).statusCode).toBe(200);
  });

  it('the 429s are counted into one auth.failed summary for the address and minute, written when the minute is over', async () => {
    await app.close();
    const failed = await authFailed();
    expect(failed).toHaveLength(LIMIT + 1);
    expect(failed[LIMIT]).toMatchObject({
      actor: 'anonymous', origin: { requestId: null, traceId: null, ip: ATTACKER }, resource: null, outcome: 'failure', reason: null,
      data: {
        summary: true, window: { start: '2026-11-30T20:00:00.000Z', end: '2026-11-30T20:01:00.000Z' }, count: 2,
        reason: { too_many_auth_failures: 2 }, route: { '/v1/payments': 2 }, resources: [],
      },
    });
  });
});
