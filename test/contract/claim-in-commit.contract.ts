import { describe, expect, it } from 'vitest';
import type { IdempotencyUpdate, KeyClaim, StoredResponse } from '../../src/ports/idempotency-store.js';
import type { CommitUnit } from '../../src/ports/journal-store.js';
import { ClaimsTakenError, type Store } from '../../src/ports/store.js';
import { LEASE_MS, TTL_MS, type StreamBuilder, claim, openStream, payment, type StoreFactory, withStore } from './fixtures.js';

const RESPONSE: StoredResponse = { status: 201, body: { id: 'txn_1' }, headers: {} };

/** The claim a request makes in its first commit, as of `nowMs`. */
function keyClaim(nowMs: number, fingerprint = 'fp-a'): KeyClaim {
  const { merchantId: _m, key: _k, ...rest } = claim(nowMs, { fingerprint });
  return rest;
}

/** A payment's first unit: `payment.received`, the payment, and its key claimed with it. */
function firstUnit(stream: StreamBuilder, n: number, key: string, nowMs: number, fingerprint = 'fp-a'): CommitUnit {
  const idempotency: IdempotencyUpdate = { merchantId: 'acme', key, paymentId: payment(n).id, claim: keyClaim(nowMs, fingerprint) };
  return stream.paymentUnit(payment(n, { status: 'processing' }), { idempotency });
}

/** What a refused commit could have changed. */
async function snapshot(store: Store, stream: string, ns: number[]): Promise<unknown> {
  return { head: await store.journal.head(stream), payments: await Promise.all(ns.map((n) => store.payments.get('acme', payment(n).id))) };
}

async function refusal(commit: Promise<void>): Promise<ClaimsTakenError> {
  const err = await commit.then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(ClaimsTakenError);
  return err as ClaimsTakenError;
}

export function claimInCommitContract(factory: StoreFactory): void {
  describe('an idempotency key claimed inside a journal commit (IdempotencyUpdate.claim)', () => {
    it('claims a new key with the records, linked to the payment: in flight, then recovered or completed', withStore(factory, async (store) => {
      const stream = await openStream(store, 'str_claim');
      await store.journal.commit([{ records: [stream.next()] }, firstUnit(stream, 1, 'key-1', 0)]);
      expect((await store.payments.get('acme', payment(1).id))?.status).toBe('processing');
      expect(await store.idempotency.claim(claim(1_000))).toEqual({ kind: 'in_flight' });
      expect(await store.idempotency.claim(claim(1_000, { fingerprint: 'fp-b' }))).toEqual({ kind: 'mismatch' });
      // The claimant died after its first commit: the key is recovered with its payment, never claimed afresh.
      expect(await store.idempotency.claim(claim(LEASE_MS + 1))).toEqual({ kind: 'recovered', paymentId: payment(1).id });
      // A key claimed in a commit is released by nothing: it made a payment.
      await store.idempotency.release('acme', 'key-1');
      await store.journal.commit([stream.paymentUnit(payment(1), { idempotency: { merchantId: 'acme', key: 'key-1', response: RESPONSE } })]);
      expect(await store.idempotency.claim(claim(LEASE_MS * 3))).toEqual({ kind: 'completed', response: RESPONSE, paymentId: payment(1).id });
    }));

    it('stores the response with the claim when one commit makes the whole payment', withStore(factory, async (store) => {
      const stream = await openStream(store, 'str_claim');
      const idempotency: IdempotencyUpdate = { merchantId: 'acme', key: 'key-1', paymentId: payment(1).id, response: RESPONSE, claim: keyClaim(0) };
      await store.journal.commit([{ records: [stream.next(), stream.next({ resource: payment(1).id })], payment: payment(1, { status: 'declined' }), idempotency }]);
      expect(await store.idempotency.claim(claim(1_000))).toEqual({ kind: 'completed', response: RESPONSE, paymentId: payment(1).id });
    }));

    for (const [held, setUp] of [
      ['in flight', async (store: Store) => { await store.idempotency.claim(claim(0)); }],
      ['in flight with another body', async (store: Store) => { await store.idempotency.claim(claim(0, { fingerprint: 'fp-b' })); }],
      ['completed', async (store: Store, s: StreamBuilder) => {
        await store.journal.commit([firstUnit(s, 9, 'key-1', 0)]);
        await store.journal.commit([s.paymentUnit(payment(9), { idempotency: { merchantId: 'acme', key: 'key-1', response: RESPONSE } })]);
      }],
      ['lapsed, with a payment made', async (store: Store, s: StreamBuilder) => {
        await store.journal.commit([firstUnit(s, 9, 'key-1', -LEASE_MS - 1)]);
      }],
    ] as const) {
      it(`refuses the whole batch when the key is held (${held}), naming the unit, and writes nothing`, withStore(factory, async (store) => {
        const stream = await openStream(store, 'str_claim');
        await store.journal.commit([{ records: [stream.next()] }]);
        await setUp(store, stream);
        const before = await snapshot(store, 'str_claim', [1, 2, 3]);
        const err = await refusal(store.journal.commit([
          firstUnit(stream, 1, 'key-0', 0),
          firstUnit(stream, 2, 'key-1', 0),
          firstUnit(stream, 3, 'key-2', 0),
        ]));
        expect(err.units).toEqual([1]);
        expect(await snapshot(store, 'str_claim', [1, 2, 3])).toEqual(before);
        // The others' keys were not claimed either.
        expect(await store.idempotency.claim(claim(1, { key: 'key-0' }))).toEqual({ kind: 'claimed' });
        expect(await store.idempotency.claim(claim(1, { key: 'key-2' }))).toEqual({ kind: 'claimed' });
      }));
    }

    it('takes over an expired key and a lapsed claim that made nothing, as claim() would', withStore(factory, async (store) => {
      const stream = await openStream(store, 'str_claim');
      await store.journal.commit([{ records: [stream.next()] }]);
      await store.idempotency.claim(claim(0, { key: 'expired', fingerprint: 'fp-b' }));
      await store.idempotency.claim(claim(0, { key: 'lapsed' }));
      await store.journal.commit([firstUnit(stream, 1, 'expired', TTL_MS + 1), firstUnit(stream, 2, 'lapsed', LEASE_MS + 1)]);
      expect(await store.idempotency.claim(claim(TTL_MS + 2, { key: 'expired' }))).toEqual({ kind: 'in_flight' });
      expect(await store.idempotency.claim(claim(LEASE_MS + 2, { key: 'lapsed' }))).toEqual({ kind: 'in_flight' });
      expect(await store.idempotency.claim(claim(TTL_MS + LEASE_MS + 2, { key: 'expired' }))).toEqual({ kind: 'recovered', paymentId: payment(1).id });
    }));

    it('lets only the first of two units of one batch claim the same key', withStore(factory, async (store) => {
      const stream = await openStream(store, 'str_claim');
      await store.journal.commit([{ records: [stream.next()] }]);
      const head = await store.journal.head('str_claim');
      const err = await refusal(store.journal.commit([firstUnit(stream, 1, 'key-1', 0), firstUnit(stream, 2, 'key-1', 0)]));
      expect(err.units).toEqual([1]);
      expect(await store.journal.head('str_claim')).toEqual(head);
    }));

    it('gives a key to exactly one of many concurrent commits, each on its own stream', withStore(factory, async (store) => {
      const streams = await Promise.all(Array.from({ length: 8 }, (_, i) => openStream(store, `str_race_${i}`)));
      await Promise.all(streams.map((s) => store.journal.commit([{ records: [s.next()] }])));
      const results = await Promise.allSettled(streams.map((s, i) => store.journal.commit([firstUnit(s, i + 1, 'contested', 0)])));
      const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
      expect(won).toHaveLength(1);
      for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(ClaimsTakenError);
      const winner = payment((won[0] as number) + 1).id;
      expect(await store.idempotency.claim(claim(LEASE_MS + 1, { key: 'contested' }))).toEqual({ kind: 'recovered', paymentId: winner });
      for (const [i] of streams.entries()) {
        expect(await store.payments.get('acme', payment(i + 1).id)).toEqual(i === won[0] ? expect.anything() : null);
      }
    }));
  });
}
