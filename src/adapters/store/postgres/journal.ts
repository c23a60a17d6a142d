import type pg from 'pg';
import type { AuditRecord } from '../../../core/audit-record.js';
import type {
  CommitUnit, JournalStore, ResourcePage, StoredCheckpoint, StreamHead, StreamInfo, StreamStatus,
} from '../../../ports/journal-store.js';
import { StreamConflictError } from '../../../ports/store.js';
import { checkContinues } from '../shared/continuity.js';
import { checkBatch } from '../shared/batch-rules.js';
import { checkSealable, checkTakesRecords } from '../shared/stream-rules.js';
import type { PostgresConnection } from './connection.js';
import { checkCommitClaims, commitClaimOf } from '../shared/claim-rules.js';
import { lockBatchStatement, lockedBatch } from './batch-lock.js';
import { writeBatch } from './commit-writes.js';
import { claimVerdict } from './idempotency.js';

const STREAM_COLUMNS = `id, journal, started_at AS "startedAt", writer, lease_expires_at AS "leaseExpiresAt", state,
  closed_by AS "closedBy", closed_at AS "closedAt", head_size::int AS "headSize", head_root AS "headRoot", head_note AS "headNote"`;

type StreamRow = Omit<StreamStatus, 'head'> & { headSize: number | null; headRoot: string | null; headNote: string | null };

function toStreamStatus(row: StreamRow): StreamStatus {
  const { headSize, headRoot, headNote, ...status } = row;
  const head = headSize === null || headRoot === null || headNote === null ? null : { stream: row.id, size: headSize, root: headRoot, note: headNote };
  return { ...status, head };
}
const CHECKPOINT_COLUMNS = 'stream, size::int AS size, root, note, created_at AS "createdAt"';

export class PostgresJournalStore implements JournalStore {
  constructor(private readonly conn: PostgresConnection) {}

  async createStream(info: StreamInfo): Promise<void> {
    await this.conn.query({
      name: 'stream-insert',
      text: 'INSERT INTO streams (id, journal, started_at, writer, lease_expires_at) VALUES ($1, $2, $3, $4, $5)',
      values: [info.id, info.journal, info.startedAt, info.writer, info.leaseExpiresAt],
    }).catch((err: unknown) => {
      if (err instanceof StreamConflictError) throw new StreamConflictError(`stream ${info.id} already exists`);
      throw err;
    });
  }

  /**
   * One transaction per batch, in three round trips whatever its size: BEGIN with one call that
   * locks the batch's streams (refusing any that is not open) and its idempotency keys, claiming
   * the free ones (lockBatchStatement); the shared rules on what it read — continuity against the heads, seals,
   * claims (checkCommitClaims), fences; one statement with every write (writeBatch); COMMIT. Any
   * refusal rolls back all of it, claims included.
   */
  async commit(units: CommitUnit[]): Promise<void> {
    checkBatch(units);
    const records = units.flatMap((u) => u.records);
    const recordStreams = new Set([...records.map((r) => r.stream), ...units.flatMap((u) => (u.head ? [u.head.stream] : []))]);
    const seals = units.flatMap((u) => (u.seal ? [u.seal] : []));
    const streams = [...new Set([...recordStreams, ...seals.map((x) => x.stream)])];
    const keys = units.flatMap((u) => (u.idempotency ? [u.idempotency] : []));
    await this.conn.transaction(async (client, opened) => {
      const locked = lockedBatch(opened as pg.QueryResult);
      for (const stream of recordStreams) checkTakesRecords(stream, locked.streams.get(stream)?.state);
      for (const seal of seals) checkSealable(seal, locked.streams.get(seal.stream));
      const tails = new Map<string, StreamHead | null>(locked.heads);
      for (const record of records) {
        checkContinues(record, tails.get(record.stream) ?? null);
        tails.set(record.stream, { seq: record.seq, hash: record.hash });
      }
      checkCommitClaims(units, commitClaimOf, (claim) => claimVerdict(locked, claim));
      await writeBatch(client, units, locked);
    }, lockBatchStatement(streams, [...new Set(records.map((r) => r.stream))], keys));
  }

  async head(streamId: string): Promise<StreamHead | null> {
    return this.conn.run(async () => {
      const { rows } = await this.conn.pool.query<{ seq: string; hash: string }>({
        name: 'journal-head', text: 'SELECT seq, hash FROM journal WHERE stream = $1 ORDER BY seq DESC LIMIT 1', values: [streamId],
      });
      const row = rows[0];
      return row ? { seq: Number(row.seq), hash: row.hash } : null;
    });
  }

  async listStreams(): Promise<StreamStatus[]> {
    const { rows } = await this.conn.query<StreamRow>({ name: 'streams-list', text: `SELECT ${STREAM_COLUMNS} FROM streams ORDER BY started_at, id` });
    return rows.map(toStreamStatus);
  }

  async streamStatus(streamId: string): Promise<StreamStatus | null> {
    const { rows } = await this.conn.query<StreamRow>({ name: 'stream-status', text: `SELECT ${STREAM_COLUMNS} FROM streams WHERE id = $1`, values: [streamId] });
    return rows[0] ? toStreamStatus(rows[0]) : null;
  }

  async listLapsedStreams(now: string, limit: number): Promise<StreamStatus[]> {
    const { rows } = await this.conn.query<StreamRow>({
      name: 'streams-lapsed',
      text: `SELECT ${STREAM_COLUMNS} FROM streams WHERE state = 'open' AND lease_expires_at <= $1 ORDER BY lease_expires_at, id LIMIT $2`,
      values: [now, Math.max(limit, 0)],
    });
    return rows.map(toStreamStatus);
  }

  async renewLease(streamId: string, leaseExpiresAt: string): Promise<boolean> {
    const result = await this.conn.query({
      name: 'stream-renew', text: "UPDATE streams SET lease_expires_at = $1 WHERE id = $2 AND state = 'open'", values: [leaseExpiresAt, streamId],
    });
    return result.rowCount === 1;
  }

  async closeStream(streamId: string, state: 'stopped' | 'sealed', by: string, at: string): Promise<boolean> {
    const result = await this.conn.query({
      name: 'stream-close', text: "UPDATE streams SET state = $1, closed_by = $2, closed_at = $3 WHERE id = $4 AND state = 'open'", values: [state, by, at, streamId],
    });
    return result.rowCount === 1;
  }

  async readStream(streamId: string, fromSeq: number, limit: number): Promise<AuditRecord[]> {
    const { rows } = await this.conn.query<{ body: string }>({
      name: 'journal-read', text: 'SELECT body FROM journal WHERE stream = $1 AND seq >= $2 ORDER BY seq LIMIT $3', values: [streamId, fromSeq, limit],
    });
    return rows.map((r) => JSON.parse(r.body) as AuditRecord);
  }

  async readHashes(streamId: string, fromSeq: number, limit: number): Promise<string[]> {
    const { rows } = await this.conn.query<{ hash: string }>({
      name: 'journal-hashes', text: 'SELECT hash FROM journal WHERE stream = $1 AND seq >= $2 ORDER BY seq LIMIT $3', values: [streamId, fromSeq, limit],
    });
    return rows.map((r) => r.hash);
  }

  async readByResource(resource: string, page?: ResourcePage): Promise<AuditRecord[]> {
    const after = page?.after ?? { ts: '', stream: '', seq: 0 };
    const { rows } = await this.conn.query<{ body: string }>(page
      ? {
        // '' sorts before every ts (COLLATE "C"): no `after` is the start.
        name: 'journal-by-resource-page',
        text: 'SELECT body FROM journal WHERE resource = $1 AND (ts, stream, seq) > ($2, $3, $4) ORDER BY ts, stream, seq LIMIT $5',
        values: [resource, after.ts, after.stream, after.seq, page.limit],
      }
      : { name: 'journal-by-resource', text: 'SELECT body FROM journal WHERE resource = $1 ORDER BY ts, stream, seq', values: [resource] });
    return rows.map((r) => JSON.parse(r.body) as AuditRecord);
  }

  async latestCheckpoints(): Promise<StoredCheckpoint[]> {
    const { rows } = await this.conn.query<StoredCheckpoint>({
      name: 'checkpoints-latest',
      text: `SELECT DISTINCT ON (stream) ${CHECKPOINT_COLUMNS} FROM checkpoints ORDER BY stream, size DESC`,
    });
    return rows;
  }

  async latestCheckpoint(streamId: string): Promise<StoredCheckpoint | null> {
    const { rows } = await this.conn.query<StoredCheckpoint>({
      name: 'checkpoint-latest', text: `SELECT ${CHECKPOINT_COLUMNS} FROM checkpoints WHERE stream = $1 ORDER BY size DESC LIMIT 1`, values: [streamId],
    });
    return rows[0] ?? null;
  }
}
