import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createPayment } from '../../src/app/create-payment.js';
import { startServices } from '../../src/compose/services.js';
import { loadConfig } from '../../src/config/config.js';
import { FAST_GATEWAY_ENV, paymentBody } from '../support/harness.js';
import { runPaylog } from '../support/process.js';
import type { PaymentRequest } from '../../src/core/payment.js';
import { dropTriggers } from '../support/sqlite-triggers.js';

describe('paylog verify on a tampered SQLite journal', () => {
  let dataDir: string;
  let env: Record<string, string>;
  let dbPath: string;
  let stream: string;

  beforeEach(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'paylog-tamper-'));
    dbPath = join(dataDir, 'paylog.db');
    env = { PAYLOG_DATA_DIR: dataDir };
    const services = await startServices(loadConfig({}, { ...FAST_GATEWAY_ENV, ...env }), { role: 'test' });
    stream = services.ctx.writer.streamId;
    const caller = { merchantId: 'acme', actor: 'key_test', origin: { requestId: 'req_test', traceId: null, ip: '127.0.0.1' } };
    for (let i = 0; i < 5; i++) {
      await createPayment(services.ctx, caller, paymentBody() as unknown as PaymentRequest, `key-${i}`);
    }
    await createPayment(services.ctx, caller, paymentBody() as unknown as PaymentRequest, 'tamper-me');
    await services.close();
  });
  afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

  it('an untouched journal verifies: exit 0', () => {
    const result = runPaylog(['verify'], env);
    expect(result.status, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toMatch(/1\/1 streams valid, 2\d records/);
  });

  it('one byte changed in the database file → exit 1 naming the stream and seq', () => {
    const db = new Database(dbPath, { readonly: true });
    const target = db.prepare("SELECT seq FROM journal WHERE type = 'payment.received' AND body LIKE '%tamper-me%'").get() as { seq: number };
    db.close();
    const bytes = readFileSync(dbPath);
    const marker = Buffer.from('"idempotencyKey":"tamper-me"');
    const at = bytes.indexOf(marker);
    expect(at).toBeGreaterThan(0);
    expect(bytes.indexOf(marker, at + 1)).toBe(-1);
    bytes[at + marker.length - 2] = 'E'.charCodeAt(0); // tamper-me → tamper-mE
    writeFileSync(dbPath, bytes);

    const result = runPaylog(['verify'], env);
    expect(result.status, result.stdout + result.stderr).toBe(1);
    expect(result.stdout).toContain(`INVALID: stream ${stream} seq ${target.seq}: modified`);
    expect(result.stdout).toMatch(/0\/1 streams valid/);
  });

  it('a record deleted behind the append-only trigger → exit 1, missing seq named', () => {
    const db = new Database(dbPath);
    expect(() => db.prepare('DELETE FROM journal WHERE seq = 4').run()).toThrow(/append-only/);
    dropTriggers(db);
    db.prepare('DELETE FROM journal WHERE seq = 4').run();
    db.close();
    const result = runPaylog(['verify', '--json'], env);
    expect(result.status).toBe(1);
    const report = JSON.parse(result.stdout) as { valid: boolean; problems: { stream: string; seq: number; kind: string }[] };
    expect(report.valid).toBe(false);
    expect(report.problems).toContainEqual(expect.objectContaining({ stream, seq: 4, kind: 'missing' }));
    // The signed checkpoint over the original records no longer matches what is left.
    expect(report.problems).toContainEqual(expect.objectContaining({ stream, kind: 'checkpoint_mismatch' }));
  });

  it('an export verifies on its own, and a modified export line fails', () => {
    const exported = runPaylog(['export'], env);
    expect(exported.status).toBe(0);
    const file = join(dataDir, 'export.jsonl');
    writeFileSync(file, exported.stdout);
    expect(runPaylog(['verify', '--file', file], env).status).toBe(0);
    writeFileSync(file, exported.stdout.replace('"amount":1099', '"amount":1098'));
    const result = runPaylog(['verify', '--file', file], env);
    expect(result.status).toBe(1);
    expect(result.stdout).toMatch(new RegExp(`INVALID: stream ${stream} seq \\d+: modified`));
  });

  it('a missing store file is "could not run": exit 2', () => {
    const result = runPaylog(['verify', '--file', join(dataDir, 'nope.jsonl')], env);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/^paylog: /);
  });
});
