import type { AuditRecord } from '../core/audit-record.js';
import type { Payment } from '../core/payment.js';
import type { IdempotencyUpdate } from './idempotency-store.js';

export interface StreamInfo {
  id: string;
  journal: string;
  startedAt: string;
  /** Who writes it: "host:pid" for a server, "cli:pid" for a command. */
  writer: string;
}

export interface StreamHead {
  seq: number;
  hash: string;
}

/**
 * One unit of a group commit: records appended to a stream together with the
 * read-model and idempotency changes they imply. A store applies a whole batch of
 * units in one transaction (or, without transactions, records first, in order).
 */
export interface CommitUnit {
  records: AuditRecord[];
  payment?: Payment;
  idempotency?: IdempotencyUpdate;
}

/** The journal's storage primitives. Chaining, hashing and batching live above, in app/. */
export interface JournalStore {
  createStream(info: StreamInfo): Promise<void>;
  /**
   * Applies every unit of the batch atomically and durably. Records must continue their
   * stream without gaps; a seq that already exists makes the whole batch fail.
   */
  commit(units: CommitUnit[]): Promise<void>;
  head(streamId: string): Promise<StreamHead | null>;
  listStreams(): Promise<StreamInfo[]>;
  /** Records of one stream with seq ≥ fromSeq, ascending, at most `limit`. */
  readStream(streamId: string, fromSeq: number, limit: number): Promise<AuditRecord[]>;
  /** Every record about one resource (a transaction ID), across streams, in time order. */
  readByResource(resource: string): Promise<AuditRecord[]>;
}
