import { journalLeafHash } from '../core/journal-tree.js';
import type { JournalLeafProof, ReceiptEntry } from '../core/receipt.js';
import type { JournalTreeStore } from '../ports/journal-tree-store.js';
import { cosignedNote } from './journal-tree-proofs.js';
import type { SubtreeHashes } from './subtree-hashes.js';

/**
 * Where a stream checkpoint note sits in the journal tree's current head: its leaf index,
 * the audit path to the head's root, and the head's note with the cosignatures it has. Null
 * while the note is not in the tree yet (the tree is appended after each checkpoint, off the
 * payment path), or when what the store holds does not add up. What a receipt carries
 * (`journalLeaf`) for `paylog verify-proof --witness-key … --witness-quorum N`.
 *
 * One look-up of the leaf by its hash, then the audit path from cached subtree hashes: a
 * few block reads, however large the tree.
 */
export async function journalLeafProof(store: JournalTreeStore, hashes: SubtreeHashes, journal: string, note: string): Promise<JournalLeafProof | null> {
  const wanted = journalLeafHash(note).toString('hex');
  const index = await store.findLeaf(journal, wanted);
  if (index === null) return null;
  // The look-up is an index, not evidence: the leaf itself must be this note.
  const [leaf] = await store.readLeaves(journal, index, 1);
  if (!leaf || leaf.index !== index || leaf.hash !== wanted || leaf.note !== note) return null;
  const head = await store.head(journal);
  if (!head || head.size <= index) return null;
  let proof: Buffer[];
  try {
    proof = await hashes.inclusionProof(journal, index, head.size);
  } catch {
    return null; // the stored leaves fall short of the head: the receipt goes without journalLeaf
  }
  return { index, proof: proof.map((h) => h.toString('hex')), checkpoint: cosignedNote(head.note, head.cosignatures) };
}

/** The receipt's entries, each with its checkpoint's place in the journal tree when it has one (one look-up per distinct checkpoint). */
export async function withJournalLeaves<T extends ReceiptEntry>(store: JournalTreeStore, hashes: SubtreeHashes, journal: string, entries: readonly T[]): Promise<T[]> {
  const found = new Map<string, JournalLeafProof | null>();
  const out: T[] = [];
  for (const entry of entries) {
    if (!found.has(entry.checkpoint)) found.set(entry.checkpoint, await journalLeafProof(store, hashes, journal, entry.checkpoint));
    const journalLeaf = found.get(entry.checkpoint);
    out.push(journalLeaf ? { ...entry, journalLeaf } : entry);
  }
  return out;
}
