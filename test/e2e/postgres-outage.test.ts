import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { paymentBody } from '../support/harness.js';
import { startPostgresCluster } from '../support/postgres.js';
import { createKeyWithCliAsync } from '../support/cli.js';
import { type ServerProcess, runPaylogAsync, startServerProcess, stopProcess } from '../support/process.js';

describe('the database going away under load', () => {
  let cluster: Awaited<ReturnType<typeof startPostgresCluster>>;
  let env: Record<string, string>;
  let dir: string;

  beforeAll(async () => {
    cluster = await startPostgresCluster();
    dir = mkdtempSync(join(tmpdir(), 'paylog-outage-'));
    env = { PAYLOG_STORE: await cluster.createDatabase('outage'), PAYLOG_DATA_DIR: dir, PAYLOG_RECONCILE_INTERVAL_MS: '0', PAYLOG_CHECKPOINT_INTERVAL_MS: '0' };
  }, 60_000);
  afterAll(async () => {
    await cluster.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('fails fast with 503 (never a false 201), reports not ready, and recovers by itself', async () => {
    const secret = await createKeyWithCliAsync(env);
    const server: ServerProcess = await startServerProcess(env);
    const pay = async (key: string): Promise<{ status: number; id: string | null }> => {
      const res = await fetch(`${server.url}/v1/payments`, {
        method: 'POST', body: JSON.stringify(paymentBody()),
        headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json', 'idempotency-key': key },
      });
      const body = (await res.json()) as { id?: string };
      return { status: res.status, id: body.id ?? null };
    };
    const before = await pay('before');
    expect(before.status).toBe(201);

    await cluster.stop();
    const during = await Promise.all(Array.from({ length: 10 }, (_, i) => pay(`during-${i}`)));
    for (const r of during) {
      // Even the key lookup needs the store: a valid key must get 503, never 401, and never a false 201.
      expect(r.status, JSON.stringify(r)).toBe(503);
    }
    expect((await fetch(`${server.url}/readyz`)).status).toBe(503);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);

    await cluster.start();
    let after = { status: 0, id: null as string | null };
    for (let attempt = 0; attempt < 50 && after.status !== 201; attempt++) {
      after = await pay(`after-${attempt}`);
      if (after.status !== 201) await new Promise((r) => setTimeout(r, 200));
    }
    expect(after.status).toBe(201);
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
    const read = await fetch(`${server.url}/v1/payments/${before.id}`, { headers: { authorization: `Bearer ${secret}` } });
    expect(read.status).toBe(200);

    expect(await stopProcess(server.child, 'SIGTERM')).toBe(0);
    const verify = await runPaylogAsync(['verify'], env);
    expect(verify.status, verify.stdout + verify.stderr).toBe(0);
  }, 120_000);
});
