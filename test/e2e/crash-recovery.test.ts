import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Instance, LOAD_CARDS, LOAD_GATEWAY_BUDGET_MS, LOAD_GATEWAY_ENV, LoadLog, killInstance, paymentJson, runLoad } from '../support/load.js';
import { waitUntil } from '../support/wait.js';
import { createKeyWithCli } from '../support/cli.js';
import { runPaylog, startServerProcess, stopProcess } from '../support/process.js';

const CLIENTS = 24;
/** Acknowledged payments before the kill, some of them left processing by the gateway. */
const ACKED_BEFORE_KILL = 60;

describe('paylog serve survives kill -9 under load', () => {
  let dataDir: string;
  let env: Record<string, string>;
  let secret: string;

  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'paylog-e2e-'));
    env = { PAYLOG_DATA_DIR: dataDir, PAYLOG_RECONCILE_INTERVAL_MS: '0', ...LOAD_GATEWAY_ENV };
    secret = createKeyWithCli(env);
    expect(secret).toMatch(/^sk_test_/);
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('keeps every acknowledged payment, verifies, and reconciles what was left processing', async () => {
    const victim: Instance = { name: 'first', server: await startServerProcess(env), killed: false };
    const log = new LoadLog(secret);
    // Every answer is counted; anything but the card's own answer (or a network error once the server is killed) fails the test.
    const load = runLoad(CLIENTS, (n, i) => {
      const card = LOAD_CARDS[(n + i) % LOAD_CARDS.length]!;
      return log.send(victim, `c${n}-${i}`, card, paymentJson(card, 500 + i));
    });
    await log.until((l) => l.count() >= ACKED_BEFORE_KILL && l.count((a) => a.paymentStatus === 'processing') > 0);
    await killInstance(victim);
    await load.stop();
    log.expectNothingUnexpected();
    expect(log.unanswered().length, log.summary()).toBeGreaterThan(0);

    // The journal of the killed process is intact up to its last commit.
    const afterCrash = runPaylog(['verify'], env);
    expect(afterCrash.stdout + afterCrash.stderr).toMatch(/streams valid/);
    expect(afterCrash.status, afterCrash.stdout).toBe(0);

    const server = await startServerProcess(env);
    try {
      await log.expectAcknowledgedKept(server);
    } finally {
      expect(await stopProcess(server.child, 'SIGTERM')).toBe(0);
    }

    const db = new Database(join(dataDir, 'paylog.db'), { readonly: true });
    const processingBefore = (db.prepare("SELECT count(*) AS n FROM payments WHERE status = 'processing'").get() as { n: number }).n;
    const newest = (db.prepare("SELECT max(updated_at) AS at FROM payments WHERE status = 'processing'").get() as { at: string }).at;
    db.close();
    expect(processingBefore).toBeGreaterThan(0);

    // Reconciliation waits out the gateway's whole retry budget: until the newest of them is that old.
    const budgetMs = LOAD_GATEWAY_BUDGET_MS;
    await waitUntil(Date.parse(newest) + budgetMs);
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
