import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FUTURE_YEAR } from '../support/harness.js';
import { createKeyWithCli } from '../support/cli.js';
import { runPaylog, startServerProcess, stopProcess } from '../support/process.js';
import { tcpSockets } from '../support/sockets.js';
import { waitFor } from '../support/wait.js';

/** Long enough that the test sees the payment under way and hangs up before the gateway answers. */
const GATEWAY_LATENCY_MS = 3_000;

describe('paylog serve shutting down', () => {
  let dataDir: string;
  let env: Record<string, string>;
  let secret: string;

  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'paylog-shutdown-'));
    env = { PAYLOG_DATA_DIR: dataDir, PAYLOG_RECONCILE_INTERVAL_MS: '0' };
    secret = createKeyWithCli(env);
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('on SIGTERM lets a payment whose client went away finish and record its outcome before the journal closes', async () => {
    const server = await startServerProcess({ ...env, PAYLOG_GATEWAY_LATENCY_MS: String(GATEWAY_LATENCY_MS), PAYLOG_GATEWAY_ATTEMPT_TIMEOUT_MS: '10000', PAYLOG_GATEWAY_BUDGET_MS: '12000', PAYLOG_IDEMPOTENCY_LEASE_MS: '30000' });
    const body = JSON.stringify({ amount: 1099, currency: 'usd', paymentMethod: { type: 'card', card: { number: '4242424242424242', expMonth: 1, expYear: FUTURE_YEAR, cvc: '123' } } });
    // The client sends the payment and hangs up while it is being charged: the server's socket closes,
    // so nothing but the running handler is left for shutdown to wait for.
    const req = request(`${server.url}/v1/payments`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json', 'idempotency-key': 'shutdown-1' },
    });
    req.on('error', () => undefined);
    const clientPort = new Promise<number>((resolve) => req.on('socket', (socket) => socket.on('connect', () => resolve(socket.localPort as number))));
    req.end(body);
    const received = (): string[] => {
      const db = new Database(join(dataDir, 'paylog.db'), { readonly: true });
      try {
        return (db.prepare("SELECT type FROM journal WHERE type LIKE 'payment.%'").all() as { type: string }[]).map((r) => r.type);
      } finally {
        db.close();
      }
    };
    // The charge is under way: its payment is received and has no outcome yet.
    await waitFor('the payment to be received', () => received().includes('payment.received'));
    expect(received()).toEqual(['payment.received']);
    const remotePort = await clientPort;
    req.destroy();
    // The server has closed its end of the connection: only the running handler is left.
    const pid = server.child.pid as number;
    await waitFor(() => `the server to close the connection (${JSON.stringify(tcpSockets(pid))})`, () => tcpSockets(pid).every((s) => s.remotePort !== remotePort));
    expect(received(), 'the client hung up before the gateway answered').toEqual(['payment.received']);
    const code = await stopProcess(server.child, 'SIGTERM');
    expect(code, server.output()).toBe(0);
    expect(server.output()).not.toMatch(/could not be recorded|journal is closed/i);

    const db = new Database(join(dataDir, 'paylog.db'), { readonly: true });
    try {
      const rows = db.prepare('SELECT status FROM payments').all() as { status: string }[];
      expect(rows).toEqual([{ status: 'succeeded' }]);
      const types = (db.prepare("SELECT type FROM journal WHERE type LIKE 'payment.%' ORDER BY stream, seq").all() as { type: string }[]).map((r) => r.type);
      expect(types).toEqual(['payment.received', 'payment.attempted', 'payment.succeeded']);
    } finally {
      db.close();
    }
    const verify = runPaylog(['verify', '--json'], env);
    expect(verify.status, verify.stdout + verify.stderr).toBe(0);
  });

  it('exits 1 on its own when its journal writer halts (a supervisor then restarts it)', async () => {
    // Lease renewals every 200 ms notice quickly that another writer sealed the stream.
    const server = await startServerProcess({ ...env, PAYLOG_CHECKPOINT_INTERVAL_MS: '200', PAYLOG_STREAM_LEASE_MS: '5000' });
    const exited = new Promise<number | null>((resolve) => server.child.once('exit', (code) => resolve(code)));
    const db = new Database(join(dataDir, 'paylog.db'));
    try {
      // As if another process had sealed it after its lease lapsed.
      db.prepare("UPDATE streams SET state = 'sealed', closed_by = 'test', closed_at = ? WHERE state = 'open'").run(new Date().toISOString());
    } finally {
      db.close();
    }
    expect(await exited, server.output()).toBe(1);
    expect(server.output()).toMatch(/journal writer halted/);
  });
});
