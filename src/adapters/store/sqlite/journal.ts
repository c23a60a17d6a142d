import type Database from 'better-sqlite3';
import { type AuditRecord, recordLine } from '../../../core/audit-record.js';
import type {
  CommitUnit, JournalStore, ResourcePage, StoredCheckpoint, StreamHead, StreamInfo, StreamStatus,
} from '../../../ports/journal-store.js';
import { StreamConflictError } from '../../../ports/store.js';
import type { SqliteConnection } from './connection.js';
import { isConstraintError } from './errors.js';
import type { CommitRows } from './write-ops.js';

type Statement = Database.Statement<unknown[], unknown>;

export class SqliteJournalStore implements JournalStore {
  // Prepared once at open: commit and head run for every group commit, so no SQL is parsed per batch.
  private readonly insertStreamStmt: Statement;
  private readonly listStreamsStmt: Statement;
  private readonly lapsedStreamsStmt: Statement;
  private readonly streamStatusStmt: Statement;
  private readonly headStmt: Statement;
  private readonly readStreamStmt: Statement;
  private readonly byResourceStmt: Statement;
  private readonly byResourcePageStmt: Statement;
  private readonly readHashesStmt: Statement;
  private readonly latestCheckpointsStmt: Statement;
  private readonly latestCheckpointStmt: Statement;

  constructor(private readonly conn: SqliteConnection) {
    const db = conn.db;
    this.insertStreamStmt = db.prepare(`
      INSERT INTO streams (id, journal, started_at, writer, lease_expires_at) VALUES (@id, @journal, @startedAt, @writer, @leaseExpiresAt)`);
    const streamColumns = `id, journal, started_at AS startedAt, writer, lease_expires_at AS leaseExpiresAt, state,
             closed_by AS closedBy, closed_at AS closedAt, head_size AS headSize, head_root AS headRoot, head_note AS headNote`;
    this.listStreamsStmt = db.prepare(`SELECT ${streamColumns} FROM streams ORDER BY started_at, id`);
    this.lapsedStreamsStmt = db.prepare(`
      SELECT ${streamColumns} FROM streams WHERE state = 'open' AND lease_expires_at <= ? ORDER BY lease_expires_at, id LIMIT ?`);
    this.streamStatusStmt = db.prepare(`SELECT ${streamColumns} FROM streams WHERE id = ?`);
    this.readHashesStmt = db.prepare('SELECT hash FROM journal WHERE stream = ? AND seq >= ? ORDER BY seq LIMIT ?').pluck();
    const checkpointColumns = 'stream, size, root, note, created_at AS createdAt';
    this.latestCheckpointsStmt = db.prepare(`
      SELECT ${checkpointColumns} FROM checkpoints c
      WHERE size = (SELECT max(size) FROM checkpoints WHERE stream = c.stream) ORDER BY stream`);
    this.latestCheckpointStmt = db.prepare(`SELECT ${checkpointColumns} FROM checkpoints WHERE stream = ? ORDER BY size DESC LIMIT 1`);
    this.headStmt = db.prepare('SELECT seq, hash FROM journal WHERE stream = ? ORDER BY seq DESC LIMIT 1');
    this.readStreamStmt = db.prepare('SELECT body FROM journal WHERE stream = ? AND seq >= ? ORDER BY seq LIMIT ?').pluck();
    this.byResourceStmt = db.prepare('SELECT body FROM journal WHERE resource = ? ORDER BY ts, stream, seq').pluck();
    this.byResourcePageStmt = db.prepare(`
      SELECT body FROM journal WHERE resource = @resource AND (ts, stream, seq) > (@ts, @stream, @seq)
      ORDER BY ts, stream, seq LIMIT @limit`).pluck();
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
   * Joins the group commit on the write thread (SqliteWrites.commit), whose BEGIN IMMEDIATE matters here: the batch reads
   * heads and then writes, and a deferred transaction that started reading would fail
   * outright (not wait) if another process wrote in between.
   */
  async commit(units: CommitUnit[]): Promise<void> {
    await this.conn.write({ kind: 'journal.commit', units: units.map(commitRows) });
  }

  head(streamId: string): Promise<StreamHead | null> {
    return this.conn.run(() => this.storedHead(streamId));
  }

  listStreams(): Promise<StreamStatus[]> {
    return this.conn.run(() => (this.listStreamsStmt.all() as StreamRow[]).map(toStreamStatus));
  }

  listLapsedStreams(now: string, limit: number): Promise<StreamStatus[]> {
    return this.conn.run(() => (this.lapsedStreamsStmt.all(now, Math.max(limit, 0)) as StreamRow[]).map(toStreamStatus));
  }

  streamStatus(streamId: string): Promise<StreamStatus | null> {
    return this.conn.run(() => {
      const row = this.streamStatusStmt.get(streamId) as StreamRow | undefined;
      return row ? toStreamStatus(row) : null;
    });
  }

  /** On the write thread: waiting there for another process's lock never stalls the event loop. */
  renewLease(streamId: string, leaseExpiresAt: string): Promise<boolean> {
    return this.conn.write({ kind: 'stream.renew', streamId, leaseExpiresAt }) as Promise<boolean>;
  }

  closeStream(streamId: string, state: 'stopped' | 'sealed', by: string, at: string): Promise<boolean> {
    return this.conn.write({ kind: 'stream.close', streamId, state, by, at }) as Promise<boolean>;
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

  readByResource(resource: string, page?: ResourcePage): Promise<AuditRecord[]> {
    if (!page) return this.conn.run(() => parseAll(this.byResourceStmt.all(resource)));
    // '' sorts before every ts: no `after` is the start.
    const after = page.after ?? { ts: '', stream: '', seq: 0 };
    return this.conn.run(() => parseAll(this.byResourcePageStmt.all({ resource, ...after, limit: page.limit })));
  }

  private storedHead(streamId: string): StreamHead | null {
    return (this.headStmt.get(streamId) as StreamHead | undefined) ?? null;
  }
}

type StreamRow = Omit<StreamStatus, 'head'> & { headSize: number | null; headRoot: string | null; headNote: string | null };

function toStreamStatus(row: StreamRow): StreamStatus {
  const { headSize, headRoot, headNote, ...status } = row;
  const head = headSize === null || headRoot === null || headNote === null ? null : { stream: row.id, size: headSize, root: headRoot, note: headNote };
  return { ...status, head };
}

/** A unit as the write thread binds it: every body serialized here, once. */
function commitRows(unit: CommitUnit): CommitRows {
  const rows: CommitRows = {
    records: unit.records.map((record) => ({
      stream: record.stream, seq: record.seq, prev: record.prev, hash: record.hash,
      resource: record.resource, type: record.type, ts: record.ts, body: recordLine(record),
    })),
  };
  const { payment, idempotency, checkpoint } = unit;
  if (payment) rows.payment = { id: payment.id, merchantId: payment.merchantId, status: payment.status, updatedAt: payment.updatedAt, merchantReference: payment.merchantReference ?? null, body: JSON.stringify(payment) };
  if (idempotency) {
    rows.idempotency = {
      merchantId: idempotency.merchantId, key: idempotency.key, paymentId: idempotency.paymentId ?? null,
      response: idempotency.response === undefined ? null : JSON.stringify(idempotency.response),
      ...(idempotency.heldUntil !== undefined && { heldUntil: idempotency.heldUntil }),
      ...(idempotency.claim && { claim: idempotency.claim }),
    };
  }
  if (checkpoint) rows.checkpoint = checkpoint;
  if (unit.head) rows.head = unit.head;
  if (unit.seal) rows.seal = unit.seal;
  return rows;
}

function parseAll(bodies: unknown[]): AuditRecord[] {
  return (bodies as string[]).map((body) => JSON.parse(body) as AuditRecord);
}
