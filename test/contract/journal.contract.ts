import { describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../src/core/audit-record.js';
import { StreamConflictError } from '../../src/ports/store.js';
import type { RecordPosition } from '../../src/ports/journal-store.js';
import { StreamBuilder, claim, openStatus, openStream, payment, streamInfo, type StoreFactory, withStore } from './fixtures.js';

export function journalContract(factory: StoreFactory): void {
  describe('JournalStore', () => {
    it('lists created streams by start time and refuses a duplicate stream', withStore(factory, async (store) => {
      await store.journal.createStream(streamInfo('str_b', 2_000));
      await store.journal.createStream(streamInfo('str_a', 1_000));
      expect(await store.journal.listStreams()).toEqual([openStatus(streamInfo('str_a', 1_000)), openStatus(streamInfo('str_b', 2_000))]);
      await expect(store.journal.createStream(streamInfo('str_a', 3_000))).rejects.toBeInstanceOf(StreamConflictError);
    }));

    it('round-trips commit, readStream and head', withStore(factory, async (store) => {
      const stream = await openStream(store, 'str_1');
      expect(await store.journal.head('str_1')).toBeNull();
      expect(await store.journal.head('str_unknown')).toBeNull();

      const records = stream.many(5, { resource: 'txn_x', data: { amount: 1099, nested: { list: [1, 'two', null] }, text: 'naïve ✓' } });
      await store.journal.commit([{ records: records.slice(0, 2) }, { records: records.slice(2, 3) }]);
      await store.journal.commit([{ records: records.slice(3) }]);

      const read = await store.journal.readStream('str_1', 1, 100);
      expect(read).toEqual(records);
      // Exports must reproduce the stored line byte for byte, key order included.
      expect(read.map((r) => JSON.stringify(r))).toEqual(records.map((r) => JSON.stringify(r)));
      expect(await store.journal.head('str_1')).toEqual(stream.head);
      expect(await store.journal.readStream('str_1', 2, 2)).toEqual(records.slice(1, 3));
      expect(await store.journal.readStream('str_1', 6, 10)).toEqual([]);
      expect(await store.journal.readStream('str_unknown', 1, 10)).toEqual([]);
    }));

    it('accepts an empty batch and units without records', withStore(factory, async (store) => {
      const stream = await openStream(store, 'str_1');
      await store.journal.commit([]);
      await store.journal.commit([{ records: [] }]);
      await store.journal.commit([{ records: [stream.next()] }]);
      expect(await store.journal.head('str_1')).toEqual(stream.head);
    }));

    describe('refuses records that do not continue their stream', () => {
      const cases: Array<[string, (s: StreamBuilder) => AuditRecord[]]> = [
        ['a gap', (s) => { s.next(); return [s.next()]; }],
        ['a wrong prev', (s) => [{ ...s.next(), prev: 'f'.repeat(64) }]],
        ['a duplicate seq', (s) => [{ ...new StreamBuilder(s.stream).many(2)[1] as AuditRecord, data: { copy: true } }]],
        ['a seq repeated inside the batch', (s) => { const r = s.next(); return [r, r]; }],
      ];
      for (const [name, make] of cases) {
        it(name, withStore(factory, async (store) => {
          const stream = await openStream(store, 'str_1');
          await store.journal.commit([{ records: stream.many(2) }]);
          const head = stream.head;
          await expect(store.journal.commit([{ records: make(stream) }])).rejects.toBeInstanceOf(StreamConflictError);
          expect(await store.journal.head('str_1')).toEqual(head);
          expect(await store.journal.readStream('str_1', 1, 10)).toHaveLength(2);
        }));
      }

      it('a first record that is not seq 1 or not chained to genesis', withStore(factory, async (store) => {
        const stream = await openStream(store, 'str_1');
        const [, second] = stream.many(2) as [AuditRecord, AuditRecord];
        await expect(store.journal.commit([{ records: [second] }])).rejects.toBeInstanceOf(StreamConflictError);
        const notGenesis = { ...new StreamBuilder('str_1').next(), prev: 'a'.repeat(64) };
        await expect(store.journal.commit([{ records: [notGenesis] }])).rejects.toBeInstanceOf(StreamConflictError);
        expect(await store.journal.head('str_1')).toBeNull();
      }));

      it('a stream that was never created', withStore(factory, async (store) => {
        const orphan = new StreamBuilder('str_ghost').next();
        await expect(store.journal.commit([{ records: [orphan] }])).rejects.toBeInstanceOf(StreamConflictError);
        expect(await store.journal.readStream('str_ghost', 1, 10)).toEqual([]);
      }));
    });

    it('applies nothing of a batch when one unit conflicts', withStore(factory, async (store) => {
      const a = await openStream(store, 'str_a');
      const b = await openStream(store, 'str_b');
      await store.journal.commit([{ records: [a.next()] }, { records: [b.next()] }]);
      const headA = a.head;
      const headB = b.head;
      expect(await store.idempotency.claim(claim(0))).toEqual({ kind: 'claimed' });

      const paid = payment(1);
      const good = a.paymentUnit(paid, {
        idempotency: { merchantId: 'acme', key: 'key-1', paymentId: paid.id, response: { status: 201, body: { id: paid.id }, headers: {} } },
      });
      const duplicate = { records: [new StreamBuilder('str_b').next()] };
      await expect(store.journal.commit([good, { records: [b.next()] }, duplicate])).rejects.toBeInstanceOf(StreamConflictError);

      expect(await store.journal.head('str_a')).toEqual(headA);
      expect(await store.journal.head('str_b')).toEqual(headB);
      expect(await store.journal.readByResource(paid.id)).toEqual([]);
      expect(await store.payments.get('acme', paid.id)).toBeNull();
      // The key is still an unfinished claim with no payment: in flight, and releasable.
      expect(await store.idempotency.claim(claim(1_000))).toEqual({ kind: 'in_flight' });
      expect(await store.idempotency.claim(claim(1_000 + 31_000))).toEqual({ kind: 'claimed' });
    }));

    it('reads a resource across streams in time order', withStore(factory, async (store) => {
      const a = await openStream(store, 'str_a');
      const b = await openStream(store, 'str_b');
      const a1 = a.next({ resource: 'txn_1', tsMs: 1_000 });
      const a2 = a.next({ resource: 'txn_2', tsMs: 2_000 });
      const a3 = a.next({ resource: 'txn_1', tsMs: 5_000 });
      const b1 = b.next({ resource: 'txn_1', tsMs: 3_000 });
      const b2 = b.next({ resource: 'txn_1', tsMs: 5_000 });
      const b3 = b.next({ resource: null, tsMs: 6_000 });
      await store.journal.commit([{ records: [a1, a2, a3] }, { records: [b1, b2, b3] }]);

      // Equal timestamps fall back to stream, then seq.
      expect(await store.journal.readByResource('txn_1')).toEqual([a1, b1, a3, b2]);
      expect(await store.journal.readByResource('txn_2')).toEqual([a2]);
      expect(await store.journal.readByResource('txn_none')).toEqual([]);

      // Pages follow the same order, each starting strictly after the position given.
      const position = (r: AuditRecord): RecordPosition => ({ ts: r.ts, stream: r.stream, seq: r.seq });
      expect(await store.journal.readByResource('txn_1', { limit: 3 })).toEqual([a1, b1, a3]);
      expect(await store.journal.readByResource('txn_1', { after: position(b1), limit: 3 })).toEqual([a3, b2]);
      expect(await store.journal.readByResource('txn_1', { after: position(a3), limit: 1 })).toEqual([b2]);
      expect(await store.journal.readByResource('txn_1', { after: position(b2), limit: 3 })).toEqual([]);
      expect(await store.journal.readByResource('txn_2', { after: position(a1), limit: 3 })).toEqual([a2]);
    }));
  });
}
