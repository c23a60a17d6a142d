import { describe, expect, it } from 'vitest';
import type { JournalLeaf, JournalTreeHead } from '../../src/ports/journal-tree-store.js';
import { type StoreFactory, withStore } from './fixtures.js';

const J = 'paylog-test';

function leaf(index: number): JournalLeaf {
  return { index, note: `paylog-test/str_${index}\n${index}\nroot\n\n\u2014 k sig${index}\n`, hash: String(index % 10).repeat(64) };
}

function head(size: number): Omit<JournalTreeHead, 'journal' | 'cosignatures'> {
  return { size, root: 'ab'.repeat(32), note: `paylog-test\n${size}\nroot\n\n\u2014 k s\n`, frontier: Array.from({ length: size.toString(2).replace(/0/g, '').length }, () => 'cd'.repeat(32)) };
}

/** The journal tree: serialized appends, leaves read back, cosignatures on the head. */
export function journalTreeContract(factory: StoreFactory): void {
  describe('JournalTreeStore', () => {
    it('appends leaves with the new head in one step, only from the size it expects', withStore(factory, async (store) => {
      expect(await store.journalTree.head(J)).toBeNull();
      expect(await store.journalTree.append(J, 0, [leaf(0), leaf(1)], head(2))).toBe(true);
      expect(await store.journalTree.head(J)).toEqual({ ...head(2), journal: J, cosignatures: [] });
      expect(await store.journalTree.append(J, 1, [leaf(1)], head(2))).toBe(false);
      expect(await store.journalTree.append(J, 2, [leaf(2)], head(3))).toBe(true);
      expect(await store.journalTree.readLeaves(J, 0, 10)).toEqual([leaf(0), leaf(1), leaf(2)]);
      expect(await store.journalTree.readLeaves(J, 1, 1)).toEqual([leaf(1)]);
      expect(await store.journalTree.readLeaves('another', 0, 10)).toEqual([]);
      expect(await store.journalTree.head('another')).toBeNull();
    }));

    it('of appends racing from one size exactly one wins, and the tree holds its leaves alone', withStore(factory, async (store) => {
      await store.journalTree.append(J, 0, [leaf(0)], head(1));
      const racers = Array.from({ length: 8 }, (_, i) => ({ ...leaf(1), note: `racer ${i}` }));
      const results = await Promise.all(racers.map((l, i) => store.journalTree.append(J, 1, [l], { ...head(2), note: `head ${i}` })));
      expect(results.filter(Boolean)).toHaveLength(1);
      const winner = results.indexOf(true);
      expect((await store.journalTree.readLeaves(J, 0, 10)).map((l) => l.note)).toEqual([leaf(0).note, `racer ${winner}`]);
      expect((await store.journalTree.head(J))?.note).toBe(`head ${winner}`);
    }));

    it('finds where a leaf hash sits, in its journal only', withStore(factory, async (store) => {
      const leaves = [0, 1, 2, 3].map((i) => ({ ...leaf(i), hash: `${i}`.padStart(64, 'e') }));
      await store.journalTree.append(J, 0, leaves.slice(0, 3), head(3));
      await store.journalTree.append(J, 3, leaves.slice(3), head(4));
      for (const l of leaves) expect(await store.journalTree.findLeaf(J, l.hash)).toBe(l.index);
      expect(await store.journalTree.findLeaf(J, 'f'.repeat(64))).toBeNull();
      expect(await store.journalTree.findLeaf('another', leaves[1]!.hash)).toBeNull();
      // The look-up is no leaf: reading the tree shows the leaves alone.
      expect(await store.journalTree.readLeaves(J, 0, 10)).toEqual(leaves);
    }));

    it('a first append races too', withStore(factory, async (store) => {
      const results = await Promise.all(Array.from({ length: 6 }, (_, i) => store.journalTree.append(J, 0, [{ ...leaf(0), note: `first ${i}` }], head(1))));
      expect(results.filter(Boolean)).toHaveLength(1);
      expect(await store.journalTree.readLeaves(J, 0, 10)).toHaveLength(1);
    }));

    it('refuses leaves that do not continue the tree', withStore(factory, async (store) => {
      await expect(store.journalTree.append(J, 0, [leaf(1)], head(1))).rejects.toThrow(RangeError);
      await expect(store.journalTree.append(J, 0, [leaf(0)], head(2))).rejects.toThrow(RangeError);
      expect(await store.journalTree.head(J)).toBeNull();
    }));

    it('keeps witnesses\' cosignatures on the head they cosigned, each line once, until the next append', withStore(factory, async (store) => {
      await store.journalTree.append(J, 0, [leaf(0)], head(1));
      expect(await store.journalTree.addCosignatures(J, 1, ['\u2014 w1 a', '\u2014 w2 b'])).toBe(true);
      expect(await store.journalTree.addCosignatures(J, 1, ['\u2014 w1 a', '\u2014 w3 c'])).toBe(true);
      expect((await store.journalTree.head(J))?.cosignatures).toEqual(['\u2014 w1 a', '\u2014 w2 b', '\u2014 w3 c']);
      expect(await store.journalTree.addCosignatures(J, 7, ['\u2014 w1 z'])).toBe(false);
      await store.journalTree.append(J, 1, [leaf(1)], head(2));
      expect((await store.journalTree.head(J))?.cosignatures).toEqual([]);
      expect(await store.journalTree.addCosignatures(J, 1, ['\u2014 w1 late'])).toBe(false);
    }));
  });
}
