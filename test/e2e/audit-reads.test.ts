import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../src/app/api-keys.js';
import { type Services, startServices } from '../../src/compose/services.js';
import { loadConfig } from '../../src/config/config.js';
import type { AuditRecord } from '../../src/core/audit-record.js';
import { buildHttpApp } from '../../src/runtimes/http/app.js';
import { FAST_GATEWAY_ENV, paymentBody } from '../support/harness.js';
import { runPaylog } from '../support/process.js';

/** 2026-11-30T20:00:15Z: 15 s into a minute. */
const T0 = Date.UTC(2026, 10, 30, 20, 0, 15);
const READS = 10;

describe('reads of the audit trail are audited as audit.read (PCI DSS 10.2.1.3)', () => {
  const clock = { t: T0, now() { return this.t; } };
  let dataDir: string;
  let services: Services;
  let app: FastifyInstance;
  let alice: { id: string; secret: string };
  let bob: { id: string; secret: string };
  let payment: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'paylog-audit-reads-'));
    const config = loadConfig({}, { ...FAST_GATEWAY_ENV, PAYLOG_STORE: 'memory:', PAYLOG_DATA_DIR: dataDir, PAYLOG_CHECKPOINT_INTERVAL_MS: '0' });
    services = await startServices(config, { role: 'test', clock });
    app = await buildHttpApp({ ctx: services.ctx, rateLimitPerSecond: 0, logger: false });
    await app.ready();
    const a = await createApiKey(services.ctx, services.system, 'acme', 'alice');
    const b = await createApiKey(services.ctx, services.system, 'acme', 'bob');
    alice = { id: a.key.id, secret: a.secret };
    bob = { id: b.key.id, secret: b.secret };
    const paid = await app.inject({
      method: 'POST', url: '/v1/payments', payload: paymentBody(),
      headers: { authorization: `Bearer ${alice.secret}`, 'content-type': 'application/json' },
    });
    expect(paid.statusCode).toBe(201);
    payment = paid.json().id as string;
  });
  afterAll(async () => {
    await app.close();
    await services.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const read = (secret: string, url: string, remoteAddress = '203.0.113.5') =>
    app.inject({ method: 'GET', url, remoteAddress, headers: { authorization: `Bearer ${secret}` } });
  const auditReads = async (): Promise<AuditRecord[]> =>
    (await services.ctx.store.journal.readStream(services.ctx.writer.streamId, 1, 100_000)).filter((r) => r.type === 'audit.read');

  it('the first read of a key in a minute is a record, durable before the answer; the rest of the minute is one summary with the count', async () => {
    const first = await read(alice.secret, `/v1/payments/${payment}/events`);
    expect(first.statusCode).toBe(200);
    expect(await auditReads()).toMatchObject([{
      actor: alice.id, origin: { requestId: first.headers['request-id'], ip: '203.0.113.5' }, resource: payment, outcome: 'success', reason: null,
      data: { method: 'GET', route: '/v1/payments/:id/events' },
    }]);
    for (let i = 1; i < READS; i++) {
      clock.t += 1_000;
      expect((await read(alice.secret, `/v1/payments/${payment}/${i % 2 === 0 ? 'events' : 'proof'}`)).statusCode).toBe(200);
    }
    // A read of something that is not there is recorded as a failed read.
    expect((await read(alice.secret, '/v1/payments/txn_01jdq2zzzzzzzzzzzzzzzzzzzz/events')).statusCode).toBe(404);
    expect(await auditReads()).toHaveLength(1);

    // Another key, two reads: a record and a summary of its own.
    expect((await read(bob.secret, `/v1/payments/${payment}/proof`)).statusCode).toBe(200);
    expect((await read(bob.secret, `/v1/payments/${payment}/proof`)).statusCode).toBe(200);
    // Reading a payment is not reading the audit trail.
    expect((await read(bob.secret, `/v1/payments/${payment}`)).statusCode).toBe(200);
    expect((await auditReads()).map((r) => r.actor)).toEqual([alice.id, bob.id]);

    // The next minute: the ended minute's summaries, then a record of the new minute's first read.
    clock.t = T0 + 60_000;
    expect((await read(alice.secret, `/v1/payments/${payment}/events`)).statusCode).toBe(200);
    await app.close();
    const records = await auditReads();
    const summaries = records.filter((r) => r.data.summary === true);
    const window = { start: '2026-11-30T20:00:00.000Z', end: '2026-11-30T20:01:00.000Z' };
    expect(summaries.find((r) => r.actor === alice.id)).toMatchObject({
      origin: { requestId: null, traceId: null, ip: '203.0.113.5' }, resource: null, outcome: 'success',
      data: {
        window, count: READS,
        route: { '/v1/payments/:id/events': 5, '/v1/payments/:id/proof': 5 },
        outcome: { success: READS - 1, resource_missing: 1 },
        resources: [payment, 'txn_01jdq2zzzzzzzzzzzzzzzzzzzz'],
      },
    });
    expect(summaries.find((r) => r.actor === bob.id)).toMatchObject({ data: { window, count: 1, route: { '/v1/payments/:id/proof': 1 } } });
    expect(summaries).toHaveLength(2);
    // 1 + 1 records and 2 summaries for the first minute, 1 record for the second.
    expect(records).toHaveLength(5);
    expect(records.filter((r) => r.data.summary !== true && r.actor === alice.id).map((r) => r.ts.slice(0, 16))).toEqual(['2026-11-30T20:00', '2026-11-30T20:01']);
    // Route patterns and IDs, never a raw path.
    for (const record of records) expect(JSON.stringify(record)).not.toMatch(/\/v1\/payments\/txn_/);
  });

  it("an auditor key's reads of checkpoints and consistency proofs are audit.read too; a merchant key refused there reads nothing", async () => {
    const auditor = await createApiKey(services.ctx, services.system, '', 'auditor', 'auditor');
    const app2 = await buildHttpApp({ ctx: services.ctx, rateLimitPerSecond: 0, logger: false });
    try {
      const ask = (secret: string, url: string) => app2.inject({ method: 'GET', url, remoteAddress: '192.0.2.9', headers: { authorization: `Bearer ${secret}` } });
      expect((await ask(auditor.secret, '/v1/audit/checkpoints')).statusCode).toBe(200);
      expect((await ask(auditor.secret, '/v1/audit/journal/consistency?from=0&to=0')).statusCode).toBe(200);
      expect((await ask(alice.secret, '/v1/audit/checkpoints')).statusCode).toBe(403);
      const reads = (await auditReads()).filter((r) => r.origin.ip === '192.0.2.9');
      expect(reads).toMatchObject([{ actor: auditor.key.id, resource: null, outcome: 'success', data: { method: 'GET', route: '/v1/audit/checkpoints' } }]);
      await app2.close();
      const summary = (await auditReads()).filter((r) => r.origin.ip === '192.0.2.9' && r.data.summary === true);
      expect(summary).toMatchObject([{ actor: auditor.key.id, data: { count: 1, route: { '/v1/audit/journal/consistency': 1 } } }]);
    } finally {
      await app2.close();
    }
  });
});

describe('paylog export is recorded as audit.read', () => {
  let dataDir: string;
  let env: Record<string, string>;
  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'paylog-export-read-'));
    env = { PAYLOG_DATA_DIR: dataDir };
    expect(runPaylog(['keys', 'create', '--merchant', 'acme'], env).status).toBe(0);
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('each export writes one audit.read record, in a stream of its own that the next export holds', () => {
    const first = runPaylog(['export'], env);
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout).not.toContain('"audit.read"');
    const second = runPaylog(['export', '--since', '2000-01-01T00:00:00Z'], env);
    expect(second.status, second.stderr).toBe(0);
    const exported = second.stdout.trim().split('\n').map((line) => JSON.parse(line) as AuditRecord).filter((r) => r.type === 'audit.read');
    expect(exported).toHaveLength(1);
    expect(exported[0]).toMatchObject({ actor: 'system:export', resource: null, outcome: 'success', data: { command: 'export', since: null } });

    const db = new Database(join(dataDir, 'paylog.db'), { readonly: true });
    try {
      const reads = db.prepare("SELECT body FROM journal WHERE type = 'audit.read'").pluck().all() as string[];
      expect(reads.map((body) => (JSON.parse(body) as AuditRecord).data)).toEqual([
        { command: 'export', since: null, osUser: expect.anything() },
        { command: 'export', since: '2000-01-01T00:00:00.000Z', osUser: expect.anything() },
      ]);
    } finally {
      db.close();
    }
    const verified = runPaylog(['verify'], env);
    expect(verified.status, verified.stdout + verified.stderr).toBe(0);
  });
});
