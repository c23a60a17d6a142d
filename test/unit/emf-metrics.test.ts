import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { buildSync } from 'esbuild';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as infra from '../../infra/lib/metric-names.js';
import {
  EMF_MAX_METRICS_PER_DIRECTIVE, EMF_MAX_VALUES_PER_METRIC, EMF_WITNESSES_MAX, createEmfMetrics, emfDocument,
} from '../../src/adapters/metrics/emf.js';
import { METRIC_NAMES, METRIC_UNITS } from '../../src/adapters/metrics/metric-names.js';
import type { Caller } from '../../src/app/context.js';
import { createPayment } from '../../src/app/create-payment.js';
import { startServices } from '../../src/compose/services.js';
import { loadConfig } from '../../src/config/config.js';
import type { PaymentRequest } from '../../src/core/payment.js';
import { FAST_GATEWAY_ENV, paymentBody } from '../support/harness.js';

const NOW = Date.parse('2026-11-26T16:00:00.123Z');
/** CloudWatch units the EMF specification allows. */
const UNITS = new Set([
  'Seconds', 'Microseconds', 'Milliseconds', 'Bytes', 'Kilobytes', 'Megabytes', 'Gigabytes', 'Terabytes',
  'Bits', 'Kilobits', 'Megabits', 'Gigabits', 'Terabits', 'Percent', 'Count', 'Bytes/Second',
  'Kilobytes/Second', 'Megabytes/Second', 'Gigabytes/Second', 'Terabytes/Second', 'Bits/Second',
  'Kilobits/Second', 'Megabits/Second', 'Gigabits/Second', 'Terabits/Second', 'Count/Second', 'None',
]);

type Doc = Record<string, unknown> & { _aws: { Timestamp: number; CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit: string }[] }[] } };

/**
 * Checks one line against the EMF specification's structure and returns the document:
 * _aws.Timestamp a whole number of ms, CloudWatchMetrics a non-empty array of directives,
 * each with a Namespace, Dimensions (dimension sets of at most 30 names, each a top-level
 * string member) and at most 100 Metrics (Name, a valid Unit) each present at the top level as
 * a number or an array of 1–100 numbers; nothing else at the top level.
 */
function validateEmf(line: string): Doc {
  expect(line).not.toContain('\n');
  const doc = JSON.parse(line) as Doc;
  const problems: string[] = [];
  const aws = doc._aws;
  if (typeof aws !== 'object' || aws === null) throw new Error('no _aws');
  if (!Number.isSafeInteger(aws.Timestamp) || aws.Timestamp <= 0) problems.push('Timestamp is not a positive whole number');
  if (!Array.isArray(aws.CloudWatchMetrics) || aws.CloudWatchMetrics.length === 0) problems.push('CloudWatchMetrics is not a non-empty array');
  const allowedKeys = new Set(['_aws']);
  for (const directive of aws.CloudWatchMetrics ?? []) {
    if (typeof directive.Namespace !== 'string' || directive.Namespace.length === 0 || directive.Namespace.length > 1024) problems.push('bad Namespace');
    if (!Array.isArray(directive.Dimensions)) problems.push('Dimensions is not an array');
    for (const set of directive.Dimensions ?? []) {
      if (!Array.isArray(set) || set.length > 30) problems.push('bad dimension set');
      for (const name of set) {
        if (typeof doc[name] !== 'string') problems.push(`dimension ${name} is not a top-level string`);
        allowedKeys.add(name);
      }
    }
    if (!Array.isArray(directive.Metrics) || directive.Metrics.length === 0 || directive.Metrics.length > EMF_MAX_METRICS_PER_DIRECTIVE) problems.push(`${directive.Metrics?.length} metrics in a directive`);
    for (const metric of directive.Metrics ?? []) {
      if (typeof metric.Name !== 'string' || metric.Name.length === 0) problems.push('bad metric Name');
      if (!UNITS.has(metric.Unit)) problems.push(`bad Unit ${metric.Unit}`);
      const value = doc[metric.Name];
      const ok = typeof value === 'number' ? Number.isFinite(value)
        : Array.isArray(value) && value.length >= 1 && value.length <= EMF_MAX_VALUES_PER_METRIC && value.every((v) => typeof v === 'number' && Number.isFinite(v));
      if (!ok) problems.push(`metric ${metric.Name} is not a number or an array of 1–100 numbers`);
      allowedKeys.add(metric.Name);
    }
  }
  for (const key of Object.keys(doc)) if (!allowedKeys.has(key)) problems.push(`unexpected top-level member ${key}`);
  expect(problems).toEqual([]);
  return doc;
}

const metricNames = (doc: Doc): string[] => doc._aws.CloudWatchMetrics.flatMap((d) => d.Metrics.map((m) => m.Name));

function collect(options: Parameters<typeof createEmfMetrics>[0] = {}) {
  const lines: string[] = [];
  const metrics = createEmfMetrics({ clock: () => NOW, write: (line) => lines.push(line), ...options });
  return { lines, metrics };
}

describe('EMF metrics', () => {
  it('one flush writes ONE line: the documented shape, counts summed, latencies as an array', () => {
    const { lines, metrics } = collect();
    metrics.coldStart();
    metrics.paymentOutcome('succeeded');
    metrics.paymentOutcome('succeeded');
    metrics.paymentOutcome('declined');
    metrics.paymentOutcome('failed');
    metrics.paymentOutcome('processing');
    metrics.gatewayAttempt('approved', 12);
    metrics.gatewayAttempt('declined', 7.5);
    metrics.gatewayAttempt('timeout', 3000);
    metrics.gatewayAttempt('unavailable', 4);
    metrics.gatewayAttempt('malformed', 5);
    metrics.gatewayAttempt('timeout', 3001);
    metrics.idempotentReplay();
    expect(lines).toEqual([]); // nothing before flush
    metrics.flush();
    expect(lines).toHaveLength(1);
    const doc = validateEmf(lines[0] as string);
    expect(doc).toEqual({
      _aws: {
        Timestamp: NOW,
        CloudWatchMetrics: [{
          Namespace: 'Paylog',
          Dimensions: [['service']],
          Metrics: [
            { Name: 'PaymentsSucceeded', Unit: 'Count' },
            { Name: 'PaymentsDeclined', Unit: 'Count' },
            { Name: 'PaymentsFailed', Unit: 'Count' },
            { Name: 'PaymentsProcessing', Unit: 'Count' },
            { Name: 'GatewayAttempts', Unit: 'Count' },
            { Name: 'GatewayTimeouts', Unit: 'Count' },
            { Name: 'GatewayUnavailable', Unit: 'Count' },
            { Name: 'GatewayMalformed', Unit: 'Count' },
            { Name: 'GatewayLatency', Unit: 'Milliseconds' },
            { Name: 'IdempotentReplays', Unit: 'Count' },
            { Name: 'ColdStart', Unit: 'Count' },
          ],
        }],
      },
      service: 'paylog',
      PaymentsSucceeded: 2, PaymentsDeclined: 1, PaymentsFailed: 1, PaymentsProcessing: 1,
      GatewayAttempts: 6, GatewayTimeouts: 2, GatewayUnavailable: 1, GatewayMalformed: 1,
      GatewayLatency: [12, 7.5, 3000, 4, 5, 3001],
      IdempotentReplays: 1, ColdStart: 1,
    });
    // The _aws member comes first, as in the specification's examples.
    expect(Object.keys(doc)[0]).toBe('_aws');
  });

  it('only metrics that have values; one latency sample is a plain number', () => {
    const { lines, metrics } = collect();
    metrics.paymentOutcome('declined');
    metrics.gatewayAttempt('declined', 9);
    metrics.flush();
    const doc = validateEmf(lines[0] as string);
    expect(metricNames(doc)).toEqual(['PaymentsDeclined', 'GatewayAttempts', 'GatewayLatency']);
    expect(doc).toMatchObject({ PaymentsDeclined: 1, GatewayAttempts: 1, GatewayLatency: 9 });
    expect(doc).not.toHaveProperty('PaymentsSucceeded');
    expect(doc).not.toHaveProperty('GatewayTimeouts');
  });

  it('flush with nothing collected writes nothing; a flush resets what was collected', () => {
    const { lines, metrics } = collect();
    metrics.flush();
    expect(lines).toEqual([]);
    metrics.coldStart();
    metrics.flush();
    metrics.flush();
    expect(lines).toHaveLength(1);
    metrics.idempotentReplay();
    metrics.flush();
    expect(lines).toHaveLength(2);
    expect(validateEmf(lines[1] as string)).toMatchObject({ IdempotentReplays: 1 });
    expect(validateEmf(lines[1] as string)).not.toHaveProperty('ColdStart');
  });

  it('the 100th latency sample flushes at once: no array ever holds more than 100 values, none is lost', () => {
    const { lines, metrics } = collect();
    for (let i = 0; i < 250; i++) metrics.gatewayAttempt(i % 10 === 0 ? 'timeout' : 'approved', i);
    expect(lines).toHaveLength(2); // at the 100th and the 200th
    metrics.flush();
    expect(lines).toHaveLength(3);
    const docs = lines.map(validateEmf);
    expect(docs.map((d) => (d.GatewayLatency as number[]).length)).toEqual([100, 100, 50]);
    expect(docs.flatMap((d) => d.GatewayLatency as number[])).toEqual(Array.from({ length: 250 }, (_, i) => i));
    expect(docs.reduce((n, d) => n + (d.GatewayAttempts as number), 0)).toBe(250);
    expect(docs.reduce((n, d) => n + (d.GatewayTimeouts as number), 0)).toBe(25);
  });

  it('emfDocument splits more than 100 metrics into directives of at most 100, and refuses more than 100 values', () => {
    const metrics = Array.from({ length: 250 }, (_, i) => ({ name: `M${i}`, unit: 'Count' as const, value: i }));
    const doc = emfDocument({ namespace: 'Paylog', timestamp: NOW, dimensions: { service: 'paylog' }, metrics }) as Doc;
    validateEmf(JSON.stringify(doc));
    expect(doc._aws.CloudWatchMetrics.map((d) => d.Metrics.length)).toEqual([100, 100, 50]);
    expect(metricNames(doc)).toEqual(metrics.map((m) => m.name));
    expect(() => emfDocument({ namespace: 'P', timestamp: NOW, dimensions: {}, metrics: [{ name: 'L', unit: 'Milliseconds', value: Array.from({ length: 101 }, () => 1) }] })).toThrow(/101 values/);
    expect(() => emfDocument({ namespace: 'P', timestamp: NOW, dimensions: { service: 'x' }, metrics: [{ name: 'service', unit: 'Count', value: 1 }] })).toThrow(/collides/);
  });

  it('namespace and service are configurable', () => {
    const { lines, metrics } = collect({ namespace: 'PaylogStaging', service: 'paylog-eu' });
    metrics.coldStart();
    metrics.flush();
    const doc = validateEmf(lines[0] as string);
    expect(doc._aws.CloudWatchMetrics[0]?.Namespace).toBe('PaylogStaging');
    expect(doc.service).toBe('paylog-eu');
  });

  it('a latency that is not a finite number is not recorded (it would invalidate the document); a negative one counts as 0', () => {
    const { lines, metrics } = collect();
    metrics.gatewayAttempt('approved', Number.NaN);
    metrics.gatewayAttempt('approved', Number.POSITIVE_INFINITY);
    metrics.gatewayAttempt('approved', -3);
    metrics.flush();
    const doc = validateEmf(lines[0] as string);
    expect(doc).toMatchObject({ GatewayAttempts: 3, GatewayLatency: 0 });
  });

  it('the witnesses’ checkpoint age: one document per witness with a `witness` dimension, its latest age in seconds', () => {
    const { lines, metrics } = collect();
    metrics.witnessCheckpointAge('witness.example/w1', 1_500);
    metrics.witnessCheckpointAge('witness.example/w2', 90_000);
    metrics.witnessCheckpointAge('witness.example/w1', 2_250); // the latest wins
    metrics.witnessCheckpointAge('witness.example/w2', Number.NaN); // not recorded
    metrics.coldStart();
    metrics.flush();
    expect(lines).toHaveLength(3);
    const docs = lines.map(validateEmf);
    for (const doc of docs.slice(0, 2)) {
      expect(doc._aws.CloudWatchMetrics).toEqual([{ Namespace: 'Paylog', Dimensions: [['service', 'witness']], Metrics: [{ Name: 'WitnessCheckpointAgeSeconds', Unit: 'Seconds' }] }]);
    }
    expect(docs.slice(0, 2).map((d) => [d.witness, d.WitnessCheckpointAgeSeconds, d.service])).toEqual([
      ['witness.example/w1', 2.25, 'paylog'], ['witness.example/w2', 90, 'paylog'],
    ]);
    // The service-wide document is unchanged: no witness dimension on the other metrics.
    expect(docs[2]).toMatchObject({ ColdStart: 1 });
    expect(docs[2]).not.toHaveProperty('witness');
    lines.length = 0;
    metrics.flush();
    expect(lines).toEqual([]);
  });

  it('keeps the age of at most EMF_WITNESSES_MAX witnesses between flushes', () => {
    const { lines, metrics } = collect();
    for (let i = 0; i < EMF_WITNESSES_MAX + 5; i++) metrics.witnessCheckpointAge(`w${i}`, i * 1000);
    metrics.flush();
    expect(lines).toHaveLength(EMF_WITNESSES_MAX);
    expect(lines.map((l) => validateEmf(l).witness)).toEqual(Array.from({ length: EMF_WITNESSES_MAX }, (_, i) => `w${i}`));
  });

  it('a failing writer never makes flush throw (it runs in the handler’s finally)', () => {
    const metrics = createEmfMetrics({ write: () => { throw new Error('EPIPE'); } });
    metrics.coldStart();
    metrics.witnessCheckpointAge('witness.example/w1', 1);
    expect(() => metrics.flush()).not.toThrow();
  });

  it('the metric names are the contract with the CDK alarms: every name and unit infra/lib/metric-names.ts knows is emitted under it', () => {
    expect(Object.values(METRIC_NAMES)).toEqual([
      'PaymentsSucceeded', 'PaymentsDeclined', 'PaymentsFailed', 'PaymentsProcessing', 'GatewayAttempts',
      'GatewayTimeouts', 'GatewayUnavailable', 'GatewayMalformed', 'GatewayLatency', 'IdempotentReplays', 'ColdStart', 'JournalConflicts',
      'WitnessCheckpointAgeSeconds',
    ]);
    expect(Object.keys(METRIC_UNITS).sort()).toEqual(Object.values(METRIC_NAMES).sort());
    expect(infra.METRIC_NAMESPACE).toBe('Paylog');
    expect(infra.SERVICE_DIMENSION_NAME).toBe('service');
    expect(infra.SERVICE_DIMENSION_VALUE).toBe('paylog');
    for (const [key, name] of Object.entries(infra.METRIC_NAMES)) {
      expect(METRIC_NAMES).toHaveProperty(key, name);
      expect(METRIC_UNITS[name as keyof typeof METRIC_UNITS]).toBe(infra.METRIC_UNITS[name as keyof typeof infra.METRIC_UNITS]);
    }
  });

  describe('driven by real payments', () => {
    let dataDir: string;
    beforeEach(() => {
      dataDir = mkdtempSync(join(tmpdir(), 'paylog-emf-'));
    });
    afterEach(() => {
      rmSync(dataDir, { recursive: true, force: true });
    });

    it('every line is valid EMF, counts match the outcomes, and no transaction, merchant, key or request ID appears anywhere', async () => {
      const lines: string[] = [];
      const metrics = createEmfMetrics({ write: (line) => lines.push(line) });
      const config = loadConfig({}, { ...FAST_GATEWAY_ENV, PAYLOG_STORE: 'memory:', PAYLOG_DATA_DIR: dataDir });
      const services = await startServices(config, { role: 'test', metrics });
      const merchantId = 'merchant_emf_acme';
      const caller: Caller = { merchantId, actor: 'key_01jdqemf000000000000000000', origin: { requestId: 'req_emf_0001', traceId: null, ip: '127.0.0.1' } };
      const ids: string[] = [];
      try {
        metrics.coldStart();
        const cards = ['4242424242424242', '4000000000000002', '4000000005030004', '4000000005039997', '4000000005020005'];
        for (const [i, card] of cards.entries()) {
          const response = await createPayment(services.ctx, caller, paymentBody(card) as unknown as PaymentRequest, `idem-${i}`);
          ids.push((response.body as { id?: string; error?: { payment?: { id: string } } }).id ?? (response.body as { error: { payment: { id: string } } }).error.payment.id);
        }
        await createPayment(services.ctx, caller, paymentBody(cards[0]) as unknown as PaymentRequest, 'idem-0'); // a replay
        metrics.flush();
      } finally {
        await services.close();
      }
      expect(ids).toHaveLength(5);
      expect(ids.every((id) => id.startsWith('txn_'))).toBe(true);
      expect(lines).toHaveLength(1);
      const doc = validateEmf(lines[0] as string);
      expect(doc).toMatchObject({
        service: 'paylog', ColdStart: 1, IdempotentReplays: 1,
        PaymentsSucceeded: 2, PaymentsDeclined: 1, PaymentsFailed: 1, PaymentsProcessing: 1,
      });
      expect(doc.GatewayAttempts as number).toBeGreaterThanOrEqual(5);
      expect(doc.GatewayUnavailable as number).toBeGreaterThanOrEqual(2);
      expect(doc.GatewayMalformed as number).toBeGreaterThanOrEqual(1);
      const text = lines.join('\n');
      for (const secret of [...ids, merchantId, caller.actor, 'req_emf', 'txn_', 'idem-', '4242']) expect(text).not.toContain(secret);
    });
  });

  it('by default writes each document to fd 1 as one line (a child process’s stdout)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'paylog-emf-child-'));
    try {
      const bundle = join(dir, 'emf.mjs');
      buildSync({ entryPoints: [fileURLToPath(new URL('../../src/adapters/metrics/emf.ts', import.meta.url))], bundle: true, platform: 'node', format: 'esm', target: 'node20', outfile: bundle, logLevel: 'silent' });
      const script = `
        import { createEmfMetrics } from ${JSON.stringify(pathToFileURL(bundle).href)};
        const m = createEmfMetrics();
        m.coldStart(); m.paymentOutcome('succeeded'); m.gatewayAttempt('approved', 3); m.flush();
        m.flush();
        m.paymentOutcome('failed'); m.flush();
        process.exit(0);
      `;
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
      const guard = setTimeout(() => child.kill('SIGKILL'), 15_000);
      const out: Buffer[] = [];
      child.stdout.on('data', (d: Buffer) => out.push(d));
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
      clearTimeout(guard);
      expect(code).toBe(0);
      const text = Buffer.concat(out).toString('utf8');
      expect(text.endsWith('\n')).toBe(true);
      const lines = text.slice(0, -1).split('\n');
      expect(lines).toHaveLength(2);
      expect(validateEmf(lines[0] as string)).toMatchObject({ ColdStart: 1, PaymentsSucceeded: 1, GatewayAttempts: 1, GatewayLatency: 3 });
      expect(validateEmf(lines[1] as string)).toMatchObject({ PaymentsFailed: 1 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
