import type { AuditRecord } from '../core/audit-record.js';
import { PaylogError } from '../core/errors.js';
import type { StoredCheckpoint } from '../ports/journal-store.js';
import type { AppContext } from './context.js';
import { paymentEvents } from './read-payments.js';
import type { SubtreeHashes } from './subtree-hashes.js';

export interface RecordProof {
  record: AuditRecord;
  /** 0-based position of the record in its stream's tree (seq − 1). */
  leafIndex: number;
  /** Hex hashes of the RFC 6962 audit path, bottom up. */
  proof: string[];
  /** The size and signed note of the checkpoint the proof is against. */
  treeSize: number;
  checkpoint: string;
}

export interface PaymentProof {
  payment: string;
  journal: string;
  proofs: RecordProof[];
  /** Records not covered by a checkpoint yet (another instance's stream that has not checkpointed since). */
  pending: AuditRecord[];
}

/**
 * Inclusion proofs of every record of a payment against the latest signed checkpoint of
 * its stream. When this process's own stream has records past its last checkpoint, it
 * checkpoints first (shared with concurrent requests), so a fresh payment is provable at once.
 */
export async function paymentProof(ctx: AppContext, hashes: SubtreeHashes, merchantId: string, id: string): Promise<PaymentProof> {
  const records = await paymentEvents(ctx, merchantId, id);
  const result: PaymentProof = { payment: id, journal: ctx.writer.journal, proofs: [], pending: [] };
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
      result.pending.push(record);
      continue;
    }
    const proof = await hashes.inclusionProof(record.stream, record.seq - 1, checkpoint.size);
    result.proofs.push({
      record, leafIndex: record.seq - 1, proof: proof.map((p) => p.toString('hex')), treeSize: checkpoint.size, checkpoint: checkpoint.note,
    });
  }
  return result;
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
