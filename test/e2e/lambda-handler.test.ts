import { spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../src/app/api-keys.js';
import { startServices } from '../../src/compose/services.js';
import { loadConfig } from '../../src/config/config.js';
import { createTables } from '../../src/adapters/store/dynamodb/index.js';
import { headOfLine } from '../../src/core/signed-head.js';
import { signerFromPrivateKey, verifierKeyOf } from '../../src/core/signed-note.js';
import { DYNAMO_ENV, dynamoUrl, freshPrefix } from '../support/dynamodb.js';
import { FAST_GATEWAY_ENV, FUTURE_YEAR } from '../support/harness.js';
import { PAYLOG_BIN } from '../support/process.js';

/** Every card of SPEC §2 and the status it must produce. */
const CARDS: [string, number][] = [
  ['4242424242424242', 201], ['5555555555554444', 201], ['2223003122003222', 201], ['378282246310005', 201],
  ['6011111111111117', 201], ['3566002020360505', 201], ['36227206271667', 201], ['6200000000000005', 201],
  ['4000000000000002', 402], ['4000000000009995', 402], ['4000000000009987', 402], ['4000000000009979', 402],
  ['4000000000000069', 402], ['4000000000000127', 402], ['4000000000000119', 402], ['4100000000000019', 402],
  ['4242424242424241', 402], ['4000000005030004', 201], ['4000000005039997', 503], ['4000000004290005', 201],
  ['4000000005000007', 201], ['4000000004080000', 201], ['4000000004089993', 202], ['4000000005020005', 202],
];
const BUNDLE = 'dist/lambda/handler.mjs';
const RUNNER = 'test/support/lambda-runner.mjs';

function body(number: string): Record<string, unknown> {
  return { amount: 4200, currency: 'usd', paymentMethod: { type: 'card', card: { number, expMonth: 12, expYear: FUTURE_YEAR, cvc: number.length === 15 ? '1234' : '123' } } };
}

function restEvent(secret: string, number: string, i: number): Record<string, unknown> {
  const payload = JSON.stringify(body(number));
  return {
    resource: '/{proxy+}', path: '/v1/payments', httpMethod: 'POST',
    headers: { Authorization: `Bearer ${secret}`, 'Content-Type': 'application/json', 'X-Request-Id': 'spoofed-by-client', 'Idempotency-Key': `rest-${i}` },
    multiValueHeaders: { Authorization: [`Bearer ${secret}`], 'Content-Type': ['application/json'], 'X-Request-Id': ['spoofed-by-client'], 'Idempotency-Key': [`rest-${i}`] },
    queryStringParameters: null, multiValueQueryStringParameters: null, pathParameters: { proxy: 'v1/payments' }, stageVariables: null,
    requestContext: {
      accountId: '123456789012', apiId: 'a1b2c3d4e5', httpMethod: 'POST', path: '/v1/v1/payments', protocol: 'HTTP/1.1', stage: 'v1',
      requestId: `c6af9ac6-7b61-11e6-9a41-${String(i).padStart(12, '0')}`, requestTimeEpoch: 1_795_737_600_000, resourceId: 'abc123', resourcePath: '/{proxy+}',
      identity: { sourceIp: '203.0.113.7', userAgent: 'curl/8.5.0' },
    },
    body: payload, isBase64Encoded: false,
  };
}

function httpApiEvent(secret: string, number: string, i: number): Record<string, unknown> {
  return {
    version: '2.0', routeKey: '$default', rawPath: '/v1/payments', rawQueryString: '',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json', 'idempotency-key': `http-${i}` },
    requestContext: {
      accountId: '123456789012', apiId: 'f6g7h8i9j0', domainName: 'f6g7h8i9j0.execute-api.us-east-1.amazonaws.com', domainPrefix: 'f6g7h8i9j0',
      http: { method: 'POST', path: '/v1/payments', protocol: 'HTTP/1.1', sourceIp: '198.51.100.9', userAgent: 'agent/1' },
      requestId: `JKJaXmPLvHcESHA${i}=`, routeKey: '$default', stage: '$default', time: '26/Nov/2026:16:00:00 +0000', timeEpoch: 1_795_737_600_000,
    },
    body: Buffer.from(JSON.stringify(body(number))).toString('base64'), isBase64Encoded: true,
  };
}

function run(cmd: string, args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => { stdout += c.toString(); });
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('the Lambda bundle against DynamoDB (DynamoDB Local)', () => {
  let dir: string;
  let env: Record<string, string>;
  let secret: string;
  let vkey: string;
  let out: { code: number | null; stdout: string; stderr: string };
  let results: { statusCode: number; headers: Record<string, string>; body: string | Record<string, unknown> }[];
  const events: Record<string, unknown>[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'paylog-lambda-'));
    const store = `${dynamoUrl(freshPrefix('lambda'))}&region=us-east-1`;
    await createTables({ url: store });
    const pem = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
    vkey = verifierKeyOf(signerFromPrivateKey('paylog-aws', (await import('node:crypto')).createPrivateKey(pem)));
    env = {
      ...FAST_GATEWAY_ENV, ...DYNAMO_ENV, PAYLOG_STORE: store, PAYLOG_JOURNAL: 'paylog-aws', PAYLOG_SIGNING_KEY: pem,
      PAYLOG_FINGERPRINT_KEY: randomBytes(32).toString('base64'), PAYLOG_LAMBDA_MERCHANT: 'acme', PAYLOG_LOG_LEVEL: 'info', PAYLOG_DATA_DIR: dir,
    };
    const services = await startServices(loadConfig({}, env), { role: 'test' });
    secret = (await createApiKey(services.ctx, services.system, 'acme', null)).secret;
    await services.close();
    CARDS.forEach(([number], i) => events.push(restEvent(secret, number, i)));
    CARDS.forEach(([number], i) => events.push(httpApiEvent(secret, number, i)));
    CARDS.forEach(([number]) => events.push(body(number)));
    writeFileSync(join(dir, 'events.json'), JSON.stringify(events));
    out = await run(process.execPath, [RUNNER, BUNDLE, join(dir, 'events.json'), join(dir, 'results.json')], env);
    results = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8'));
  }, 120_000);
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('exits cleanly after SIGTERM', () => {
    expect(out.code, out.stderr).toBe(0);
    expect(results).toHaveLength(CARDS.length * 3);
  });

  it.each(['REST (payload 1.0)', 'HTTP API (payload 2.0)', 'direct invocation'])('%s: every card of SPEC §2 gets its status', (kind) => {
    const offset = ['REST (payload 1.0)', 'HTTP API (payload 2.0)', 'direct invocation'].indexOf(kind) * CARDS.length;
    CARDS.forEach(([number, status], i) => {
      const result = results[offset + i]!;
      expect(result.statusCode, `${kind} ${number}`).toBe(status);
      const parsed = typeof result.body === 'string' ? JSON.parse(result.body) : result.body;
      const payment = parsed.error?.payment ?? parsed;
      if (kind !== 'direct invocation' || status !== 503) expect(payment.id ?? parsed.error?.payment?.id, `${kind} ${number}`).toMatch(/^txn_/);
    });
  });

  it("API Gateway's requestContext.requestId is the request ID, never a client's X-Request-Id", () => {
    expect(results[0]!.headers['request-id']).toBe('req_c6af9ac6-7b61-11e6-9a41-000000000000');
    expect(results[CARDS.length]!.headers['request-id']).toBe('req_JKJaXmPLvHcESHA0=');
    expect(out.stdout).not.toContain('spoofed-by-client');
  });

  it('every stdout line is an audit record, a signed head, a structured log line or an EMF document, and none holds card data', () => {
    const lines = out.stdout.split('\n').filter((l) => l !== '');
    const kinds = { record: 0, head: 0, log: 0, emf: 0 };
    for (const line of lines) {
      const value = JSON.parse(line) as Record<string, unknown>;
      if ('hash' in value && 'seq' in value) kinds.record++;
      else if (headOfLine(value)) kinds.head++;
      else if ('_aws' in value) kinds.emf++;
      else {
        expect(value, line).toMatchObject({ level: expect.any(String), timestamp: expect.any(String), service: 'paylog', cold_start: expect.any(Boolean) });
        kinds.log++;
      }
      for (const [number] of CARDS) expect(line.includes(number), `card ${number} in ${line.slice(0, 120)}`).toBe(false);
      expect(line.includes(secret)).toBe(false);
      expect(line).not.toMatch(/PRIVATE KEY/);
    }
    expect(kinds.record).toBeGreaterThan(200);
    // Every commit's signed head follows its records.
    expect(kinds.head).toBeGreaterThan(CARDS.length * 3);
    expect(kinds.emf).toBeGreaterThanOrEqual(CARDS.length * 3);
    expect(kinds.log).toBeGreaterThan(0);
    const requestLogs = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.correlation_id !== undefined);
    expect(requestLogs.length).toBeGreaterThan(0);
    expect(requestLogs.some((l) => l.cold_start === true)).toBe(true);
    expect(requestLogs.some((l) => l.cold_start === false)).toBe(true);
  });

  it('the EMF documents follow the Embedded Metric Format', () => {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- EMF documents are free-form JSON walked by the checks below
    const docs = out.stdout.split('\n').filter((l) => l.includes('"_aws"')).map((l) => JSON.parse(l) as Record<string, any>);
    const names = new Set<string>();
    for (const doc of docs) {
      expect(typeof doc._aws.Timestamp).toBe('number');
      for (const directive of doc._aws.CloudWatchMetrics) {
        expect(directive.Namespace).toBe('Paylog');
        for (const dims of directive.Dimensions) for (const d of dims) expect(typeof doc[d]).toBe('string');
        for (const metric of directive.Metrics) {
          const value = doc[metric.Name];
          expect(typeof value === 'number' || (Array.isArray(value) && value.every((v) => typeof v === 'number')), metric.Name).toBe(true);
          names.add(metric.Name);
        }
      }
      expect(JSON.stringify(doc)).not.toMatch(/txn_|acme|key_/);
    }
    expect([...names]).toEqual(expect.arrayContaining(['PaymentsSucceeded', 'PaymentsDeclined', 'PaymentsFailed', 'PaymentsProcessing', 'GatewayAttempts', 'GatewayLatency', 'IdempotentReplays', 'ColdStart'].filter((n) => n !== 'IdempotentReplays')));
  });

  it('the records captured from stdout verify on their own, as a CloudWatch Logs export would', async () => {
    const file = join(dir, 'cloudwatch-export.jsonl');
    writeFileSync(file, out.stdout);
    const verify = await run(process.execPath, [PAYLOG_BIN, 'verify', '--file', file, '--key', vkey], {});
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
    expect(verify.stdout).toMatch(/1\/1 streams valid/);
    expect(verify.stdout, verify.stdout).toMatch(/stopped/);
    expect(verify.stdout).toMatch(/Skipped \d+ lines that are not audit records/);
  });

  it('the same journal verifies in DynamoDB, with every stream sealed or stopped', async () => {
    const verify = await run(process.execPath, [PAYLOG_BIN, 'verify', '--store', env.PAYLOG_STORE!, '--journal', 'paylog-aws', '--key', vkey, '--json'], DYNAMO_ENV);
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
    const report = JSON.parse(verify.stdout) as { streams: { end: string }[] };
    expect(report.streams.every((s) => s.end === 'stopped')).toBe(true);
  });
});
