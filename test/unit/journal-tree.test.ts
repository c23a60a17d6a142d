import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createMemoryStore } from '../../src/adapters/store/memory/index.js';
import { JournalTreeAppender, type JournalTreeOptions } from '../../src/app/journal-tree.js';
import { checkCheckpoint, signCheckpoint } from '../../src/core/checkpoint.js';
import { journalLeafHash } from '../../src/core/journal-tree.js';
import { MerkleFrontier, consistencyProof, verifyConsistency } from '../../src/core/merkle.js';
import { parseVerifierKey, signerFromPrivateKey, verifierKeyOf } from '../../src/core/signed-note.js';
import type { JournalTreeHead } from '../../src/ports/journal-tree-store.js';
import type { Store } from '../../src/ports/store.js';
import { waitFor } from '../support/wait.js';

const JOURNAL = 'paylog-tree';
const signer = signerFromPrivateKey(JOURNAL, generateKeyPairSync('ed25519').privateKey);
const trusted = [{ key: parseVerifierKey(verifierKeyOf(signer)), validFrom: null, validUntil: null }];

function note(stream: string, size: number): string {
  return signCheckpoint({ origin: `${JOURNAL}/${stream}`, size, root: String(size % 10).repeat(64), time: '2026-11-30T12:00:00.000Z' }, [signer]);
}

function appender(store: Store, extra: Partial<JournalTreeOptions> = {}): { tree: JournalTreeAppender; conflicts: string[]; appended: JournalTreeHead[] } {
  const conflicts: string[] = [];
  const appended: JournalTreeHead[] = [];
  const tree = new JournalTreeAppender(store.journalTree, {
    journal: JOURNAL, signers: [signer], trusted, clock: { now: () => Date.parse('2026-11-30T12:00:01.000Z') },
    onConflict: (reason) => conflicts.push(reason), onAppended: (head) => appended.push(head), ...extra,
  });
  return { tree, conflicts, appended };
}

/** The tree's root from its stored leaves, and each leaf's hash from its note. */
async function rebuilt(store: Store): Promise<{ root: string; size: number }> {
  const leaves = await store.journalTree.readLeaves(JOURNAL, 0, 10_000);
  const frontier = new MerkleFrontier();
  leaves.forEach((leaf, i) => {
    expect(leaf.index).toBe(i);
    expect(leaf.hash).toBe(journalLeafHash(leaf.note).toString('hex'));
    frontier.push(Buffer.from(leaf.hash, 'hex'));
  });
  return { root: frontier.root().toString('hex'), size: frontier.size };
}

describe('the journal tree', () => {
  it('takes stream checkpoints in order, and every head is signed by the journal over exactly its leaves', async () => {
    const store = createMemoryStore();
    const { tree, appended } = appender(store);
    tree.enqueue([note('str_a', 4), note('str_b', 2)]);
    await tree.idle();
    tree.enqueue([note('str_a', 9)]);
    await tree.idle();
    const head = await store.journalTree.head(JOURNAL);
    expect(head?.size).toBe(3);
    expect(await rebuilt(store)).toEqual({ root: head?.root, size: 3 });
    expect(checkCheckpoint(head?.note ?? '', trusted, JOURNAL)).toMatchObject({ ok: true, body: { origin: JOURNAL, size: 3, root: head?.root, time: '2026-11-30T12:00:01.000Z' } });
    expect(appended.map((h) => h.size)).toEqual([2, 3]);
    // Each head extends the one before: a witness holding size 2 accepts size 3.
    const leaves = (await store.journalTree.readLeaves(JOURNAL, 0, 10)).map((l) => Buffer.from(l.hash, 'hex'));
    expect(verifyConsistency(2, 3, consistencyProof(leaves, 2, 3), Buffer.from(appended[0]?.root ?? '', 'hex'), Buffer.from(head?.root ?? '', 'hex'))).toBe(true);
  });

  it('several writers appending at once: every checkpoint lands once, and the tree stays one consistent tree', async () => {
    const store = createMemoryStore();
    const writers = Array.from({ length: 5 }, () => appender(store));
    writers.forEach(({ tree }, w) => tree.enqueue(Array.from({ length: 4 }, (_, i) => note(`str_${w}`, i + 1))));
    await Promise.all(writers.map(({ tree }) => tree.idle()));
    const leaves = await store.journalTree.readLeaves(JOURNAL, 0, 100);
    expect(leaves).toHaveLength(20);
    expect(new Set(leaves.map((l) => l.note)).size).toBe(20);
    const head = await store.journalTree.head(JOURNAL);
    expect(await rebuilt(store)).toEqual({ root: head?.root, size: 20 });
    // Each writer's own checkpoints keep their order.
    for (let w = 0; w < 5; w++) {
      const own = leaves.filter((l) => l.note.startsWith(`${JOURNAL}/str_${w}\n`)).map((l) => Number(l.note.split('\n')[1]));
      expect(own).toEqual([1, 2, 3, 4]);
    }
  });

  it('never extends a head the journal did not sign, or whose frontier does not reproduce its root', async () => {
    const stranger = signerFromPrivateKey(JOURNAL, generateKeyPairSync('ed25519').privateKey);
    for (const tamper of ['foreign head', 'wrong frontier'] as const) {
      const store = createMemoryStore();
      const { tree } = appender(store);
      tree.enqueue([note('str_a', 1)]);
      await tree.idle();
      const head = (await store.journalTree.head(JOURNAL)) as JournalTreeHead;
      if (tamper === 'foreign head') {
        const forged = signCheckpoint({ origin: JOURNAL, size: 2, root: 'ee'.repeat(32), time: '2026-11-30T12:00:00.000Z' }, [stranger]);
        await store.journalTree.append(JOURNAL, 1, [{ index: 1, note: 'forged', hash: journalLeafHash('forged').toString('hex') }], { size: 2, root: 'ee'.repeat(32), note: forged, frontier: ['ee'.repeat(32)] });
      } else {
        await store.journalTree.append(JOURNAL, 1, [{ index: 1, note: 'forged', hash: journalLeafHash('forged').toString('hex') }], { size: 2, root: head.root, note: head.note, frontier: ['ee'.repeat(32)] });
      }
      const { tree: next, conflicts } = appender(store);
      next.enqueue([note('str_b', 1)]);
      await next.idle();
      expect(conflicts, tamper).toEqual([expect.stringMatching(/nothing more is appended/)]);
      expect((await store.journalTree.head(JOURNAL))?.size).toBe(2);
      // Stopped for good: later checkpoints are not appended either.
      next.enqueue([note('str_b', 2)]);
      await next.idle();
      expect((await store.journalTree.head(JOURNAL))?.size).toBe(2);
    }
  });

  it('a store that fails is tried again later; nothing is lost from the queue meanwhile', async () => {
    const store = createMemoryStore();
    let failures = 2;
    const failing = { ...store.journalTree, head: async (journal: string) => {
      if (failures-- > 0) throw new Error('store down');
      return store.journalTree.head(journal);
    } };
    const tree = new JournalTreeAppender({ ...failing, append: store.journalTree.append.bind(store.journalTree), readLeaves: store.journalTree.readLeaves.bind(store.journalTree), addCosignatures: store.journalTree.addCosignatures.bind(store.journalTree) }, {
      journal: JOURNAL, signers: [signer], trusted, clock: { now: () => 0 },
    });
    tree.enqueue([note('str_a', 1)]);
    await tree.idle();
    expect(await store.journalTree.head(JOURNAL)).toBeNull();
    // It retries on its own: the head appears once the store answers again.
    await waitFor('the retried append', async () => {
      await tree.idle();
      return (await store.journalTree.head(JOURNAL)) !== null;
    });
    expect((await store.journalTree.head(JOURNAL))?.size).toBe(1);
    tree.stop();
  });
});
