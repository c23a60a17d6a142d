import type { AuditRecord } from '../core/audit-record.js';
import type { Payment } from '../core/payment.js';
import type { SignedHead } from '../core/signed-head.js';
import type { IdempotencyUpdate } from './idempotency-store.js';

export interface StreamInfo {
  id: string;
  journal: string;
  startedAt: string;
  /** Who writes it: "host:pid" for a server, "cli:pid" for a command. */
  writer: string;
  /** The writer renews this while alive; an open stream past it is presumed crashed. */
  leaseExpiresAt: string;
}

export type StreamState = 'open' | 'stopped' | 'sealed';

export interface StreamStatus extends StreamInfo {
  state: StreamState;
  /** The stream that stopped or sealed it. */
  closedBy: string | null;
  closedAt: string | null;
  /** The newest signed head its writer committed (null before the first commit). */
  head: SignedHead | null;
}

/** A signed checkpoint of a stream's first `size` records (C2SP tlog-checkpoint note). */
export interface StoredCheckpoint {
  stream: string;
  size: number;
  /** Hex RFC 6962 root of the first `size` leaves. */
  root: string;
  note: string;
  createdAt: string;
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
  /** A checkpoint saved with the records (for any stream: sealing covers another writer's). */
  checkpoint?: StoredCheckpoint;
  /**
   * The writer's signed head of its own stream once this unit is applied (the writer puts it
   * on a batch's last unit): it replaces the stream's stored head in the same atomic write.
   */
  head?: SignedHead;
  /**
   * Closes another writer's stream as sealed in the same atomic write as this unit, provided
   * it is still open and its stored head still covers exactly `headSize` records; otherwise
   * the whole batch fails as a conflict.
   */
  seal?: StreamSeal;
}

export interface StreamSeal {
  stream: string;
  by: string;
  at: string;
  headSize: number;
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
  /** Streams in start order. */
  listStreams(): Promise<StreamStatus[]>;
  /** One stream as stored (strongly consistent), or null when there is none. */
  streamStatus(streamId: string): Promise<StreamStatus | null>;
  /**
   * Open streams whose lease had lapsed at `now` (their writers presumed crashed), the longest
   * lapsed first, at most `limit`: what a starting writer seals, without reading every stream.
   */
  listLapsedStreams(now: string, limit: number): Promise<StreamStatus[]>;
  /** Extends an open stream's lease; false when the stream is no longer open (e.g. sealed by another writer). */
  renewLease(streamId: string, leaseExpiresAt: string): Promise<boolean>;
  /**
   * Moves an open stream to stopped or sealed; false (and nothing changes) when it is not
   * open any more — so of two writers racing to seal a stream, exactly one wins.
   */
  closeStream(streamId: string, state: 'stopped' | 'sealed', by: string, at: string): Promise<boolean>;
  /** Leaf hashes (the records' `hash`) of one stream with seq ≥ fromSeq, ascending, at most `limit`. */
  readHashes(streamId: string, fromSeq: number, limit: number): Promise<string[]>;
  /** The checkpoint with the largest size of every stream that has one. */
  latestCheckpoints(): Promise<StoredCheckpoint[]>;
  latestCheckpoint(streamId: string): Promise<StoredCheckpoint | null>;
  /** Records of one stream with seq ≥ fromSeq, ascending, at most `limit`. */
  readStream(streamId: string, fromSeq: number, limit: number): Promise<AuditRecord[]>;
  /**
   * Records about one resource (a transaction ID), across streams, in time order — ordered by
   * (ts, stream, seq) — all of them, or a page: at most `limit`, after the position `after`.
   */
  readByResource(resource: string, page?: ResourcePage): Promise<AuditRecord[]>;
}

/** Where a record sits in the (ts, stream, seq) order of its resource's records. */
export interface RecordPosition {
  ts: string;
  stream: string;
  seq: number;
}

/** A page of a resource's records: at most `limit`, strictly after `after` when given. */
export interface ResourcePage {
  after?: RecordPosition;
  limit: number;
}
