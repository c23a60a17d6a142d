import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { untilRefused } from '../support/api-keys.js';
import { APPROVE, APPROVE_MASTERCARD, DECLINE_FUNDS, type Instance, LOAD_GATEWAY_ENV, LoadLog, RETRY, killMidLoad, runPairedLoad } from '../support/load.js';
import { freshDatabase } from '../support/postgres.js';
import { createKeyWithCliAsync } from '../support/cli.js';
import { type ServerProcess, runPaylogAsync, startServerProcess, stopProcess } from '../support/process.js';
import { waitUntil } from '../support/wait.js';

const INSTANCES = 3;
const CLIENTS = 18;
/** Acknowledged payments before the kill, and from the two survivors after it. */
const ACKED_BEFORE_KILL = 60;
const ACKED_AFTER_KILL = 40;
/** A short key cache, so the revocation check waits it out quickly. */
const KEY_CACHE_MS = 250;
/** A writer's lease on its stream: the killed instance's stream may be sealed this long after its death. */
const STREAM_LEASE_MS = 1_500;
const CARDS = [APPROVE, APPROVE_MASTERCARD, DECLINE_FUNDS, RETRY];

describe('a fleet of paylog instances on one PostgreSQL', () => {
  let url: string;
  let shared: Record<string, string>;
  const dirs: string[] = [];

  beforeAll(async () => {
    url = await freshDatabase(inject('postgresUrl'), 'fleet');
    const keyDir = mkdtempSync(join(tmpdir(), 'paylog-fleet-keys-'));
    dirs.push(keyDir);
    const keyFile = join(keyDir, 'signing-key.pem');
    writeFileSync(keyFile, generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }) as string, { mode: 0o600 });
    // Every instance shares the store, the signing key and the fingerprint key; each has its own data dir.
    shared = {
      PAYLOG_STORE: url, PAYLOG_SIGNING_KEY_FILE: keyFile, PAYLOG_FINGERPRINT_KEY: randomBytes(32).toString('base64'),
      PAYLOG_RECONCILE_INTERVAL_MS: '0', PAYLOG_CHECKPOINT_INTERVAL_MS: '300', PAYLOG_STREAM_LEASE_MS: String(STREAM_LEASE_MS), PAYLOG_GATEWAY_LATENCY_MS: '2',
      PAYLOG_API_KEY_CACHE_MS: String(KEY_CACHE_MS), ...LOAD_GATEWAY_ENV,
    };
  }, 60_000);
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  const envFor = (): Record<string, string> => {
    const dir = mkdtempSync(join(tmpdir(), 'paylog-fleet-'));
    dirs.push(dir);
    return { ...shared, PAYLOG_DATA_DIR: dir };
  };

  it('duplicate keys across instances make one transaction each; a kill -9 loses nothing acknowledged; the journal verifies', async () => {
    const secret = await createKeyWithCliAsync(envFor());

    const instances: Instance[] = [];
    for (let i = 0; i < INSTANCES; i++) instances.push({ name: `i${i}`, server: await startServerProcess(envFor()), killed: false });
    const [first, victim, third] = instances as [Instance, Instance, Instance];
    const log = new LoadLog(secret);
    // The same key to two different instances at once: one answers with the payment, the other
    // with its replay or 409 idempotency_key_in_use. Anything else fails the test, as does a
    // network error from an instance nobody killed.
    const load = runPairedLoad(log, instances, CLIENTS, CARDS, () => 700);
    // Exactly one transaction per key, whichever instance answered.
    const killedAt = await killMidLoad(log, load, victim, (l) => l.count() >= ACKED_BEFORE_KILL, ACKED_AFTER_KILL);
    const db = new pg.Client({ connectionString: url });
    await db.connect();
    try {
      const received = await db.query<{ key: string; n: string }>(
        "SELECT body::json->'data'->>'idempotencyKey' AS key, count(*) AS n FROM journal WHERE type = 'payment.received' GROUP BY 1",
      );
      for (const row of received.rows) expect(Number(row.n), row.key).toBe(1);
    } finally {
      await db.end();
    }
    // Every acknowledged payment is readable, as acknowledged, from every surviving instance.
    for (const instance of [first, third]) await log.expectAcknowledgedKept(instance.server);

    // A key revoked through one process is refused by every instance once their key caches age out.
    const list = await runPaylogAsync(['keys', 'list', '--json'], envFor());
    const keyId = (JSON.parse(list.stdout) as { id: string }[])[0]?.id as string;
    expect((await runPaylogAsync(['keys', 'revoke', keyId], envFor())).status).toBe(0);
    for (const instance of [first, third]) expect(await untilRefused(instance.server.url, secret)).toMatchObject({ status: 401 });

    // The killed instance's stream is sealed by the next paylog process that starts once its
    // lease has lapsed (here the revoke command, or this new instance).
    await waitUntil(killedAt + STREAM_LEASE_MS);
    const sealer = await startServerProcess(envFor());
    for (const server of [first.server, third.server, sealer] as ServerProcess[]) expect(await stopProcess(server.child, 'SIGTERM')).toBe(0);
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
