import { describe, expect, it } from 'vitest';
import type { StoredResponse } from '../../src/ports/idempotency-store.js';
import type { Store } from '../../src/ports/store.js';
import { LEASE_MS, TTL_MS, claim, openStream, type StoreFactory, withStore } from './fixtures.js';

const RESPONSE: StoredResponse = { status: 201, body: { id: 'txn_1', nested: { ok: true, n: null } }, headers: { Location: '/v1/payments/txn_1' } };

/** Applies an idempotency update the only way the port allows: inside a journal commit. */
async function update(store: Store, change: { paymentId?: string; response?: StoredResponse }, key = 'key-1'): Promise<void> {
  const stream = (await store.journal.listStreams()).length === 0 ? await openStream(store, 'str_1') : null;
  const records = stream ? [stream.next()] : [];
  await store.journal.commit([{ records, idempotency: { merchantId: 'acme', key, ...change } }]);
}

export function idempotencyContract(factory: StoreFactory): void {
  describe('IdempotencyStore', () => {
    it('claims a new key, then reports it in flight to the same body and a mismatch to another', withStore(factory, async (store) => {
      expect(await store.idempotency.claim(claim(0))).toEqual({ kind: 'claimed' });
      expect(await store.idempotency.claim(claim(1_000))).toEqual({ kind: 'in_flight' });
      expect(await store.idempotency.claim(claim(1_000, { fingerprint: 'fp-b' }))).toEqual({ kind: 'mismatch' });
      // Keys are scoped to the merchant.
      expect(await store.idempotency.claim(claim(1_000, { merchantId: 'globex' }))).toEqual({ kind: 'claimed' });
      expect(await store.idempotency.claim(claim(1_000, { key: 'key-2' }))).toEqual({ kind: 'claimed' });
    }));

    it('replays a completed key, and reports a mismatch before completion', withStore(factory, async (store) => {
      await store.idempotency.claim(claim(0));
      await update(store, { paymentId: 'txn_1' });
      await update(store, { response: RESPONSE });
      // Even long after the lease, a completed key is never taken over.
      expect(await store.idempotency.claim(claim(LEASE_MS * 10))).toEqual({ kind: 'completed', response: RESPONSE, paymentId: 'txn_1' });
      expect(await store.idempotency.claim(claim(1_000, { fingerprint: 'fp-b' }))).toEqual({ kind: 'mismatch' });
    }));

    it('replays a response stored without a payment', withStore(factory, async (store) => {
      await store.idempotency.claim(claim(0));
      await update(store, { response: RESPONSE });
      expect(await store.idempotency.claim(claim(1_000))).toEqual({ kind: 'completed', response: RESPONSE, paymentId: null });
    }));

    it('takes over an expired lease that created nothing, with a fresh lease', withStore(factory, async (store) => {
      await store.idempotency.claim(claim(0));
      expect(await store.idempotency.claim(claim(LEASE_MS - 1))).toEqual({ kind: 'in_flight' });
      expect(await store.idempotency.claim(claim(LEASE_MS))).toEqual({ kind: 'claimed' });
      expect(await store.idempotency.claim(claim(LEASE_MS + 1_000))).toEqual({ kind: 'in_flight' });
      expect(await store.idempotency.claim(claim(2 * LEASE_MS))).toEqual({ kind: 'claimed' });
    }));

    it('recovers the payment of an expired lease, keeping it', withStore(factory, async (store) => {
      await store.idempotency.claim(claim(0));
      await update(store, { paymentId: 'txn_1' });
      expect(await store.idempotency.claim(claim(1_000))).toEqual({ kind: 'in_flight' });
      expect(await store.idempotency.claim(claim(LEASE_MS + 1))).toEqual({ kind: 'recovered', paymentId: 'txn_1' });
      expect(await store.idempotency.claim(claim(LEASE_MS + 2))).toEqual({ kind: 'in_flight' });
      expect(await store.idempotency.claim(claim(3 * LEASE_MS))).toEqual({ kind: 'recovered', paymentId: 'txn_1' });
      await update(store, { response: RESPONSE });
      expect(await store.idempotency.claim(claim(3 * LEASE_MS + 1))).toEqual({ kind: 'completed', response: RESPONSE, paymentId: 'txn_1' });
    }));

    it('forgets an expired key entirely, whatever it held', withStore(factory, async (store) => {
      await store.idempotency.claim(claim(0));
      await update(store, { paymentId: 'txn_1', response: RESPONSE });
      expect(await store.idempotency.claim(claim(TTL_MS - 1))).toMatchObject({ kind: 'completed' });
      expect(await store.idempotency.claim(claim(TTL_MS, { fingerprint: 'fp-b' }))).toEqual({ kind: 'claimed' });
      // The fresh claim holds nothing of the old one: after its lease it is claimed, not recovered.
      expect(await store.idempotency.claim(claim(TTL_MS + LEASE_MS, { fingerprint: 'fp-b' }))).toEqual({ kind: 'claimed' });
      expect(await store.idempotency.claim(claim(TTL_MS + LEASE_MS + 1))).toEqual({ kind: 'mismatch' });
    }));

    it('releases only an unfinished claim that created nothing', withStore(factory, async (store) => {
      await store.idempotency.claim(claim(0));
      await store.idempotency.release('acme', 'key-1');
      expect(await store.idempotency.claim(claim(1_000, { fingerprint: 'fp-b' }))).toEqual({ kind: 'claimed' });

      await store.idempotency.claim(claim(0, { key: 'key-paid' }));
      await update(store, { paymentId: 'txn_1' }, 'key-paid');
      await store.idempotency.release('acme', 'key-paid');
      expect(await store.idempotency.claim(claim(1_000, { key: 'key-paid' }))).toEqual({ kind: 'in_flight' });

      await store.idempotency.claim(claim(0, { key: 'key-done' }));
      await update(store, { response: RESPONSE }, 'key-done');
      await store.idempotency.release('acme', 'key-done');
      expect(await store.idempotency.claim(claim(1_000, { key: 'key-done' }))).toMatchObject({ kind: 'completed' });

      await store.idempotency.release('acme', 'key-never-claimed');
    }));

    it('purges expired keys, at most `limit` at a time', withStore(factory, async (store) => {
      for (const key of ['a', 'b', 'c']) await store.idempotency.claim(claim(0, { key }));
      await store.idempotency.claim(claim(10_000, { key: 'late' }));
      await update(store, { response: RESPONSE }, 'a');

      expect(await store.idempotency.purgeExpired(claim(TTL_MS - 1).now, 10)).toBe(0);
      expect(await store.idempotency.purgeExpired(claim(TTL_MS).now, 2)).toBe(2);
      expect(await store.idempotency.purgeExpired(claim(TTL_MS).now, 2)).toBe(1);
      expect(await store.idempotency.purgeExpired(claim(TTL_MS).now, 2)).toBe(0);
      // The unexpired key survived with its claim intact.
      expect(await store.idempotency.claim(claim(TTL_MS, { key: 'late', fingerprint: 'fp-b' }))).toEqual({ kind: 'mismatch' });
    }));

    it('purges expired keys but not one a live request still holds', withStore(factory, async (store) => {
      // Taken over just before its expiry: the new holder's lease runs past the expiry.
      await store.idempotency.claim(claim(0, { key: 'held' }));
      expect(await store.idempotency.claim(claim(TTL_MS - 1, { key: 'held' }))).toEqual({ kind: 'claimed' });
      // A completed key and a crashed claim, both past expiry and lease.
      await store.idempotency.claim(claim(0, { key: 'done' }));
      await update(store, { paymentId: 'txn_1', response: RESPONSE }, 'done');
      await store.idempotency.claim(claim(0, { key: 'crashed' }));

      expect(await store.idempotency.purgeExpired(claim(TTL_MS).now, 10)).toBe(2);
      expect(await store.idempotency.purgeExpired(claim(TTL_MS).now, 10)).toBe(0);
      // Its holder's lease over, the held key goes too.
      expect(await store.idempotency.purgeExpired(claim(TTL_MS - 2 + LEASE_MS).now, 10)).toBe(0);
      expect(await store.idempotency.purgeExpired(claim(TTL_MS - 1 + LEASE_MS).now, 10)).toBe(1);
      expect(await store.idempotency.purgeExpired(claim(TTL_MS - 1 + LEASE_MS).now, 10)).toBe(0);
    }));

    it('lets exactly one of 50 concurrent claims win', withStore(factory, async (store) => {
      const results = await Promise.all(Array.from({ length: 50 }, () => store.idempotency.claim(claim(0))));
      const kinds = results.map((r) => r.kind);
      expect(kinds.filter((k) => k === 'claimed')).toHaveLength(1);
      expect(kinds.filter((k) => k === 'in_flight')).toHaveLength(49);
    }));
  });
}
