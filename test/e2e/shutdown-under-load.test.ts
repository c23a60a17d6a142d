import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ANSWERS_LATE, LATE_CARDS_GATEWAY_ENV, PaymentLoad, RECONCILE_SOON_ENV, SHUTDOWN_OUTCOMES, checkSettled, merchantSecret, neverAnswersInHandler, unexpectedOutcomes,
  verifiedStreamEnds, waitUntilNothingProcessing,
} from '../support/payment-load.js';
import { type PostgresCluster, startPostgresCluster } from '../support/postgres.js';
import { runPaylogAsync, startServerProcess, stopProcess } from '../support/process.js';

/**
 * Issue 15, item 3: SIGTERM in the middle of a load run, with a shutdown timeout shorter than
 * the requests the late cards make (a gateway attempt times out after 1.5 s), so that shutdown
 * reaches its timeout with requests still running and cuts them off. Every request must have
 * got a true answer or none: a cut-off client gets 503 or a closed connection, never a 201 for
 * a payment that does not end succeeded. After a restart and reconciliation every payment is in
 * the state its journal records say, and the journal verifies.
 */

const SHUTDOWN_TIMEOUT_MS = 300;
const SETTLE_DEADLINE_MS = 30_000;
const CUT_OFF_LINE = 'shutdown timeout: requests still running are cut off';

const dirs: string[] = [];
let cluster: PostgresCluster | null = null;
afterAll(async () => {
  await cluster?.destroy();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** The `running` count of the server's cut-off log line, or null when it did not log one. */
function cutOffCount(output: string): number | null {
  for (const line of output.split('\n')) {
    if (!line.includes(CUT_OFF_LINE)) continue;
    return (JSON.parse(line) as { running: number }).running;
  }
  return null;
}

describe.each([
  { store: 'sqlite' },
  { store: 'postgres' },
])('SIGTERM under load on $store, with a shutdown timeout shorter than the running requests', ({ store }) => {
  it('cuts the running requests off without a false 201, and every payment ends as its journal says', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'paylog-shutdown-load-'));
    dirs.push(dataDir);
    const env: Record<string, string> = { ...LATE_CARDS_GATEWAY_ENV, PAYLOG_DATA_DIR: dataDir, PAYLOG_RATE_LIMIT: '0', PAYLOG_RECONCILE_INTERVAL_MS: '0' };
    if (store === 'postgres') {
      cluster ??= await startPostgresCluster();
      env.PAYLOG_STORE = await cluster.createDatabase('shutdown_load');
    }
    const secret = await merchantSecret(env);

    const server = await startServerProcess({ ...env, PAYLOG_SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS) });
    const load = new PaymentLoad({ url: server.url, secret, promptLoops: 6, lateLoops: 6 });
    // SIGTERM while "never answers" requests are in their handlers (sent a while ago, under way):
    // they run for two gateway attempt timeouts, far past the shutdown timeout.
    // By then every kind of answer has come: 201, 402, and 202 for an earlier "never answers".
    await load.until((rs) => rs.some((r) => r.outcome === 202) && rs.some((r) => r.outcome === 402)
      && rs.some((r) => r.card === ANSWERS_LATE && r.outcome === 201)
      && neverAnswersInHandler(rs));
    const code = await stopProcess(server.child, 'SIGTERM');
    await load.ended();

    expect(code, server.output()).toBe(0);
    const running = cutOffCount(server.output());
    expect(running, `the shutdown timeout was never reached:\n${server.output()}`).not.toBeNull();
    expect(running).toBeGreaterThan(0);
    // The cut-off requests did not keep the process running until they failed on the closed store.
    expect(server.output()).not.toMatch(/journal is closed|store is closed/);
    expect(unexpectedOutcomes(load.requests, SHUTDOWN_OUTCOMES), JSON.stringify(load.counts())).toEqual([]);
    // Each request cut off lost its connection (or, arriving while closing, got 503).
    const counts = load.counts();
    expect((counts['no answer'] ?? 0) + (counts['503'] ?? 0), JSON.stringify(counts)).toBeGreaterThanOrEqual(running as number);

    // The server shut down cleanly despite the cut-off: its stream ends with journal.stopped.
    const ends = (await verifiedStreamEnds(env)).map((s) => s.end);
    expect(ends, server.output()).toEqual(ends.map(() => 'stopped'));

    const restarted = await startServerProcess({ ...env, ...RECONCILE_SOON_ENV });
    try {
      await waitUntilNothingProcessing(restarted.url, secret, SETTLE_DEADLINE_MS);
      const settled = await checkSettled(restarted.url, secret, load.requests);
      expect(settled.violations, JSON.stringify({ counts, statuses: settled.statuses })).toEqual([]);
      // Each cut-off request's payment, and each answered 202, was left processing and settled by reconciliation.
      const reconciled = Object.values(settled.reconciledByStream).reduce((a, b) => a + b, 0);
      expect(reconciled).toBeGreaterThanOrEqual((running as number) + (counts['202'] ?? 0));
    } finally {
      expect(await stopProcess(restarted.child, 'SIGTERM'), restarted.output()).toBe(0);
    }
    const verify = await runPaylogAsync(['verify'], env);
    expect(verify.status, verify.stdout + verify.stderr).toBe(0);
  }, 120_000);
});
