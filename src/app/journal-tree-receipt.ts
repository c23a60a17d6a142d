import { journalLeafHash } from '../core/journal-tree.js';
import { inclusionProof } from '../core/merkle.js';
import type { JournalLeafProof, ReceiptEntry } from '../core/receipt.js';
import type { JournalTreeStore } from '../ports/journal-tree-store.js';
import { cosignedNote } from './journal-tree-proofs.js';

/** Leaves read per store round trip. */
const TREE_READ_PAGE_LEAVES = 1_000;

/**
 * Where a stream checkpoint note sits in the journal tree's current head: its leaf index,
 * the audit path to the head's root, and the head's note with the cosignatures it has. Null
 * while the note is not in the tree yet (the tree is appended after each checkpoint, off the
 * payment path) or the store has no head. What a receipt carries (`journalLeaf`) for
 * `paylog verify-proof --witness-key … --witness-quorum N`.
 *
 * Reads every leaf up to the head: O(leaves) per call, fine for an operator's tool or a
 * cached answer, not for a hot path (an index of leaves by hash in the store would make it
 * O(log n) reads).
 */
export async function journalLeafProof(store: JournalTreeStore, journal: string, note: string): Promise<JournalLeafProof | null> {
  const head = await store.head(journal);
  if (!head) return null;
  const wanted = journalLeafHash(note).toString('hex');
  const hashes: Buffer[] = [];
  let index = -1;
  while (hashes.length < head.size) {
    const page = await store.readLeaves(journal, hashes.length, Math.min(TREE_READ_PAGE_LEAVES, head.size - hashes.length));
    if (page.length === 0) break;
    for (const leaf of page) {
      if (leaf.index !== hashes.length) return null; // not the tree its head signs: nothing to prove against
      if (index < 0 && leaf.hash === wanted) index = leaf.index;
      hashes.push(Buffer.from(leaf.hash, 'hex'));
    }
  }
  if (index < 0 || hashes.length !== head.size) return null;
  return { index, proof: inclusionProof(hashes, index, head.size).map((h) => h.toString('hex')), checkpoint: cosignedNote(head.note, head.cosignatures) };
}

/** The receipt's entries, each with its checkpoint's place in the journal tree when it has one (one look-up per distinct checkpoint). */
export async function withJournalLeaves<T extends { proofs: ReceiptEntry[] }>(store: JournalTreeStore, journal: string, receipt: T): Promise<T> {
  const found = new Map<string, JournalLeafProof | null>();
  const proofs: ReceiptEntry[] = [];
  for (const entry of receipt.proofs) {
    if (!found.has(entry.checkpoint)) found.set(entry.checkpoint, await journalLeafProof(store, journal, entry.checkpoint));
    const journalLeaf = found.get(entry.checkpoint);
    proofs.push(journalLeaf ? { ...entry, journalLeaf } : entry);
  }
  return { ...receipt, proofs };
}
