import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey, revokeApiKey } from '../../src/app/api-keys.js';
import { ACCESS_KINDS, KEY_ROLES, roleAllows } from '../../src/core/key-role.js';
import { registerRoleCheck, routeAccess } from '../../src/runtimes/http/roles.js';
import { type TestApp, paymentBody, startTestApp } from '../support/harness.js';

/**
 * Access by role (PCI DSS 7.2): a merchant key takes and reads its merchant's payments and
 * nothing of the audit trail's routes; an auditor key reads the audit trail (/v1/audit/*) and
 * neither creates nor reads any payment. Every refusal is a 403 forbidden_role, journaled.
 */
let t: TestApp;
let merchant: string;
let auditor: string;
let auditorKeyId: string;
let paymentId: string;

const AUDIT_ROUTES = ['/v1/audit/checkpoints', '/v1/audit/journal/consistency?from=1&to=1'];

beforeAll(async () => {
  t = await startTestApp();
  merchant = await t.keyFor('acme');
  const created = await createApiKey(t.services.ctx, t.services.system, '', 'audit firm', 'auditor');
  auditor = created.secret;
  auditorKeyId = created.key.id;
  const paid = await t.app.inject({
    method: 'POST', url: '/v1/payments', payload: paymentBody(),
    headers: { authorization: `Bearer ${merchant}`, 'idempotency-key': 'roles-1' },
  });
  expect(paid.statusCode).toBe(201);
  paymentId = paid.json().id;
});
afterAll(() => t.close());

const get = (url: string, secret: string) => t.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${secret}` } });

describe('key roles', () => {
  it('an auditor key reads the published checkpoints; a merchant key gets 403 forbidden_role', async () => {
    const ok = await get('/v1/audit/checkpoints', auditor);
    expect(ok.statusCode).toBe(200);
    expect(Array.isArray(ok.json().data)).toBe(true);

    const refused = await get('/v1/audit/checkpoints', merchant);
    expect(refused.statusCode).toBe(403);
    expect(refused.json().error).toMatchObject({ type: 'authentication_error', code: 'forbidden_role' });
    expect(refused.json().error.message).toMatch(/only auditor keys read the audit trail/);
    // Nothing of what the route holds leaks into the refusal.
    expect(refused.body).not.toMatch(/str_/);
  });

  it('every /v1/audit route is for auditors only', async () => {
    const stream = t.services.ctx.writer.streamId;
    for (const url of [...AUDIT_ROUTES, `/v1/audit/streams/${stream}/consistency?from=1&to=1`]) {
      expect((await get(url, merchant)).statusCode, url).toBe(403);
      expect((await get(url, auditor)).statusCode, url).not.toBe(403);
    }
  });

  it('an auditor key cannot create a payment: 403 before the body is read, nothing charged or recorded as a payment', async () => {
    const count = async (): Promise<number> => {
      const pages = await Promise.all(['acme', ''].map((merchantId) => t.services.ctx.store.payments.list({ merchantId, limit: 100 })));
      return pages.reduce((n, page) => n + page.data.length, 0);
    };
    const before = await count();
    const res = await t.app.inject({
      method: 'POST', url: '/v1/payments', payload: paymentBody(),
      headers: { authorization: `Bearer ${auditor}`, 'idempotency-key': 'roles-auditor' },
    });
    expect(res.statusCode).toBe(403);
    expect(res.json().error.code).toBe('forbidden_role');
    expect(res.json().error.message).toMatch(/only merchant keys create and read payments/);
    expect(await count()).toBe(before);
    // Not even a malformed body gets further than the role check.
    const junk = await t.app.inject({ method: 'POST', url: '/v1/payments', payload: '{', headers: { authorization: `Bearer ${auditor}`, 'content-type': 'application/json' } });
    expect(junk.statusCode).toBe(403);
  });

  it('an auditor key reads no payment, list, events or receipt', async () => {
    for (const url of ['/v1/payments', `/v1/payments/${paymentId}`, `/v1/payments/${paymentId}/events`, `/v1/payments/${paymentId}/proof`]) {
      const res = await get(url, auditor);
      expect(res.statusCode, url).toBe(403);
      expect(res.json().error.code, url).toBe('forbidden_role');
    }
    expect((await get(`/v1/payments/${paymentId}`, merchant)).statusCode).toBe(200);
  });

  it('journals each refusal as request.rejected with reason forbidden_role, naming key, route and role', async () => {
    await get('/v1/audit/checkpoints', merchant);
    const records = await t.services.ctx.store.journal.readStream(t.services.ctx.writer.streamId, 1, 10_000);
    const refusals = records.filter((r) => r.type === 'request.rejected' && r.reason === 'forbidden_role');
    expect(refusals.length).toBeGreaterThan(0);
    expect(refusals.at(-1)).toMatchObject({
      outcome: 'failure', data: { method: 'GET', route: '/v1/audit/checkpoints', status: 403, code: 'forbidden_role', role: 'merchant' },
    });
    const byAuditor = refusals.find((r) => r.actor === auditorKeyId && r.data.route === '/v1/payments');
    expect(byAuditor?.data).toMatchObject({ method: 'POST', role: 'auditor' });
    expect(JSON.stringify(refusals)).not.toMatch(/sk_test_|4242424242424242/);
  });

  it('a revoked auditor key is refused as revoked (401), before any role check', async () => {
    const created = await createApiKey(t.services.ctx, t.services.system, '', null, 'auditor');
    await revokeApiKey(t.services.ctx, t.services.system, created.key.id);
    const res = await get('/v1/audit/checkpoints', created.secret);
    expect(res.statusCode).toBe(401);
    expect(res.json().error.code).toBe('api_key_revoked');
  });

  it('records the role of a new key in key.created; auditor keys belong to no merchant', async () => {
    const records = await t.services.ctx.store.journal.readStream(t.services.ctx.writer.streamId, 1, 10_000);
    const created = records.find((r) => r.type === 'key.created' && r.resource === auditorKeyId);
    expect(created?.data).toEqual({ merchantId: '', name: 'audit firm', role: 'auditor' });
    await expect(createApiKey(t.services.ctx, t.services.system, 'acme', null, 'auditor')).rejects.toMatchObject({ code: 'parameter_invalid', param: 'merchant' });
    await expect(createApiKey(t.services.ctx, t.services.system, 'acme', null, 'admin' as never)).rejects.toMatchObject({ code: 'parameter_invalid', param: 'role' });
    expect((await t.services.ctx.store.keys.get(auditorKeyId))?.role).toBe('auditor');
  });
});

describe('the role rule', () => {
  it('merchant: payments only; auditor: the audit trail only', () => {
    const table = Object.fromEntries(KEY_ROLES.map((role) => [role, ACCESS_KINDS.filter((access) => roleAllows(role, access))]));
    expect(table).toEqual({ merchant: ['payments'], auditor: ['audit'] });
  });

  it('classifies routes by path, and no other', () => {
    expect(routeAccess('/v1/payments')).toBe('payments');
    expect(routeAccess('/v1/payments/:id/proof')).toBe('payments');
    expect(routeAccess('/v1/audit/checkpoints')).toBe('audit');
    expect(routeAccess('/v1/paymentsx')).toBeNull();
    expect(routeAccess('/v1/auditx')).toBeNull();
    expect(routeAccess('/v1/keys')).toBeNull();
  });

  it('refuses to build an app with an authenticated route no role rule covers', async () => {
    const app = Fastify();
    const build = async (): Promise<void> => {
      await app.register(async (scope) => {
        registerRoleCheck(scope, t.services.ctx);
        scope.get('/v1/keys', async () => ({}));
      });
      await app.ready();
    };
    await expect(build()).rejects.toThrow(/GET \/v1\/keys has no role rule/);
    await app.close();
  });
});
