import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterEach, describe, expect, inject, it, vi } from 'vitest';
import { openPostgresStore } from '../../src/adapters/store/postgres/index.js';
import { openSqliteStore } from '../../src/adapters/store/sqlite/index.js';
import type { AppContext, Caller } from '../../src/app/context.js';
import {
  IdempotencyPurgeSchedule, PURGE_BATCH_ROWS_MAX, PURGE_RUN_BATCHES_MAX, type PurgeResult, purgeExpiredIdempotencyKeys,
} from '../../src/app/purge-idempotency.js';
import { type Services, startServices } from '../../src/compose/services.js';
import { SETTINGS, loadConfig } from '../../src/config/config.js';
import type { AuditRecord } from '../../src/core/audit-record.js';
import { rfc3339 } from '../../src/core/time.js';
import type { IdempotencyClaim } from '../../src/ports/idempotency-store.js';
import type { Store } from '../../src/ports/store.js';
import { FAST_GATEWAY_ENV } from '../support/harness.js';
import { freshDatabase } from '../support/postgres.js';

/**
 * Idempotency keys do not pile up (PCI DSS 3.2.1 / 10.5.1: data kept no longer than needed,
 * its removal on record): the scheduled purge deletes keys past their TTL in bounded batches,
 * keeps unexpired keys and claims a live request still holds, and journals each run that
 * deleted anything as one `idempotency.purged` record with the count.
 */
const HOUR_MS = 3_600_000;
const TTL_MS = 24 * HOUR_MS;
const LEASE_MS = 5_000; // FAST_GATEWAY_ENV's PAYLOG_IDEMPOTENCY_LEASE_MS
const T0 = Date.parse('2026-01-05T00:00:00.000Z');

interface Backend {
  name: string;
  /** A store URL for a fresh, empty store. */
  url(dir: string): Promise<string>;
  /** Rows left in the idempotency table, read around the store. */
  rows(url: string): Promise<number>;
  open(url: string): Promise<Store>;
}

const BACKENDS: Backend[] = [
  {
    name: 'SQLite',
    url: async (dir) => `sqlite:${join(dir, 'paylog.db')}`,
    rows: async (url) => {
      const db = new Database(url.slice('sqlite:'.length), { readonly: true });
      try {
        return (db.prepare('SELECT count(*) AS n FROM idempotency').get() as { n: number }).n;
      } finally {
        db.close();
      }
    },
    open: async (url) => openSqliteStore({ path: url.slice('sqlite:'.length) }),
  },
  {
    name: 'PostgreSQL',
    url: () => freshDatabase(inject('postgresUrl'), 'purge'),
    rows: async (url) => {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        return (await client.query<{ n: number }>('SELECT count(*)::int AS n FROM idempotency')).rows[0]?.n ?? -1;
      } finally {
        await client.end();
      }
    },
    open: (url) => openPostgresStore({ url, poolMax: 4 }),
  },
];

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'paylog-purge-'));
  cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function claimAt(nowMs: number, key: string, fingerprint = 'fp-a'): IdempotencyClaim {
  return { merchantId: 'acme', key, fingerprint, now: rfc3339(nowMs), leaseExpiresAt: rfc3339(nowMs + LEASE_MS), expiresAt: rfc3339(nowMs + TTL_MS) };
}

async function start(url: string, dir: string, clock: { ms: number }): Promise<Services> {
  const config = loadConfig({}, { ...FAST_GATEWAY_ENV, PAYLOG_STORE: url, PAYLOG_DATA_DIR: dir, PAYLOG_FINGERPRINT_KEY: randomBytes(32).toString('base64') });
  const services = await startServices(config, { role: 'test', clock: { now: () => clock.ms } });
  cleanups.push(() => services.close());
  return services;
}

async function purgedRecords(services: Services): Promise<AuditRecord[]> {
  const records = await services.ctx.store.journal.readStream(services.ctx.writer.streamId, 1, 10_000);
  return records.filter((r) => r.type === 'idempotency.purged');
}

describe.each(BACKENDS)('the idempotency purge on $name', (backend) => {
  it('deletes expired keys in bounded batches, keeps unexpired and in-flight ones, and journals one record with the count', async () => {
    const dir = tempDir();
    const url = await backend.url(dir);
    const clock = { ms: T0 };
    const services = await start(url, dir, clock);
    const store = services.ctx.store;

    // 250 keys claimed at T0: 100 completed, 150 whose request crashed (lease long over).
    await Promise.all(Array.from({ length: 250 }, (_, i) => store.idempotency.claim(claimAt(T0, `old-${i}`))));
    for (let i = 0; i < 100; i++) {
      await services.ctx.writer.append({
        records: [], idempotency: { merchantId: 'acme', key: `old-${i}`, paymentId: `txn_${i}`, response: { status: 201, body: { i }, headers: {} } },
      });
    }
    // 3 keys claimed two hours later: unexpired when the purge runs.
    for (let i = 0; i < 3; i++) await store.idempotency.claim(claimAt(T0 + 2 * HOUR_MS, `young-${i}`));
    // Taken over just before its expiry by a request still running when the purge runs.
    await store.idempotency.claim(claimAt(T0, 'held'));
    expect(await store.idempotency.claim(claimAt(T0 + TTL_MS - 1_000, 'held'))).toEqual({ kind: 'claimed' });
    expect(await backend.rows(url)).toBe(254);

    clock.ms = T0 + TTL_MS + 1_000;
    const batches: { limit: number; deleted: number }[] = [];
    const purge = store.idempotency.purgeExpired.bind(store.idempotency);
    vi.spyOn(store.idempotency, 'purgeExpired').mockImplementation(async (now, limit) => {
      const deleted = await purge(now, limit);
      batches.push({ limit, deleted });
      return deleted;
    });

    const result = await purgeExpiredIdempotencyKeys(services.ctx, services.system, { batchRowsMax: 100, runBatchesMax: 10 });
    expect(result).toEqual({ count: 250, batches: 3, capped: false, skipped: false });
    expect(batches).toEqual([{ limit: 100, deleted: 100 }, { limit: 100, deleted: 100 }, { limit: 100, deleted: 50 }]);
    expect(await backend.rows(url)).toBe(4);

    const [record, ...more] = await purgedRecords(services);
    expect(more).toEqual([]);
    expect(record).toMatchObject({
      type: 'idempotency.purged', actor: 'system:test', outcome: 'success', resource: null,
      data: { count: 250, expiredBefore: rfc3339(clock.ms) },
    });

    // Nothing more to delete: no record.
    expect((await purgeExpiredIdempotencyKeys(services.ctx, services.system)).count).toBe(0);
    expect(await purgedRecords(services)).toHaveLength(1);
    // Once past its expiry and lease, the held key goes too; the young ones stay until theirs.
    clock.ms = T0 + TTL_MS + LEASE_MS;
    expect((await purgeExpiredIdempotencyKeys(services.ctx, services.system)).count).toBe(1);
    clock.ms = T0 + 2 * HOUR_MS + TTL_MS;
    expect((await purgeExpiredIdempotencyKeys(services.ctx, services.system)).count).toBe(3);
    expect(await backend.rows(url)).toBe(0);
    expect((await purgedRecords(services)).map((r) => r.data.count)).toEqual([250, 1, 3]);
  });

  it('stops a run at its cap and leaves the rest to the next run', async () => {
    const dir = tempDir();
    const url = await backend.url(dir);
    const clock = { ms: T0 };
    const services = await start(url, dir, clock);
    await Promise.all(Array.from({ length: 25 }, (_, i) => services.ctx.store.idempotency.claim(claimAt(T0, `k-${i}`))));
    clock.ms = T0 + TTL_MS;
    const limits = { batchRowsMax: 10, runBatchesMax: 2 };
    expect(await purgeExpiredIdempotencyKeys(services.ctx, services.system, limits)).toEqual({ count: 20, batches: 2, capped: true, skipped: false });
    expect(await purgeExpiredIdempotencyKeys(services.ctx, services.system, limits)).toEqual({ count: 5, batches: 1, capped: false, skipped: false });
    expect((await purgedRecords(services)).map((r) => r.data.count)).toEqual([20, 5]);
  });

  it('two processes purging one store at once, beside fresh claims of the same keys, delete each expired key once and no fresh claim', async () => {
    const dir = tempDir();
    const url = await backend.url(dir);
    const a = await backend.open(url);
    cleanups.push(() => a.close());
    const b = await backend.open(url);
    cleanups.push(() => b.close());
    await Promise.all(Array.from({ length: 300 }, (_, i) => a.idempotency.claim(claimAt(T0, `k-${i}`))));
    const now = T0 + TTL_MS;
    const drain = async (store: Store): Promise<number> => {
      let total = 0;
      for (;;) {
        const n = await store.idempotency.purgeExpired(rfc3339(now), 25);
        total += n;
        if (n === 0) return total;
      }
    };
    // Every tenth key is claimed afresh (a new request after expiry) while the purgers run.
    const [fromA, fromB, ...claims] = await Promise.all([
      drain(a), drain(b),
      ...Array.from({ length: 30 }, (_, i) => b.idempotency.claim(claimAt(now, `k-${i * 10}`, 'fp-new'))),
    ]);
    expect(claims.every((c) => (c as { kind: string }).kind === 'claimed')).toBe(true);
    // A fresh claim either came first (its row is no longer expired: kept) or after the delete.
    expect((fromA as number) + (fromB as number)).toBeGreaterThanOrEqual(270);
    expect((fromA as number) + (fromB as number)).toBeLessThanOrEqual(300);
    expect(await backend.rows(url)).toBe(30);
    for (let i = 0; i < 30; i++) {
      expect(await a.idempotency.claim(claimAt(now + 1, `k-${i * 10}`, 'fp-new'))).toEqual({ kind: 'in_flight' });
    }
  });
});

describe('the purge scheduled by startServices', () => {
  it('runs every PAYLOG_IDEMPOTENCY_PURGE_INTERVAL_MS in a process that asks for it (serve), and in no other', async () => {
    const dir = tempDir();
    const url = `sqlite:${join(dir, 'paylog.db')}`;
    const clock = { ms: T0 };
    const env = { ...FAST_GATEWAY_ENV, PAYLOG_STORE: url, PAYLOG_DATA_DIR: dir, PAYLOG_FINGERPRINT_KEY: randomBytes(32).toString('base64'), PAYLOG_IDEMPOTENCY_PURGE_INTERVAL_MS: '20' };
    const cli = await startServices(loadConfig({}, env), { role: 'cli', clock: { now: () => clock.ms } });
    cleanups.push(() => cli.close());
    const purged: PurgeResult[] = [];
    const serve = await startServices(loadConfig({}, env), { role: 'serve', clock: { now: () => clock.ms }, purgeIdempotency: true, onPurge: (r) => purged.push(r) });
    cleanups.push(() => serve.close());
    await Promise.all(Array.from({ length: 30 }, (_, i) => serve.ctx.store.idempotency.claim(claimAt(T0, `k-${i}`))));
    clock.ms = T0 + TTL_MS + LEASE_MS;
    await vi.waitFor(() => expect(purged).toHaveLength(1), { timeout: 10_000, interval: 20 });
    expect(purged[0]).toMatchObject({ count: 30 });
    expect(await backend(url)).toBe(0);
    expect((await purgedRecords(serve)).map((r) => [r.actor, r.data.count])).toEqual([['system:serve', 30]]);
    expect(await purgedRecords(cli)).toEqual([]);
  });
});

async function backend(url: string): Promise<number> {
  return (BACKENDS[0] as Backend).rows(url);
}

describe('purgeExpiredIdempotencyKeys', () => {
  it('does nothing on a store that expires keys by itself (DynamoDB TTL)', async () => {
    const purgeExpired = vi.fn();
    const append = vi.fn();
    const ctx = { store: { idempotency: { expiresByTtl: true, purgeExpired } }, writer: { append }, clock: { now: () => T0 } } as unknown as AppContext;
    const caller: Caller = { merchantId: '', actor: 'system:serve', origin: { requestId: null, traceId: null, ip: null } };
    expect(await purgeExpiredIdempotencyKeys(ctx, caller)).toEqual({ count: 0, batches: 0, capped: false, skipped: true });
    expect(purgeExpired).not.toHaveBeenCalled();
    expect(append).not.toHaveBeenCalled();
  });

  it('deletes 1,000 keys per transaction, at most 100 transactions per run, by default', () => {
    expect(PURGE_BATCH_ROWS_MAX).toBe(1_000);
    expect(PURGE_RUN_BATCHES_MAX).toBe(100);
  });
});

describe('IdempotencyPurgeSchedule', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  const done: PurgeResult = { count: 0, batches: 1, capped: false, skipped: false };

  it('runs every interval, never two runs at once, and stops', async () => {
    vi.useFakeTimers();
    let release: () => void = () => undefined;
    const run = vi.fn(() => new Promise<PurgeResult>((resolve) => { release = () => resolve(done); }));
    const schedule = new IdempotencyPurgeSchedule(run, 1_000);
    schedule.start();
    expect(run).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(run).toHaveBeenCalledTimes(1);
    // Still running at the next tick: no second run beside it.
    await vi.advanceTimersByTimeAsync(1_000);
    expect(run).toHaveBeenCalledTimes(1);
    release();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(run).toHaveBeenCalledTimes(2);
    const stopped = schedule.stop();
    release();
    await stopped;
    await vi.advanceTimersByTimeAsync(5_000);
    expect(run).toHaveBeenCalledTimes(2);
  });

  it('is off at interval 0, and reports failures without stopping', async () => {
    vi.useFakeTimers();
    const off = vi.fn(async () => done);
    new IdempotencyPurgeSchedule(off, 0).start();
    await vi.advanceTimersByTimeAsync(10 * 86_400_000);
    expect(off).not.toHaveBeenCalled();

    const errors: unknown[] = [];
    const failing = vi.fn(async (): Promise<PurgeResult> => { throw new Error('store down'); });
    const schedule = new IdempotencyPurgeSchedule(failing, 1_000, undefined, (err) => errors.push(err));
    schedule.start();
    await vi.advanceTimersByTimeAsync(2_000);
    expect(failing).toHaveBeenCalledTimes(2);
    expect(errors).toHaveLength(2);
    await schedule.stop();
  });

  it('is set by PAYLOG_IDEMPOTENCY_PURGE_INTERVAL_MS: a minute by default, 0 turns it off', () => {
    expect(SETTINGS.idempotencyPurgeIntervalMs).toMatchObject({ flag: 'idempotency-purge-interval-ms', env: 'PAYLOG_IDEMPOTENCY_PURGE_INTERVAL_MS', default: 60_000 });
    expect(loadConfig({}, { PAYLOG_IDEMPOTENCY_PURGE_INTERVAL_MS: '0' }).idempotencyPurgeIntervalMs).toBe(0);
    expect(() => loadConfig({}, { PAYLOG_IDEMPOTENCY_PURGE_INTERVAL_MS: '-1' })).toThrow(/PAYLOG_IDEMPOTENCY_PURGE_INTERVAL_MS/);
  });
});
