import { describe, expect, it } from 'vitest';
import { ClaimLostError, type Store } from '../../src/ports/store.js';
import { LEASE_MS, claim, openStream, payment, type StoreFactory, withStore } from './fixtures.js';

/** What the store holds that a fenced commit could have changed. */
async function snapshot(store: Store, stream: string): Promise<unknown> {
  return {
    head: await store.journal.head(stream),
    payment: await store.payments.get('acme', payment(1).id),
  };
}

export function claimFenceContract(factory: StoreFactory): void {
  describe('a commit fenced by an idempotency claim (IdempotencyUpdate.heldUntil)', () => {
    it('applies while the claim holds its lease, and is refused whole once another claimant took it over', withStore(factory, async (store) => {
      const stream = await openStream(store, 'str_fence');
      await store.journal.commit([{ records: [stream.next()], payment: payment(1, { status: 'processing' }) }]);
      const first = claim(0, { key: 'reconcile:1' });
      expect(await store.idempotency.claim(first)).toEqual({ kind: 'claimed' });
      // The first claimant stalls past its lease; a second takes the claim over with a later lease.
      const second = claim(LEASE_MS + 1, { key: 'reconcile:1' });
      expect(await store.idempotency.claim(second)).toEqual({ kind: 'claimed' });

      const late = stream.next({ type: 'payment.reconciled', resource: payment(1).id });
      const before = await snapshot(store, 'str_fence');
      const refused = store.journal.commit([{
        records: [late],
        payment: payment(1, { status: 'succeeded' }),
        idempotency: { merchantId: 'acme', key: 'reconcile:1', paymentId: payment(1).id, response: { status: 200, body: {}, headers: {} }, heldUntil: first.leaseExpiresAt },
      }]);
      await expect(refused).rejects.toBeInstanceOf(ClaimLostError);
      // Nothing of it was written: not the record, not the row, not the key's completion.
      expect(await snapshot(store, 'str_fence')).toEqual(before);
      expect(await store.idempotency.claim(claim(LEASE_MS + 2, { key: 'reconcile:1' }))).toEqual({ kind: 'in_flight' });

      // The claimant that holds the claim commits the same record.
      await store.journal.commit([{
        records: [late],
        payment: payment(1, { status: 'succeeded' }),
        idempotency: { merchantId: 'acme', key: 'reconcile:1', paymentId: payment(1).id, response: { status: 200, body: {}, headers: {} }, heldUntil: second.leaseExpiresAt },
      }]);
      expect(await store.journal.head('str_fence')).toEqual({ seq: late.seq, hash: late.hash });
      expect((await store.payments.get('acme', payment(1).id))?.status).toBe('succeeded');
      expect(await store.idempotency.claim(claim(LEASE_MS * 3, { key: 'reconcile:1' }))).toMatchObject({ kind: 'completed' });
    }));

    it('is refused when the key is gone (purged), and an unfenced update of the same key is not', withStore(factory, async (store) => {
      const stream = await openStream(store, 'str_fence');
      const held = claim(0, { key: 'reconcile:2' });
      const started = stream.next();
      await expect(store.journal.commit([{
        records: [started],
        idempotency: { merchantId: 'acme', key: 'reconcile:2', paymentId: 'txn_2', heldUntil: held.leaseExpiresAt },
      }])).rejects.toBeInstanceOf(ClaimLostError);
      expect(await store.journal.head('str_fence')).toBeNull();
      await store.journal.commit([{ records: [started], idempotency: { merchantId: 'acme', key: 'reconcile:2', paymentId: 'txn_2' } }]);
      expect(await store.journal.head('str_fence')).toMatchObject({ seq: 1 });
    }));
  });
}
