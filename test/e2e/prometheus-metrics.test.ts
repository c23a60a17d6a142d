import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { paymentBody } from '../support/harness.js';
import { createKeyWithCli } from '../support/cli.js';
import { type ServerProcess, freePort, runPaylog, runPaylogAsync, startServerProcess, stopProcess } from '../support/process.js';
import { listeningPorts } from '../support/sockets.js';
import { waitFor } from '../support/wait.js';

/**
 * `paylog serve` exposes Prometheus metrics on a listener of its own (PAYLOG_METRICS_PORT),
 * never through the API port; `promtool check metrics` accepts a real scrape; no label carries
 * an ID, a key or card digits; with --workers the primary's scrape counts every worker once.
 */

const MERCHANT = 'merchant-prom-7f3a';

interface Answer { status: number; body: string; headers: Record<string, string | string[] | undefined> }

/** One request on a connection of its own (no keep-alive), so cluster workers take turns. */
function send(url: string, options: { method?: string; headers?: Record<string, string>; body?: unknown } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
    const req = request(url, {
      method: options.method ?? 'GET', agent: false,
      headers: { ...options.headers, ...(payload !== undefined && { 'content-type': 'application/json' }) },
    }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => { body += chunk; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end(payload);
  });
}

function pay(server: ServerProcess, secret: string, number: string, idempotencyKey?: string): Promise<Answer> {
  return send(`${server.url}/v1/payments`, {
    method: 'POST', body: paymentBody(number),
    headers: { authorization: `Bearer ${secret}`, ...(idempotencyKey !== undefined && { 'idempotency-key': idempotencyKey }) },
  });
}

/** The value of one sample line of a scrape (0 when the series is absent). */
function sample(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

/** Every label value of every sample line. */
function labelValues(text: string): string[] {
  const values: string[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    for (const match of line.matchAll(/[a-zA-Z_][a-zA-Z0-9_]*="((?:[^"\\]|\\.)*)"/g)) values.push(match[1] as string);
  }
  return values;
}

/** Runs promtool on a scrape; a missing promtool fails the test (CI installs Debian's prometheus package). */
function promtoolCheck(text: string): { status: number | null; output: string } {
  const result = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8', timeout: 30_000 });
  if (result.error) throw new Error(`promtool could not run (install Debian's prometheus package): ${result.error.message}`);
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe('paylog serve: /metrics', () => {
  let dataDir: string;
  let server: ServerProcess;
  let metricsPort: number;
  let secret: string;
  let keyId: string;
  const env = (): Record<string, string> => ({ PAYLOG_DATA_DIR: dataDir, PAYLOG_RECONCILE_INTERVAL_MS: '0' });

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'paylog-prom-e2e-'));
    const created = runPaylog(['keys', 'create', '--merchant', MERCHANT], env());
    expect(created.status, created.stderr).toBe(0);
    secret = created.stdout.trim().split('\n').pop() as string;
    keyId = /key_[0-9a-z]+/.exec(created.stdout)?.[0] as string;
    metricsPort = await freePort();
    server = await startServerProcess({ ...env(), PAYLOG_METRICS_PORT: String(metricsPort) });
  });
  afterAll(async () => {
    if (server) await stopProcess(server.child);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('serves /metrics on its own port; the API port answers it 404', async () => {
    const scrape = await send(`http://127.0.0.1:${metricsPort}/metrics`);
    expect(scrape.status).toBe(200);
    expect(scrape.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(scrape.body).toMatch(/^paylog_build_info\{version="[^"]+"\} 1$/m);
    expect((await send(`${server.url}/metrics`)).status).toBe(404);
    expect((await send(`http://127.0.0.1:${metricsPort}/v1/payments`)).status).toBe(404);
    expect(listeningPorts(server.child.pid as number)).toEqual([Number(new URL(server.url).port), metricsPort].sort((a, b) => a - b));
  });

  it('counts known traffic; promtool accepts the scrape; no label carries an ID, a key or card digits', async () => {
    const before = (await send(`http://127.0.0.1:${metricsPort}/metrics`)).body;
    const ok1 = await pay(server, secret, '4242424242424242', 'order-prom-1');
    expect(ok1.status).toBe(201);
    expect((await pay(server, secret, '4242424242424242', 'order-prom-1')).status).toBe(201); // replay
    expect((await pay(server, secret, '5555555555554444', 'order-prom-1')).status).toBe(422); // reused key
    expect((await pay(server, secret, '4000000000009995')).status).toBe(402); // insufficient_funds
    expect((await pay(server, secret, '4000000005030004')).status).toBe(201); // 503 once, then approved
    expect((await send(`${server.url}/v1/payments`, { headers: { authorization: 'Bearer sk_test_0000000000000000000000000000' } })).status).toBe(401);
    const txn = JSON.parse(ok1.body) as { id: string };
    expect((await send(`${server.url}/v1/payments/${txn.id}`, { headers: { authorization: `Bearer ${secret}` } })).status).toBe(200);

    const after = (await send(`http://127.0.0.1:${metricsPort}/metrics`)).body;
    const moved = (series: string): number => sample(after, series) - sample(before, series);
    expect(moved('paylog_payments_total{outcome="succeeded",decline_code=""}')).toBe(2);
    expect(moved('paylog_payments_total{outcome="declined",decline_code="insufficient_funds"}')).toBe(1);
    expect(moved('paylog_gateway_attempts_total{result="approved"}')).toBe(2);
    expect(moved('paylog_gateway_attempts_total{result="declined"}')).toBe(1);
    expect(moved('paylog_gateway_attempts_total{result="unavailable"}')).toBe(1);
    expect(moved('paylog_gateway_retries_total')).toBe(1);
    expect(moved('paylog_idempotency_replays_total')).toBe(1);
    expect(moved('paylog_idempotency_conflicts_total')).toBe(1);
    expect(moved('paylog_auth_failures_total{reason="api_key_invalid"}')).toBe(1);
    expect(moved('paylog_http_request_duration_seconds_count{method="POST",route="/v1/payments",status="201"}')).toBe(3);
    expect(moved('paylog_http_request_duration_seconds_count{method="POST",route="/v1/payments",status="402"}')).toBe(1);
    expect(moved('paylog_http_request_duration_seconds_count{method="GET",route="/v1/payments/:id",status="200"}')).toBe(1);
    expect(moved('paylog_journal_records_appended_total')).toBeGreaterThanOrEqual(12);
    expect(moved('paylog_journal_commit_duration_seconds_count')).toBeGreaterThan(0);
    expect(sample(after, 'paylog_ready')).toBe(1);
    expect(sample(after, 'paylog_checkpoint_interval_seconds')).toBe(60);
    expect(after).toMatch(/^paylog_checkpoint_age_seconds\{stream="str_[0-9a-z]+"\} \d/m);
    expect(after).toMatch(/^process_cpu_user_seconds_total /m);
    expect(after).toMatch(/^nodejs_eventloop_lag_seconds /m);

    const checked = promtoolCheck(after);
    expect(checked.output).toBe('');
    expect(checked.status).toBe(0);

    for (const value of labelValues(after)) {
      expect(value).not.toMatch(/(txn|key|req)_[0-9a-z]{20,}/);
      expect(value).not.toContain(MERCHANT);
      expect(value).not.toContain(keyId);
      expect(value).not.toContain(txn.id);
      expect(value).not.toMatch(/\d{6,}/);
      expect(value).not.toContain('order-prom');
    }
  });
});

describe('paylog serve: PAYLOG_METRICS_PORT=0', () => {
  it('opens no metrics listener', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'paylog-prom-off-'));
    const server = await startServerProcess({ PAYLOG_DATA_DIR: dataDir, PAYLOG_METRICS_PORT: '0', PAYLOG_LOG_LEVEL: 'info' });
    try {
      expect(listeningPorts(server.child.pid as number)).toEqual([Number(new URL(server.url).port)]);
      expect(server.output()).not.toContain('metrics serving');
    } finally {
      await stopProcess(server.child);
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('paylog serve: a metrics port in use', () => {
  it.each([[[] as string[]], [['--workers', '2']]])('stops the start with exit 2, naming the setting, before the store is opened (%j)', async (args) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'paylog-prom-busy-'));
    const taken = createServer();
    taken.listen(0, '127.0.0.1');
    await once(taken, 'listening');
    try {
      const port = (taken.address() as AddressInfo).port;
      const result = await runPaylogAsync(['serve', '--port', '0', ...args], { PAYLOG_DATA_DIR: dataDir, PAYLOG_METRICS_PORT: String(port), PAYLOG_LOG_LEVEL: 'error' });
      expect(result.status).toBe(2);
      expect(`${result.stdout}${result.stderr}`).toContain(`cannot listen for metrics on 127.0.0.1:${port} (PAYLOG_METRICS_HOST, PAYLOG_METRICS_PORT): EADDRINUSE`);
      expect(existsSync(join(dataDir, 'paylog.db'))).toBe(false);
    } finally {
      taken.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('paylog serve --workers 2: /metrics', () => {
  const PAYMENTS = 40;
  let dataDir: string;
  let server: ServerProcess;
  let metricsPort: number;
  let secret: string;
  const env = (): Record<string, string> => ({ PAYLOG_DATA_DIR: dataDir, PAYLOG_RECONCILE_INTERVAL_MS: '0', PAYLOG_RATE_LIMIT: '0' });

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'paylog-prom-workers-'));
    secret = createKeyWithCli(env(), ['--merchant', MERCHANT]);
    metricsPort = await freePort();
    server = await startServerProcess({ ...env(), PAYLOG_METRICS_PORT: String(metricsPort), PAYLOG_LOG_LEVEL: 'info' }, ['--workers', '2']);
    await waitFor('both workers', () => server.output().includes('paylog workers serving'));
  });
  afterAll(async () => {
    if (server) await stopProcess(server.child);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('counts every payment exactly once across both workers', async () => {
    const metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
    const before = await send(metricsUrl);
    expect(before.status).toBe(200);
    for (let i = 0; i < PAYMENTS; i++) expect((await pay(server, secret, '4242424242424242')).status).toBe(201);
    const after = await send(metricsUrl);
    expect(after.status).toBe(200);
    const moved = (series: string): number => sample(after.body, series) - sample(before.body, series);
    expect(moved('paylog_payments_total{outcome="succeeded",decline_code=""}')).toBe(PAYMENTS);
    expect(moved('paylog_gateway_attempts_total{result="approved"}')).toBe(PAYMENTS);
    expect(moved('paylog_http_request_duration_seconds_count{method="POST",route="/v1/payments",status="201"}')).toBe(PAYMENTS);

    // Both workers served some (each journals in its own stream), and each has its own series.
    const exported = runPaylog(['export'], env());
    expect(exported.status, exported.stderr).toBe(0);
    const streams = new Set(exported.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; stream: string })
      .filter((r) => r.type === 'payment.succeeded').map((r) => r.stream));
    expect(streams.size).toBe(2);
    const ageStreams = [...after.body.matchAll(/^paylog_checkpoint_age_seconds\{stream="(str_[0-9a-z]+)"\}/gm)].map((m) => m[1]);
    expect(new Set(ageStreams)).toEqual(streams);
    // Gauges that must not be summed across workers are not.
    expect(sample(after.body, 'paylog_ready')).toBe(1);
    expect(after.body).toMatch(/^paylog_build_info\{version="[^"]+"\} 1$/m);
    expect(sample(after.body, 'paylog_checkpoint_interval_seconds')).toBe(60);

    const checked = promtoolCheck(after.body);
    expect(checked.output).toBe('');
    expect(checked.status).toBe(0);
  });
});
