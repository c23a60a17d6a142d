import { journalTreeOrigin } from '../core/journal-tree.js';
import { PaylogError } from '../core/errors.js';
import type { AppContext } from './context.js';
import type { SubtreeHashes } from './subtree-hashes.js';

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

/** RFC 6962 consistency proof between two sizes of the journal tree (what a witness needs). */
export async function journalConsistency(ctx: AppContext, hashes: SubtreeHashes, from: number, to: number): Promise<{ journal: string; from: number; to: number; proof: string[] }> {
  const head = await ctx.store.journalTree.head(ctx.writer.journal);
  const size = head?.size ?? 0;
  if (!(from >= 0 && from <= to && to <= size)) {
    throw new PaylogError('parameter_invalid', { param: 'to', message: `"from" and "to" must satisfy 0 ≤ from ≤ to ≤ ${size}.` });
  }
  const proof = await hashes.consistencyProof(ctx.writer.journal, from, to);
  return { journal: ctx.writer.journal, from, to, proof: proof.map((p) => p.toString('hex')) };
}
