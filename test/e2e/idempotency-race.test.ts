import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningServer, startServer } from '../../src/runtimes/http/server.js';
import { loadConfig } from '../../src/config/config.js';
import { createApiKey } from '../../src/app/api-keys.js';
import { installAdapterWrappers } from '../../src/compose/adapter-wrappers.js';
import { Gate, gatedGateway } from '../support/gate.js';
import { FAST_GATEWAY_ENV, paymentBody } from '../support/harness.js';
import { waitFor } from '../support/wait.js';

interface Answer {
  id?: string;
  error?: { code: string; payment?: { id: string } };
}

const RACERS = 50;

describe('50 concurrent requests with one Idempotency-Key, over HTTP on SQLite', () => {
  let dataDir: string;
  let server: RunningServer;
  let secret: string;
  /** Holds the request that won the key at its gateway call (after the commit that claimed the key) until every other racer has been answered. */
  const gate = new Gate();

  beforeAll(async () => {
    installAdapterWrappers({ gateway: (gateway) => gatedGateway(gateway, gate) });
    dataDir = mkdtempSync(join(tmpdir(), 'paylog-race-'));
    server = await startServer(loadConfig({}, {
      ...FAST_GATEWAY_ENV, PAYLOG_DATA_DIR: dataDir, PAYLOG_PORT: '0',
      // The winner is held while 49 others are answered: its attempt timeout and gateway budget, counted from its start, must outlast that.
      PAYLOG_GATEWAY_ATTEMPT_TIMEOUT_MS: '10000', PAYLOG_GATEWAY_BUDGET_MS: '20000', PAYLOG_IDEMPOTENCY_LEASE_MS: '60000', PAYLOG_RATE_LIMIT: '0', PAYLOG_RECONCILE_INTERVAL_MS: '0',
    }));
    secret = (await createApiKey(server.services.ctx, server.services.system, 'acme', null)).secret;
  });
  afterAll(async () => {
    gate.open();
    installAdapterWrappers({});
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it.each([['4242424242424242', 201], ['4000000000009995', 402], ['4000000005030004', 201]])('card %s: exactly one transaction, the rest replays or 409s', async (number, status) => {
    const key = `race-${number.slice(-4)}`;
    const body = JSON.stringify(paymentBody(number));
    // The winner is held at its gateway call: every other racer arrives while it runs, and must get its 409.
    gate.close();
    let answered = 0;
    const racing = Promise.all(Array.from({ length: RACERS }, async () => {
      const res = await fetch(`${server.url}/v1/payments`, {
        method: 'POST', body,
        headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json', 'idempotency-key': key },
      });
      const answer = { status: res.status, replayed: res.headers.get('idempotent-replayed'), body: (await res.json()) as Answer };
      answered++;
      return answer;
    }));
    // Every racer is answered or held at the gateway (two held would be two winners: the checks below say so).
    await waitFor(() => `the racers (${answered} answered, ${gate.waiting} held)`, () => answered + gate.waiting === RACERS);
    gate.open();
    const results = await racing;
    const originals = results.filter((r) => r.status === status && r.replayed === null);
    const replays = results.filter((r) => r.status === status && r.replayed === 'true');
    const conflicts = results.filter((r) => r.status === 409);
    expect(originals, JSON.stringify(results.map((r) => [r.status, r.replayed, r.body.error?.code]))).toHaveLength(1);
    expect(originals.length + replays.length + conflicts.length).toBe(RACERS);
    expect(conflicts.length, 'every racer but the winner arrived while its charge was held').toBe(RACERS - 1);
    for (const c of conflicts) expect(c.body.error?.code).toBe('idempotency_key_in_use');
    const idOf = (r: { body: Answer }): string => r.body.id ?? r.body.error?.payment?.id ?? '';
    const ids = new Set([...originals, ...replays].map(idOf));
    expect(ids.size).toBe(1);
    const id = [...ids][0] as string;
    for (const r of replays) expect(r.body).toEqual(originals[0]?.body);

    // Exactly one payment.received in the journal carries this key.
    const records = await server.services.ctx.store.journal.readStream(server.services.ctx.writer.streamId, 1, 1_000_000);
    const received = records.filter((r) => r.type === 'payment.received' && r.data.idempotencyKey === key);
    expect(received.map((r) => r.resource)).toEqual([id]);
    expect(records.filter((r) => r.type === 'idempotency.conflict' && r.data.idempotencyKey === key)).toHaveLength(conflicts.length);
  });
});
