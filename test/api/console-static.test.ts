import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONSOLE_CSP } from '../../src/runtimes/http/routes/console.js';
import { buildHttpApp } from '../../src/runtimes/http/app.js';
import { type TestApp, startTestApp } from '../support/harness.js';

/**
 * The console's static files: no key, outside the rate limit and the failed-authentication
 * limit (an address blocked from /v1 still loads the page that tells its user the key failed),
 * one of the files read at start or 404, never a path from the URL.
 */
let t: TestApp;
let app: FastifyInstance;
const ATTACKER = '198.51.100.7';

beforeAll(async () => {
  t = await startTestApp();
  app = await buildHttpApp({ ctx: t.services.ctx, rateLimitPerSecond: 1, authFailuresPerMinute: 2, logger: false });
  await app.ready();
});
afterAll(async () => {
  await app.close();
  await t.close();
});

const get = (url: string) => app.inject({ method: 'GET', url, remoteAddress: ATTACKER });

describe('GET /console', () => {
  it('serves the page and its modules with their content types, the CSP and nosniff, without a key', async () => {
    for (const [url, type] of [['/console/', 'text/html'], ['/console/app.js', 'text/javascript'], ['/console/verify.js', 'text/javascript'], ['/console/style.css', 'text/css']] as const) {
      const res = await get(url);
      expect(res.statusCode, url).toBe(200);
      expect(res.headers['content-type'], url).toBe(`${type}; charset=utf-8`);
      expect(res.headers['content-security-policy'], url).toBe(CONSOLE_CSP);
      expect(res.headers['x-content-type-options'], url).toBe('nosniff');
      expect(res.headers['request-id'], url).toMatch(/^req_/);
    }
    expect(CONSOLE_CSP).toContain("script-src 'self'");
    expect(CONSOLE_CSP).not.toContain('unsafe');
  });

  it('names only files it read at start: anything else is 404, and no path reaches the file system', async () => {
    for (const url of ['/console/nothing.js', '/console/..%2Fpackage.json', '/console/%2e%2e%2fpackage.json', '/console/../package.json', '/console/.env']) {
      const res = await get(url);
      expect(res.statusCode, url).toBe(404);
      expect(res.body, url).not.toContain('"name": "paylog"');
    }
  });

  it('is not held back by the rate limit or by failed authentications from the same address', async () => {
    for (let i = 0; i < 4; i++) {
      await app.inject({ method: 'GET', url: '/v1/payments', remoteAddress: ATTACKER, headers: { authorization: 'Bearer sk_test_nope' } });
    }
    expect((await get('/v1/payments')).statusCode).toBe(429);
    for (let i = 0; i < 5; i++) expect((await get('/console/app.js')).statusCode).toBe(200);
  });

  it('is not in the OpenAPI document; the stats route is', async () => {
    const paths = Object.keys((await t.app.inject({ method: 'GET', url: '/openapi.json' })).json().paths);
    expect(paths.some((p) => p.startsWith('/console'))).toBe(false);
    expect(paths).toContain('/v1/payments/stats');
  });
});
