import { describe, expect, it } from 'vitest';
import type { SignedHead } from '../../src/core/signed-head.js';
import type { CommitUnit, StoredCheckpoint } from '../../src/ports/journal-store.js';
import { StreamConflictError } from '../../src/ports/store.js';
import { type StoreFactory, StreamBuilder, at, openStatus, openStream, streamInfo, withStore } from './fixtures.js';

function signedHead(stream: string, size: number): SignedHead {
  return { stream, size, root: String(size % 10).repeat(64), note: `paylog-test/${stream}\n${size}\nq83vq83vq83vq83vq83vq83vq83vq83vq83vq83vq80=\n\n\u2014 k AAAA\n` };
}

/** A seal of str_dead at `headSize` appended by the sealer stream `builder` continues. */
function sealUnitFrom(builder: StreamBuilder, headSize: number): CommitUnit {
  return {
    records: [builder.next({ type: 'journal.sealed', resource: 'str_dead' })],
    checkpoint: checkpoint('str_dead', headSize),
    seal: { stream: 'str_dead', by: 'str_sealer', at: at(9), headSize },
  };
}

function checkpoint(stream: string, size: number): StoredCheckpoint {
  return { stream, size, root: 'ab'.repeat(32), note: `paylog-test/${stream}\n${size}\nq83vq83vq83vq83vq83vq83vq83vq83vq83vq83vq80=\n\n\u2014 k AAAA\n`, createdAt: at(size) };
}

/** Stream leases and states, leaf hashes, and checkpoints. */
export function streamsContract(factory: StoreFactory): void {
  describe('JournalStore streams and checkpoints', () => {
    it('renews the lease of an open stream only', withStore(factory, async (store) => {
      await openStream(store, 'str_1');
      expect(await store.journal.renewLease('str_1', at(99_000))).toBe(true);
      expect((await store.journal.listStreams())[0]).toMatchObject({ leaseExpiresAt: at(99_000), state: 'open' });
      expect(await store.journal.closeStream('str_1', 'stopped', 'str_1', at(5))).toBe(true);
      expect(await store.journal.renewLease('str_1', at(199_000))).toBe(false);
      expect(await store.journal.renewLease('str_unknown', at(199_000))).toBe(false);
    }));

    it('closes a stream once: of many concurrent sealers exactly one wins', withStore(factory, async (store) => {
      await openStream(store, 'str_dead');
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => store.journal.closeStream('str_dead', 'sealed', `str_${i}`, at(i))));
      expect(results.filter(Boolean)).toHaveLength(1);
      const winner = `str_${results.indexOf(true)}`;
      expect((await store.journal.listStreams())[0]).toMatchObject({ state: 'sealed', closedBy: winner });
      expect(await store.journal.closeStream('str_dead', 'stopped', 'str_dead', at(50))).toBe(false);
    }));

    it('refuses records for a stream that is no longer open, leaving the stream as it was', withStore(factory, async (store) => {
      const stream = await openStream(store, 'str_1');
      await store.journal.commit([{ records: stream.many(2) }]);
      expect(await store.journal.closeStream('str_1', 'sealed', 'str_other', at(3))).toBe(true);
      await expect(store.journal.commit([{ records: stream.many(1) }])).rejects.toBeInstanceOf(StreamConflictError);
      expect(await store.journal.head('str_1')).toMatchObject({ seq: 2 });
    }));

    it('lists the open streams whose lease lapsed, longest lapsed first, up to a limit', withStore(factory, async (store) => {
      // Leases (streamInfo: start + 60 s): a 60 s, b 70 s, c 80 s, d 90 s, e 100 s.
      for (const [id, startMs] of [['str_c', 20_000], ['str_a', 0], ['str_e', 40_000], ['str_b', 10_000], ['str_d', 30_000]] as const) {
        await openStream(store, id, startMs);
      }
      expect(await store.journal.closeStream('str_b', 'stopped', 'str_b', at(1))).toBe(true);
      expect(await store.journal.renewLease('str_a', at(95_000))).toBe(true);
      const ids = async (nowMs: number, limit: number): Promise<string[]> =>
        (await store.journal.listLapsedStreams(at(nowMs), limit)).map((s) => s.id);
      expect(await ids(59_999, 10)).toEqual([]);
      expect(await ids(80_000, 10)).toEqual(['str_c']); // a lease ending exactly now has lapsed
      expect(await ids(100_000, 10)).toEqual(['str_c', 'str_d', 'str_a', 'str_e']);
      expect(await ids(100_000, 2)).toEqual(['str_c', 'str_d']);
      expect(await ids(100_000, 0)).toEqual([]);
      const [lapsed] = await store.journal.listLapsedStreams(at(100_000), 1);
      expect(lapsed).toEqual({ ...openStatus(streamInfo('str_c', 20_000)) });
    }));

    it('keeps the signed head written with a commit, replaced by the next, and untouched by a refused batch', withStore(factory, async (store) => {
      const stream = await openStream(store, 'str_a');
      expect((await store.journal.streamStatus('str_a'))?.head).toBeNull();
      const first = stream.many(2);
      await store.journal.commit([{ records: first.slice(0, 1) }, { records: first.slice(1), head: signedHead('str_a', 2) }]);
      expect((await store.journal.streamStatus('str_a'))?.head).toEqual(signedHead('str_a', 2));
      await store.journal.commit([{ records: stream.many(3), head: signedHead('str_a', 5) }]);
      expect((await store.journal.listStreams())[0]?.head).toEqual(signedHead('str_a', 5));
      // A batch that does not continue the stream changes nothing, its head included.
      const stale = new StreamBuilder('str_a');
      await expect(store.journal.commit([{ records: stale.many(1), head: signedHead('str_a', 1) }])).rejects.toBeInstanceOf(StreamConflictError);
      expect((await store.journal.streamStatus('str_a'))?.head).toEqual(signedHead('str_a', 5));
      expect(await store.journal.streamStatus('str_none')).toBeNull();
    }));

    it('seals a lapsed stream at its signed head in the same commit as the seal, or not at all', withStore(factory, async (store) => {
      const dead = await openStream(store, 'str_dead');
      await store.journal.commit([{ records: dead.many(2), head: signedHead('str_dead', 2) }]);
      const sealer = await openStream(store, 'str_sealer', 1_000);
      await store.journal.commit([{ records: sealer.many(1), head: signedHead('str_sealer', 1) }]);
      const sealUnit = (headSize: number): CommitUnit => ({
        records: [sealer.next({ type: 'journal.sealed', resource: 'str_dead' })],
        checkpoint: checkpoint('str_dead', headSize),
        seal: { stream: 'str_dead', by: 'str_sealer', at: at(9), headSize },
      });
      // The wrong head size: refused whole, the stream still open, nothing of the sealer's batch stored.
      const wrong = new StreamBuilder('str_sealer');
      wrong.many(1);
      await expect(store.journal.commit([{ ...sealUnitFrom(wrong, 3) }])).rejects.toThrow(/signed head covers 2 records, not the 3/);
      expect(await store.journal.streamStatus('str_dead')).toMatchObject({ state: 'open', closedBy: null });
      expect(await store.journal.head('str_sealer')).toMatchObject({ seq: 1 });

      await store.journal.commit([sealUnit(2)]);
      expect(await store.journal.streamStatus('str_dead')).toMatchObject({ state: 'sealed', closedBy: 'str_sealer', closedAt: at(9) });
      expect(await store.journal.latestCheckpoint('str_dead')).toEqual(checkpoint('str_dead', 2));
      expect(await store.journal.listLapsedStreams(at(10_000_000), 10)).toEqual([expect.objectContaining({ id: 'str_sealer' })]);
      // Sealed once: a second seal is a conflict, and leaves the sealer's stream as it was.
      await expect(store.journal.commit([sealUnit(2)])).rejects.toBeInstanceOf(StreamConflictError);
      expect(await store.journal.head('str_sealer')).toMatchObject({ seq: 2 });
    }));

    it('reads leaf hashes in seq order, paged', withStore(factory, async (store) => {
      const stream = await openStream(store, 'str_1');
      const records = stream.many(7);
      await store.journal.commit([{ records }]);
      expect(await store.journal.readHashes('str_1', 1, 100)).toEqual(records.map((r) => r.hash));
      expect(await store.journal.readHashes('str_1', 3, 2)).toEqual(records.slice(2, 4).map((r) => r.hash));
      expect(await store.journal.readHashes('str_other', 1, 10)).toEqual([]);
    }));

    it('saves checkpoints with a commit and returns the latest of each stream', withStore(factory, async (store) => {
      const a = await openStream(store, 'str_a');
      const b = await openStream(store, 'str_b', 10);
      await store.journal.commit([{ records: a.many(2), checkpoint: checkpoint('str_a', 2) }]);
      await store.journal.commit([{ records: a.many(3), checkpoint: checkpoint('str_a', 5) }, { records: b.many(1), checkpoint: checkpoint('str_b', 1) }]);
      expect(await store.journal.latestCheckpoint('str_a')).toEqual(checkpoint('str_a', 5));
      expect(await store.journal.latestCheckpoint('str_none')).toBeNull();
      expect(await store.journal.latestCheckpoints()).toEqual([checkpoint('str_a', 5), checkpoint('str_b', 1)]);
    }));

    it('refuses a second checkpoint of the same size, or of an unknown stream, and applies nothing of that batch', withStore(factory, async (store) => {
      const a = await openStream(store, 'str_a');
      await store.journal.commit([{ records: a.many(2), checkpoint: checkpoint('str_a', 2) }]);
      const more = a.many(1);
      await expect(store.journal.commit([{ records: more, checkpoint: checkpoint('str_a', 2) }])).rejects.toBeInstanceOf(StreamConflictError);
      await expect(store.journal.commit([{ records: more, checkpoint: checkpoint('str_ghost', 1) }])).rejects.toBeInstanceOf(StreamConflictError);
      expect(await store.journal.head('str_a')).toMatchObject({ seq: 2 });
    }));
  });
}
