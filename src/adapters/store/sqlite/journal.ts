import type Database from 'better-sqlite3';
import { type AuditRecord, recordLine } from '../../../core/audit-record.js';
import type {
  CommitUnit, JournalStore, StoredCheckpoint, StreamHead, StreamInfo, StreamStatus,
} from '../../../ports/journal-store.js';
import { StreamConflictError } from '../../../ports/store.js';
import { checkContinues } from '../continuity.js';
import type { SqliteConnection } from './connection.js';
import { isConstraintError } from './errors.js';
import type { SqliteIdempotencyStore } from './idempotency.js';
import type { SqlitePaymentStore } from './payments.js';

type Statement = Database.Statement<unknown[], unknown>;

export class SqliteJournalStore implements JournalStore {
  // Prepared once at open: commit and head run for every group commit, so no SQL is parsed per batch.
  private readonly insertStreamStmt: Statement;
  private readonly streamExistsStmt: Statement;
  private readonly listStreamsStmt: Statement;
  private readonly headStmt: Statement;
  private readonly insertRecordStmt: Statement;
  private readonly readStreamStmt: Statement;
  private readonly byResourceStmt: Statement;
  private readonly renewLeaseStmt: Statement;
  private readonly closeStreamStmt: Statement;
  private readonly readHashesStmt: Statement;
  private readonly insertCheckpointStmt: Statement;
  private readonly latestCheckpointsStmt: Statement;
  private readonly latestCheckpointStmt: Statement;
  private readonly commitTx: Database.Transaction<(units: CommitUnit[]) => void>;

  constructor(
    private readonly conn: SqliteConnection,
    private readonly payments: SqlitePaymentStore,
    private readonly idempotency: SqliteIdempotencyStore,
  ) {
    const db = conn.db;
    this.insertStreamStmt = db.prepare(`
      INSERT INTO streams (id, journal, started_at, writer, lease_expires_at) VALUES (@id, @journal, @startedAt, @writer, @leaseExpiresAt)`);
    this.streamExistsStmt = db.prepare('SELECT state FROM streams WHERE id = ?').pluck();
    this.listStreamsStmt = db.prepare(`
      SELECT id, journal, started_at AS startedAt, writer, lease_expires_at AS leaseExpiresAt, state,
             closed_by AS closedBy, closed_at AS closedAt
      FROM streams ORDER BY started_at, id`);
    this.renewLeaseStmt = db.prepare("UPDATE streams SET lease_expires_at = ? WHERE id = ? AND state = 'open'");
    this.closeStreamStmt = db.prepare("UPDATE streams SET state = ?, closed_by = ?, closed_at = ? WHERE id = ? AND state = 'open'");
    this.readHashesStmt = db.prepare('SELECT hash FROM journal WHERE stream = ? AND seq >= ? ORDER BY seq LIMIT ?').pluck();
    this.insertCheckpointStmt = db.prepare('INSERT INTO checkpoints (stream, size, root, note, created_at) VALUES (@stream, @size, @root, @note, @createdAt)');
    const checkpointColumns = 'stream, size, root, note, created_at AS createdAt';
    this.latestCheckpointsStmt = db.prepare(`
      SELECT ${checkpointColumns} FROM checkpoints c
      WHERE size = (SELECT max(size) FROM checkpoints WHERE stream = c.stream) ORDER BY stream`);
    this.latestCheckpointStmt = db.prepare(`SELECT ${checkpointColumns} FROM checkpoints WHERE stream = ? ORDER BY size DESC LIMIT 1`);
    this.headStmt = db.prepare('SELECT seq, hash FROM journal WHERE stream = ? ORDER BY seq DESC LIMIT 1');
    this.insertRecordStmt = db.prepare(`
      INSERT INTO journal (stream, seq, hash, resource, type, ts, body) VALUES (?, ?, ?, ?, ?, ?, ?)`);
    this.readStreamStmt = db.prepare('SELECT body FROM journal WHERE stream = ? AND seq >= ? ORDER BY seq LIMIT ?').pluck();
    this.byResourceStmt = db.prepare('SELECT body FROM journal WHERE resource = ? ORDER BY ts, stream, seq').pluck();
    this.commitTx = db.transaction((units: CommitUnit[]) => this.apply(units));
  }

  createStream(info: StreamInfo): Promise<void> {
    return this.conn.run(() => {
      try {
        this.insertStreamStmt.run(info);
      } catch (err) {
        if (isConstraintError(err, 'SQLITE_CONSTRAINT_PRIMARYKEY')) throw new StreamConflictError(`stream ${info.id} already exists`);
        throw err;
      }
    });
  }

  /**
   * BEGIN IMMEDIATE: the batch reads heads and then writes. A deferred transaction that
   * started reading would fail outright (not wait) if another process wrote in between.
   */
  commit(units: CommitUnit[]): Promise<void> {
    return this.conn.run(() => this.commitTx.immediate(units));
  }

  head(streamId: string): Promise<StreamHead | null> {
    return this.conn.run(() => this.storedHead(streamId));
  }

  listStreams(): Promise<StreamStatus[]> {
    return this.conn.run(() => this.listStreamsStmt.all() as StreamStatus[]);
  }

  renewLease(streamId: string, leaseExpiresAt: string): Promise<boolean> {
    return this.conn.run(() => this.renewLeaseStmt.run(leaseExpiresAt, streamId).changes === 1);
  }

  closeStream(streamId: string, state: 'stopped' | 'sealed', by: string, at: string): Promise<boolean> {
    return this.conn.run(() => this.closeStreamStmt.run(state, by, at, streamId).changes === 1);
  }

  readHashes(streamId: string, fromSeq: number, limit: number): Promise<string[]> {
    return this.conn.run(() => this.readHashesStmt.all(streamId, fromSeq, limit) as string[]);
  }

  latestCheckpoints(): Promise<StoredCheckpoint[]> {
    return this.conn.run(() => this.latestCheckpointsStmt.all() as StoredCheckpoint[]);
  }

  latestCheckpoint(streamId: string): Promise<StoredCheckpoint | null> {
    return this.conn.run(() => (this.latestCheckpointStmt.get(streamId) as StoredCheckpoint | undefined) ?? null);
  }

  readStream(streamId: string, fromSeq: number, limit: number): Promise<AuditRecord[]> {
    return this.conn.run(() => parseAll(this.readStreamStmt.all(streamId, fromSeq, limit)));
  }

  readByResource(resource: string): Promise<AuditRecord[]> {
    return this.conn.run(() => parseAll(this.byResourceStmt.all(resource)));
  }

  private storedHead(streamId: string): StreamHead | null {
    return (this.headStmt.get(streamId) as StreamHead | undefined) ?? null;
  }

  private apply(units: CommitUnit[]): void {
    const heads = new Map<string, StreamHead | null>();
    for (const unit of units) {
      for (const record of unit.records) {
        if (!heads.has(record.stream)) {
          // Records of an unregistered stream would be invisible to listStreams, hence to verify and export.
          const state = this.streamExistsStmt.get(record.stream) as string | undefined;
          if (state === undefined) throw new StreamConflictError(`stream ${record.stream} does not exist`);
          // A stream sealed by another writer (its lease lapsed) takes no more records, in the same transaction.
          if (state !== 'open') throw new StreamConflictError(`stream ${record.stream} is ${state}`);
          heads.set(record.stream, this.storedHead(record.stream));
        }
        checkContinues(record, heads.get(record.stream) ?? null);
        this.insert(record);
        heads.set(record.stream, { seq: record.seq, hash: record.hash });
      }
      if (unit.payment) this.payments.upsert(unit.payment);
      if (unit.idempotency) this.idempotency.apply(unit.idempotency);
      if (unit.checkpoint) this.insertCheckpoint(unit.checkpoint);
    }
  }

  private insertCheckpoint(checkpoint: StoredCheckpoint): void {
    try {
      this.insertCheckpointStmt.run(checkpoint);
    } catch (err) {
      if (isConstraintError(err, 'SQLITE_CONSTRAINT_PRIMARYKEY')) throw new StreamConflictError(`stream ${checkpoint.stream} already has a checkpoint of size ${checkpoint.size}`);
      if (isConstraintError(err, 'SQLITE_CONSTRAINT_FOREIGNKEY')) throw new StreamConflictError(`stream ${checkpoint.stream} does not exist`);
      throw err;
    }
  }

  private insert(record: AuditRecord): void {
    try {
      this.insertRecordStmt.run(record.stream, record.seq, record.hash, record.resource, record.type, record.ts, recordLine(record));
    } catch (err) {
      if (isConstraintError(err, 'SQLITE_CONSTRAINT_PRIMARYKEY')) throw new StreamConflictError(`stream ${record.stream} already has seq ${record.seq}`);
      throw err;
    }
  }
}

function parseAll(bodies: unknown[]): AuditRecord[] {
  return (bodies as string[]).map((body) => JSON.parse(body) as AuditRecord);
}
