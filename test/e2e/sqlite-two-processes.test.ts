import { createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { paymentBody } from '../support/harness.js';
import { untilRefused } from '../support/api-keys.js';
import { createKeyWithCli } from '../support/cli.js';
import { type ServerProcess, runPaylog, startServerProcess, stopProcess } from '../support/process.js';

/**
 * Two `paylog serve` processes on one SQLite file: a small fleet without a coordinator.
 * Each writes its own stream; the idempotency claim and key revocation go through the
 * shared file, so both processes must agree on them.
 */

const RACERS = 40;
const RACE_KEY = 'two-processes-order-1';

interface Answer {
  status: number;
  replayed: string | null;
  body: { id?: string; status?: string; error?: { code?: string; payment?: { id: string } } };
}

/** A short key cache, so the revocation test waits it out quickly. */
const KEY_CACHE_MS = 250;

describe('two paylog serve processes on the same SQLite data dir', () => {
  let dataDir: string;
  let env: Record<string, string>;
  let servers: ServerProcess[] = [];
  let raceSecret: string;
  let revokeSecret: string;
  let revokeKeyId: string;
  let race: Answer[] = [];
  let revokedAnswers: { code?: string; status: number }[] = [];
  let exitCodes: (number | null)[] = [];

  function createKey(merchant: string): string {
    return createKeyWithCli(env, ['--merchant', merchant]);
  }

  async function post(server: ServerProcess, secret: string, body: string, key: string): Promise<Answer> {
    const res = await fetch(`${server.url}/v1/payments`, {
      method: 'POST', body,
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json', 'idempotency-key': key },
    });
    return { status: res.status, replayed: res.headers.get('idempotent-replayed'), body: (await res.json()) as Answer['body'] };
  }

  async function list(server: ServerProcess, secret: string): Promise<{ status: number; code?: string }> {
    const res = await fetch(`${server.url}/v1/payments?limit=1`, { headers: { authorization: `Bearer ${secret}` } });
    const body = (await res.json()) as { error?: { code?: string } };
    return { status: res.status, ...(body.error?.code !== undefined && { code: body.error.code }) };
  }

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'paylog-two-'));
    // A gateway that takes a moment, so the racing requests overlap the first one's charge.
    env = {
      PAYLOG_DATA_DIR: dataDir, PAYLOG_RECONCILE_INTERVAL_MS: '0', PAYLOG_GATEWAY_LATENCY_MS: '25', PAYLOG_RATE_LIMIT: '0',
      PAYLOG_API_KEY_CACHE_MS: String(KEY_CACHE_MS),
    };
    raceSecret = createKey('acme');
    revokeSecret = createKey('globex');
    const listed = JSON.parse(runPaylog(['keys', 'list', '--json'], env).stdout) as { id: string; merchantId: string }[];
    revokeKeyId = listed.find((k) => k.merchantId === 'globex')?.id as string;
    servers = await Promise.all([startServerProcess(env), startServerProcess(env)]);

    try {
      // One Idempotency-Key, one body, spread over both processes at once.
      const body = JSON.stringify(paymentBody('4242424242424242'));
      race = await Promise.all(Array.from({ length: RACERS }, (_, i) => post(servers[i % 2] as ServerProcess, raceSecret, body, RACE_KEY)));

      // The key to be revoked works on both, then `paylog keys revoke` runs while both serve.
      for (const server of servers) expect(await list(server, revokeSecret)).toEqual({ status: 200 });
      const revoked = runPaylog(['keys', 'revoke', revokeKeyId], env);
      expect(revoked.status, revoked.stderr).toBe(0);
      // Each server trusts the key it looked up for at most PAYLOG_API_KEY_CACHE_MS, then refuses it.
      revokedAnswers = await Promise.all(servers.map((server) => untilRefused(server.url, revokeSecret)));
      // The other merchant's key is unaffected.
      for (const server of servers) expect(await list(server, raceSecret)).toEqual({ status: 200 });
    } finally {
      exitCodes = await Promise.all(servers.map((s) => stopProcess(s.child, 'SIGTERM')));
    }
  }, 60_000);
  afterAll(async () => {
    for (const s of servers) await stopProcess(s.child, 'SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('both servers shut down cleanly on SIGTERM', () => {
    expect(exitCodes).toEqual([0, 0]);
  });

  it('40 concurrent requests with one Idempotency-Key create exactly one transaction; the rest replay it or get 409', () => {
    const summary = JSON.stringify(race.map((r) => [r.status, r.replayed, r.body.error?.code]));
    const originals = race.filter((r) => r.status === 201 && r.replayed === null);
    const replays = race.filter((r) => r.status === 201 && r.replayed === 'true');
    const conflicts = race.filter((r) => r.status === 409);
    expect(originals, summary).toHaveLength(1);
    expect(originals.length + replays.length + conflicts.length, summary).toBe(RACERS);
    for (const c of conflicts) expect(c.body.error?.code).toBe('idempotency_key_in_use');
    const original = originals[0] as Answer;
    expect(original.body).toMatchObject({ status: 'succeeded', id: expect.stringMatching(/^txn_/) });
    for (const r of replays) expect(r.body).toEqual(original.body);

    const db = new Database(join(dataDir, 'paylog.db'), { readonly: true });
    try {
      const received = db.prepare(
        "SELECT resource, stream FROM journal WHERE type = 'payment.received' AND json_extract(body, '$.data.idempotencyKey') = ?",
      ).all(RACE_KEY) as { resource: string; stream: string }[];
      expect(received.map((r) => r.resource)).toEqual([original.body.id]);
      expect((db.prepare("SELECT count(*) AS n FROM journal WHERE type = 'payment.received'").get() as { n: number }).n).toBe(1);
      expect((db.prepare('SELECT count(*) AS n FROM payments').get() as { n: number }).n).toBe(1);
      // Every request was journaled by the process that answered it, in that process's own stream.
      const serveStreams = (db.prepare("SELECT stream FROM journal WHERE type = 'journal.started' AND json_extract(body, '$.data.role') = 'serve'").pluck().all() as string[]);
      expect(serveStreams).toHaveLength(2);
      const byStream = db.prepare(
        "SELECT stream, type, count(*) AS n FROM journal WHERE json_extract(body, '$.data.idempotencyKey') = ? GROUP BY stream, type",
      ).all(RACE_KEY) as { stream: string; type: string; n: number }[];
      const count = (type: string): number => byStream.filter((r) => r.type === type).reduce((n, r) => n + r.n, 0);
      expect(count('idempotency.replayed')).toBe(replays.length);
      expect(count('idempotency.conflict')).toBe(conflicts.length);
      expect(new Set(byStream.map((r) => r.stream))).toEqual(new Set(serveStreams));
      // Stores keep an HMAC of the key under the data dir's fingerprint key, never the key itself.
      const fingerprintKey = Buffer.from(readFileSync(join(dataDir, 'fingerprint.key'), 'utf8').trim(), 'base64');
      const storedKey = createHmac('sha256', fingerprintKey).update('paylog/idempotency-key\0').update(RACE_KEY).digest('hex');
      const row = db.prepare('SELECT payment_id AS paymentId, response IS NOT NULL AS stored FROM idempotency WHERE merchant_id = ? AND key = ?').get('acme', storedKey);
      expect(row).toEqual({ paymentId: original.body.id, stored: 1 });
      expect((db.prepare('SELECT count(*) AS n FROM idempotency WHERE key = ?').get(RACE_KEY) as { n: number }).n).toBe(0);
    } finally {
      db.close();
    }
  });

  it('a key revoked with `paylog keys revoke` while both run is refused by both within PAYLOG_API_KEY_CACHE_MS (401 api_key_revoked)', () => {
    expect(revokedAnswers).toEqual([{ status: 401, code: 'api_key_revoked' }, { status: 401, code: 'api_key_revoked' }]);
    const db = new Database(join(dataDir, 'paylog.db'), { readonly: true });
    try {
      const failed = db.prepare("SELECT stream, json_extract(body, '$.actor') AS actor, json_extract(body, '$.reason') AS reason FROM journal WHERE type = 'auth.failed'").all() as { stream: string; actor: string; reason: string }[];
      expect(failed).toHaveLength(2);
      expect(new Set(failed.map((f) => f.stream)).size).toBe(2);
      for (const f of failed) expect(f).toMatchObject({ actor: revokeKeyId, reason: 'api_key_revoked' });
    } finally {
      db.close();
    }
  });

  it('afterwards `paylog verify` exits 0 over every stream, both servers’ included', () => {
    const text = runPaylog(['verify'], env);
    expect(text.status, text.stdout + text.stderr).toBe(0);
    const summary = /(\d+)\/(\d+) streams valid/.exec(text.stdout);
    expect(summary, text.stdout).not.toBeNull();
    expect(summary?.[1]).toBe(summary?.[2]);
    // keys create ×2, keys revoke, and the two servers.
    expect(Number(summary?.[2])).toBeGreaterThanOrEqual(5);

    const json = runPaylog(['verify', '--json'], env);
    expect(json.status).toBe(0);
    const report = JSON.parse(json.stdout) as { valid: boolean; streams: { stream: string; stopped: boolean; valid: boolean }[] };
    expect(report.valid).toBe(true);
    expect(report.streams.length).toBeGreaterThanOrEqual(5);
    for (const s of report.streams) expect(s).toMatchObject({ stopped: true, valid: true });
  });
});
