import type { AuditRecord } from '../core/audit-record.js';
import type { SignedHead } from '../core/signed-head.js';

/**
 * A second home for audit records, written after they are durable in the store: stdout
 * (which Lambda ships to CloudWatch Logs) or CloudWatch Logs directly. One JSON line per
 * record, exactly as the store holds it, then the batch's signed head as a head line
 * (core/signed-head.ts), so the mirror alone verifies with `paylog verify --file`.
 */
export interface AuditMirror {
  /** Called with each committed batch, in commit order, and the head signed with it (if any). Must not throw. */
  publish(records: readonly AuditRecord[], head?: SignedHead | null): void;
  /** Sends anything buffered; resolves when it is out (or given up on). */
  flush(): Promise<void>;
  close(): Promise<void>;
}
