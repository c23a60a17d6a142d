import type { AuditRecord } from '../core/audit-record.js';

/**
 * A second home for audit records, written after they are durable in the store: stdout
 * (which Lambda ships to CloudWatch Logs) or CloudWatch Logs directly. One JSON line per
 * record, exactly as SPEC §3, so the mirror alone verifies with `paylog verify --file`.
 */
export interface AuditMirror {
  /** Called with each committed batch, in commit order. Must not throw. */
  publish(records: readonly AuditRecord[]): void;
  /** Sends anything buffered; resolves when it is out (or given up on). */
  flush(): Promise<void>;
  close(): Promise<void>;
}
