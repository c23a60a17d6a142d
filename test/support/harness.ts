import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { createApiKey } from '../../src/app/api-keys.js';
import { type Services, startServices } from '../../src/compose/services.js';
import { loadConfig, type Config } from '../../src/config/config.js';
import type { Store } from '../../src/ports/store.js';
import { buildHttpApp } from '../../src/runtimes/http/app.js';
import { OpenApiContract } from './openapi-contract.js';

/** One for every app of a test file: the document's validators compile once. */
const contract = new OpenApiContract();

/** Settings that keep the retry paths fast in tests: timeouts of tens of milliseconds. */
export const FAST_GATEWAY_ENV = {
  PAYLOG_GATEWAY_LATENCY_MS: '0',
  PAYLOG_GATEWAY_ATTEMPT_TIMEOUT_MS: '60',
  PAYLOG_GATEWAY_MAX_ATTEMPTS: '3',
  PAYLOG_GATEWAY_BUDGET_MS: '1000',
  PAYLOG_GATEWAY_BACKOFF_BASE_MS: '1',
  PAYLOG_GATEWAY_BACKOFF_MAX_MS: '5',
  PAYLOG_IDEMPOTENCY_LEASE_MS: '5000',
  PAYLOG_LOG_LEVEL: 'silent',
  // Every server a test starts would otherwise take the default metrics port, 9464.
  PAYLOG_METRICS_PORT: '0',
};

export interface TestApp {
  app: FastifyInstance;
  services: Services;
  config: Config;
  dataDir: string;
  /** Creates an API key for a merchant and returns its secret. */
  keyFor(merchantId: string): Promise<string>;
  close(): Promise<void>;
}

export interface TestAppOptions {
  /** A store of the test's own (e.g. one that fails on demand), instead of PAYLOG_STORE's. */
  store?: Store;
}

export async function startTestApp(env: Record<string, string> = {}, options: TestAppOptions = {}): Promise<TestApp> {
  const dataDir = mkdtempSync(join(tmpdir(), 'paylog-test-'));
  const config = loadConfig({}, { PAYLOG_STORE: 'memory:', PAYLOG_DATA_DIR: dataDir, PAYLOG_RATE_LIMIT: '0', ...FAST_GATEWAY_ENV, ...env });
  const services = await startServices(config, { role: 'test', ...(options.store && { store: options.store }) });
  const app = await buildHttpApp({ ctx: services.ctx, rateLimitPerSecond: config.rateLimitPerSecond, logger: false });
  // Every response is checked against docs/openapi.json; a mismatch fails the test at close().
  const mismatches: string[] = [];
  app.addHook('onSend', async (request, reply, payload) => {
    if (typeof payload === 'string') {
      mismatches.push(...contract.check({ method: request.method, url: request.url, status: reply.statusCode, headers: reply.getHeaders(), body: payload }));
    }
    return payload;
  });
  await app.ready();
  return {
    app, services, config, dataDir,
    async keyFor(merchantId) {
      return (await createApiKey(services.ctx, services.system, merchantId, null)).secret;
    },
    async close() {
      await app.close();
      await services.close();
      rmSync(dataDir, { recursive: true, force: true });
      if (mismatches.length > 0) throw new Error(`responses that do not match docs/openapi.json:\n${mismatches.join('\n')}`);
    },
  };
}

export const FUTURE_YEAR = new Date().getUTCFullYear() + 4;

export function paymentBody(number = '4242424242424242', overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    amount: 1099,
    currency: 'usd',
    paymentMethod: { type: 'card', card: { number, expMonth: 12, expYear: FUTURE_YEAR, cvc: number.startsWith('3') && number.length === 15 ? '1234' : '123' } },
    description: 'Order 1234',
    merchantReference: 'order_1234',
    metadata: { cart: 'c_9' },
    ...overrides,
  };
}
