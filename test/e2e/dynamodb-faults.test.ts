import { createPrivateKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTables } from '../../src/adapters/store/dynamodb/index.js';
import { createApiKey } from '../../src/app/api-keys.js';
import { reconcile } from '../../src/app/reconcile.js';
import { verifyStore } from '../../src/app/verify-journal.js';
import { type Services, startServices } from '../../src/compose/services.js';
import { loadConfig } from '../../src/config/config.js';
import type { AuditRecord } from '../../src/core/audit-record.js';
import type { TrustedKey } from '../../src/core/checkpoint.js';
import { signerFromPrivateKey, verifierKeyOf } from '../../src/core/signed-note.js';
import { buildHttpApp } from '../../src/runtimes/http/app.js';
import { trustedKeyOf } from '../support/journal-fixture.js';
import { type DynamoProxy, type Fault, startDynamoProxy } from '../support/dynamodb-proxy.js';
import { DYNAMO_ENV, dynamoEndpoint, freshPrefix } from '../support/dynamodb.js';
import { FAST_GATEWAY_ENV, paymentBody } from '../support/harness.js';
import { runPaylogAsync } from '../support/process.js';

/**
 * A payment's DynamoDB requests fail one position at a time, every way AWS can fail them:
 * once (the SDK's retries must absorb it without doing anything twice) or on every attempt
 * (the request fails, the client retries with the same Idempotency-Key). Whatever happens:
 * no acknowledged payment is lost, no commit is half applied, one key never charges twice,
 * and the journal verifies.
 */
const ONCE: Fault[] = ['error', 'throttle', 'conflict', 'drop-before', 'drop-after'];
const EVERY_ATTEMPT: Fault[] = ['error', 'throttle', 'conflict', 'drop-after'];
/** The SDK's attempts per call (connection.ts DEFAULT_MAX_ATTEMPTS). */
const SDK_ATTEMPTS = 3;
/** Client retries of one payment with the same key before the test gives up. */
const CLIENT_TRIES_MAX = 8;
const LEASE_MS = 9_000;
const ACKED = new Set([201, 202, 402]);

interface Answer {
  status: number;
  id: string | null;
  paymentStatus: string | null;
}

/** Slow SDK retries need a long gateway budget; reconciliation waits it out (the clock skips it). */
const GATEWAY_BUDGET_MS = 8_000;

/** Wall-clock time that the test can move forward, to expire an idempotency lease without waiting for it. */
function skewedClock(): { now(): number; skip(ms: number): void } {
  let skew = 0;
  return { now: () => Date.now() + skew, skip: (ms) => { skew += ms; } };
}

describe('a payment on DynamoDB with a fault at every position of its requests', () => {
  let proxy: DynamoProxy;
  let dir: string;
  let services: Services;
  let app: FastifyInstance;
  let secret: string;
  let verifierKey: string;
  let trusted: TrustedKey;
  let storeUrl: string;
  const clock = skewedClock();
  const env: Record<string, string> = {};
  /** DynamoDB requests one clean payment makes, learned from the proxy. */
  let positions = 0;

  beforeAll(async () => {
    proxy = await startDynamoProxy(dynamoEndpoint());
    dir = mkdtempSync(join(tmpdir(), 'paylog-faults-'));
    const prefix = freshPrefix('faults');
    await createTables({ url: `dynamodb://${prefix}?endpoint=${dynamoEndpoint()}` });
    storeUrl = `dynamodb://${prefix}?endpoint=${proxy.endpoint}`;
    const pem = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
    const signer = signerFromPrivateKey('paylog-faults', createPrivateKey(pem));
    verifierKey = verifierKeyOf(signer);
    trusted = trustedKeyOf(signer);
    Object.assign(env, {
      ...FAST_GATEWAY_ENV, ...DYNAMO_ENV,
      PAYLOG_STORE: storeUrl, PAYLOG_JOURNAL: 'paylog-faults', PAYLOG_SIGNING_KEY: pem, PAYLOG_FINGERPRINT_KEY: randomBytes(32).toString('base64'),
      PAYLOG_DATA_DIR: dir, PAYLOG_RATE_LIMIT: '0',
      // Slow SDK retries (throttling backs off for up to a second) must not look like a gateway timeout.
      PAYLOG_GATEWAY_ATTEMPT_TIMEOUT_MS: '3000', PAYLOG_GATEWAY_BUDGET_MS: String(GATEWAY_BUDGET_MS), PAYLOG_IDEMPOTENCY_LEASE_MS: String(LEASE_MS),
      PAYLOG_RECONCILE_AFTER_MS: String(GATEWAY_BUDGET_MS), PAYLOG_RECONCILE_INTERVAL_MS: '0',
      // No timers: every request the proxy sees belongs to the payment being sent, at a fixed position.
      PAYLOG_CHECKPOINT_INTERVAL_MS: '0',
    });
    services = await startServices(loadConfig({}, env), { role: 'test', clock });
    app = await buildHttpApp({ ctx: services.ctx, rateLimitPerSecond: 0, logger: false });
    await app.ready();
    secret = (await createApiKey(services.ctx, services.system, 'acme', null)).secret;

    // A clean payment first: every request is then warm, and its count is the positions to fail.
    await pay('warm-up');
    const before = proxy.log.length;
    expect((await pay('clean')).at(-1)?.status).toBe(201);
    positions = proxy.log.length - before;
    // payment.received with the key's claim, the gateway's ledger entry, the outcome.
    expect(positions).toBeGreaterThanOrEqual(3);
  }, 60_000);

  afterAll(async () => {
    await app?.close();
    await services?.close();
    await proxy?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function send(key: string): Promise<Answer> {
    const res = await app.inject({
      method: 'POST', url: '/v1/payments', payload: paymentBody(),
      headers: { authorization: `Bearer ${secret}`, 'idempotency-key': key },
    });
    const body = res.json() as { id?: string; status?: string; error?: { payment?: { id: string; status: string } } };
    const payment = body.error?.payment ?? (body.id ? { id: body.id, status: body.status as string } : null);
    return { status: res.statusCode, id: payment?.id ?? null, paymentStatus: payment?.status ?? null };
  }

  /** Sends until an answer the client would keep: a 5xx is retried, a 409 once the crashed request's lease is past. */
  async function pay(key: string): Promise<Answer[]> {
    const answers: Answer[] = [];
    for (let tries = 0; tries < CLIENT_TRIES_MAX; tries++) {
      const answer = await send(key);
      answers.push(answer);
      if (answer.status === 409) clock.skip(LEASE_MS + 1);
      else if (answer.status < 500) break;
    }
    return answers;
  }

  async function records(): Promise<AuditRecord[]> {
    return services.ctx.store.journal.readStream(services.ctx.writer.streamId, 1, 1_000_000);
  }

  /** Everything that must hold after a case, however its faults fell. */
  async function checkInvariants(key: string, answers: Answer[]): Promise<void> {
    const final = answers.at(-1) as Answer;
    expect(ACKED.has(final.status), JSON.stringify(answers)).toBe(true);
    // Payments left processing (an outcome that could not be recorded) are settled as the gateway says.
    if (final.paymentStatus === 'processing') {
      // Reconciliation waits out the gateway's retry budget: move the clock past it instead.
      clock.skip(GATEWAY_BUDGET_MS + 1);
      await reconcile(services.ctx, services.system);
    }

    const all = await records();
    const received = all.filter((r) => r.type === 'payment.received' && r.data.idempotencyKey === key);
    // One key, one transaction: never a second payment (and so never a second charge) for it.
    expect(received.map((r) => r.resource), JSON.stringify(answers)).toHaveLength(1);
    const id = received[0]?.resource as string;
    for (const answer of answers) if (ACKED.has(answer.status)) expect(answer.id).toBe(id);

    // Nothing half applied: the payment's row is what its last record says.
    const payment = await services.ctx.store.payments.get('acme', id);
    const settled = all.filter((r) => r.resource === id && typeof r.data.status === 'string').at(-1);
    expect(payment?.status, JSON.stringify(answers)).toBe(settled?.data.status);
    expect(payment?.status).toBe('succeeded');
    // Charged exactly once, under the payment's own gateway key.
    expect(await services.ctx.store.gatewayLedger.get(id)).toMatchObject({ outcome: 'approved' });
    // Every acknowledged status is the payment's status, or an earlier one it has since left.
    for (const answer of answers) if (ACKED.has(answer.status)) expect(['succeeded', 'processing']).toContain(answer.paymentStatus);

    const report = await verifyStore(services.ctx.store.journal, { journal: 'paylog-faults', trusted: [trusted] });
    expect(report.problems, JSON.stringify(report.problems)).toEqual([]);
  }

  /** Fails the request at `position` (1-based, counted from the case's first request); `attempts` of it in a row. */
  function failAt(position: number, fault: Fault, attempts: number): () => string | null {
    const start = proxy.log.length;
    let action: string | null = null;
    let failed = 0;
    proxy.decide = (request) => {
      const at = request.n - start;
      if (at === position) action = request.action;
      const hit = at >= position && failed < attempts && request.action === action;
      if (!hit) return 'pass';
      failed += 1;
      return fault;
    };
    return () => action;
  }

  for (const [mode, faults, attempts] of [['once', ONCE, 1], ['on every attempt', EVERY_ATTEMPT, SDK_ATTEMPTS]] as const) {
    for (const fault of faults) {
      it(`${fault} ${mode}, at each position`, async () => {
        for (let position = 1; position <= positions; position++) {
          const key = `${fault}-${attempts}-${position}`;
          const hitAction = failAt(position, fault, attempts);
          const answers = await pay(key);
          proxy.decide = () => 'pass';
          await checkInvariants(key, answers);
          if (attempts === 1) {
            // The SDK absorbed it: the client saw one clean answer.
            expect(answers.map((a) => a.status), `${hitAction()} at ${position}`).toEqual([201]);
          }
        }
      }, 120_000);
    }
  }

  it('paylog verify exits 0 on the journal, with the key alone', async () => {
    const url = storeUrl.replace(proxy.endpoint, dynamoEndpoint());
    const verify = await runPaylogAsync(['verify', '--store', url, '--journal', 'paylog-faults', '--key', verifierKey], { ...DYNAMO_ENV });
    expect(verify.status, verify.stdout + verify.stderr).toBe(0);
  }, 60_000);
});
