import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSigningKeys } from '../../src/compose/signing-keys.js';
import type { AuditRecord } from '../../src/core/audit-record.js';
import { checkReceiptEntry, type ReceiptEntry } from '../../src/core/receipt.js';
import { parseVerifierKey, verifierKeyOf } from '../../src/core/signed-note.js';
import { type TestApp, paymentBody, startTestApp } from '../support/harness.js';

/**
 * A payment's records grow with every idempotent replay, so /events and /proof answer in
 * pages: `limit` and `startingAfter` (the last record received, `<stream>:<seq>`), like the
 * payment list. Each receipt entry places its checkpoint in the journal tree.
 */

let t: TestApp;
let secret: string;
let other: string;
let trusted: ReturnType<typeof trustedKeys>;
const REPLAYS = 7;

const trustedKeys = () => [{ key: parseVerifierKey(verifierKeyOf(loadSigningKeys(t.config).current)), validFrom: null, validUntil: null }];
const get = (url: string, key = secret) => t.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${key}` } });
const cursor = (r: AuditRecord) => `${r.stream}:${r.seq}`;
/** Reading the trail is itself recorded (audit.read), so what a payment holds is compared without those. */
const paymentRecords = (records: AuditRecord[]) => records.filter((r) => r.type !== 'audit.read');

async function payWithReplays(key: string, replays: number): Promise<string> {
  let id = '';
  for (let i = 0; i <= replays; i++) {
    const res = await t.app.inject({
      method: 'POST', url: '/v1/payments', payload: paymentBody(),
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json', 'idempotency-key': key },
    });
    expect(res.statusCode).toBe(201);
    id = res.json().id;
  }
  return id;
}

/** Every page of `path`, `limit` records at a time. */
async function allPages<T extends { hasMore: boolean }>(path: string, limit: number, last: (page: T) => AuditRecord | undefined): Promise<T[]> {
  const pages: T[] = [];
  let after: string | undefined;
  for (;;) {
    const res = await get(`${path}?limit=${limit}${after ? `&startingAfter=${after}` : ''}`);
    expect(res.statusCode, res.body).toBe(200);
    const page = res.json() as T;
    pages.push(page);
    if (!page.hasMore) return pages;
    after = cursor(last(page) as AuditRecord);
    expect(pages.length).toBeLessThan(100);
  }
}

let id: string;
let everything: AuditRecord[];

beforeAll(async () => {
  t = await startTestApp({ PAYLOG_CHECKPOINT_EVERY: '1000', PAYLOG_CHECKPOINT_INTERVAL_MS: '0' });
  secret = await t.keyFor('acme');
  other = await t.keyFor('globex');
  trusted = trustedKeys();
  id = await payWithReplays('record-pages-1', REPLAYS);
  const res = await get(`/v1/payments/${id}/events`);
  expect(res.statusCode).toBe(200);
  everything = paymentRecords(res.json().data);
});
afterAll(async () => t.close());

describe('GET /v1/payments/{id}/events, paged', () => {
  it('without a limit: the first 100 records, and whether more follow', async () => {
    const res = (await get(`/v1/payments/${id}/events`)).json();
    expect(res.hasMore).toBe(false);
    // received, attempted, succeeded, then one idempotency.replayed per replay.
    expect(everything.map((r) => r.type)).toEqual(['payment.received', 'payment.attempted', 'payment.succeeded', ...Array(REPLAYS).fill('idempotency.replayed')]);
  });

  it('pages of 3 add up to every record, once each, in order', async () => {
    const pages = await allPages<{ data: AuditRecord[]; hasMore: boolean }>(`/v1/payments/${id}/events`, 3, (p) => p.data.at(-1));
    const records = pages.flatMap((p) => p.data);
    expect(pages.slice(0, -1).every((p) => p.data.length === 3)).toBe(true);
    expect(new Set(records.map(cursor)).size).toBe(records.length);
    expect(paymentRecords(records)).toEqual(everything);
  });

  it('a page that ends exactly at the last record says there is no more', async () => {
    const all = (await get(`/v1/payments/${id}/events?limit=100`)).json().data as AuditRecord[];
    const res = (await get(`/v1/payments/${id}/events?limit=${all.length}`)).json();
    expect(res.data).toEqual(all);
    const last = (await get(`/v1/payments/${id}/events?limit=1&startingAfter=${cursor(all.at(-1)!)}`)).json();
    expect(paymentRecords(last.data)).toEqual([]);
  });

  it.each([
    ['limit=0', 'limit'], ['limit=101', 'limit'], ['limit=abc', 'limit'],
    ['startingAfter=nonsense', 'startingAfter'], ['startingAfter=str_00000000000000000000000000:1', 'startingAfter'],
  ])('%s → 400 naming %s', async (query, param) => {
    const res = await get(`/v1/payments/${id}/events?${query}`);
    expect(res.statusCode).toBe(400);
    expect(res.json().error.param).toBe(param);
  });

  it("a cursor naming another payment's record is refused", async () => {
    const second = await payWithReplays('record-pages-2', 0);
    const [first] = (await get(`/v1/payments/${second}/events`)).json().data as AuditRecord[];
    const res = await get(`/v1/payments/${id}/events?startingAfter=${cursor(first as AuditRecord)}`);
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({ code: 'parameter_invalid', param: 'startingAfter' });
  });

  it("another merchant's key gets a 404 whatever the page", async () => {
    expect((await get(`/v1/payments/${id}/events?limit=2`, other)).statusCode).toBe(404);
    expect((await get(`/v1/payments/${id}/proof?limit=2`, other)).statusCode).toBe(404);
  });
});

describe('GET /v1/payments/{id}/proof, paged', () => {
  it('pages of 4 prove every record once, each against a signed checkpoint placed in the journal tree', async () => {
    type Page = { proofs: ReceiptEntry[]; pending: AuditRecord[]; hasMore: boolean };
    const pages = await allPages<Page>(`/v1/payments/${id}/proof`, 4, (p) => [...p.proofs.map((e) => e.record), ...p.pending].sort((a, b) => a.ts.localeCompare(b.ts) || a.stream.localeCompare(b.stream) || a.seq - b.seq).at(-1));
    expect(pages.slice(0, -1).every((p) => p.proofs.length + p.pending.length === 4)).toBe(true);
    const proven = pages.flatMap((p) => p.proofs);
    expect(pages.flatMap((p) => p.pending)).toEqual([]);
    expect(paymentRecords(proven.map((e) => e.record))).toEqual(everything);
    for (const entry of proven) {
      expect(entry.journalLeaf).toBeDefined();
      // No witnesses asked for: the journal tree checkpoint is checked, and the checkpoint's leaf in it.
      expect(checkReceiptEntry(entry, trusted, { keys: [], quorum: 0 })).toMatchObject({ ok: true });
    }
    const tampered = { ...proven[0]!, journalLeaf: { ...proven[0]!.journalLeaf!, index: proven[0]!.journalLeaf!.index + 1 } };
    expect(checkReceiptEntry(tampered, trusted, { keys: [], quorum: 0 })).toMatchObject({ ok: false });
  });
});
