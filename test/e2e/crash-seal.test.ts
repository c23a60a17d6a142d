import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AuditRecord, sealRecord } from '../../src/core/audit-record.js';
import { MerkleFrontier } from '../../src/core/merkle.js';
import { paymentBody } from '../support/harness.js';
import { createKeyWithCli } from '../support/cli.js';
import { type ServerProcess, runPaylog, startServerProcess, stopProcess } from '../support/process.js';
import { dropTriggers } from '../support/sqlite-triggers.js';

/**
 * A `paylog serve` killed with SIGKILL leaves its stream open, without journal.stopped or a
 * final checkpoint. Once its lease lapses, the next writer seals it with a signed checkpoint
 * over what is there and records journal.sealed in its own stream; anything appended to the
 * sealed stream afterwards — even perfectly hash-chained — is reported.
 */

const LEASE_MS = 1000;
const WAIT_DEADLINE_MS = 15_000;

interface Report {
  valid: boolean;
  streams: { stream: string; records: number; lastSeq: number; end: string; valid: boolean }[];
  problems: { stream: string; seq: number | null; kind: string; message: string }[];
}

interface StreamRow {
  id: string;
  state: string;
  closed_by: string | null;
  lease_expires_at: string;
}

describe('a crashed writer’s stream is sealed by the next writer', () => {
  let dataDir: string;
  let dbPath: string;
  let env: Record<string, string>;
  let secret: string;
  let vkey: string;
  let first: ServerProcess | null = null;
  let second: ServerProcess | null = null;

  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'paylog-seal-'));
    dbPath = join(dataDir, 'paylog.db');
    env = {
      PAYLOG_DATA_DIR: dataDir,
      PAYLOG_CHECKPOINT_INTERVAL_MS: '200',
      PAYLOG_STREAM_LEASE_MS: String(LEASE_MS),
      PAYLOG_RECONCILE_INTERVAL_MS: '0',
    };
    secret = createKeyWithCli(env);
    const pub = runPaylog(['keys', 'public'], env);
    expect(pub.status, pub.stderr).toBe(0);
    vkey = pub.stdout.trim();
  });
  afterAll(async () => {
    for (const server of [first, second]) if (server) await stopProcess(server.child, 'SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  function paylog(args: string[]) {
    return runPaylog(args, env);
  }

  function verifyJson(extra: string[] = []): { status: number | null; report: Report; stdout: string } {
    const result = paylog(['verify', '--key', vkey, '--json', ...extra]);
    expect(result.stderr).not.toMatch(/could not|Error/);
    return { status: result.status, report: JSON.parse(result.stdout) as Report, stdout: result.stdout };
  }

  async function pay(server: ServerProcess, key: string): Promise<{ id: string; audit: { stream: string; seq: number } }> {
    const res = await fetch(`${server.url}/v1/payments`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json', 'idempotency-key': key },
      body: JSON.stringify(paymentBody()),
    });
    expect(res.status).toBe(201);
    return (await res.json()) as { id: string; audit: { stream: string; seq: number } };
  }

  function readonly<T>(query: (db: Database.Database) => T): T {
    const db = new Database(dbPath, { readonly: true });
    try {
      return query(db);
    } finally {
      db.close();
    }
  }

  function streamRow(id: string): StreamRow {
    return readonly((db) => db.prepare('SELECT id, state, closed_by, lease_expires_at FROM streams WHERE id = ?').get(id) as StreamRow);
  }

  function records(stream: string): AuditRecord[] {
    return readonly((db) => (db.prepare('SELECT body FROM journal WHERE stream = ? ORDER BY seq').pluck().all(stream) as string[]).map((b) => JSON.parse(b) as AuditRecord));
  }

  it('kill -9 → open and valid; after the lease, sealed by the next serve; a record appended after the seal is caught', async () => {
    // 1. A server takes payments, then dies without a chance to close its stream.
    first = await startServerProcess(env);
    const payments = [];
    for (let i = 0; i < 3; i++) payments.push(await pay(first, `crash-${i}`));
    const killed = payments[0]?.audit.stream as string;
    expect(payments.every((p) => p.audit.stream === killed)).toBe(true);
    await stopProcess(first.child, 'SIGKILL');
    first = null;

    const killedRecords = records(killed);
    const size = killedRecords.length;
    expect(size).toBeGreaterThanOrEqual(payments[2]?.audit.seq as number);
    expect(killedRecords.map((r) => r.type)).not.toContain('journal.stopped');
    expect(streamRow(killed).state).toBe('open');

    // 2. Right away: everything it committed verifies; its stream is reported open.
    const afterCrash = verifyJson();
    expect(afterCrash.status, afterCrash.stdout).toBe(0);
    expect(afterCrash.report.streams.find((s) => s.stream === killed)).toMatchObject({ end: 'open', valid: true, records: size });

    // …but an open stream with no fresh checkpoint is what a dead writer looks like.
    const strict = verifyJson(['--max-checkpoint-age', '1ms']);
    expect(strict.status, strict.stdout).toBe(1);
    expect(strict.report.problems.length).toBeGreaterThan(0);
    expect(strict.report.problems).toEqual(strict.report.problems.map(() => expect.objectContaining({ stream: killed, kind: 'stale' })));
    const strictText = paylog(['verify', '--key', vkey, '--max-checkpoint-age', '1ms']);
    expect(strictText.status).toBe(1);
    expect(strictText.stdout).toContain(`INVALID: stream ${killed}: stale`);

    // 3. Once its lease has lapsed, the next writer to start seals it.
    const leaseExpiresAt = Date.parse(streamRow(killed).lease_expires_at);
    expect(leaseExpiresAt).toBeGreaterThan(0);
    const deadline = Date.now() + WAIT_DEADLINE_MS;
    while (Date.now() <= leaseExpiresAt + 20) {
      expect(Date.now(), 'the lease should lapse within the wait deadline').toBeLessThan(deadline);
      await new Promise((r) => setTimeout(r, 50));
    }
    second = await startServerProcess(env);
    const sealer = (await pay(second, 'after-crash')).audit.stream;
    expect(sealer).not.toBe(killed);
    expect(await stopProcess(second.child, 'SIGTERM')).toBe(0);
    second = null;

    expect(streamRow(killed)).toMatchObject({ state: 'sealed', closed_by: sealer });
    const seals = readonly((db) => db.prepare("SELECT stream, body FROM journal WHERE type = 'journal.sealed'").all() as { stream: string; body: string }[]);
    expect(seals).toHaveLength(1);
    expect(seals[0]?.stream).toBe(sealer);
    const seal = JSON.parse(seals[0]?.body as string) as AuditRecord;
    const tree = new MerkleFrontier();
    for (const r of killedRecords) tree.push(Buffer.from(r.hash, 'hex'));
    expect(seal).toMatchObject({
      stream: sealer, resource: killed, outcome: 'success', reason: 'writer_lease_expired',
      data: { stream: killed, size, root: tree.root().toString('hex') },
    });
    expect(String(seal.data.note)).toMatch(new RegExp(`^paylog-local/${killed}\\n${size}\\n`));
    expect(records(killed)).toHaveLength(size); // sealing adds nothing to the dead stream itself
    const stored = readonly((db) => db.prepare('SELECT size FROM checkpoints WHERE stream = ? ORDER BY size DESC LIMIT 1').get(killed) as { size: number });
    expect(stored.size).toBe(size);

    const sealed = verifyJson();
    expect(sealed.status, sealed.stdout).toBe(0);
    expect(sealed.report.streams.find((s) => s.stream === killed)).toMatchObject({ end: 'sealed_after_crash', valid: true, records: size });
    expect(sealed.report.streams.find((s) => s.stream === sealer)).toMatchObject({ end: 'stopped', valid: true });
    // A sealed stream is closed, not stale; every other stream stopped cleanly.
    const sealedStrict = verifyJson(['--max-checkpoint-age', '1ms']);
    expect(sealedStrict.status, sealedStrict.stdout).toBe(0);

    // 4. Someone with write access appends a correctly chained record to the sealed stream.
    const last = killedRecords[size - 1] as AuditRecord;
    const forged = sealRecord(
      {
        type: 'payment.succeeded', actor: last.actor, origin: { requestId: 'req_forged', traceId: null, ip: '127.0.0.1' },
        resource: payments[0]?.id as string, outcome: 'success', reason: null, data: { amount: 1099, currency: 'USD' },
      },
      { journal: last.journal, stream: killed, seq: last.seq + 1, prev: last.hash, ts: new Date().toISOString() },
    );
    const db = new Database(dbPath);
    try {
      dropTriggers(db);
      db.prepare('INSERT INTO journal (stream, seq, hash, resource, type, ts, body) VALUES (?, ?, ?, ?, ?, ?, ?)')
        .run(forged.stream, forged.seq, forged.hash, forged.resource, forged.type, forged.ts, JSON.stringify(forged));
    } finally {
      db.close();
    }

    const tampered = paylog(['verify', '--key', vkey]);
    expect(tampered.status, tampered.stdout + tampered.stderr).toBe(1);
    expect(tampered.stdout).toContain(`INVALID: stream ${killed} seq ${size + 1}: appended after seal`);
    const report = verifyJson().report;
    // The forged record is a perfect link in the chain: only the seal gives it away.
    expect(report.problems).toEqual([expect.objectContaining({ stream: killed, seq: size + 1, kind: 'appended_after_seal' })]);
    expect(report.streams.filter((s) => !s.valid).map((s) => s.stream)).toEqual([killed]);
  });
});
