import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FUTURE_YEAR } from '../support/harness.js';
import { startPostgresCluster } from '../support/postgres.js';
import { type ServerProcess, runPaylogAsync, startServerProcess, stopProcess } from '../support/process.js';

const INSTANCES = 3;
const CLIENTS = 18;
const LOAD_BEFORE_KILL_MS = 1_500;
const LOAD_AFTER_KILL_MS = 1_000;
/** A short key cache, so the revocation check waits it out quickly. */
const KEY_CACHE_MS = 250;
const CARDS = ['4242424242424242', '5555555555554444', '4000000000009995', '4000000005030004'];

describe('a fleet of paylog instances on one PostgreSQL', () => {
  let cluster: Awaited<ReturnType<typeof startPostgresCluster>>;
  let url: string;
  let shared: Record<string, string>;
  const dirs: string[] = [];

  beforeAll(async () => {
    cluster = await startPostgresCluster();
    url = await cluster.createDatabase('fleet');
    const keyDir = mkdtempSync(join(tmpdir(), 'paylog-fleet-keys-'));
    dirs.push(keyDir);
    const keyFile = join(keyDir, 'signing-key.pem');
    writeFileSync(keyFile, generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }) as string, { mode: 0o600 });
    // Every instance shares the store, the signing key and the fingerprint key; each has its own data dir.
    shared = {
      PAYLOG_STORE: url, PAYLOG_SIGNING_KEY_FILE: keyFile, PAYLOG_FINGERPRINT_KEY: randomBytes(32).toString('base64'),
      PAYLOG_RECONCILE_INTERVAL_MS: '0', PAYLOG_CHECKPOINT_INTERVAL_MS: '300', PAYLOG_STREAM_LEASE_MS: '1500', PAYLOG_GATEWAY_LATENCY_MS: '2',
      PAYLOG_API_KEY_CACHE_MS: String(KEY_CACHE_MS),
    };
  }, 60_000);
  afterAll(async () => {
    await cluster.destroy();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  const envFor = (): Record<string, string> => {
    const dir = mkdtempSync(join(tmpdir(), 'paylog-fleet-'));
    dirs.push(dir);
    return { ...shared, PAYLOG_DATA_DIR: dir };
  };

  it('duplicate keys across instances make one transaction each; a kill -9 loses nothing acknowledged; the journal verifies', async () => {
    const created = await runPaylogAsync(['keys', 'create', '--merchant', 'acme'], envFor());
    expect(created.status, created.stderr).toBe(0);
    const secret = created.stdout.trim().split('\n').pop() as string;

    const servers: ServerProcess[] = [];
    for (let i = 0; i < INSTANCES; i++) servers.push(await startServerProcess(envFor()));
    const alive = [true, true, true];
    const acked = new Map<string, Set<string>>(); // idempotency key → payment IDs answered
    let stop = false;

    const send = async (server: ServerProcess, key: string, number: string): Promise<void> => {
      try {
        const res = await fetch(`${server.url}/v1/payments`, {
          method: 'POST',
          headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json', 'idempotency-key': key },
          body: JSON.stringify({ amount: 700, currency: 'usd', paymentMethod: { type: 'card', card: { number, expMonth: 1, expYear: FUTURE_YEAR, cvc: '123' } } }),
        });
        const body = (await res.json()) as { id?: string; error?: { payment?: { id: string } } };
        const id = body.id ?? body.error?.payment?.id;
        if (id && [201, 202, 402, 503].includes(res.status)) {
          const ids = acked.get(key) ?? new Set<string>();
          ids.add(id);
          acked.set(key, ids);
        }
      } catch {
        // that instance died under us
      }
    };
    const client = async (n: number): Promise<void> => {
      for (let i = 0; !stop; i++) {
        const key = `fleet-${n}-${i}`;
        const number = CARDS[(n + i) % CARDS.length] as string;
        // The same key to two different instances at once.
        const a = servers[(n + i) % INSTANCES] as ServerProcess;
        const b = servers[(n + i + 1) % INSTANCES] as ServerProcess;
        await Promise.all([alive[(n + i) % INSTANCES] ? send(a, key, number) : null, alive[(n + i + 1) % INSTANCES] ? send(b, key, number) : null]);
      }
    };
    const clients = Array.from({ length: CLIENTS }, (_, n) => client(n));
    await new Promise((r) => setTimeout(r, LOAD_BEFORE_KILL_MS));
    alive[1] = false;
    await stopProcess((servers[1] as ServerProcess).child, 'SIGKILL');
    await new Promise((r) => setTimeout(r, LOAD_AFTER_KILL_MS));
    stop = true;
    await Promise.all(clients);
    expect(acked.size).toBeGreaterThan(30);

    // Exactly one transaction per key, whichever instance answered.
    for (const [key, ids] of acked) expect(ids.size, key).toBe(1);
    const db = new pg.Client({ connectionString: url });
    await db.connect();
    try {
      const received = await db.query<{ key: string; n: string }>(
        "SELECT body::json->'data'->>'idempotencyKey' AS key, count(*) AS n FROM journal WHERE type = 'payment.received' GROUP BY 1",
      );
      for (const row of received.rows) expect(Number(row.n), row.key).toBe(1);
      // Every acknowledged payment is readable from every surviving instance.
      for (const [, ids] of [...acked].slice(0, 40)) {
        const id = [...ids][0] as string;
        for (const server of [servers[0], servers[2]] as ServerProcess[]) {
          const res = await fetch(`${server.url}/v1/payments/${id}`, { headers: { authorization: `Bearer ${secret}` } });
          expect(res.status, id).toBe(200);
        }
      }

      // A key revoked through one process is refused by every instance once their key caches age out.
      const list = await runPaylogAsync(['keys', 'list', '--json'], envFor());
      const keyId = (JSON.parse(list.stdout) as { id: string }[])[0]?.id as string;
      expect((await runPaylogAsync(['keys', 'revoke', keyId], envFor())).status).toBe(0);
      await new Promise((r) => setTimeout(r, KEY_CACHE_MS));
      for (const server of [servers[0], servers[2]] as ServerProcess[]) {
        const res = await fetch(`${server.url}/v1/payments`, { headers: { authorization: `Bearer ${secret}` } });
        expect(res.status).toBe(401);
      }

    } finally {
      await db.end();
    }
    // The killed instance's stream is sealed by the next paylog process that starts once its
    // lease has lapsed (here the revoke command, or this new instance).
    await new Promise((r) => setTimeout(r, 1_700));
    const sealer = await startServerProcess(envFor());
    for (const server of [servers[0], servers[2], sealer] as ServerProcess[]) expect(await stopProcess(server.child, 'SIGTERM')).toBe(0);
    const check = new pg.Client({ connectionString: url });
    await check.connect();
    const states = await check.query<{ state: string; n: number }>('SELECT state, count(*)::int AS n FROM streams GROUP BY state');
    await check.end();
    expect(Object.fromEntries(states.rows.map((r) => [r.state, r.n]))).toMatchObject({ sealed: 1 });

    const verify = await runPaylogAsync(['verify', '--json'], envFor());
    expect(verify.status, verify.stdout + verify.stderr).toBe(0);
    const report = JSON.parse(verify.stdout) as { streams: { end: string }[] };
    expect(report.streams.filter((s) => s.end === 'sealed_after_crash')).toHaveLength(1);
    expect(report.streams.every((s) => s.end !== 'open')).toBe(true);
  }, 120_000);
});
