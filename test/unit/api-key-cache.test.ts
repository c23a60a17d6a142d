import { describe, expect, it } from 'vitest';
import { createMemoryStore } from '../../src/adapters/store/memory/index.js';
import { API_KEY_CACHE_ENTRIES_MAX, ApiKeyCache } from '../../src/app/api-key-cache.js';
import { authenticate, createApiKey, revokeApiKey } from '../../src/app/api-keys.js';
import type { AppContext, Caller } from '../../src/app/context.js';
import type { ApiKey, KeyStore } from '../../src/ports/key-store.js';
import type { Store } from '../../src/ports/store.js';
import { seededRandom } from '../support/fakes.js';

const MAX_AGE_MS = 5_000;
const operator: Caller = { merchantId: '', actor: 'test', origin: { requestId: null, traceId: null, ip: null } };

/** A fixed clock the test moves by hand. */
function fixedClock(): { now(): number; advance(ms: number): void } {
  let nowMs = Date.parse('2026-11-26T16:00:00.000Z');
  return { now: () => nowMs, advance: (ms) => void (nowMs += ms) };
}

interface Process {
  ctx: AppContext;
  /** findByHash calls this process made. */
  reads(): number;
}

/**
 * One paylog process on a shared store, with just what authentication and key management use.
 * `gate`, when set, holds every findByHash answer until it resolves.
 */
function processOn(store: Store, clock: { now(): number }, maxAgeMs = MAX_AGE_MS, gate?: () => Promise<void>): Process {
  let reads = 0;
  const keys: KeyStore = {
    create: (key) => store.keys.create(key),
    get: (id) => store.keys.get(id),
    list: () => store.keys.list(),
    revoke: (id, at) => store.keys.revoke(id, at),
    async findByHash(hash) {
      reads++;
      const key = await store.keys.findByHash(hash);
      await gate?.();
      return key;
    },
  };
  const ctx = {
    store: { ...store, keys }, clock, random: seededRandom(7),
    writer: { append: async () => ({}) },
    apiKeyCache: new ApiKeyCache(maxAgeMs),
  } as unknown as AppContext;
  return { ctx, reads: () => reads };
}

async function keyIn(ctx: AppContext, merchantId = 'acme'): Promise<{ key: ApiKey; header: string; secret: string }> {
  const { key, secret } = await createApiKey(ctx, operator, merchantId, null);
  return { key, secret, header: `Bearer ${secret}` };
}

describe('authentication with the API key cache', () => {
  it('answers a repeated key from the cache without reading the store', async () => {
    const clock = fixedClock();
    const p = processOn(createMemoryStore(), clock);
    const { key, header } = await keyIn(p.ctx);
    expect(await authenticate(p.ctx, header)).toEqual({ ok: true, key });
    clock.advance(MAX_AGE_MS - 1);
    expect(await authenticate(p.ctx, header)).toEqual({ ok: true, key });
    expect(p.reads()).toBe(1);
  });

  it('reads the store again once the entry is maxAgeMs old, or when the clock stepped back', async () => {
    const clock = fixedClock();
    const p = processOn(createMemoryStore(), clock);
    const { header } = await keyIn(p.ctx);
    await authenticate(p.ctx, header);
    clock.advance(MAX_AGE_MS);
    expect(await authenticate(p.ctx, header)).toMatchObject({ ok: true });
    expect(p.reads()).toBe(2);
    clock.advance(-1);
    expect(await authenticate(p.ctx, header)).toMatchObject({ ok: true });
    expect(p.reads()).toBe(3);
  });

  it('refuses a key revoked by this process at once', async () => {
    const p = processOn(createMemoryStore(), fixedClock());
    const { key, header } = await keyIn(p.ctx);
    await authenticate(p.ctx, header);
    await revokeApiKey(p.ctx, operator, key.id);
    expect(await authenticate(p.ctx, header)).toEqual({ ok: false, code: 'api_key_revoked', keyId: key.id });
  });

  it('refuses a key revoked by another process once its entry here is maxAgeMs old', async () => {
    const store = createMemoryStore();
    const clock = fixedClock();
    const here = processOn(store, clock);
    const elsewhere = processOn(store, clock);
    const { key, header } = await keyIn(here.ctx);
    await authenticate(here.ctx, header);
    clock.advance(1_000);
    await revokeApiKey(elsewhere.ctx, operator, key.id);
    expect(await authenticate(elsewhere.ctx, header)).toMatchObject({ ok: false, code: 'api_key_revoked' });
    // The documented delay: this process read the key 1 s before the revocation.
    clock.advance(MAX_AGE_MS - 1_001);
    expect(await authenticate(here.ctx, header)).toMatchObject({ ok: true });
    clock.advance(1);
    expect(await authenticate(here.ctx, header)).toEqual({ ok: false, code: 'api_key_revoked', keyId: key.id });
  });

  it('does not cache what a lookup read while this process revoked the key', async () => {
    const store = createMemoryStore();
    let release: () => void = () => undefined;
    let held = false;
    const p = processOn(store, fixedClock(), MAX_AGE_MS, () => (held ? new Promise((resolve) => (release = resolve)) : Promise.resolve()));
    const { key, header } = await keyIn(p.ctx);
    held = true;
    const racing = authenticate(p.ctx, header); // reads the key while it is still valid
    await new Promise((resolve) => setImmediate(resolve));
    held = false;
    await revokeApiKey(p.ctx, operator, key.id);
    release();
    expect(await racing).toMatchObject({ ok: true }); // it was valid when read
    expect(await authenticate(p.ctx, header)).toMatchObject({ ok: false, code: 'api_key_revoked' });
  });

  it('never caches unknown, malformed or revoked keys: each is read every time', async () => {
    const p = processOn(createMemoryStore(), fixedClock());
    const unknown = `Bearer sk_test_${'A'.repeat(43)}`;
    for (let i = 0; i < 3; i++) expect(await authenticate(p.ctx, unknown)).toMatchObject({ ok: false, code: 'api_key_invalid' });
    expect(await authenticate(p.ctx, 'Bearer sk_test_short')).toMatchObject({ ok: false, code: 'api_key_invalid' });
    expect(p.reads()).toBe(3);
    const { key, header } = await keyIn(p.ctx);
    await revokeApiKey(p.ctx, operator, key.id);
    for (let i = 0; i < 2; i++) await authenticate(p.ctx, header);
    expect(p.reads()).toBe(5);
    expect(p.ctx.apiKeyCache.size).toBe(0);
  });

  it('reads the store on every request with maxAgeMs 0', async () => {
    const p = processOn(createMemoryStore(), fixedClock(), 0);
    const { header } = await keyIn(p.ctx);
    for (let i = 0; i < 3; i++) expect(await authenticate(p.ctx, header)).toMatchObject({ ok: true });
    expect(p.reads()).toBe(3);
    expect(p.ctx.apiKeyCache.size).toBe(0);
  });

  it(`holds at most ${API_KEY_CACHE_ENTRIES_MAX} keys, forgetting the oldest`, async () => {
    const p = processOn(createMemoryStore(), fixedClock());
    const keys = [];
    for (let i = 0; i <= API_KEY_CACHE_ENTRIES_MAX; i++) keys.push(await keyIn(p.ctx, `m${i}`));
    for (const { header } of keys) await authenticate(p.ctx, header);
    expect(p.ctx.apiKeyCache.size).toBe(API_KEY_CACHE_ENTRIES_MAX);
    const reads = p.reads();
    await authenticate(p.ctx, keys[1]?.header as string); // still held
    expect(p.reads()).toBe(reads);
    await authenticate(p.ctx, keys[0]?.header as string); // the oldest, forgotten
    expect(p.reads()).toBe(reads + 1);
  });

  it('keeps hashes and key metadata, never a secret', async () => {
    const p = processOn(createMemoryStore(), fixedClock());
    const { header, secret } = await keyIn(p.ctx);
    await authenticate(p.ctx, header);
    const held = (p.ctx.apiKeyCache as unknown as { entries: Map<string, unknown> }).entries;
    expect(held.size).toBe(1);
    expect(JSON.stringify([...held])).not.toContain(secret);
    expect(JSON.stringify([...held])).not.toContain(secret.slice('sk_test_'.length));
  });
});

describe('ApiKeyCache', () => {
  const key = (n: number): ApiKey => ({ id: `key_${n}`, merchantId: 'acme', role: 'merchant', name: null, secretHash: `h${n}`, createdAt: 'now', revokedAt: null });

  it('evicts the entry cached longest ago, counting a refresh as new', () => {
    const cache = new ApiKeyCache(MAX_AGE_MS, 2);
    cache.set(key(1), 0, cache.epoch);
    cache.set(key(2), 1, cache.epoch);
    cache.set(key(1), 2, cache.epoch); // refreshed: now the newest
    cache.set(key(3), 3, cache.epoch);
    expect([cache.get('h1', 4), cache.get('h2', 4), cache.get('h3', 4)]).toEqual([key(1), null, key(3)]);
  });

  it('refuses bad bounds', () => {
    expect(() => new ApiKeyCache(-1)).toThrow(RangeError);
    expect(() => new ApiKeyCache(1.5)).toThrow(RangeError);
    expect(() => new ApiKeyCache(MAX_AGE_MS, 0)).toThrow(RangeError);
  });
});
