import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningServer, startServer } from '../../src/runtimes/http/server.js';
import { loadConfig } from '../../src/config/config.js';
import { createApiKey } from '../../src/app/api-keys.js';
import { FAST_GATEWAY_ENV, paymentBody } from '../support/harness.js';

interface Answer {
  id?: string;
  error?: { code: string; payment?: { id: string } };
}

const RACERS = 50;

describe('50 concurrent requests with one Idempotency-Key, over HTTP on SQLite', () => {
  let dataDir: string;
  let server: RunningServer;
  let secret: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'paylog-race-'));
    server = await startServer(loadConfig({}, {
      ...FAST_GATEWAY_ENV, PAYLOG_DATA_DIR: dataDir, PAYLOG_PORT: '0', PAYLOG_GATEWAY_LATENCY_MS: '20', PAYLOG_RATE_LIMIT: '0', PAYLOG_RECONCILE_INTERVAL_MS: '0',
    }));
    secret = (await createApiKey(server.services.ctx, server.services.system, 'acme', null)).secret;
  });
  afterAll(async () => {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it.each([['4242424242424242', 201], ['4000000000009995', 402], ['4000000005030004', 201]])('card %s: exactly one transaction, the rest replays or 409s', async (number, status) => {
    const key = `race-${number.slice(-4)}`;
    const body = JSON.stringify(paymentBody(number));
    const results = await Promise.all(Array.from({ length: RACERS }, async () => {
      const res = await fetch(`${server.url}/v1/payments`, {
        method: 'POST', body,
        headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json', 'idempotency-key': key },
      });
      return { status: res.status, replayed: res.headers.get('idempotent-replayed'), body: (await res.json()) as Answer };
    }));
    const originals = results.filter((r) => r.status === status && r.replayed === null);
    const replays = results.filter((r) => r.status === status && r.replayed === 'true');
    const conflicts = results.filter((r) => r.status === 409);
    expect(originals, JSON.stringify(results.map((r) => [r.status, r.replayed, r.body.error?.code]))).toHaveLength(1);
    expect(originals.length + replays.length + conflicts.length).toBe(RACERS);
    expect(conflicts.length).toBeGreaterThan(0);
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
