import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { format } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { PaylogCardError, PaylogClient } from '../../src/client/index.js';
import { FUTURE_YEAR } from '../support/harness.js';
import { type ServerProcess, runPaylog, startServerProcess, stopProcess } from '../support/process.js';
import { type TcpProxy, rawRequests, startTcpProxy } from '../support/tcp-proxy.js';

/**
 * `paylog/client` against a real `paylog serve`, through a loopback proxy that sees every byte
 * the client sends: a POST whose answer is lost is retried under the same Idempotency-Key and
 * makes one payment, and a card number travels in the request body and nowhere else.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
let dataDir: string;
let server: ServerProcess;
let secret: string;
const proxies: TcpProxy[] = [];

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'paylog-client-'));
  const env = { PAYLOG_DATA_DIR: dataDir, PAYLOG_RECONCILE_INTERVAL_MS: '0' };
  server = await startServerProcess(env);
  const created = runPaylog(['keys', 'create', '--merchant', 'acme'], env);
  expect(created.status, created.stderr).toBe(0);
  secret = created.stdout.trimEnd().split('\n').at(-1) as string;
});

afterAll(async () => {
  for (const proxy of proxies) await proxy.close();
  if (server) expect(await stopProcess(server.child)).toBe(0);
  rmSync(dataDir, { recursive: true, force: true });
});

async function proxy(options: Parameters<typeof startTcpProxy>[1] = {}): Promise<TcpProxy> {
  const started = await startTcpProxy(Number(new URL(server.url).port), options);
  proxies.push(started);
  return started;
}

/** A client that waits for nothing between attempts (the retry tests need no real time). */
function client(baseUrl: string): PaylogClient {
  return new PaylogClient({ baseUrl, apiKey: secret, sleep: async () => undefined, random: () => 0 });
}

const card = (number: string): { type: 'card'; card: { number: string; expMonth: number; expYear: number; cvc: string } } =>
  ({ type: 'card', card: { number, expMonth: 12, expYear: FUTURE_YEAR, cvc: '739' } });

describe('paylog/client against paylog serve', () => {
  it('a POST whose answer was lost is retried with the same key: one payment, the retry gets the replay', async () => {
    const lossy = await proxy({ dropAnswerTo: (request) => request.startsWith('POST /v1/payments ') });
    const paylog = client(lossy.url);
    const merchantReference = `order_${randomUUID()}`;
    const created = await paylog.createPayment({ amount: 1099, currency: 'usd', merchantReference, paymentMethod: card('4242424242424242') });

    expect(lossy.dropped()).toBe(1);
    expect(created).toMatchObject({ status: 201, attempts: 2, idempotentReplayed: true, data: { status: 'succeeded', merchantReference } });
    expect(created.requestId).toMatch(/^req_/);
    const posts = lossy.sent().flatMap(rawRequests).filter((r) => r.head.startsWith('POST '));
    expect(posts).toHaveLength(2);
    const keys = posts.map((r) => /^idempotency-key: (.+)$/im.exec(r.head)?.[1]);
    expect(keys).toEqual([created.idempotencyKey, created.idempotencyKey]);

    const listed = await paylog.listPayments({ merchantReference });
    expect(listed.data.data.map((p) => p.id)).toEqual([created.data.id]);
    const events = await paylog.listPaymentEvents(created.data.id);
    expect(events.data.data.map((r) => r.type)).toEqual(['payment.received', 'payment.attempted', 'payment.succeeded', 'idempotency.replayed']);
  });

  it('a card number goes in the request body only: not in a URL, a header, or anything the client writes', async () => {
    const watched = await proxy();
    const paylog = client(watched.url);
    const approved = '5555555555554444';
    const declined = '4000000000009995';
    const written: string[] = [];
    const spies = [
      ...[process.stdout, process.stderr].map((stream) => vi.spyOn(stream, 'write').mockImplementation((chunk: unknown) => { written.push(String(chunk)); return true; })),
      ...(['log', 'info', 'warn', 'error', 'debug', 'trace'] as const).map((level) => vi.spyOn(console, level).mockImplementation((...args: unknown[]) => { written.push(format(...args)); })),
    ];
    let decline: unknown;
    try {
      const created = await paylog.createPayment({ amount: 500, currency: 'eur', paymentMethod: card(approved) });
      decline = await paylog.createPayment({ amount: 500, currency: 'eur', paymentMethod: card(declined) }).catch((e: unknown) => e);
      await paylog.getPayment(created.data.id);
      await paylog.listPaymentEvents(created.data.id);
      await paylog.listPayments({ limit: '3' });
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
    expect(decline).toBeInstanceOf(PaylogCardError);
    expect(decline).toMatchObject({ code: 'card_declined', declineCode: 'insufficient_funds', payment: { status: 'declined' } });

    // Every request the client sent, on whichever connection it took.
    const requests = watched.sent().flatMap(rawRequests);
    expect(requests.map((r) => r.head.split(' ', 2).join(' ').replace(/txn_\w+/, 'txn_…')).sort()).toEqual([
      'GET /v1/payments/txn_…', 'GET /v1/payments/txn_…/events', 'GET /v1/payments?limit=3', 'POST /v1/payments', 'POST /v1/payments',
    ]);
    for (const number of [approved, declined]) {
      expect(requests.filter((r) => r.body.includes(number))).toHaveLength(1);
      for (const { head } of requests) expect(head).not.toContain(number);
      expect(written.join('')).not.toContain(number);
      expect(JSON.stringify(decline) + String(decline)).not.toContain(number);
    }
    // Only the two POSTs have bodies; the API key is a header, once per request.
    expect(requests.filter((r) => r.body !== '')).toHaveLength(2);
    for (const { head } of requests) expect(head.split(secret)).toHaveLength(2);
  });

  it('is exported as paylog/client, with its types', () => {
    const exported = (JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { exports: Record<string, { types: string; import: string }> }).exports['./client'];
    expect(exported).toBeDefined();
    expect(existsSync(join(ROOT, exported?.types as string))).toBe(true);
    // Resolved by name, as a dependent package would, from the built files.
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', "const m = await import('paylog/client'); console.log(typeof m.PaylogClient, typeof m.PaylogCardError)"], { cwd: ROOT, encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.stdout.trim()).toBe('function function');
  });
});
