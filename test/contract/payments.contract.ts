import { describe, expect, it } from 'vitest';
import type { Payment } from '../../src/core/payment.js';
import type { Store } from '../../src/ports/store.js';
import { at, openStream, payment, type StoreFactory, withStore } from './fixtures.js';

/** Commits each payment in its own unit, all in one batch, as the journal writer would. */
async function commitPayments(store: Store, payments: Payment[]): Promise<void> {
  const stream = await openStream(store, 'str_payments');
  await store.journal.commit([{ records: [stream.next()] }, ...payments.map((p) => stream.paymentUnit(p))]);
}

const ids = (payments: Payment[]): string[] => payments.map((p) => p.id);

export function paymentsContract(factory: StoreFactory): void {
  describe('PaymentStore', () => {
    it('gets a committed payment, only for its merchant, and sees later updates', withStore(factory, async (store) => {
      const stream = await openStream(store, 'str_1');
      const created = payment(1, { status: 'processing', merchantReference: 'order_1' });
      await store.journal.commit([{ records: [stream.next()] }, stream.paymentUnit(created)]);
      expect(await store.payments.get('acme', created.id)).toEqual(created);
      expect(await store.payments.get('globex', created.id)).toBeNull();
      expect(await store.payments.get('acme', 'txn_unknown')).toBeNull();

      const settled: Payment = { ...created, status: 'succeeded', updatedAt: at(9_000), audit: { stream: 'str_1', seq: 3, hash: 'a'.repeat(64) } };
      await store.journal.commit([stream.paymentUnit(settled)]);
      expect(await store.payments.get('acme', created.id)).toEqual(settled);
    }));

    it('lists newest first with cursor paging, a status filter and merchant isolation', withStore(factory, async (store) => {
      const statuses = ['succeeded', 'declined', 'succeeded', 'processing', 'succeeded', 'failed', 'succeeded'] as const;
      const acme = statuses.map((status, i) => payment(i + 1, { status }));
      const globex = [payment(20, { merchantId: 'globex' }), payment(21, { merchantId: 'globex' })];
      // Committed out of order: listing order must come from the IDs, not insertion.
      await commitPayments(store, [...acme.slice(3), ...globex, ...acme.slice(0, 3)]);
      const newestFirst = [...acme].reverse();

      const page1 = await store.payments.list({ merchantId: 'acme', limit: 3 });
      expect(page1).toEqual({ data: newestFirst.slice(0, 3), hasMore: true });
      const page2 = await store.payments.list({ merchantId: 'acme', limit: 3, startingAfter: page1.data[2]?.id as string });
      expect(ids(page2.data)).toEqual(ids(newestFirst.slice(3, 6)));
      expect(page2.hasMore).toBe(true);
      const page3 = await store.payments.list({ merchantId: 'acme', limit: 3, startingAfter: page2.data[2]?.id as string });
      expect(page3).toEqual({ data: newestFirst.slice(6), hasMore: false });

      // A page that ends exactly at the last payment has nothing more.
      const exact = await store.payments.list({ merchantId: 'acme', limit: 2, startingAfter: acme[2]?.id as string });
      expect(exact).toEqual({ data: [acme[1], acme[0]], hasMore: false });

      const succeeded = await store.payments.list({ merchantId: 'acme', limit: 2, status: 'succeeded' });
      expect(ids(succeeded.data)).toEqual([acme[6], acme[4]].map((p) => p?.id));
      expect(succeeded.hasMore).toBe(true);
      const succeeded2 = await store.payments.list({ merchantId: 'acme', limit: 2, status: 'succeeded', startingAfter: acme[4]?.id as string });
      expect(ids(succeeded2.data)).toEqual([acme[2], acme[0]].map((p) => p?.id));
      expect(succeeded2.hasMore).toBe(false);

      expect(ids((await store.payments.list({ merchantId: 'globex', limit: 10 })).data)).toEqual(ids([...globex].reverse()));
      expect(await store.payments.list({ merchantId: 'initech', limit: 10 })).toEqual({ data: [], hasMore: false });
      expect(await store.payments.list({ merchantId: 'globex', limit: 10, status: 'declined' })).toEqual({ data: [], hasMore: false });
    }));

    it('lists processing payments last changed before a time, oldest first, across merchants', withStore(factory, async (store) => {
      const stale = [
        payment(1, { status: 'processing', updatedAt: at(30_000) }),
        payment(2, { status: 'processing', updatedAt: at(10_000), merchantId: 'globex' }),
        payment(3, { status: 'processing', updatedAt: at(20_000) }),
      ];
      const fresh = payment(4, { status: 'processing', updatedAt: at(60_000) });
      const atCutoff = payment(5, { status: 'processing', updatedAt: at(50_000) });
      const settled = payment(6, { status: 'succeeded', updatedAt: at(5_000) });
      await commitPayments(store, [...stale, fresh, atCutoff, settled]);

      expect(ids(await store.payments.listProcessing(at(50_000), 10))).toEqual(ids([stale[1], stale[2], stale[0]] as Payment[]));
      expect(ids(await store.payments.listProcessing(at(50_000), 2))).toEqual(ids([stale[1], stale[2]] as Payment[]));
      expect(await store.payments.listProcessing(at(0), 10)).toEqual([]);
    }));
  });
}
