import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/adapters/store/sqlite/connection.js';
import type { Worker } from 'node:worker_threads';
import { openSqliteStore } from '../../src/adapters/store/sqlite/index.js';
import { SqliteWriteThread } from '../../src/adapters/store/sqlite/write-thread.js';
import { SCHEMA_VERSION } from '../../src/adapters/store/sqlite/schema.js';
import { type Store, StoreUnavailableError, StreamConflictError } from '../../src/ports/store.js';
import { StreamBuilder, claim, openStatus, openStream, payment, streamInfo } from '../contract/fixtures.js';

let dir: string;
let path: string;
const opened: Array<{ close(): unknown }> = [];

function open(busyTimeoutMs?: number): Store {
  const store = openSqliteStore(busyTimeoutMs === undefined ? { path } : { path, busyTimeoutMs });
  opened.push(store);
  return store;
}

function raw(): Database.Database {
  const db = new Database(path);
  opened.push(db);
  return db;
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'paylog-sqlite-'));
  path = join(dir, 'paylog.db');
});

afterEach(async () => {
  for (const handle of opened.splice(0)) await handle.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('SQLite store', () => {
  it('refuses UPDATE and DELETE of journal rows, even from another connection', async () => {
    const store = open();
    const stream = await openStream(store, 'str_1');
    const records = stream.many(2);
    await store.journal.commit([{ records }]);

    const db = raw();
    expect(() => db.prepare("UPDATE journal SET body = '{}' WHERE seq = 1").run()).toThrow(/journal is append-only/);
    expect(() => db.prepare('DELETE FROM journal WHERE seq = 2').run()).toThrow(/journal is append-only/);
    expect(() => db.prepare('DELETE FROM journal').run()).toThrow(/journal is append-only/);
    expect(await store.journal.readStream('str_1', 1, 10)).toEqual(records);
  });

  it('opens connections in WAL mode with synchronous FULL, foreign keys and the busy timeout', () => {
    const db = openDatabase(path, 1_234);
    opened.push(db);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('synchronous', { simple: true })).toBe(2);
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(db.pragma('busy_timeout', { simple: true })).toBe(1_234);
    const defaults = openDatabase(path);
    opened.push(defaults);
    expect(defaults.pragma('busy_timeout', { simple: true })).toBe(5_000);
  });

  it('leaves the file in WAL mode', () => {
    open();
    expect(raw().pragma('journal_mode', { simple: true })).toBe('wal');
  });

  it('keeps everything across close and reopen', async () => {
    const first = open();
    const stream = await openStream(first, 'str_1');
    const paid = payment(1);
    await first.journal.commit([{ records: [stream.next()] }, stream.paymentUnit(paid)]);
    await first.keys.create({ id: 'key_1', merchantId: 'acme', role: 'merchant', name: null, secretHash: 'a'.repeat(64), createdAt: paid.createdAt, revokedAt: null });
    await first.close();

    const second = open();
    expect(await second.journal.listStreams()).toEqual([openStatus(streamInfo('str_1'))]);
    expect(await second.journal.head('str_1')).toEqual(stream.head);
    expect(await second.payments.get('acme', paid.id)).toEqual(paid);
    expect(await second.keys.get('key_1')).not.toBeNull();
  });

  it("lets two stores on one file see each other's writes", async () => {
    const a = open();
    const b = open();
    const stream = await openStream(a, 'str_1');
    const first = stream.many(2);
    await a.journal.commit([{ records: first }]);
    expect(await b.journal.readStream('str_1', 1, 10)).toEqual(first);

    const next = stream.next();
    await b.journal.commit([{ records: [next] }]);
    expect(await a.journal.head('str_1')).toEqual({ seq: 3, hash: next.hash });
    // The continuity check reads the stored head, so a store with a stale view cannot fork the stream.
    const stale = new StreamBuilder('str_1');
    stale.many(2);
    await expect(a.journal.commit([{ records: [stale.next({ data: { fork: true } })] }])).rejects.toBeInstanceOf(StreamConflictError);
  });

  it('migrates once: reopening, and opening twice at once, leave the schema as it is', async () => {
    const a = open();
    const b = open();
    await a.journal.createStream(streamInfo('str_1'));
    await a.close();
    const c = open();
    expect(raw().pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(await b.journal.listStreams()).toHaveLength(1);
    expect(await c.journal.listStreams()).toHaveLength(1);
  });

  it('refuses a file written by a newer schema', () => {
    open();
    raw().pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    expect(() => open()).toThrow(/newer/);
  });

  it('reports a held lock as unavailable after the busy timeout, without SQL in the message', async () => {
    const store = open(50);
    const stream = await openStream(store, 'str_1');
    const locker = raw();
    locker.exec('BEGIN IMMEDIATE');
    const failure = await store.journal.commit([{ records: [stream.next()] }]).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(StoreUnavailableError);
    expect((failure as Error).message).toMatch(/SQLITE_BUSY/);
    expect((failure as Error).message).not.toMatch(/INSERT|SELECT|journal \(/i);
    locker.exec('COMMIT');

    const retry = new StreamBuilder('str_1').next();
    await store.journal.commit([{ records: [retry] }]);
    expect(await store.journal.head('str_1')).toEqual({ seq: 1, hash: retry.hash });
  });

  it('reports a file that cannot be opened as unavailable', () => {
    expect(() => openSqliteStore({ path: join(dir, 'missing', 'paylog.db') })).toThrow(StoreUnavailableError);
  });
});

/**
 * The store's writes run on a worker thread, group-committed: what is queued in one turn of
 * the event loop shares one transaction. These tests hold the promises that makes: a failed
 * write fails alone, a failed commit fails everyone, nothing resolves before it is durable,
 * and an idle store never keeps a process alive.
 */
describe('SQLite group commit on the write thread', () => {
  it('commits writes of one turn together; each is visible to another connection once it resolves', async () => {
    const store = open();
    const stream = await openStream(store, 'str_1');
    const db = raw();
    const count = (sql: string): number => (db.prepare(sql).pluck().get() as number);

    // Issued together, without awaiting in between: one batch.
    const writes = [
      store.journal.commit([stream.paymentUnit(payment(1))]),
      ...Array.from({ length: 20 }, (_, i) => store.idempotency.claim(claim(0, { key: `key-${i}` }))),
      store.gatewayLedger.recordCall({
        gatewayKey: 'txn_1', amount: 100, currency: 'USD', at: 'now', settleFromCall: 1,
        settle: { outcome: 'approved', code: null, declineCode: null, authorizationCode: 'auth_1' },
      }),
    ];
    expect(count('SELECT count(*) FROM idempotency')).toBe(0); // nothing before the commit
    const results = await Promise.all(writes);
    expect(results.slice(1, 21)).toEqual(Array.from({ length: 20 }, () => ({ kind: 'claimed' })));
    expect(count('SELECT count(*) FROM idempotency')).toBe(20);
    expect(count('SELECT count(*) FROM journal')).toBe(1);
    expect(count('SELECT count(*) FROM payments')).toBe(1);
    expect(count('SELECT count(*) FROM gateway_ledger')).toBe(1);
  });

  it('lets claims of one batch see each other: exactly one of 50 racing claims on a key wins', async () => {
    const store = open();
    const results = await Promise.all(Array.from({ length: 50 }, () => store.idempotency.claim(claim(0))));
    expect(results.filter((r) => r.kind === 'claimed')).toHaveLength(1);
    expect(results.filter((r) => r.kind === 'in_flight')).toHaveLength(49);
  });

  it('fails a journal commit that conflicts alone: none of its rows land, the rest of the batch does', async () => {
    const store = open();
    const stream = await openStream(store, 'str_1');
    const stale = new StreamBuilder('str_1');
    const good = stream.many(3);
    const forked = stale.many(2); // seq 1 and 2 again, linked differently once `good` lands first
    const [first, second, claimed] = await Promise.allSettled([
      store.journal.commit([{ records: good }]),
      store.journal.commit([{ records: [...forked] }, { records: [stale.next()], payment: payment(7) }]),
      store.idempotency.claim(claim(0)),
    ]);
    expect(first.status).toBe('fulfilled');
    expect(second.status).toBe('rejected');
    expect((second as PromiseRejectedResult).reason).toBeInstanceOf(StreamConflictError);
    expect(claimed).toEqual({ status: 'fulfilled', value: { kind: 'claimed' } });
    expect(await store.journal.readStream('str_1', 1, 10)).toEqual(good);
    expect(await store.payments.get('acme', payment(7).id)).toBeNull();
    expect(await store.idempotency.claim(claim(1))).toEqual({ kind: 'in_flight' });
  });

  it('rejects every write of a batch whose transaction cannot run, then recovers', async () => {
    const store = open(50);
    const stream = await openStream(store, 'str_1');
    const holder = raw();
    holder.exec('BEGIN IMMEDIATE'); // another process holds the write lock past the busy timeout
    const outcomes = await Promise.allSettled([
      store.journal.commit([{ records: [stream.next()] }]),
      store.idempotency.claim(claim(0)),
    ]);
    for (const outcome of outcomes) {
      expect(outcome.status).toBe('rejected');
      expect((outcome as PromiseRejectedResult).reason).toBeInstanceOf(StoreUnavailableError);
      expect(String((outcome as PromiseRejectedResult).reason)).not.toMatch(/INSERT|SELECT|idempotency \(/);
    }
    holder.exec('ROLLBACK');
    expect(await store.idempotency.claim(claim(0))).toEqual({ kind: 'claimed' });
    expect(await store.journal.head('str_1')).toBeNull();
  });

  it('with batchWritesMax 1 commits each write alone, in order, with the same answers', async () => {
    const store = openSqliteStore({ path, batchWritesMax: 1 });
    opened.push(store);
    const stream = await openStream(store, 'str_1');
    const [journal, ...claims] = await Promise.all([
      store.journal.commit([{ records: stream.many(3) }]),
      ...Array.from({ length: 20 }, () => store.idempotency.claim(claim(0))),
    ]);
    expect(journal).toBeUndefined();
    expect(claims.map((c) => c.kind)).toEqual(['claimed', ...Array.from({ length: 19 }, () => 'in_flight')]);
    expect(await store.journal.head('str_1')).toMatchObject({ seq: 3 });
    expect(() => openSqliteStore({ path, batchWritesMax: 0 })).toThrow(RangeError);
  });

  it('a write thread that dies fails what it held and everything after, and says why', async () => {
    await open().close(); // creates the schema
    const thread = new SqliteWriteThread({ path, busyTimeoutMs: 1_000 });
    opened.push(thread);
    expect(thread.failure).toBeNull();
    expect(await thread.write({ kind: 'claim', claim: claim(0) })).toEqual({ kind: 'claimed' });
    const held = thread.write({ kind: 'claim', claim: claim(0, { key: 'other' }) });
    await (thread as unknown as { worker: Worker }).worker.terminate();
    await expect(held).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(thread.write({ kind: 'release', merchantId: 'acme', key: 'key-1' })).rejects.toThrow(/write thread stopped/);
    expect(thread.failure?.message).toMatch(/write thread stopped/);
  });

  it('close lets the batch in flight finish and refuses later writes', async () => {
    const store = open();
    const claimed = store.idempotency.claim(claim(0));
    const closing = store.close();
    await expect(claimed).resolves.toEqual({ kind: 'claimed' });
    await closing;
    await expect(store.idempotency.claim(claim(0, { key: 'other' }))).rejects.toBeInstanceOf(StoreUnavailableError);
    const db = raw();
    expect(db.prepare('SELECT count(*) FROM idempotency').pluck().get()).toBe(1);
  });

  it('does not keep a process alive once idle, even unclosed, and a pending write keeps it alive until durable', () => {
    // Runs the built store (a worker thread cannot load TypeScript), as `npm test` builds first.
    const store = pathToFileURL(join(process.cwd(), 'dist/adapters/store/sqlite/index.js')).href;
    const script = `
      const { openSqliteStore } = await import(${JSON.stringify(store)});
      const s = openSqliteStore({ path: ${JSON.stringify(path)} });
      const r = await s.idempotency.claim({ merchantId: 'm', key: 'k', fingerprint: 'f', now: 'a', leaseExpiresAt: 'b', expiresAt: 'z' });
      process.stdout.write(r.kind);`;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
    expect(child.status, child.stderr).toBe(0);
    expect(child.stdout).toBe('claimed');
    const db = raw();
    expect(db.prepare('SELECT key FROM idempotency').pluck().all()).toEqual(['k']);
  });
});
