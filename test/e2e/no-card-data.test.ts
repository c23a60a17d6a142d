import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../src/app/api-keys.js';
import { createStdoutMirror } from '../../src/adapters/mirror/stdout.js';
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

describe("issue 13's examples: each bypass is refused or masked, in responses, records and log lines", () => {
  let dataDir: string;
  const logs: string[] = [];
  const mirrored: string[] = [];
  let app: Awaited<ReturnType<typeof buildHttpApp>>;
  let close: () => Promise<void>;
  let secret: string;
  const PAN = '4242424242424242';
  const card = { number: PAN, expMonth: 12, expYear: FUTURE_YEAR, cvc: CVC3 };
  const payment = (extra: Record<string, unknown> = {}) => ({ amount: 2500, currency: 'gbp', paymentMethod: { type: 'card', card }, ...extra });

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'paylog-pci-13-'));
    const services = await startServices(loadConfig({}, { ...FAST_GATEWAY_ENV, PAYLOG_DATA_DIR: dataDir, PAYLOG_STORE: 'memory:' }), {
      role: 'test', mirror: createStdoutMirror({ write: (text) => { mirrored.push(text); } }),
    });
    const stream = new Writable({ write(chunk, _enc, done) { logs.push(String(chunk)); done(); } });
    app = await buildHttpApp({ ctx: services.ctx, rateLimitPerSecond: 0, logger: { level: 'trace', stream } });
    secret = (await createApiKey(services.ctx, services.system, 'acme', null)).secret;
    close = async () => { await app.close(); await services.close(); };
  });
  afterAll(async () => {
    await close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const post = (body: unknown, headers: Record<string, string> = {}) => app.inject({
    method: 'POST', url: '/v1/payments', payload: JSON.stringify(body),
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json', ...headers },
  });

  it('a card number in the URL is never echoed, logged or recorded, with or without a key', async () => {
    const read = await app.inject({ method: 'GET', url: `/v1/payments/${PAN}`, headers: { authorization: `Bearer ${secret}` } });
    expect(read.statusCode).toBe(404);
    expect(read.json().error.message).toBe("No such payment: '424242******4242'.");
    const nowhere = await app.inject({ method: 'GET', url: `/v1/nowhere/${PAN}?cvc=123` });
    expect(nowhere.json().error.message).toBe('Unrecognized request URL (GET: /v1/nowhere/424242******4242).');
    const anonymous = await app.inject({ method: 'GET', url: `/v1/payments/${PAN}?cvc=123` });
    expect(anonymous.statusCode).toBe(401);
    for (const res of [read, nowhere, anonymous]) expect(res.body).not.toContain(PAN);
    const text = logs.join('');
    expect(text).not.toContain(PAN);
    expect(text).not.toContain('cvc=123');
    expect(text).toContain('"url":"/v1/payments/424242******4242"');
    expect(text).toContain('"route":"/v1/payments/:id"');
  });

  it('free text is refused with the same detector, naming the field, never echoing the value', async () => {
    for (const [param, body] of [
      ['description', payment({ description: 'card4242424242424242' })],
      ['merchantReference', payment({ merchantReference: '4242.4242.4242.4242' })],
      ['metadata.note', payment({ metadata: { note: '4242/4242/4242/4242' } })],
      ['metadata.note', payment({ metadata: { note: '4242_4242_4242_4242' } })],
      ['metadata', payment({ metadata: { '4242 4242 4242 4242': 'x' } })],
    ] as const) {
      const res = await post(body);
      expect(res.statusCode, res.body).toBe(400);
      expect(res.json().error).toMatchObject({ code: 'parameter_invalid', param });
      expect(res.body).not.toMatch(/4242.?4242.?4242.?4242/);
    }
  });

  it('an unknown field named like a card number: param [redacted] in the answer and in request.rejected', async () => {
    const res = await post(payment({ '4242.4242.4242.4242': 1 }));
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({ code: 'parameter_unknown', param: '[redacted]' });
    expect(mirrored.join('')).toMatch(/"type":"request.rejected".*"param":"\[redacted\]"/);
  });

  it('an Idempotency-Key holding a card number is accepted and masked in the records', async () => {
    const res = await post(payment(), { 'idempotency-key': 'order4242424242424242' });
    expect(res.statusCode).toBe(201);
    const records = mirrored.join('');
    expect(records).toMatch(/"type":"payment.received"/);
    expect(records).not.toContain('order4242424242424242');
  });

  it('metadata validation cannot be skipped: a key with a line break, an object value', async () => {
    for (const metadata of [{ 'a\nb': 'x'.repeat(3000) }, { 'a\nb': { nested: true } }, { 'a\u2028b': 'x' }, { ok: { nested: true } }, { ok: 'x'.repeat(501) }]) {
      const res = await post(payment({ metadata }));
      expect(res.statusCode, JSON.stringify(metadata).slice(0, 40)).toBe(400);
      expect(res.json().error.code).toBe('parameter_invalid');
    }
  });

  it('a 12-digit Maestro card shows its first two and last four digits only', async () => {
    const res = await post({ amount: 2500, currency: 'gbp', paymentMethod: { type: 'card', card: { ...card, number: '675964982648' } } });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json().card).toMatchObject({ brand: 'maestro', bin: '67', last4: '2648' });
    expect(mirrored.join('')).toMatch(/"card":\{[^}]*"bin":"67"/);
  });

  it('no log line at trace holds a card number or a query string', () => {
    const text = logs.join('');
    for (const pattern of [PAN, '675964982648', 'cvc=123', `"${CVC3}"`]) expect(text).not.toContain(pattern);
  });
});
