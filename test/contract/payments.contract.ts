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

    it('lists by exact merchant reference, newest first, paged, with a status, never another merchant\'s or a payment without one', withStore(factory, async (store) => {
      const statuses = ['succeeded', 'declined', 'succeeded', 'succeeded', 'declined', 'succeeded', 'processing'] as const;
      const order = statuses.map((status, i) => payment(i + 1, { status, merchantReference: 'order_42' }));
      const others = [
        payment(20, { merchantReference: null }),
        payment(21, { merchantReference: 'order_421' }),
        payment(22, { merchantReference: 'ORDER_42' }),
        payment(23, { merchantReference: 'order_4' }),
        payment(24, { merchantId: 'globex', merchantReference: 'order_42' }),
        payment(25, { merchantReference: 'other' }),
      ];
      // Interleaved with other payments, committed out of order.
      await commitPayments(store, [others[0], ...order.slice(4), others[1], others[4], ...order.slice(0, 4), others[2], others[3], others[5]] as Payment[]);
      const newestFirst = [...order].reverse();

      const page1 = await store.payments.list({ merchantId: 'acme', limit: 3, merchantReference: 'order_42' });
      expect(page1).toEqual({ data: newestFirst.slice(0, 3), hasMore: true });
      const page2 = await store.payments.list({ merchantId: 'acme', limit: 3, merchantReference: 'order_42', startingAfter: page1.data[2]?.id as string });
      expect(page2).toEqual({ data: newestFirst.slice(3, 6), hasMore: true });
      const page3 = await store.payments.list({ merchantId: 'acme', limit: 3, merchantReference: 'order_42', startingAfter: page2.data[2]?.id as string });
      expect(page3).toEqual({ data: newestFirst.slice(6), hasMore: false });
      // A page ending exactly at the oldest match has nothing more.
      expect(await store.payments.list({ merchantId: 'acme', limit: 7, merchantReference: 'order_42' })).toEqual({ data: newestFirst, hasMore: false });

      // With a status: succeeded are order[5], [3], [2], [0], newest first, two per page.
      const ok1 = await store.payments.list({ merchantId: 'acme', limit: 2, merchantReference: 'order_42', status: 'succeeded' });
      expect(ids(ok1.data)).toEqual(ids([order[5], order[3]] as Payment[]));
      expect(ok1.hasMore).toBe(true);
      const ok2 = await store.payments.list({ merchantId: 'acme', limit: 2, merchantReference: 'order_42', status: 'succeeded', startingAfter: ok1.data[1]?.id as string });
      expect(ids(ok2.data)).toEqual(ids([order[2], order[0]] as Payment[]));
      expect(ok2.hasMore).toBe(false);
      // One match far from the newest: the page is found however many non-matching payments come first.
      expect(ids((await store.payments.list({ merchantId: 'acme', limit: 1, merchantReference: 'order_42', status: 'processing' })).data)).toEqual([order[6]?.id]);
      const declined = await store.payments.list({ merchantId: 'acme', limit: 1, merchantReference: 'order_42', status: 'declined' });
      expect(declined).toEqual({ data: [order[4]], hasMore: true });
      expect(await store.payments.list({ merchantId: 'acme', limit: 5, merchantReference: 'order_42', status: 'failed' })).toEqual({ data: [], hasMore: false });

      // Exact: no prefix, no case folding; another merchant's payment with the same reference is not returned.
      expect(ids((await store.payments.list({ merchantId: 'acme', limit: 10, merchantReference: 'order_4' })).data)).toEqual([others[3]?.id]);
      expect(ids((await store.payments.list({ merchantId: 'globex', limit: 10, merchantReference: 'order_42' })).data)).toEqual([others[4]?.id]);
      expect(await store.payments.list({ merchantId: 'initech', limit: 10, merchantReference: 'order_42' })).toEqual({ data: [], hasMore: false });
      expect(await store.payments.list({ merchantId: 'acme', limit: 10, merchantReference: 'order_' })).toEqual({ data: [], hasMore: false });
      // "null" is a reference like any other: a payment without one never matches it.
      expect(await store.payments.list({ merchantId: 'acme', limit: 10, merchantReference: 'null' })).toEqual({ data: [], hasMore: false });
    }));

    it('keeps a payment\'s reference through its later updates', withStore(factory, async (store) => {
      const stream = await openStream(store, 'str_ref');
      const created = payment(1, { status: 'processing', merchantReference: 'order_7' });
      await store.journal.commit([{ records: [stream.next()] }, stream.paymentUnit(created)]);
      const settled: Payment = { ...created, status: 'succeeded', updatedAt: at(9_000) };
      await store.journal.commit([stream.paymentUnit(settled)]);
      expect(await store.payments.list({ merchantId: 'acme', limit: 10, merchantReference: 'order_7' })).toEqual({ data: [settled], hasMore: false });
      expect(await store.payments.list({ merchantId: 'acme', limit: 10, merchantReference: 'order_7', status: 'processing' })).toEqual({ data: [], hasMore: false });
      expect(await store.payments.list({ merchantId: 'acme', limit: 10, merchantReference: 'order_7', status: 'succeeded' })).toEqual({ data: [settled], hasMore: false });
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

    it('moves a payment forward only: a terminal status is never overwritten, and the rest of the commit goes ahead', withStore(factory, async (store) => {
      const stream = await openStream(store, 'str_forward');
      const created = payment(1, { status: 'processing' });
      await store.journal.commit([{ records: [stream.next()] }, stream.paymentUnit(created)]);
      const retried: Payment = { ...created, attempts: 2, updatedAt: at(5_000) };
      await store.journal.commit([stream.paymentUnit(retried)]);
      expect(await store.payments.get('acme', created.id)).toEqual(retried);

      const settled: Payment = { ...created, status: 'succeeded', attempts: 2, updatedAt: at(9_000) };
      await store.journal.commit([stream.paymentUnit(settled)]);
      // A late writer (a slow request, a second reconciler) in the same batch as another unit and alone:
      // its row is refused, every record of the batch is still committed.
      const other = payment(2, { status: 'processing' });
      const stale: Payment = { ...created, status: 'processing', updatedAt: at(10_000) };
      const declined: Payment = { ...created, status: 'declined', declineCode: 'do_not_honor', failureCode: 'card_declined', updatedAt: at(11_000) };
      await store.journal.commit([stream.paymentUnit(stale), stream.paymentUnit(other)]);
      await store.journal.commit([stream.paymentUnit(declined)]);
      expect(await store.payments.get('acme', created.id)).toEqual(settled);
      expect(await store.payments.get('acme', other.id)).toEqual(other);
      expect((await store.journal.readByResource(created.id)).length).toBe(5);
    }));
  });
}
