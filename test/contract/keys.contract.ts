import { describe, expect, it } from 'vitest';
import type { ApiKey } from '../../src/ports/key-store.js';
import { at, type StoreFactory, withStore } from './fixtures.js';

function apiKey(n: number, overrides: Partial<ApiKey> = {}): ApiKey {
  return {
    id: `key_${String(n).padStart(26, '0')}`,
    merchantId: 'acme',
    role: 'merchant',
    name: `key ${n}`,
    secretHash: String(n).repeat(64).slice(0, 64),
    createdAt: at(n * 1_000),
    revokedAt: null,
    ...overrides,
  };
}

export function keysContract(factory: StoreFactory): void {
  describe('KeyStore', () => {
    it('creates keys and finds them by id and by secret hash', withStore(factory, async (store) => {
      const key = apiKey(1, { name: null });
      await store.keys.create(key);
      expect(await store.keys.get(key.id)).toEqual(key);
      expect(await store.keys.findByHash(key.secretHash)).toEqual(key);
      expect(await store.keys.get('key_unknown')).toBeNull();
      expect(await store.keys.findByHash('0'.repeat(64))).toBeNull();
    }));

    it('keeps each key\'s role', withStore(factory, async (store) => {
      const merchant = apiKey(1);
      const auditor = apiKey(2, { merchantId: '', role: 'auditor', name: 'audit firm' });
      await store.keys.create(merchant);
      await store.keys.create(auditor);
      expect(await store.keys.findByHash(auditor.secretHash)).toEqual(auditor);
      expect((await store.keys.get(merchant.id))?.role).toBe('merchant');
      expect((await store.keys.list()).map((k) => k.role)).toEqual(['merchant', 'auditor']);
      expect((await store.keys.revoke(auditor.id, at(5_000)))?.role).toBe('auditor');
    }));

    it('lists keys oldest first', withStore(factory, async (store) => {
      const keys = [apiKey(3), apiKey(1, { merchantId: 'globex' }), apiKey(2)];
      for (const key of keys) await store.keys.create(key);
      expect(await store.keys.list()).toEqual([keys[1], keys[2], keys[0]]);
    }));

    it('revokes a key once, keeping the first revocation time', withStore(factory, async (store) => {
      const key = apiKey(1);
      await store.keys.create(key);
      const revoked = { ...key, revokedAt: at(5_000) };
      expect(await store.keys.revoke(key.id, at(5_000))).toEqual(revoked);
      expect(await store.keys.revoke(key.id, at(9_000))).toEqual(revoked);
      expect(await store.keys.get(key.id)).toEqual(revoked);
      // A revoked key is still found, so authentication can say "revoked" rather than "unknown".
      expect(await store.keys.findByHash(key.secretHash)).toEqual(revoked);
      expect(await store.keys.revoke('key_unknown', at(5_000))).toBeNull();
    }));
  });
}
