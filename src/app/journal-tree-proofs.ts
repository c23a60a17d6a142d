import { journalTreeOrigin } from '../core/journal-tree.js';
import { PaylogError } from '../core/errors.js';
import { consistencyProof } from '../core/merkle.js';
import type { AppContext } from './context.js';

/** Leaves read per store round trip when a proof needs the whole tree. */
const TREE_READ_PAGE = 1_000;

export interface JournalCheckpoint {
  journal: string;
  origin: string;
  size: number;
  root: string;
  /** The signed checkpoint note with every cosignature line the witnesses returned. */
  note: string;
  cosignatures: string[];
}

/** The journal tree's newest checkpoint, cosignatures included; null before the first stream checkpoint. */
export async function journalCheckpoint(ctx: AppContext): Promise<JournalCheckpoint | null> {
  const journal = ctx.writer.journal;
  const head = await ctx.store.journalTree.head(journal);
  if (!head) return null;
  return { journal, origin: journalTreeOrigin(journal), size: head.size, root: head.root, note: cosignedNote(head.note, head.cosignatures), cosignatures: head.cosignatures };
}

/** A note with cosignature lines after its own signature lines, as C2SP signed notes carry them. */
export function cosignedNote(note: string, cosignatures: readonly string[]): string {
  return cosignatures.length === 0 ? note : `${note}${cosignatures.map((line) => `${line}\n`).join('')}`;
}

/** Hashes of the journal tree's first `size` leaves. */
export async function journalLeafHashes(ctx: AppContext, size: number): Promise<Buffer[]> {
  const hashes: Buffer[] = [];
  while (hashes.length < size) {
    const page = await ctx.store.journalTree.readLeaves(ctx.writer.journal, hashes.length, Math.min(TREE_READ_PAGE, size - hashes.length));
    if (page.length === 0) break;
    hashes.push(...page.map((leaf) => Buffer.from(leaf.hash, 'hex')));
  }
  return hashes;
}

/** RFC 6962 consistency proof between two sizes of the journal tree (what a witness needs). */
export async function journalConsistency(ctx: AppContext, from: number, to: number): Promise<{ journal: string; from: number; to: number; proof: string[] }> {
  const head = await ctx.store.journalTree.head(ctx.writer.journal);
  const size = head?.size ?? 0;
  if (!(from >= 0 && from <= to && to <= size)) {
    throw new PaylogError('parameter_invalid', { param: 'to', message: `"from" and "to" must satisfy 0 ≤ from ≤ to ≤ ${size}.` });
  }
  const leaves = await journalLeafHashes(ctx, to);
  return { journal: ctx.writer.journal, from, to, proof: consistencyProof(leaves, from, to).map((p) => p.toString('hex')) };
}
