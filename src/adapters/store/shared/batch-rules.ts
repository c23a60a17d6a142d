import type { AuditRecord } from '../../../core/audit-record.js';
import type { StoredCheckpoint } from '../../../ports/journal-store.js';
import { StreamConflictError } from '../../../ports/store.js';
import { checkContinues } from './continuity.js';

type BatchUnit = {
  records: readonly Pick<AuditRecord, 'stream' | 'seq' | 'prev' | 'hash'>[];
  checkpoint?: Pick<StoredCheckpoint, 'stream' | 'size'> | undefined;
};

/**
 * What a batch must satisfy on its own, before any store state is read: each stream's
 * records follow one another, and no checkpoint comes twice. Shared by every store; where
 * the batch meets the stored stream (its head, its state) the stores apply checkContinues
 * and stream-rules.ts inside their transaction.
 */
export function checkBatch(units: readonly BatchUnit[]): void {
  const last = new Map<string, Pick<AuditRecord, 'seq' | 'hash'>>();
  const checkpoints = new Set<string>();
  for (const unit of units) {
    for (const record of unit.records) {
      const previous = last.get(record.stream);
      if (previous) checkContinues(record, { seq: previous.seq, hash: previous.hash });
      last.set(record.stream, record);
    }
    const cp = unit.checkpoint;
    if (cp) {
      const key = JSON.stringify([cp.stream, cp.size]);
      if (checkpoints.has(key)) throw new StreamConflictError(`stream ${cp.stream} already has a checkpoint of size ${cp.size}`);
      checkpoints.add(key);
    }
  }
}
