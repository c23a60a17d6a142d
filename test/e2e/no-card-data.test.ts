import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../src/app/api-keys.js';
import { startServices } from '../../src/compose/services.js';
import { loadConfig } from '../../src/config/config.js';
import { buildHttpApp } from '../../src/runtimes/http/app.js';
import { luhnValid } from '../../src/core/card.js';
import { FAST_GATEWAY_ENV, FUTURE_YEAR } from '../support/harness.js';
import { runPaylog } from '../support/process.js';

/** Every card of SPEC §2. */
const ALL_CARDS = [
  '4242424242424242', '5555555555554444', '2223003122003222', '378282246310005', '6011111111111117', '3566002020360505',
  '36227206271667', '6200000000000005', '4000000000000002', '4000000000009995', '4000000000009987', '4000000000009979',
  '4000000000000069', '4000000000000127', '4000000000000119', '4100000000000019', '4242424242424241', '4000000005030004',
  '4000000005039997', '4000000004290005', '4000000005000007', '4000000004080000', '4000000004089993', '4000000005020005',
];
/** Distinctive CVCs, so a leak cannot hide among other digits. */
const CVC3 = '739';
const CVC4 = '8264';

describe('no card number, CVC or API secret reaches a record, log line, response, export or the database', () => {
  let dataDir: string;
  const logs: string[] = [];
  const responses: string[] = [];
  let secret: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'paylog-pci-'));
    const env = { ...FAST_GATEWAY_ENV, PAYLOG_DATA_DIR: dataDir };
    const services = await startServices(loadConfig({}, env), { role: 'test' });
    const logStream = new Writable({ write(chunk, _enc, done) { logs.push(String(chunk)); done(); } });
    const app = await buildHttpApp({ ctx: services.ctx, rateLimitPerSecond: 0, logger: { level: 'trace', stream: logStream } });
    secret = (await createApiKey(services.ctx, services.system, 'acme', null)).secret;
    const send = async (body: unknown, headers: Record<string, string> = {}): Promise<void> => {
      const res = await app.inject({
        method: 'POST', url: '/v1/payments', payload: typeof body === 'string' ? body : JSON.stringify(body),
        headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json', ...headers },
      });
      responses.push(JSON.stringify(res.headers), res.body);
    };
    for (const number of ALL_CARDS) {
      const cvc = number.startsWith('37') ? CVC4 : CVC3;
      const card = { number, expMonth: 12, expYear: FUTURE_YEAR, cvc };
      await send({ amount: 2500, currency: 'gbp', paymentMethod: { type: 'card', card } }, { 'idempotency-key': `pci-${number.slice(-6)}` });
      await send({ amount: 2500, currency: 'gbp', paymentMethod: { type: 'card', card } }, { 'idempotency-key': `pci-${number.slice(-6)}` });
      // Rejected requests still carry card data in their bodies.
      await send({ amount: 'x', currency: 'gbp', paymentMethod: { type: 'card', card } });
      await send({ amount: 2500, currency: 'gbp', paymentMethod: { type: 'card', card: { ...card, extra: number } } });
      // Card data in free text is refused. (A number failing Luhn is no card number, so text may hold it.)
      if (luhnValid(number)) {
        await send({ amount: 2500, currency: 'gbp', description: `card ${number}`, paymentMethod: { type: 'card', card } });
        await send({ amount: 2500, currency: 'gbp', metadata: { note: number }, paymentMethod: { type: 'card', card } });
        await send({ amount: 2500, currency: 'gbp', paymentMethod: { type: 'card', card } }, { 'idempotency-key': `card ${number}` });
      }
      await send(`{"amount":2500,"paymentMethod":{"card":{"number":"${number}","cvc":"${cvc}"`);
      await send({ amount: 2500, currency: 'gbp', paymentMethod: { type: 'card', card }, [number]: 1 });
    }
    // A secret sent as a wrong key is not recorded either.
    const wrong = `sk_test_${'Q'.repeat(43)}`;
    const res = await app.inject({ method: 'GET', url: '/v1/payments', headers: { authorization: `Bearer ${wrong}` } });
    responses.push(res.body);
    await app.close();
    await services.close();
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  function expectClean(label: string, text: string): void {
    for (const number of ALL_CARDS) expect(text.includes(number), `${label} holds ${number}`).toBe(false);
    expect(text, `${label} holds a "cvc" field`).not.toMatch(/"cvc"/i);
    expect(text, `${label} holds a CVC value`).not.toMatch(new RegExp(`"(${CVC3}|${CVC4})"`));
    expect(text.includes(secret), `${label} holds the API secret`).toBe(false);
    expect(text.includes('Q'.repeat(43)), `${label} holds a presented secret`).toBe(false);
  }

  it('responses', () => {
    expect(responses.length).toBeGreaterThan(100);
    expectClean('responses', responses.join('\n'));
  });

  it('log lines (at trace level)', () => {
    expect(logs.length).toBeGreaterThan(100);
    expectClean('logs', logs.join(''));
  });

  it('every file in the data directory, byte for byte', () => {
    for (const name of readdirSync(dataDir)) {
      expectClean(name, readFileSync(join(dataDir, name)).toString('latin1'));
    }
  });

  it('the JSONL export', () => {
    const exported = runPaylog(['export'], { PAYLOG_DATA_DIR: dataDir });
    expect(exported.status).toBe(0);
    expect(exported.stdout.split('\n').length).toBeGreaterThan(100);
    expectClean('export', exported.stdout);
  });
});
