import { type AuditRecord, GENESIS_PREV } from '../../../core/audit-record.js';
import type { StreamHead } from '../../../ports/journal-store.js';
import { StreamConflictError } from '../../../ports/store.js';

/** A record must sit right after its stream's head and link to the head's hash. Shared by every store. */
export function checkContinues(record: Pick<AuditRecord, 'stream' | 'seq' | 'prev'>, head: StreamHead | null): void {
  const seq = (head?.seq ?? 0) + 1;
  const prev = head?.hash ?? GENESIS_PREV;
  if (record.seq !== seq) {
    throw new StreamConflictError(`stream ${record.stream}: got seq ${record.seq}, expected ${seq}`);
  }
  if (record.prev !== prev) {
    throw new StreamConflictError(`stream ${record.stream} seq ${record.seq}: prev does not match the hash of seq ${seq - 1}`);
  }
}
