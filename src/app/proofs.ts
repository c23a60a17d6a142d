import type { AuditRecord } from '../core/audit-record.js';
import { PaylogError } from '../core/errors.js';
import type { StoredCheckpoint } from '../ports/journal-store.js';
import type { AppContext } from './context.js';
import type { ReceiptEntry } from '../core/receipt.js';
import { withJournalLeaves } from './journal-tree-receipt.js';
import { type EventPageOptions, paymentEvents } from './read-payments.js';
import type { SubtreeHashes } from './subtree-hashes.js';

export type RecordProof = ReceiptEntry;

export interface PaymentProof {
  payment: string;
  journal: string;
  proofs: RecordProof[];
  /** Records not covered by a checkpoint yet (another instance's stream that has not checkpointed since). */
  pending: AuditRecord[];
  /** More records follow: ask again with `startingAfter` naming this page's last record. */
  hasMore: boolean;
}

/** Subtree hashes of the streams' trees and of the journal trees, cached across requests. */
export interface ProofHashes {
  streams: SubtreeHashes;
  journalTrees: SubtreeHashes;
}

/**
 * Inclusion proofs of a page of a payment's records against the latest signed checkpoint of
 * their streams, each checkpoint placed in the journal tree when it is there (`journalLeaf`).
 * When this process's own stream has records past its last checkpoint, it checkpoints first
 * (shared with concurrent requests), and waits for its checkpoints under way to join the
 * journal tree, so a fresh payment is provable at once.
 */
export async function paymentProof(ctx: AppContext, hashes: ProofHashes, merchantId: string, id: string, page: EventPageOptions = {}): Promise<PaymentProof> {
  const { data: records, hasMore } = await paymentEvents(ctx, merchantId, id, page);
  const pending: AuditRecord[] = [];
  const proofs: RecordProof[] = [];
  const checkpoints = new Map<string, StoredCheckpoint | null>();
  for (const record of records) {
    let checkpoint = checkpoints.get(record.stream);
    if (checkpoint === undefined) {
      checkpoint = await ctx.store.journal.latestCheckpoint(record.stream);
      const newest = Math.max(...records.filter((r) => r.stream === record.stream).map((r) => r.seq));
      if ((checkpoint === null || checkpoint.size < newest) && record.stream === ctx.writer.streamId) {
        checkpoint = (await ctx.writer.checkpointNow()) ?? checkpoint;
      }
      checkpoints.set(record.stream, checkpoint);
    }
    if (checkpoint === null || checkpoint.size < record.seq) {
      pending.push(record);
      continue;
    }
    const proof = await hashes.streams.inclusionProof(record.stream, record.seq - 1, checkpoint.size);
    proofs.push({
      record, leafIndex: record.seq - 1, proof: proof.map((p) => p.toString('hex')), treeSize: checkpoint.size, checkpoint: checkpoint.note,
    });
  }
  // This process's checkpoints join the journal tree right after they are made: wait for any under way.
  await ctx.journalTree.idle();
  const placed = await withJournalLeaves(ctx.store.journalTree, hashes.journalTrees, ctx.writer.journal, proofs);
  return { payment: id, journal: ctx.writer.journal, proofs: placed, pending, hasMore };
}

/** The latest checkpoint of every stream: what a witness or an auditor would fetch and keep. */
export async function latestCheckpoints(ctx: AppContext): Promise<StoredCheckpoint[]> {
  return ctx.store.journal.latestCheckpoints();
}

export interface ConsistencyAnswer {
  stream: string;
  from: number;
  to: number;
  /** Hex hashes of the RFC 6962 consistency proof. */
  proof: string[];
}

/**
 * Proves that the stream's tree at `from` records is a prefix of its tree at `to`: a
 * witness holding an older checkpoint checks a newer one with it (RFC 9162 §2.1.4.2).
 */
export async function consistency(ctx: AppContext, hashes: SubtreeHashes, stream: string, from: number, to: number): Promise<ConsistencyAnswer> {
  const head = await ctx.store.journal.head(stream);
  if (!head) throw new PaylogError('resource_missing', { param: 'stream', message: `No such stream: '${stream}'.` });
  if (!(from >= 0 && from <= to && to <= head.seq)) {
    throw new PaylogError('parameter_invalid', { param: 'to', message: `"from" and "to" must satisfy 0 ≤ from ≤ to ≤ ${head.seq}.` });
  }
  const proof = await hashes.consistencyProof(stream, from, to);
  return { stream, from, to, proof: proof.map((p) => p.toString('hex')) };
}
