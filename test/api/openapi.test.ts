import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CODES, ERROR_TYPES } from '../../src/core/errors.js';
import { type TestApp, startTestApp } from '../support/harness.js';

/**
 * The OpenAPI document: the committed docs/openapi.json is what a server serves (and what the
 * Lambda bundle serves), it passes Redocly's recommended rules, and it says what a client needs.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const committed = (): Record<string, unknown> => JSON.parse(readFileSync(`${ROOT}docs/openapi.json`, 'utf8')) as Record<string, unknown>;

interface Operation {
  operationId?: string;
  security?: unknown[];
  responses: Record<string, { headers?: Record<string, unknown>; content?: Record<string, { examples?: Record<string, { value: { error?: { type: string; code: string } } }> }> }>;
  requestBody?: { content: Record<string, { examples?: Record<string, unknown> }> };
}
type Paths = Record<string, Record<string, Operation>>;

let t: TestApp;
let served: { paths: Paths } & Record<string, unknown>;
beforeAll(async () => {
  t = await startTestApp();
  served = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json();
});
afterAll(async () => t.close());

describe('the OpenAPI document', () => {
  it('is docs/openapi.json, as served by paylog serve and by the Lambda bundle (else run `npm run openapi`)', () => {
    expect(served).toEqual(committed());
    const lambda = JSON.parse(readFileSync(`${ROOT}dist/lambda/openapi.json`, 'utf8')) as unknown;
    expect(lambda).toEqual(committed());
  });

  it('passes `redocly lint` with the recommended rules: no error, no warning beyond .redocly.lint-ignore.yaml', () => {
    const run = spawnSync(process.execPath, [`${ROOT}node_modules/@redocly/cli/bin/cli.js`, 'lint', 'docs/openapi.json', '--format=json'], {
      cwd: ROOT, encoding: 'utf8', timeout: 60_000,
    });
    const report = JSON.parse(run.stdout) as { totals: { errors: number; warnings: number }; problems: unknown[] };
    expect(report.problems).toEqual([]);
    expect(report.totals).toMatchObject({ errors: 0, warnings: 0 });
    expect(run.status).toBe(0);
  });

  it('names every operation, uniquely, and lists the probes without a key', () => {
    const operations = Object.entries(served.paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => ({ path, method, op })));
    const ids = operations.map(({ op }) => op.operationId);
    expect(ids.every((id) => typeof id === 'string' && /^[a-z][A-Za-z]+$/.test(id))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    for (const probe of ['/healthz', '/readyz']) expect(served.paths[probe]?.get?.security).toEqual([]);
    expect(served.components).toMatchObject({ securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } });
  });

  it('has every route the server answers, beyond the console and the document itself', async () => {
    // printRoutes draws a tree, four columns per level: each line's path is its ancestors' segments and its own.
    const answered = new Set<string>();
    const segments: string[] = [];
    for (const line of t.app.printRoutes({ commonPrefix: false }).split('\n')) {
      const at = line.indexOf('── ');
      const match = /^(\S+) \(([A-Z, ]+)\)$/.exec(line.slice(at + 3));
      if (at < 0 || !match) continue;
      const depth = Math.floor(at / 4);
      segments.length = depth;
      segments.push(match[1] as string);
      const path = segments.join('').replace(/:([a-z]+)/g, '{$1}');
      for (const method of (match[2] as string).split(', ')) if (method !== 'HEAD') answered.add(`${method.toLowerCase()} ${path}`);
    }
    const documented = new Set(Object.entries(served.paths).flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m} ${path}`)));
    const hidden = [...answered].filter((route) => !documented.has(route)).sort();
    // The console's files, the document itself and its UI.
    expect(hidden.filter((route) => !/^get \/(console|docs)(\/|$)/.test(route))).toEqual(['get /openapi.json']);
    expect(hidden).toContain('get /console/{file}');
    expect(answered).toContain('post /v1/payments');
    expect([...documented].filter((route) => !answered.has(route))).toEqual([]);
  });

  it('shows an example of every error type, the headers a client reads, and every test card', () => {
    const operations = Object.values(served.paths).flatMap((methods) => Object.values(methods));
    const examples = operations.flatMap((op) => Object.values(op.responses).flatMap((r) => Object.values(r.content ?? {}).flatMap((m) => Object.values(m.examples ?? {}))));
    const types = new Set(examples.map((e) => e.value.error?.type));
    for (const type of ERROR_TYPES) expect(types, type).toContain(type);
    const codes = new Set(examples.map((e) => e.value.error?.code));
    // Every code but 405, which no documented operation answers (it is the answer to an undocumented method).
    for (const code of Object.keys(ERROR_CODES).filter((c) => c !== 'method_not_allowed')) expect(codes, code).toContain(code);

    const create = served.paths['/v1/payments']?.post as Operation;
    expect(Object.keys(create.responses['201']?.headers ?? {})).toEqual(expect.arrayContaining(['Request-Id', 'Location', 'Idempotent-Replayed']));
    expect(Object.keys(create.responses['429']?.headers ?? {})).toEqual(expect.arrayContaining(['Request-Id', 'Retry-After']));
    expect(Object.keys(create.responses['503']?.headers ?? {})).toEqual(expect.arrayContaining(['Retry-After', 'Idempotent-Replayed']));
    expect(Object.keys(create.requestBody?.content['application/json']?.examples ?? {})).toContain('card_4242424242424242');
    expect(Object.keys(create.requestBody?.content['application/json']?.examples ?? {})).toContain('card_4000000004089993');
  });
});
