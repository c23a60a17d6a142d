import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPayment } from '../../src/app/create-payment.js';
import { startServices } from '../../src/compose/services.js';
import { loadConfig } from '../../src/config/config.js';
import type { PaymentRequest } from '../../src/core/payment.js';
import { FAST_GATEWAY_ENV, paymentBody } from '../support/harness.js';
import { runPaylog } from '../support/process.js';
import { dropTriggers } from '../support/sqlite-triggers.js';

/*
 * `paylog verify --jobs N` shares a store's streams among N worker threads: the report must be
 * the one a single pass gives, byte for byte, valid or not, and a thread that crashes must
 * fail the run, never pass it.
 */
describe('paylog verify --jobs on a SQLite journal of several streams', () => {
  let dataDir: string;
  let env: Record<string, string>;
  const streams: string[] = [];

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'paylog-verify-jobs-'));
    env = { PAYLOG_DATA_DIR: dataDir };
    // Four writers one after another: four streams of different lengths, each stopped and sealed.
    for (let run = 0; run < 4; run++) {
      const services = await startServices(loadConfig({}, { ...FAST_GATEWAY_ENV, ...env }), { role: 'test' });
      streams.push(services.ctx.writer.streamId);
      const caller = { merchantId: 'acme', actor: 'key_test', origin: { requestId: `req_${run}`, traceId: null, ip: '127.0.0.1' } };
      for (let i = 0; i < 2 + run * 2; i++) await createPayment(services.ctx, caller, paymentBody() as unknown as PaymentRequest, `key-${run}-${i}`);
      await services.close();
    }
  }, 60_000);
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  const both = (args: string[]): { one: ReturnType<typeof runPaylog>; two: ReturnType<typeof runPaylog> } => ({
    one: runPaylog(['verify', '--jobs', '1', ...args], env),
    two: runPaylog(['verify', '--jobs', '2', ...args], env),
  });

  it('a valid journal: the same report and exit 0 with one thread or two', () => {
    for (const args of [[], ['--json']]) {
      const { one, two } = both(args);
      expect(one.status, one.stdout + one.stderr).toBe(0);
      expect(two.status, two.stdout + two.stderr).toBe(0);
      expect(two.stdout).toBe(one.stdout);
    }
    expect(runPaylog(['verify', '--jobs', '1'], env).stdout).toMatch(/4\/4 streams valid/);
  });

  it('verify and its threads open the store read-only: no SQLite write thread is started', () => {
    const preload = pathToFileURL(new URL('../support/thread-census-preload.mjs', import.meta.url).pathname).href;
    const threads = (args: string[]): string[] => {
      const census = join(dataDir, `threads-${args[0]}.txt`);
      const result = runPaylog(args, { ...env, NODE_OPTIONS: `--import ${preload}`, PAYLOG_TEST_THREAD_CENSUS: census });
      expect(result.status, result.stdout + result.stderr).toBe(0);
      return readFileSync(census, 'utf8').split('\n').filter(Boolean).sort();
    };
    expect(threads(['verify', '--jobs', '2'])).toEqual(['main', 'verify', 'verify']);
    // The census does see a write thread where a command opens the store to write.
    expect(threads(['keys', 'list'])).toEqual(['main', 'sqlite-write']);
  });

  it('tampered records in two streams: the same problems, in the same order, exit 1', () => {
    const db = new Database(join(dataDir, 'paylog.db'));
    dropTriggers(db);
    // A changed amount in the third stream, a deleted record and a record of another journal in the second.
    const changed = db.prepare("SELECT min(seq) FROM journal WHERE stream = ? AND body LIKE '%\"amount\":1099%'").pluck().get(streams[2]) as number;
    db.prepare("UPDATE journal SET body = replace(body, '\"amount\":1099', '\"amount\":1098') WHERE stream = ? AND seq = ?").run(streams[2], changed);
    db.prepare('DELETE FROM journal WHERE stream = ? AND seq = 4').run(streams[1]);
    db.prepare("UPDATE journal SET body = replace(body, '\"journal\":\"paylog-local\"', '\"journal\":\"other\"') WHERE stream = ? AND seq = 2").run(streams[1]);
    db.close();
    for (const args of [[], ['--json']]) {
      const { one, two } = both(args);
      expect(one.status, one.stdout + one.stderr).toBe(1);
      expect(two.status, two.stdout + two.stderr).toBe(1);
      expect(two.stdout).toBe(one.stdout);
    }
    const report = JSON.parse(runPaylog(['verify', '--jobs', '2', '--json'], env).stdout) as { problems: { stream: string; seq: number | null; kind: string }[] };
    expect(report.problems).toContainEqual(expect.objectContaining({ stream: streams[2], seq: changed, kind: 'modified' }));
    expect(report.problems).toContainEqual(expect.objectContaining({ stream: streams[1], seq: 4, kind: 'missing' }));
    expect(report.problems).toContainEqual(expect.objectContaining({ stream: streams[1], seq: 2, kind: 'wrong_journal' }));
  });

  it('a verify thread that crashes: exit 2 and an error, never a report', () => {
    const preload = pathToFileURL(new URL('../support/crash-verify-thread-preload.mjs', import.meta.url).pathname).href;
    const result = runPaylog(['verify', '--jobs', '2'], { ...env, NODE_OPTIONS: `--import ${preload}` });
    expect(result.status, result.stdout + result.stderr).toBe(2);
    expect(result.stderr).toMatch(/^paylog: verify thread \d failed: paylog-test: verify thread crashed/m);
    expect(result.stdout).toBe('');
  });
});
