import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AggregatorRegistry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../src/app/api-keys.js';
import { type PrometheusMetrics, createPrometheusMetrics } from '../../src/adapters/metrics/prometheus.js';
import { type Services, startServices } from '../../src/compose/services.js';
import { countStoreErrors } from '../../src/compose/store-errors.js';
import { loadConfig } from '../../src/config/config.js';
import { ConfigError } from '../../src/config/settings.js';
import { NO_METRICS } from '../../src/ports/metrics.js';
import { type Store, StoreUnavailableError } from '../../src/ports/store.js';
import { buildHttpApp } from '../../src/runtimes/http/app.js';
import { FAST_GATEWAY_ENV, paymentBody } from '../support/harness.js';

/** The value of one sample line of a scrape, or undefined when there is none. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

function metricsAt(nowMs: { value: number }): PrometheusMetrics {
  return createPrometheusMetrics({ version: '9.9.9', checkpointIntervalMs: 60_000, clock: () => nowMs.value, defaultMetrics: false });
}

describe('createPrometheusMetrics', () => {
  it('counts payments by outcome and a bounded decline code', async () => {
    const metrics = metricsAt({ value: 0 });
    metrics.paymentOutcome('succeeded', null);
    metrics.paymentOutcome('declined', 'insufficient_funds');
    metrics.paymentOutcome('declined', 'insufficient_funds');
    // A code the gateway made up (or a value it should never send) never becomes a label.
    metrics.paymentOutcome('declined', 'txn_01jdq2 4242424242424242');
    const { body } = await metrics.scrape();
    expect(sample(body, 'paylog_payments_total{outcome="succeeded",decline_code=""}')).toBe(1);
    expect(sample(body, 'paylog_payments_total{outcome="declined",decline_code="insufficient_funds"}')).toBe(2);
    expect(sample(body, 'paylog_payments_total{outcome="declined",decline_code="other"}')).toBe(1);
    expect(sample(body, 'paylog_payments_total{outcome="failed",decline_code=""}')).toBe(0);
    expect(body).not.toContain('4242424242424242');
  });

  it('keeps label values bounded: methods, store operations', async () => {
    const metrics = metricsAt({ value: 0 });
    metrics.httpRequest('BREW', '/v1/payments', 405, 2);
    for (let i = 0; i < 150; i++) metrics.storeError(`journal.op${i}`);
    const { body } = await metrics.scrape();
    expect(sample(body, 'paylog_http_request_duration_seconds_count{method="other",route="/v1/payments",status="405"}')).toBe(1);
    expect(sample(body, 'paylog_store_errors_total{operation="other"}')).toBe(50);
  });

  it('observes journal commits in seconds and records', async () => {
    const metrics = metricsAt({ value: 0 });
    metrics.journalCommit(3, 5);
    metrics.journalCommit(1, 1);
    metrics.journalWriteError();
    const { body } = await metrics.scrape();
    expect(sample(body, 'paylog_journal_commit_duration_seconds_sum')).toBeCloseTo(0.004, 6);
    expect(sample(body, 'paylog_journal_commit_duration_seconds_bucket{le="0.001"}')).toBe(1);
    expect(sample(body, 'paylog_journal_batch_records_bucket{le="4"}')).toBe(1);
    expect(sample(body, 'paylog_journal_batch_records_bucket{le="8"}')).toBe(2);
    expect(sample(body, 'paylog_journal_records_appended_total')).toBe(6);
    expect(sample(body, 'paylog_journal_write_errors_total')).toBe(1);
  });

  it('computes checkpoint and witness ages at scrape time, for the current stream only', async () => {
    const now = { value: 1_000_000 };
    const metrics = metricsAt(now);
    let checkpoint = { stream: 'str_a', atMs: 990_000 };
    metrics.bind({ checkpoint: () => checkpoint, ready: async () => true });
    metrics.witnessCheckpointAge('witness-1', 4_000);
    let { body } = await metrics.scrape();
    expect(sample(body, 'paylog_checkpoint_age_seconds{stream="str_a"}')).toBe(10);
    expect(sample(body, 'paylog_witness_checkpoint_age_seconds{witness="witness-1"}')).toBe(4);
    expect(sample(body, 'paylog_checkpoint_interval_seconds')).toBe(60);
    expect(sample(body, 'paylog_build_info{version="9.9.9"}')).toBe(1);
    now.value += 5_000;
    checkpoint = { stream: 'str_b', atMs: 1_004_000 };
    ({ body } = await metrics.scrape());
    expect(sample(body, 'paylog_checkpoint_age_seconds{stream="str_a"}')).toBeUndefined();
    expect(sample(body, 'paylog_checkpoint_age_seconds{stream="str_b"}')).toBe(1);
    expect(sample(body, 'paylog_witness_checkpoint_age_seconds{witness="witness-1"}')).toBe(9);
  });

  it('reports ready 1 only when the readiness check passes', async () => {
    const metrics = metricsAt({ value: 0 });
    expect(sample((await metrics.scrape()).body, 'paylog_ready')).toBe(0);
    let up = true;
    metrics.bind({ checkpoint: () => null, ready: async () => { if (!up) throw new StoreUnavailableError('down'); return true; } });
    expect(sample((await metrics.scrape()).body, 'paylog_ready')).toBe(1);
    up = false;
    expect(sample((await metrics.scrape()).body, 'paylog_ready')).toBe(0);
  });

  it('exports the default process metrics in its own registry, without gauges named like counters', async () => {
    const a = createPrometheusMetrics({ version: '1', checkpointIntervalMs: 0 });
    const b = createPrometheusMetrics({ version: '1', checkpointIntervalMs: 0 });
    a.rateLimited();
    const [bodyA, bodyB] = [(await a.scrape()).body, (await b.scrape()).body];
    expect(bodyA).toMatch(/^process_cpu_user_seconds_total /m);
    expect(bodyA).toMatch(/^nodejs_heap_size_used_bytes /m);
    expect(bodyA).not.toContain('nodejs_active_handles_total');
    expect(sample(bodyA, 'paylog_rate_limited_requests_total')).toBe(1);
    expect(sample(bodyB, 'paylog_rate_limited_requests_total')).toBe(0);
  });
});

describe('aggregated across cluster workers (prom-client\'s aggregator, as the primary runs it)', () => {
  it('sums counters and histograms, keeps per-stream series apart, and does not sum readiness, build info or settings', async () => {
    const now = { value: 100_000 };
    const workers = [metricsAt(now), metricsAt(now)];
    const ready = [true, false];
    workers.forEach((worker, i) => {
      worker.bind({ checkpoint: () => ({ stream: `str_w${i}`, atMs: 100_000 - (i + 1) * 1000 }), ready: async () => ready[i] as boolean });
      worker.paymentOutcome('succeeded', null);
      worker.httpRequest('POST', '/v1/payments', 201, 10);
      worker.witnessCheckpointAge('witness-1', (i + 1) * 2000);
    });
    const aggregate = async (): Promise<string> =>
      AggregatorRegistry.aggregate(await Promise.all(workers.map((w) => w.registry.getMetricsAsJSON()))).metrics();
    let body = await aggregate();
    expect(sample(body, 'paylog_payments_total{outcome="succeeded",decline_code=""}')).toBe(2);
    expect(sample(body, 'paylog_http_request_duration_seconds_count{method="POST",route="/v1/payments",status="201"}')).toBe(2);
    expect(sample(body, 'paylog_http_request_duration_seconds_bucket{le="0.01",method="POST",route="/v1/payments",status="201"}')).toBe(2);
    expect(sample(body, 'paylog_checkpoint_age_seconds{stream="str_w0"}')).toBe(1);
    expect(sample(body, 'paylog_checkpoint_age_seconds{stream="str_w1"}')).toBe(2);
    expect(sample(body, 'paylog_witness_checkpoint_age_seconds{witness="witness-1"}')).toBe(2);
    expect(sample(body, 'paylog_checkpoint_interval_seconds')).toBe(60);
    expect(sample(body, 'paylog_build_info{version="9.9.9"}')).toBe(1);
    expect(sample(body, 'paylog_ready')).toBe(0);
    ready[1] = true;
    body = await aggregate();
    expect(sample(body, 'paylog_ready')).toBe(1);
  });
});

describe('countStoreErrors', () => {
  const failing = (err: Error): Store => ({
    kind: 'fake',
    journal: { head: async () => { throw err; }, readHashes: async () => ['ab'] },
    journalTree: {}, payments: {}, idempotency: {}, keys: {}, gatewayLedger: {},
    ping: async () => { throw err; },
    close: async () => undefined,
  }) as unknown as Store;

  it('counts unavailable store calls by operation and passes everything through', async () => {
    const metrics = metricsAt({ value: 0 });
    const store = countStoreErrors(failing(new StoreUnavailableError('down')), metrics);
    await expect(store.journal.head('str_x')).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(store.ping()).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(await store.journal.readHashes('str_x', 1, 1)).toEqual(['ab']);
    const { body } = await metrics.scrape();
    expect(sample(body, 'paylog_store_errors_total{operation="journal.head"}')).toBe(1);
    expect(sample(body, 'paylog_store_errors_total{operation="ping"}')).toBe(1);
  });

  it('does not count errors that are not the store being unavailable', async () => {
    const metrics = metricsAt({ value: 0 });
    const store = countStoreErrors(failing(new RangeError('bug')), metrics);
    await expect(store.journal.head('str_x')).rejects.toBeInstanceOf(RangeError);
    expect((await metrics.scrape()).body).not.toContain('paylog_store_errors_total{');
  });
});

describe('PAYLOG_METRICS_PORT and PAYLOG_METRICS_HOST', () => {
  const errorOf = (env: Record<string, string>): string => {
    try {
      loadConfig({}, env);
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return (err as Error).message;
    }
    throw new Error('expected a ConfigError');
  };

  it('default to 127.0.0.1:9464; 0 turns the listener off', () => {
    const config = loadConfig({}, {});
    expect([config.metricsHost, config.metricsPort]).toEqual(['127.0.0.1', 9464]);
    expect(loadConfig({}, { PAYLOG_METRICS_PORT: '0' }).metricsPort).toBe(0);
    expect(loadConfig({ 'metrics-host': '::1' }, {}).metricsHost).toBe('::1');
    expect(loadConfig({}, { PAYLOG_METRICS_HOST: 'metrics.internal' }).metricsHost).toBe('metrics.internal');
  });

  it('refuses bad values with one line naming the setting', () => {
    expect(errorOf({ PAYLOG_METRICS_PORT: '70000' })).toMatch(/^PAYLOG_METRICS_PORT \(--metrics-port\): must be a whole number from 0 to 65535/);
    expect(errorOf({ PAYLOG_METRICS_HOST: 'http://x/' })).toMatch(/^PAYLOG_METRICS_HOST \(--metrics-host\): must be an IP address or a host name/);
    expect(errorOf({ PAYLOG_METRICS_HOST: 'a b' })).toMatch(/^PAYLOG_METRICS_HOST/);
  });

  it('refuses the API port: metrics are never reachable through it', () => {
    expect(errorOf({ PAYLOG_PORT: '4000', PAYLOG_METRICS_PORT: '4000' })).toMatch(/^PAYLOG_METRICS_PORT \(--metrics-port\): must not be PAYLOG_PORT \(4000\)/);
  });
});

describe('the HTTP API reports to the metrics', () => {
  let services: Services;
  let metrics: PrometheusMetrics;
  let app: Awaited<ReturnType<typeof buildHttpApp>>;
  let dataDir: string;
  let secret: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'paylog-prom-'));
    const config = loadConfig({}, { PAYLOG_STORE: 'memory:', PAYLOG_DATA_DIR: dataDir, ...FAST_GATEWAY_ENV });
    metrics = createPrometheusMetrics({ version: '1', checkpointIntervalMs: config.checkpointIntervalMs, defaultMetrics: false });
    services = await startServices(config, { role: 'test', metrics });
    app = await buildHttpApp({ ctx: services.ctx, rateLimitPerSecond: 5, authFailuresPerMinute: 2, logger: false });
    await app.ready();
    secret = (await createApiKey(services.ctx, services.system, 'acme', null)).secret;
  });
  afterAll(async () => {
    await app.close();
    await services.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('counts requests by route pattern, idempotency replays and conflicts, rate limits and auth failures', async () => {
    const auth = { authorization: `Bearer ${secret}`, 'idempotency-key': 'order-1' };
    const first = await app.inject({ method: 'POST', url: '/v1/payments', headers: auth, payload: paymentBody() });
    expect(first.statusCode).toBe(201);
    expect((await app.inject({ method: 'POST', url: '/v1/payments', headers: auth, payload: paymentBody() })).statusCode).toBe(201);
    expect((await app.inject({ method: 'POST', url: '/v1/payments', headers: auth, payload: paymentBody('5555555555554444') })).statusCode).toBe(422);
    expect((await app.inject({ method: 'GET', url: `/v1/payments/${first.json<{ id: string }>().id}`, headers: auth })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/nothing/4242424242424242' })).statusCode).toBe(404);
    expect((await app.inject({ method: 'GET', url: '/v1/payments', headers: { authorization: 'Bearer sk_test_nope' } })).statusCode).toBe(401);
    expect((await app.inject({ method: 'GET', url: '/v1/payments' })).statusCode).toBe(401);
    expect((await app.inject({ method: 'GET', url: '/v1/payments' })).statusCode).toBe(429);
    const { body } = await metrics.scrape();
    expect(sample(body, 'paylog_http_request_duration_seconds_count{method="POST",route="/v1/payments",status="201"}')).toBe(2);
    expect(sample(body, 'paylog_http_request_duration_seconds_count{method="GET",route="/v1/payments/:id",status="200"}')).toBe(1);
    expect(sample(body, 'paylog_http_request_duration_seconds_count{method="GET",route="unmatched",status="404"}')).toBe(1);
    expect(sample(body, 'paylog_idempotency_replays_total')).toBe(1);
    expect(sample(body, 'paylog_idempotency_conflicts_total')).toBe(1);
    expect(sample(body, 'paylog_payments_total{outcome="succeeded",decline_code=""}')).toBe(1);
    expect(sample(body, 'paylog_auth_failures_total{reason="api_key_invalid"}')).toBe(1);
    expect(sample(body, 'paylog_auth_failures_total{reason="api_key_missing"}')).toBe(1);
    expect(sample(body, 'paylog_auth_failures_total{reason="too_many_auth_failures"}')).toBe(1);
    expect(sample(body, 'paylog_journal_records_appended_total')).toBeGreaterThan(0);
    expect(body).not.toContain('4242424242424242');
    expect(body).not.toContain('acme');
  });

  it('counts requests the per-key rate limit refused', async () => {
    const headers = { authorization: `Bearer ${secret}` };
    const before = sample((await metrics.scrape()).body, 'paylog_rate_limited_requests_total') ?? 0;
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) statuses.push((await app.inject({ method: 'POST', url: '/v1/payments', headers, payload: paymentBody(), remoteAddress: '10.0.0.9' })).statusCode);
    const limited = statuses.filter((s) => s === 429).length;
    expect(limited).toBeGreaterThan(0);
    expect(sample((await metrics.scrape()).body, 'paylog_rate_limited_requests_total')).toBe(before + limited);
  });

  it('NO_METRICS has every method of the port', () => {
    for (const name of Object.keys(metrics).filter((k) => typeof (metrics as unknown as Record<string, unknown>)[k] === 'function')) {
      if (['bind', 'scrape', 'answerClusterPrimary'].includes(name)) continue;
      expect(typeof (NO_METRICS as unknown as Record<string, unknown>)[name], name).toBe('function');
    }
  });
});
