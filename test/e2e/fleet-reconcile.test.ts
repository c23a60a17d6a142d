import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { FAST_GATEWAY_ENV, paymentBody } from '../support/harness.js';
import { createKeyWithCliAsync } from '../support/cli.js';
import { freshDatabase } from '../support/postgres.js';
import { PAYLOG_BIN, jsonLines, runPaylogAsync, startServerProcess, stopProcess, waitForReady } from '../support/process.js';
import { waitFor } from '../support/wait.js';

/**
 * Issue 15, item 1: several reconcilers at once — three `serve` instances on one PostgreSQL, and
 * `serve --workers 3` on one SQLite file — all running the periodic reconcile over the same
 * payments left processing by the "never answers" card, while clients keep retrying those
 * payments' idempotency keys. Each payment must end in exactly one terminal status, with exactly
 * one `payment.reconciled` record that agrees with its row, and the journal must verify.
 */

const STUCK = 24;
const NEVER_ANSWERS = '4000000004089993';
const SETTLE_DEADLINE_MS = 30_000;
/** Reconcile often, and as soon as the gateway's whole retry budget (FAST_GATEWAY_ENV: 1000 ms) has passed. */
const RECONCILE_ENV = {
  PAYLOG_RECONCILE_INTERVAL_MS: '100',
  PAYLOG_RECONCILE_AFTER_MS: FAST_GATEWAY_ENV.PAYLOG_GATEWAY_BUDGET_MS,
  PAYLOG_RATE_LIMIT: '0',
};

interface PaymentView { id: string; status: string }
interface RecordView { type: string; data: { status?: string; previousStatus?: string } }

const dirs: string[] = [];
const children: ChildProcess[] = [];
function newDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}
afterAll(async () => {
  for (const child of children) await stopProcess(child, 'SIGKILL');
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

async function post(url: string, secret: string, key: string): Promise<{ status: number; id: string | undefined }> {
  const res = await fetch(`${url}/v1/payments`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json', 'idempotency-key': key },
    body: JSON.stringify(paymentBody(NEVER_ANSWERS)),
  });
  const body = (await res.json()) as { id?: string; error?: { payment?: { id: string } } };
  return { status: res.status, id: body.id ?? body.error?.payment?.id };
}

async function get<T>(url: string, secret: string, path: string): Promise<T> {
  const res = await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${secret}` } });
  expect(res.status).toBe(200);
  return (await res.json()) as T;
}

/**
 * Makes the stuck payments, then retries their keys round the servers until every payment has
 * left processing (polled, with a deadline), and checks each one's row against its records.
 */
async function stuckPaymentsSettleOnce(urls: string[], secret: string): Promise<void> {
  const keys = Array.from({ length: STUCK }, (_, i) => `stuck-${i}-${randomBytes(4).toString('hex')}`);
  const first = await Promise.all(keys.map((key, i) => post(urls[i % urls.length] as string, secret, key)));
  for (const answer of first) expect(answer.status).toBe(202);
  const ids = first.map((a) => a.id as string);

  const deadline = Date.now() + SETTLE_DEADLINE_MS;
  let pending = new Set(ids);
  for (let round = 0; pending.size > 0; round++) {
    if (Date.now() > deadline) throw new Error(`still processing after ${SETTLE_DEADLINE_MS} ms: ${[...pending].join(', ')}`);
    // The same keys again, at every server, while the reconcilers run: each replays the original answer.
    const retries = await Promise.all(keys.map((key, i) => post(urls[(i + round) % urls.length] as string, secret, key)));
    retries.forEach((r, i) => {
      expect(r.status).toBe(202);
      expect(r.id).toBe(ids[i]);
    });
    const views = await Promise.all([...pending].map((id, i) => get<PaymentView>(urls[i % urls.length] as string, secret, `/v1/payments/${id}`)));
    pending = new Set(views.filter((v) => v.status === 'processing').map((v) => v.id));
  }

  for (const id of ids) {
    const payment = await get<PaymentView>(urls[0] as string, secret, `/v1/payments/${id}`);
    const events = await get<{ data: RecordView[]; hasMore: boolean }>(urls[0] as string, secret, `/v1/payments/${id}/events?limit=100`);
    expect(events.hasMore).toBe(false);
    const reconciled = events.data.filter((r) => r.type === 'payment.reconciled');
    expect(reconciled, `payment ${id}`).toHaveLength(1);
    expect(reconciled[0]?.data).toMatchObject({ previousStatus: 'processing', status: payment.status });
    // The card charged before going silent: the gateway's ledger says approved.
    expect(payment.status).toBe('succeeded');
    const outcomes = events.data.filter((r) => ['payment.succeeded', 'payment.declined', 'payment.failed'].includes(r.type));
    expect(outcomes).toEqual([]);
  }
}

describe('reconciling the same stuck payments from several processes at once', () => {
  it('three instances on one PostgreSQL: one reconciled record per payment, the journal verifies', async () => {
    const keyFile = join(newDir('paylog-reconcile-fleet-keys-'), 'signing-key.pem');
    writeFileSync(keyFile, generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }) as string, { mode: 0o600 });
    const shared = {
      ...RECONCILE_ENV, PAYLOG_STORE: await freshDatabase(inject('postgresUrl'), 'reconcile_fleet'), PAYLOG_SIGNING_KEY_FILE: keyFile,
      PAYLOG_FINGERPRINT_KEY: randomBytes(32).toString('base64'),
    };
    const envFor = (): Record<string, string> => ({ ...shared, PAYLOG_DATA_DIR: newDir('paylog-reconcile-fleet-') });
    const secret = await createKeyWithCliAsync(envFor());

    const servers = [];
    for (let i = 0; i < 3; i++) {
      const server = await startServerProcess(envFor());
      children.push(server.child);
      servers.push(server);
    }
    await stuckPaymentsSettleOnce(servers.map((s) => s.url), secret);
    for (const server of servers) expect(await stopProcess(server.child, 'SIGTERM'), server.output()).toBe(0);

    const verify = await runPaylogAsync(['verify'], envFor());
    expect(verify.status, verify.stdout + verify.stderr).toBe(0);
  }, 120_000);

  it('serve --workers 3 on one SQLite file: one reconciled record per payment, the journal verifies', async () => {
    const dataDir = newDir('paylog-reconcile-workers-');
    const env = { ...FAST_GATEWAY_ENV, ...RECONCILE_ENV, PAYLOG_DATA_DIR: dataDir, PAYLOG_LOG_LEVEL: 'info' };
    const secret = await createKeyWithCliAsync(env);

    const child = spawn(process.execPath, [PAYLOG_BIN, 'serve', '--workers', '3', '--port', '0', '--host', '127.0.0.1'], {
      env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk: Buffer) => { stdout += chunk.toString(); });
    child.stderr?.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
    const exited = once(child, 'exit');
    // Port 0: the primary's "serving" line says where the workers listen; /readyz then says they are ready.
    let url = '';
    await waitFor(() => `serve --workers 3 to start: ${stderr}`, () => {
      if (child.exitCode !== null) throw new Error(`serve --workers 3 exited with ${child.exitCode}: ${stderr}`);
      url = jsonLines<{ msg?: string; role?: string; url?: string }>(stdout).find((log) => log.role === 'primary' && log.msg === 'paylog workers serving')?.url ?? '';
      return url !== '';
    });
    await waitForReady(child, url, () => stderr);

    await stuckPaymentsSettleOnce([url], secret);
    child.kill('SIGTERM');
    const [code] = (await exited) as [number | null];
    expect(code, stderr).toBe(0);

    const verify = await runPaylogAsync(['verify'], env);
    expect(verify.status, verify.stdout + verify.stderr).toBe(0);
  }, 120_000);
});
