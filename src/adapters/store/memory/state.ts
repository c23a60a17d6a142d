import type { AuditRecord } from '../../../core/audit-record.js';
import type { Payment } from '../../../core/payment.js';
import type { LedgerEntry } from '../../../ports/gateway-ledger.js';
import type { StoredResponse } from '../../../ports/idempotency-store.js';
import type { StoredCheckpoint, StreamStatus } from '../../../ports/journal-store.js';
import type { JournalLeaf, JournalTreeHead } from '../../../ports/journal-tree-store.js';
import type { ApiKey } from '../../../ports/key-store.js';
import { StoreUnavailableError } from '../../../ports/store.js';

export interface IdempotencyRow {
  fingerprint: string;
  paymentId: string | null;
  response: StoredResponse | null;
  leaseExpiresAt: string;
  expiresAt: string;
  createdAt: string;
}

/** Everything the memory store holds; the sub-stores share it so a commit can touch all of it. */
export class MemoryState {
  closed = false;
  readonly streams = new Map<string, StreamStatus>();
  /** Checkpoints of each stream, in commit order. */
  readonly checkpoints = new Map<string, StoredCheckpoint[]>();
  /** Records of each stream, index = seq - 1 (streams are gapless). */
  readonly records = new Map<string, AuditRecord[]>();
  readonly byResource = new Map<string, AuditRecord[]>();
  readonly payments = new Map<string, Payment>();
  readonly idempotency = new Map<string, IdempotencyRow>();
  readonly keys = new Map<string, ApiKey>();
  readonly ledger = new Map<string, LedgerEntry>();
  readonly treeLeaves = new Map<string, JournalLeaf[]>();
  readonly treeHeads = new Map<string, JournalTreeHead>();

  assertOpen(): void {
    if (this.closed) throw new StoreUnavailableError('memory store is closed');
  }
}

/**
 * Values cross the store boundary as JSON, like every real backend: callers can neither
 * mutate stored state through a reference nor rely on anything JSON would drop.
 */
export function copy<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/** Merchant IDs and keys are printable ASCII, so a JSON pair is an unambiguous composite key. */
export function idempotencyKeyOf(merchantId: string, key: string): string {
  return JSON.stringify([merchantId, key]);
}
