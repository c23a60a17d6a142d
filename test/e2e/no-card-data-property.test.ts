import { readFileSync, readdirSync, mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_CARDS } from '../../src/adapters/gateway/simulated/test-cards.js';
import { luhnValid } from '../../src/core/card.js';
import { FUTURE_YEAR } from '../support/harness.js';
import { createKeyWithCli } from '../support/cli.js';
import { type ServerProcess, runPaylog, startServerProcess, stopProcess } from '../support/process.js';
import { waitFor } from '../support/wait.js';

/**
 * Issue 13, "No card number anywhere, whatever a request holds": a real `paylog serve` at log
 * level trace, with the stdout audit mirror, is sent card numbers of every brand and length,
 * written with random separators and surroundings, in every place a request can hold text. Then
 * every sink is searched (stdout and stderr, the database files with the WAL, the export, the
 * responses) for each number as text, as a JSON byte array, as base64 and as hex.
 */

const RUNS = 60;
const SEED = 20261130;
/** The card every request pays with, and a CVC distinctive enough to search for. */
const CARD = '4242424242424242';
const CVC = '739';

function referenceLuhnDigit(payload: string): string {
  for (let d = 0; d <= 9; d++) if (luhnValid(payload + d)) return payload + d;
  throw new Error('unreachable');
}

/** Every brand's prefix and issued lengths (credit-card-type, src/core/card.ts), and numbers of no known brand. */
const BRANDS: readonly [string, number[]][] = [
  ['4', [13, 16, 19]], ['51', [16]], ['2221', [16]], ['34', [15]], ['37', [15]], ['6011', [16, 19]], ['65', [16]],
  ['3528', [16, 17, 18, 19]], ['36', [14]], ['300', [14, 16]], ['62', [16, 17, 18, 19]], ['6759', [12, 13, 16, 19]],
  ['50', [12, 15]], ['2200', [16]], ['9', [12]], ['1', [15]],
];
const digits = (n: number) => fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: n, maxLength: n });
const pan = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...BRANDS).chain(([prefix, lengths]) => fc.tuple(fc.constant(prefix), fc.constantFrom(...lengths), digits(18)))
    .map(([prefix, length, rest]) => referenceLuhnDigit((prefix + rest).slice(0, length - 1))) },
  { weight: 1, arbitrary: fc.constantFrom(...[...TEST_CARDS.keys()].filter(luhnValid)) },
);

/** Separators a header name may hold (an HTTP token), and the wider set any other text may. */
const TOKEN_SEPARATORS = ['', '', '', '-', '.', '_', '--', '+', '*', '#', '|', '~', '!'];
const TEXT_SEPARATORS = [...TOKEN_SEPARATORS, ' ', '/', ' - ', '  ', ':', ',', '\\', '=', '(', ')'];
/** The number as is, in groups of four, or with a random separator (often none) between any two digits. */
const written = (number: string, separators: string[]) => fc.oneof(
  fc.constant(number),
  fc.constantFrom(...separators.filter(Boolean)).map((sep) => number.match(/.{1,4}/g)!.join(sep)),
  fc.array(fc.constantFrom(...separators), { minLength: number.length - 1, maxLength: number.length - 1 })
    .map((gaps) => [...number].map((d, i) => d + (gaps[i] ?? '')).join('')),
);
/** At most six letters glued to a side: a glued hex word stays well short of the 32 digits of a digest. */
const side = fc.oneof(fc.constant(''), fc.string({ unit: fc.constantFrom(...'cardxyzORDERk'), minLength: 1, maxLength: 6 }), fc.constantFrom('ref ', 'card: ', 'x=', '#'));

interface Case { number: string; text: string; token: string }
const cases = fc.tuple(pan, side, side).chain(([number, before, after]) =>
  fc.tuple(written(number, TEXT_SEPARATORS), written(number, TOKEN_SEPARATORS)).map(([text, token]): Case => ({
    number, text: `${before}${text}${after}`, token: `x-${before.replace(/[^A-Za-z]/g, '')}${token}`,
  })));

interface Sent { status: number; body: string; headers: string }

describe('no card number reaches any sink, whatever a request holds (property, real server at trace)', () => {
  let dataDir: string;
  let env: Record<string, string>;
  let server: ServerProcess;
  let secret: string;
  const numbers = new Set<string>([CARD]);
  const responses: string[] = [];
  let filesWhileRunning = '';

  const send = (method: string, path: string, headers: Record<string, string>, body?: string): Promise<Sent> =>
    new Promise((resolve, reject) => {
      const url = new URL(server.url);
      const req = httpRequest({ host: url.hostname, port: url.port, method, path, headers }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => { text += c; });
        res.on('end', () => {
          const sent = { status: res.statusCode ?? 0, body: text, headers: JSON.stringify(res.headers) };
          responses.push(sent.headers, sent.body);
          resolve(sent);
        });
      });
      req.on('error', reject);
      req.end(body);
    });

  const payment = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
    amount: 1099, currency: 'usd', paymentMethod: { type: 'card', card: { number: CARD, expMonth: 12, expYear: FUTURE_YEAR, cvc: CVC } }, ...extra,
  });
  const post = (body: unknown, headers: Record<string, string> = {}): Promise<Sent> =>
    send('POST', '/v1/payments', { authorization: `Bearer ${secret}`, 'content-type': 'application/json', ...headers }, JSON.stringify(body));
  const get = (path: string, headers: Record<string, string> = {}): Promise<Sent> => send('GET', path, { authorization: `Bearer ${secret}`, ...headers });

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'paylog-pan-property-'));
    env = { PAYLOG_DATA_DIR: dataDir, PAYLOG_RECONCILE_INTERVAL_MS: '0', PAYLOG_RATE_LIMIT: '0', PAYLOG_AUTH_FAILURES_PER_MINUTE: '0' };
    secret = createKeyWithCli(env);
    server = await startServerProcess({ ...env, PAYLOG_LOG_LEVEL: 'trace', PAYLOG_MIRROR: 'stdout' });
  }, 60_000);

  afterAll(async () => {
    if (server) await stopProcess(server.child, 'SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  it(`every position of ${RUNS} generated card numbers: refused where it is free text, masked everywhere else`, async () => {
    await fc.assert(fc.asyncProperty(cases, async ({ number, text, token }) => {
      numbers.add(number);
      const q = encodeURIComponent(text);
      // The path and the query, on a route, on no route, and without authentication.
      await get(`/v1/payments/${q}`);
      await get(`/v1/payments?startingAfter=${q}&cvc=${CVC}`);
      await get(`/v1/nowhere/${q}?q=${q}`);
      await send('GET', `/v1/payments/${q}?x=${q}`, {});
      // Header values and header names, with and without a valid key.
      await post(payment(), { 'x-note': text, traceparent: `00-${number.padEnd(32, '0').slice(0, 32)}-00f067aa0ba902b7-01`, [token]: 'v' });
      await send('GET', '/v1/payments', { authorization: `Bearer ${text}`, [token]: text });
      await send('GET', '/v1/payments', { authorization: text });
      // The Idempotency-Key is accepted (an HMAC of it is stored) and masked wherever it is recorded.
      expect((await post(payment(), { 'idempotency-key': text })).status).toBeLessThan(500);
      // Free-text fields refuse card data, naming the field, never echoing it.
      for (const [field, body] of [
        ['description', payment({ description: text })],
        ['merchantReference', payment({ merchantReference: text })],
        ['metadata.note', payment({ metadata: { note: text } })],
        ['metadata', payment({ metadata: { [text.length <= 40 ? text : number]: 'x' } })],
      ] as const) {
        const res = await post(body);
        expect(res.status, `${field} ${res.body}`).toBe(400);
        expect(JSON.parse(res.body).error.param, res.body).toBe(field);
      }
      // Field names, at the top and nested; values in fields of the wrong type.
      await post(payment({ [text]: 1 }));
      await post({ ...payment(), paymentMethod: { type: 'card', card: { number: CARD, expMonth: 12, expYear: FUTURE_YEAR, cvc: CVC, [text]: text } } });
      await post(payment({ currency: text, amount: text }));
      await post({ ...payment(), paymentMethod: { type: 'card', card: { number: text, expMonth: 12, expYear: FUTURE_YEAR, cvc: CVC } } });
      // Not JSON at all.
      await send('POST', '/v1/payments', { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, `{"description":"${text}`);
    }), { numRuns: RUNS, seed: SEED, endOnFailure: true });
  }, 300_000);

  it('a malformed header: Fastify\'s client-error path answers 400 and logs no packet', async () => {
    const raw = [
      'POST /v1/payments HTTP/1.1', 'Host: 127.0.0.1', `Authorization: Bearer ${secret}`, 'Content-Type: application/json',
      `X-Card: ${CARD}`, 'Bad Header Line', 'Content-Length: 80', '', JSON.stringify(payment()),
    ].join('\r\n');
    const url = new URL(server.url);
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(url.port), url.hostname, () => socket.end(raw));
      let text = '';
      socket.setEncoding('utf8');
      socket.on('data', (c: string) => { text += c; });
      socket.on('close', () => resolve(text));
      socket.on('error', reject);
    });
    responses.push(answer);
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    // The server has logged what it logs about it (its one line, at debug, written before the answer but perhaps flushed after).
    await waitFor('the client error to be logged', () => server.output().includes('"msg":"client error"'));
    filesWhileRunning = dataFiles();
    expect(filesWhileRunning.length).toBeGreaterThan(0);
  });

  function dataFiles(): string {
    return readdirSync(dataDir).map((name) => readFileSync(join(dataDir, name)).toString('latin1')).join('\n');
  }

  /** The number as text and as the encodings a scan for text would miss. */
  function forms(number: string): [string, string][] {
    const bytes = Buffer.from(number, 'latin1');
    const base64 = [0, 1, 2].map((pad) => {
      // The base64 of the number at each of the three alignments it can start at, without the characters it shares with its neighbours.
      const encoded = Buffer.concat([Buffer.alloc(pad), bytes]).toString('base64');
      return encoded.slice(Math.ceil((pad * 4) / 3), Math.floor(((pad + bytes.length) * 4) / 3));
    });
    return [
      ['text', number], ['JSON byte array', [...bytes].join(',')], ['hex', bytes.toString('hex')],
      ...base64.map((b, i): [string, string] => [`base64 (alignment ${i})`, b]),
    ];
  }

  function expectClean(label: string, text: string): void {
    const lower = text.toLowerCase();
    for (const number of numbers) {
      for (const [form, needle] of forms(number)) {
        const found = form === 'hex' ? lower.includes(needle) : text.includes(needle);
        expect(found, `${label} holds ${number} (${form})`).toBe(false);
      }
    }
    expect(text, `${label} holds a CVC value`).not.toMatch(new RegExp(`"${CVC}"|cvc=${CVC}`));
    expect(text.includes(secret), `${label} holds the API secret`).toBe(false);
  }

  it('sinks: responses, stdout and stderr (logs at trace, the audit mirror), the database with its WAL, the export', async () => {
    expect(numbers.size).toBeGreaterThan(RUNS / 2);
    expectClean('responses', responses.join('\n'));
    expectClean('database files (with the WAL, while running)', filesWhileRunning);
    expect(filesWhileRunning).toMatch(/-wal|WAL|SQLite format 3/);
    const output = server.output();
    expect(output).toMatch(/"msg":"incoming request"/); // request log lines were written
    expect(output).toMatch(/"type":"request.rejected"/); // the mirror wrote records
    expectClean('server stdout and stderr', output);
    await stopProcess(server.child, 'SIGTERM');
    expectClean('database files (after shutdown)', dataFiles());
    const exported = runPaylog(['export'], env);
    expect(exported.status, exported.stderr).toBe(0);
    expect(exported.stdout).toMatch(/auth\.failed/);
    expectClean('export', exported.stdout);
  }, 120_000);
});
