import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { type Browser, type BrowserContext, type Page, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPayment } from '../../src/app/create-payment.js';
import { startServices } from '../../src/compose/services.js';
import { loadConfig } from '../../src/config/config.js';
import type { PaymentRequest } from '../../src/core/payment.js';
import { FAST_GATEWAY_ENV, paymentBody } from '../support/harness.js';
import { type ServerProcess, runPaylog, startServerProcess, stopProcess } from '../support/process.js';
import { waitFor } from '../support/wait.js';
import { InProcessWitness } from '../support/witness-server.js';
import { dropTriggers } from '../support/sqlite-triggers.js';

/**
 * The web console in a real browser: Debian's chromium, driven by playwright-core through its
 * executable path (no browser download), against a real `paylog serve` on loopback.
 *
 * Screenshots of each page are written to PAYLOG_SCREENSHOTS_DIR (`npm run screenshots` points
 * it at docs/img/), else to a temporary directory.
 */
const CHROMIUM = process.env.PAYLOG_CHROMIUM ?? ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
const VIEWPORT = { width: 1200, height: 860 };
/** Payments made over the hour before the test, besides the 28 it makes through the API. */
const BACKFILL = 45;

// A missing browser is a failure, never a skip: the console's promises are only tested here.
describe('the web console in Chromium', () => {
  let dataDir: string;
  let shots: string;
  let server: ServerProcess;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let merchantKey: string;
  let auditorKey: string;
  let verifierKey: string;
  let witness: InProcessWitness;
  const cspViolations: string[] = [];
  let target: { id: string };

  const env = (): Record<string, string> => ({ PAYLOG_DATA_DIR: dataDir, PAYLOG_RATE_LIMIT_PER_SECOND: '0', PAYLOG_CHECKPOINT_INTERVAL_MS: '200' });
  const screenshot = (name: string) => page.screenshot({ path: join(shots, `console-${name}.png`), fullPage: true });
  const pay = async (number: string, reference: string, amount = 1099) => {
    const res = await fetch(`${server.url}/v1/payments`, {
      method: 'POST',
      headers: { authorization: `Bearer ${merchantKey}`, 'content-type': 'application/json' },
      body: JSON.stringify(paymentBody(number, { merchantReference: reference, amount, description: `Order ${reference}` })),
    });
    return (await res.json()) as { id: string; payment?: { id: string } };
  };
  const signIn = async (key: string, verifier = verifierKey) => {
    await page.goto(`${server.url}/console/`);
    await page.getByLabel('API key').fill(key);
    await page.getByLabel('Journal verifier key (optional)').fill(verifier);
    await page.getByRole('button', { name: 'Sign in' }).click();
  };

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'paylog-console-'));
    shots = process.env.PAYLOG_SCREENSHOTS_DIR ?? join(dataDir, 'screenshots');
    mkdirSync(shots, { recursive: true });
    merchantKey = runPaylog(['keys', 'create', '--merchant', 'acme'], env()).stdout.trim();
    auditorKey = runPaylog(['keys', 'create', '--role', 'auditor'], env()).stdout.trim();
    verifierKey = runPaylog(['keys', 'public'], env()).stdout.trim();
    expect(merchantKey).toMatch(/^sk_/);
    expect(auditorKey).toMatch(/^sk_/);
    // The hour before: payments made in-process with a clock set back, so the chart has a shape.
    const clock = { t: Date.now() - 55 * 60_000, now() { return this.t; } };
    const services = await startServices(loadConfig({}, { ...FAST_GATEWAY_ENV, ...env() }), { role: 'test', clock });
    const caller = { merchantId: 'acme', actor: 'key_backfill', origin: { requestId: null, traceId: null, ip: '127.0.0.1' } };
    for (let i = 0; i < BACKFILL; i++) {
      clock.t += ((i * 7) % 4) * 30_000 + 10_000; // 10 to 100 s apart: about 40 minutes
      const card = i % 7 === 3 ? '4000000000000002' : i % 11 === 5 ? '4000000005039997' : '4242424242424242';
      await createPayment(services.ctx, caller, paymentBody(card, { merchantReference: `order_${500 + i}` }) as unknown as PaymentRequest, `backfill-${i}`);
    }
    await services.close();
    // A witness cosigns the journal's checkpoints, so the integrity page has cosignatures to show.
    witness = await new InProcessWitness([verifierKey], 'witness.example/w1').start();
    server = await startServerProcess({ ...env(), PAYLOG_WITNESS: witness.setting });

    // A small shop's hour: approvals, declines, a retried charge, one gateway outage.
    const cards = ['4242424242424242', '5555555555554444', '4000000000000002', '4242424242424242', '4000000005030004',
      '4000000000009995', '378282246310005', '4242424242424242', '4000000005039997', '6011111111111117'];
    for (let i = 0; i < 24; i++) await pay(cards[i % cards.length]!, `order_${1000 + i}`, 500 + 137 * i);
    const created = await pay('4000000005030004', 'order_find_me', 4200);
    target = { id: created.id };
    expect(target.id).toMatch(/^txn_/);
    for (let i = 0; i < 3; i++) await pay('4242424242424242', `order_${2000 + i}`, 990 + i);
    // A checkpoint covers every record of every open stream (but the checkpoint records themselves), so receipts need no on-the-spot checkpoint.
    await waitFor('a checkpoint of every record', () => {
      const db = new Database(join(dataDir, 'paylog.db'), { readonly: true });
      try {
        return db.prepare(`SELECT count(*) FROM streams s WHERE s.state = 'open' AND
          (SELECT max(seq) FROM journal j WHERE j.stream = s.id AND j.type <> 'journal.checkpoint')
            > coalesce((SELECT max(size) FROM checkpoints c WHERE c.stream = s.id), 0)`).pluck().get() === 0;
      } finally {
        db.close();
      }
    });

    if (CHROMIUM === undefined) throw new Error('no Chromium: apt-get install chromium, or set PAYLOG_CHROMIUM to its executable');
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
    context = await browser.newContext({ viewport: VIEWPORT, colorScheme: 'light', locale: 'en-US', timezoneId: 'UTC' });
    page = await context.newPage();
    page.on('console', (message) => {
      if (/Content.Security.Policy|Refused to/i.test(message.text())) cspViolations.push(message.text());
    });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    if (server) await stopProcess(server.child);
    await witness?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('serves the console with a strict Content-Security-Policy and no key', async () => {
    const res = await fetch(`${server.url}/console/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('content-security-policy')).toBe(
      "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    const html = await res.text();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/); // no inline script
    expect(html).not.toMatch(/\sstyle=/);
    const js = await fetch(`${server.url}/console/app.js`);
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect((await fetch(`${server.url}/console/../package.json`)).status).toBe(404);
    expect((await fetch(`${server.url}/console/nothing.js`)).status).toBe(404);
    const redirect = await fetch(`${server.url}/console`, { redirect: 'manual' });
    expect(redirect.status).toBe(301);
    expect(redirect.headers.get('location')).toBe('/console/');
  });

  it('signs in with a merchant key kept in sessionStorage, never in the URL', async () => {
    await page.goto(`${server.url}/console/`);
    await expect(page.getByRole('heading', { name: 'Sign in' }).isVisible()).resolves.toBe(true);
    await page.getByLabel('API key').fill(merchantKey);
    await page.getByLabel('Journal verifier key (optional)').fill(verifierKey);
    await screenshot('sign-in');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Payments' }).waitFor();
    await page.getByRole('table').waitFor();
    expect(page.url()).not.toContain(merchantKey);
    expect(await page.evaluate(() => sessionStorage.getItem('paylog.apiKey'))).toBe(merchantKey);
    expect(await page.evaluate(() => localStorage.length)).toBe(0);
    expect(await page.getByRole('row').count()).toBe(21); // a header and a page of 20
    await screenshot('payments');
  });

  it('pages through payments and filters them by status', async () => {
    await page.getByRole('button', { name: 'Older →' }).click();
    await page.getByText('Page 2').first().waitFor();
    expect(await page.getByRole('row').count()).toBe(21);
    await page.getByRole('button', { name: 'Older →' }).click();
    await page.getByRole('button', { name: 'Older →' }).click();
    await page.getByText('Page 4').first().waitFor();
    expect(await page.getByRole('row').count()).toBe(1 + 28 + BACKFILL - 60); // the last page
    expect(await page.getByRole('button', { name: 'Older →' }).isDisabled()).toBe(true);
    await page.getByRole('button', { name: '← Newer' }).click();
    await page.getByRole('button', { name: '← Newer' }).click();
    await page.getByRole('button', { name: '← Newer' }).click();
    await page.getByText('Page 1').first().waitFor();
    await page.getByLabel('Status').selectOption('declined');
    await page.getByText('Page 1, declined').waitFor();
    const statuses = await page.locator('tbody .badge').allTextContents();
    expect(statuses.length).toBeGreaterThan(0);
    expect(new Set(statuses)).toEqual(new Set(['declined']));
    await page.getByLabel('Status').selectOption('');
  });

  it('finds a payment by its merchant reference and by its transaction ID', async () => {
    const listed: string[] = [];
    const onRequest = (request: { url(): string }) => {
      const url = new URL(request.url());
      if (url.pathname === '/v1/payments') listed.push(url.search);
    };
    page.on('request', onRequest);
    await page.getByLabel('Transaction ID or merchant reference').fill('order_find_me');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByText('Reference “order_find_me”').waitFor();
    expect(await page.locator('tbody tr').count()).toBe(1);
    // The oldest payment of all, found by the API's filter in one request, not by paging through the newest.
    await page.getByLabel('Transaction ID or merchant reference').fill('order_500');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByText('Reference “order_500”').waitFor();
    expect(await page.locator('tbody td').last().textContent()).toBe('order_500');
    await page.getByLabel('Transaction ID or merchant reference').fill('order_none');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByText('No payment with reference “order_none”.').waitFor();
    page.off('request', onRequest);
    expect(listed).toEqual(['order_find_me', 'order_500', 'order_none'].map((r) => `?limit=20&merchantReference=${r}`));
    await page.getByLabel('Transaction ID or merchant reference').fill(target.id);
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByText(`Transaction ${target.id}`).waitFor();
    await page.getByRole('link', { name: target.id }).click();
    await page.getByRole('heading', { name: `Payment ${target.id}` }).waitFor();
  });

  it("shows the payment's trail as a timeline and verifies its receipt in the browser", async () => {
    const status = page.locator('#proof-status');
    await status.getByText(/verified|does not verify|not fully checked/).waitFor();
    expect(await status.textContent()).toMatch(/^verified — \d+ records hash correctly and lead to checkpoints signed by paylog-local/);
    const items = page.getByRole('list', { name: 'Audit trail' }).getByRole('listitem');
    const types = await items.locator('.head strong').allTextContents();
    // Reads of the trail are in it too (audit.read), once they are recorded.
    expect(types.filter((type) => type !== 'audit.read')).toEqual(['payment.received', 'payment.attempted', 'payment.attempted', 'payment.succeeded']);
    // Each attempt with its result and delay; each record with its actor and origin.
    const trail = await page.getByRole('list', { name: 'Audit trail' }).textContent();
    expect(trail).toMatch(/attempt 1: unavailable, HTTP 503, answered in \d+ ms/);
    expect(trail).toMatch(/attempt 2: approved, answered in \d+ ms, started \d+ ms after the previous attempt ended/);
    expect(trail).toContain('127.0.0.1');
    expect(trail).toMatch(/key_[0-9a-z]{26}/);
    // The hash chain as links: a record whose predecessor is in this trail links to it.
    expect(await page.getByRole('link', { name: /^previous record \d+ \(payment\./ }).count()).toBeGreaterThan(0);
    // No card data beyond the masked card.
    const dom = await page.content();
    expect(dom).not.toContain('4000000005030004');
    // Hashes (whole, or their first 12 digits) aside, no run of digits as long as a card number.
    expect(dom.replace(/[0-9a-f]{64}|[0-9a-f]{12}…/g, '')).not.toMatch(/\d{12,19}/);
    expect(await page.getByText('visa •••• 0004').count()).toBe(1);
    await screenshot('payment-verified');
  });

  it('says "does not verify", and why, once a record is changed in the store', async () => {
    const db = new Database(join(dataDir, 'paylog.db'));
    dropTriggers(db);
    const changed = db.prepare("UPDATE journal SET body = replace(body, '\"amount\":4200', '\"amount\":42') WHERE resource = ? AND type = 'payment.received'").run(target.id);
    db.close();
    expect(changed.changes).toBe(1);
    await page.reload();
    const status = page.locator('#proof-status');
    await status.getByText(/verified|does not verify|not fully checked/).waitFor();
    expect(await status.textContent()).toMatch(/^does not verify — record \d+ of stream str_[0-9a-z]{26} \(payment\.received\) was changed after it was written/);
    await screenshot('payment-tampered');
  });

  it('charts payments per minute by outcome for the last hour, from /v1/payments/stats', async () => {
    await page.getByRole('link', { name: 'Last hour' }).click();
    await page.getByRole('heading', { name: 'Payments in the last hour' }).waitFor();
    const chart = page.getByRole('img', { name: /Payments per minute by outcome/ });
    expect(await chart.getAttribute('aria-labelledby')).toBe('chart-title');
    expect(await page.locator('#chart-title').textContent()).toMatch(/succeeded, \d+ declined, \d+ failed, \d+ processing$/);
    expect(await page.locator('svg.chart rect').count()).toBeGreaterThan(0);
    await screenshot('chart');
  });

  it('a merchant key does not see Integrity; an auditor key does, with streams, checkpoint ages and cosignatures', async () => {
    await page.goto(`${server.url}/console/#/integrity`);
    await page.getByRole('alert').getByText('Only auditor keys').waitFor();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    expect(await page.evaluate(() => sessionStorage.getItem('paylog.apiKey'))).toBeNull();
    await signIn(auditorKey);
    await page.getByRole('heading', { name: 'Integrity' }).waitFor();
    await page.getByRole('heading', { name: 'Streams' }).waitFor();
    const rows = page.getByRole('table').locator('tbody tr');
    expect(await rows.count()).toBeGreaterThan(0);
    expect(await rows.first().textContent()).toMatch(/^str_[0-9a-z]{26}\d+/);
    // Each checkpoint's signature is checked in the browser against the key given at sign-in.
    expect(await page.locator('tbody .badge').allTextContents()).toEqual(Array(await rows.count()).fill('valid'));
    expect(await page.getByRole('link', { name: 'Payments' }).count()).toBe(0);
    // Pushing to witnesses runs off the payment path: the cosignature comes within a few pushes.
    for (let i = 0; i < 50 && (await page.getByRole('list', { name: 'Cosignatures' }).count()) === 0; i++) {
      await new Promise((r) => setTimeout(r, 200));
      await page.reload();
      await page.getByRole('heading', { name: 'Streams' }).waitFor();
    }
    expect(await page.getByRole('list', { name: 'Cosignatures' }).textContent()).toBe('by witness.example/w1');
    await screenshot('integrity');
  });

  it('loads no script or style the Content-Security-Policy refuses, and never logs the key', () => {
    expect(cspViolations).toEqual([]);
    expect(server.output()).not.toContain(merchantKey);
    expect(server.output()).not.toContain(auditorKey);
  });

  it('is usable with the keyboard alone: sign in, reach a payment, open it', async () => {
    const keyboardContext = await browser.newContext({ viewport: VIEWPORT });
    const kb = await keyboardContext.newPage();
    await kb.goto(`${server.url}/console/`);
    await kb.getByRole('heading', { name: 'Sign in' }).waitFor();
    expect(await kb.evaluate(() => document.activeElement?.tagName)).toBe('H1');
    await kb.keyboard.press('Shift+Tab');
    expect(await kb.evaluate(() => document.activeElement?.textContent)).toBe('Skip to content');
    await kb.keyboard.press('Tab');
    expect(await kb.evaluate(() => document.activeElement?.id)).toBe('api-key');
    await kb.keyboard.type(merchantKey);
    await kb.keyboard.press('Tab');
    await kb.keyboard.type(verifierKey);
    await kb.keyboard.press('Enter');
    await kb.getByRole('heading', { name: 'Payments' }).waitFor();
    await kb.getByRole('table').waitFor();
    // The page's heading takes the focus; tabbing on reaches the filters, then the first payment.
    expect(await kb.evaluate(() => document.activeElement?.tagName)).toBe('H1');
    let focused = '';
    for (let i = 0; i < 10 && !focused.startsWith('txn_'); i++) {
      await kb.keyboard.press('Tab');
      focused = await kb.evaluate(() => document.activeElement?.textContent ?? '');
    }
    expect(focused).toMatch(/^txn_/);
    await kb.keyboard.press('Enter');
    await kb.getByRole('heading', { name: `Payment ${focused}` }).waitFor();
    await kb.locator('#proof-status').getByText(/^verified/).waitFor();
    await keyboardContext.close();
  });

  it('has no serious or critical axe-core violations on any page', async () => {
    // axe is injected as a script, which the console's CSP refuses: a context of its own bypasses CSP.
    const axeContext = await browser.newContext({ viewport: VIEWPORT, bypassCSP: true });
    const axePage = await axeContext.newPage();
    const check = async (what: string) => {
      await axePage.addScriptTag({ path: AXE });
      const violations = await axePage.evaluate(async () => {
        const axe = (window as unknown as { axe: { run: (ctx: Document, opts: object) => Promise<{ violations: { id: string; impact: string | null; nodes: { target: string[] }[] }[] }> } }).axe;
        const result = await axe.run(document, { resultTypes: ['violations'] });
        return result.violations.map((v) => ({ id: v.id, impact: v.impact, targets: v.nodes.map((n) => n.target.join(' ')).slice(0, 3) }));
      });
      const severe = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
      expect(severe, `${what}: ${JSON.stringify(severe)}`).toEqual([]);
    };
    await axePage.goto(`${server.url}/console/`);
    await axePage.getByRole('heading', { name: 'Sign in' }).waitFor();
    await check('sign-in');
    await axePage.getByLabel('API key').fill(merchantKey);
    await axePage.getByLabel('Journal verifier key (optional)').fill(verifierKey);
    await axePage.getByRole('button', { name: 'Sign in' }).click();
    await axePage.getByRole('table').waitFor();
    await check('payments');
    await axePage.goto(`${server.url}/console/#/payments/${target.id}`);
    await axePage.locator('#proof-status').getByText(/verified|does not verify/).waitFor();
    await check('payment');
    await axePage.goto(`${server.url}/console/#/chart`);
    await axePage.locator('svg.chart').waitFor();
    await check('chart');
    await axePage.getByRole('button', { name: 'Sign out' }).click();
    await axePage.getByLabel('API key').fill(auditorKey);
    await axePage.getByRole('button', { name: 'Sign in' }).click();
    await axePage.getByRole('heading', { name: 'Streams' }).waitFor();
    await check('integrity');
    await axeContext.close();
  });
});
