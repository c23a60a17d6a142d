import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { createApiKey } from '../../src/app/api-keys.js';
import { installAdapterWrappers } from '../../src/compose/adapter-wrappers.js';
import { loadConfig } from '../../src/config/config.js';
import type { Store } from '../../src/ports/store.js';
import { type RunningServer, startServer } from '../../src/runtimes/http/server.js';
import { FAST_GATEWAY_ENV } from '../support/harness.js';
import { type Instance, LOAD_CARDS, LOAD_GATEWAY_ENV, LoadLog, paymentJson, runLoad } from '../support/load.js';

/**
 * The SQLite store's write thread, in a running `paylog serve` (in this process, so the test can
 * reach the thread and watch the main thread's statements): the request path's writes run on
 * it and never on the event loop's thread, and when it dies the server says it is not ready.
 */

const PAYMENTS = 120;

let dataDir: string | null = null;
let server: RunningServer | null = null;
afterEach(async () => {
  installAdapterWrappers({});
  await server?.stop().catch(() => undefined); // a server whose store died may fail to close it; the test has its answer
  server = null;
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  dataDir = null;
});

/** Starts a server on a fresh SQLite file; returns it with the store it opened (before any wrapping). */
async function start(): Promise<{ server: RunningServer; store: Store; secret: string }> {
  let opened: Store | null = null;
  installAdapterWrappers({ store: (store) => { opened = store; return store; } });
  dataDir = mkdtempSync(join(tmpdir(), 'paylog-write-thread-'));
  server = await startServer(loadConfig({}, {
    ...FAST_GATEWAY_ENV, ...LOAD_GATEWAY_ENV, PAYLOG_DATA_DIR: dataDir, PAYLOG_PORT: '0', PAYLOG_RATE_LIMIT: '0', PAYLOG_RECONCILE_INTERVAL_MS: '0',
  }));
  installAdapterWrappers({});
  const secret = (await createApiKey(server.services.ctx, server.services.system, 'acme', null)).secret;
  expect(opened).not.toBeNull();
  return { server, store: opened as unknown as Store, secret };
}

/** The worker thread of an open SQLite store (private: reached the way the store's own unit test does). */
function writeThreadOf(store: Store): Worker {
  const conn = (store.journal as unknown as { conn: { writes: { worker: Worker } } }).conn;
  return conn.writes.worker;
}

describe('paylog serve on SQLite: the write thread', () => {
  it('runs every write of a load of payments: the event loop\'s thread executes no statement that writes', async () => {
    const { server: running, secret } = await start();
    // Every statement executed on this (the main) thread from here on; the write thread loads its own copy of the module.
    const statement = Object.getPrototypeOf(new Database(':memory:').prepare('SELECT 1')) as Record<string, (...args: unknown[]) => unknown>;
    const database = Database.prototype as unknown as Record<string, (...args: unknown[]) => unknown>;
    const writes: string[] = [];
    const originals = { run: statement.run, get: statement.get, all: statement.all, iterate: statement.iterate, exec: database.exec, pragma: database.pragma };
    for (const method of ['run', 'get', 'all', 'iterate'] as const) {
      const original = originals[method] as (...args: unknown[]) => unknown;
      statement[method] = function (this: { readonly: boolean; source: string }, ...args: unknown[]) {
        if (!this.readonly) writes.push(this.source);
        return original.apply(this, args);
      };
    }
    database.exec = function (this: unknown, sql: unknown) { writes.push(`exec ${String(sql)}`); return (originals.exec as (...a: unknown[]) => unknown).call(this, sql); };
    database.pragma = function (this: unknown, ...args: unknown[]) {
      if (!/^\w+$/.test(String(args[0]))) writes.push(`pragma ${String(args[0])}`); // a bare name only reads the setting
      return (originals.pragma as (...a: unknown[]) => unknown).apply(this, args);
    };
    try {
      const instance: Instance = { name: 'in-process', server: { url: running.url } as Instance['server'], killed: false };
      const log = new LoadLog(secret);
      const load = runLoad(12, (n, i) => {
        const card = LOAD_CARDS[(n + i) % LOAD_CARDS.length]!;
        return log.send(instance, `w-${n}-${i}`, card, paymentJson(card, 100 + i));
      });
      await log.until((l) => l.count() >= PAYMENTS);
      await load.stop();
      log.expectNothingUnexpected();
    } finally {
      Object.assign(statement, { run: originals.run, get: originals.get, all: originals.all, iterate: originals.iterate });
      Object.assign(database, { exec: originals.exec, pragma: originals.pragma });
    }
    expect(writes).toEqual([]);
    // The writes did happen, durably, on the other thread.
    const db = new Database(join(dataDir as string, 'paylog.db'), { readonly: true });
    try {
      expect(db.prepare("SELECT count(*) FROM journal WHERE type = 'payment.received'").pluck().get()).toBeGreaterThanOrEqual(PAYMENTS);
    } finally {
      db.close();
    }
  });

  it('when it dies, /readyz answers 503 (and /healthz still 200), and payments fail as unavailable', async () => {
    const { server: running, store, secret } = await start();
    expect((await fetch(`${running.url}/readyz`)).status).toBe(200);
    await writeThreadOf(store).terminate();
    const ready = await fetch(`${running.url}/readyz`);
    expect(ready.status, await ready.text()).toBe(503);
    expect((await fetch(`${running.url}/healthz`)).status).toBe(200);
    const res = await fetch(`${running.url}/v1/payments`, {
      method: 'POST', body: paymentJson(LOAD_CARDS[0]!),
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json', 'idempotency-key': 'after-death' },
    });
    expect(res.status).toBe(503);
  });
});
