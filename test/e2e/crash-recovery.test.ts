import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAST_GATEWAY_ENV, FUTURE_YEAR } from '../support/harness.js';
import { type ServerProcess, runPaylog, startServerProcess, stopProcess } from '../support/process.js';

/** Cards cycled by the load: approvals, declines, a retry, and one that is left processing. */
const LOAD_CARDS = ['4242424242424242', '5555555555554444', '4000000000000002', '4000000005030004', '4000000004089993', '4242424242424241'];
const CLIENTS = 24;
const LOAD_BEFORE_KILL_MS = 1_500;
const ACKED_STATUSES = new Set([201, 202, 402, 503]);

describe('paylog serve survives kill -9 under load', () => {
  let dataDir: string;
  let env: Record<string, string>;
  let secret: string;

  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'paylog-e2e-'));
    env = { PAYLOG_DATA_DIR: dataDir, PAYLOG_RECONCILE_INTERVAL_MS: '0' };
    const created = runPaylog(['keys', 'create', '--merchant', 'acme'], env);
    expect(created.status, created.stderr).toBe(0);
    secret = created.stdout.trim().split('\n').pop() as string;
    expect(secret).toMatch(/^sk_test_/);
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('keeps every acknowledged payment, verifies, and reconciles what was left processing', async () => {
    let server: ServerProcess = await startServerProcess(env);
    const acked = new Map<string, { status: number; paymentStatus: string }>();
    let stop = false;
    let sent = 0;

    const client = async (n: number): Promise<void> => {
      for (let i = 0; !stop; i++) {
        const number = LOAD_CARDS[(n + i) % LOAD_CARDS.length] as string;
        sent++;
        try {
          const res = await fetch(`${server.url}/v1/payments`, {
            method: 'POST',
            headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json', 'idempotency-key': `c${n}-${i}` },
            body: JSON.stringify({ amount: 500 + i, currency: 'eur', paymentMethod: { type: 'card', card: { number, expMonth: 1, expYear: FUTURE_YEAR, cvc: '123' } } }),
          });
          const body = (await res.json()) as { id?: string; status?: string; error?: { payment?: { id: string; status: string } } };
          const payment = body.error?.payment ?? body;
          if (ACKED_STATUSES.has(res.status) && payment.id) acked.set(payment.id, { status: res.status, paymentStatus: payment.status as string });
        } catch {
          return; // the server died under us
        }
      }
    };
    const clients = Array.from({ length: CLIENTS }, (_, n) => client(n));
    await new Promise((r) => setTimeout(r, LOAD_BEFORE_KILL_MS));
    await stopProcess(server.child, 'SIGKILL');
    stop = true;
    await Promise.all(clients);
    expect(acked.size).toBeGreaterThan(20);
    expect(sent).toBeGreaterThan(acked.size);

    // The journal of the killed process is intact up to its last commit.
    const afterCrash = runPaylog(['verify'], env);
    expect(afterCrash.stdout + afterCrash.stderr).toMatch(/streams valid/);
    expect(afterCrash.status, afterCrash.stdout).toBe(0);

    server = await startServerProcess(env);
    try {
      for (const [id, ack] of acked) {
        const res = await fetch(`${server.url}/v1/payments/${id}`, { headers: { authorization: `Bearer ${secret}` } });
        expect(res.status, id).toBe(200);
        const payment = (await res.json()) as { status: string };
        expect(payment.status).toBe(ack.paymentStatus);
      }
    } finally {
      expect(await stopProcess(server.child, 'SIGTERM')).toBe(0);
    }

    const db = new Database(join(dataDir, 'paylog.db'), { readonly: true });
    const processingBefore = (db.prepare("SELECT count(*) AS n FROM payments WHERE status = 'processing'").get() as { n: number }).n;
    const newest = (db.prepare("SELECT max(updated_at) AS at FROM payments WHERE status = 'processing'").get() as { at: string }).at;
    db.close();
    expect(processingBefore).toBeGreaterThan(0);

    // Reconciliation waits out the gateway's whole retry budget: until the newest of them is that old.
    const budgetMs = Number(FAST_GATEWAY_ENV.PAYLOG_GATEWAY_BUDGET_MS);
    while (Date.now() <= Date.parse(newest) + budgetMs) await new Promise((resolve) => setTimeout(resolve, 20));
    const reconciled = runPaylog(['reconcile'], { ...env, PAYLOG_RECONCILE_AFTER_MS: String(budgetMs) });
    expect(reconciled.status, reconciled.stderr).toBe(0);
    expect(reconciled.stdout).toMatch(/Reconciled \d+ payments?/);

    const after = new Database(join(dataDir, 'paylog.db'), { readonly: true });
    const processingAfter = (after.prepare("SELECT count(*) AS n FROM payments WHERE status = 'processing'").get() as { n: number }).n;
    const stopped = after.prepare("SELECT count(*) AS n FROM journal WHERE type = 'journal.stopped'").get() as { n: number };
    after.close();
    expect(processingAfter).toBe(0);
    // keys create, the second server (SIGTERM) and reconcile each closed their stream; the killed one did not.
    expect(stopped.n).toBe(3);

    const final = runPaylog(['verify', '--json'], env);
    expect(final.status, final.stdout).toBe(0);
    const report = JSON.parse(final.stdout) as { valid: boolean; streams: { stopped: boolean }[] };
    expect(report.valid).toBe(true);
    expect(report.streams.filter((s) => !s.stopped)).toHaveLength(1);
  });
});
