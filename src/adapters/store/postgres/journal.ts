import type pg from 'pg';
import { type AuditRecord, recordLine } from '../../../core/audit-record.js';
import type {
  CommitUnit, JournalStore, ResourcePage, StoredCheckpoint, StreamHead, StreamInfo, StreamState, StreamStatus,
} from '../../../ports/journal-store.js';
import { StreamConflictError } from '../../../ports/store.js';
import { checkContinues } from '../shared/continuity.js';
import { checkBatch } from '../shared/batch-rules.js';
import { checkSealable, checkTakesRecords } from '../shared/stream-rules.js';
import type { PostgresConnection } from './connection.js';
import { checkCommitClaims, commitClaimOf } from '../shared/claim-rules.js';
import { applyIdempotencyUpdate, commitClaims, lockClaimedKeys } from './idempotency.js';
import { upsertPayments } from './payments.js';

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
   * One transaction per batch: lock the batch's streams (refusing any that is not open),
   * check continuity against their heads, then write every record with ONE multi-row insert,
   * the payments, idempotency changes and checkpoints. Any conflict rolls back all of it.
   */
  async commit(units: CommitUnit[]): Promise<void> {
    checkBatch(units);
    const records = units.flatMap((u) => u.records);
    const heads = units.flatMap((u) => (u.head ? [u.head] : []));
    const seals = units.flatMap((u) => (u.seal ? [u.seal] : []));
    // Every stream the batch changes is locked, in one order, so two batches never deadlock.
    const streams = [...new Set([...records.map((r) => r.stream), ...heads.map((h) => h.stream), ...seals.map((x) => x.stream)])];
    await this.conn.transaction(async (client) => {
      if (streams.length > 0) {
        const states = await client.query<{ id: string; state: StreamState; headSize: number }>({
          name: 'stream-lock', text: 'SELECT id, state, coalesce(head_size, 0)::int AS "headSize" FROM streams WHERE id = ANY($1) ORDER BY id FOR UPDATE', values: [streams],
        });
        const byId = new Map(states.rows.map((r) => [r.id, r]));
        const recordStreams = new Set([...records.map((r) => r.stream), ...heads.map((h) => h.stream)]);
        const tails = new Map<string, StreamHead | null>();
        for (const stream of recordStreams) {
          checkTakesRecords(stream, byId.get(stream)?.state);
          tails.set(stream, await headOf(client, stream));
        }
        for (const seal of seals) checkSealable(seal, byId.get(seal.stream));
        for (const record of records) {
          checkContinues(record, tails.get(record.stream) ?? null);
          tails.set(record.stream, { seq: record.seq, hash: record.hash });
        }
      }
      // Claims made in this commit lock their keys (after the streams: every commit locks in that
      // order) before anything is written; any lost claim rolls the whole batch back.
      const claims = commitClaims(units.map((u) => u.idempotency));
      const held = await lockClaimedKeys(client, claims);
      checkCommitClaims(units, commitClaimOf, held.verdict);
      if (streams.length > 0) {
        if (records.length > 0) await client.query({
          name: 'journal-insert-batch',
          text: `INSERT INTO journal (stream, seq, hash, resource, type, ts, body)
                 SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])`,
          values: [
            records.map((r) => r.stream), records.map((r) => r.seq), records.map((r) => r.hash), records.map((r) => r.resource),
            records.map((r) => r.type), records.map((r) => r.ts), records.map(recordLine),
          ],
        });
      }
      await upsertPayments(client, units.flatMap((u) => (u.payment ? [u.payment] : [])));
      for (const unit of units) if (unit.idempotency) await applyIdempotencyUpdate(client, unit.idempotency, held);
      for (const unit of units) {
        const cp = unit.checkpoint;
        if (!cp) continue;
        await client.query({
          name: 'checkpoint-insert',
          text: 'INSERT INTO checkpoints (stream, size, root, note, created_at) VALUES ($1, $2, $3, $4, $5)',
          values: [cp.stream, cp.size, cp.root, cp.note, cp.createdAt],
        }).catch((err: { code?: string }) => {
          if (err.code === '23503') throw new StreamConflictError(`stream ${cp.stream} does not exist`);
          if (err.code === '23505') throw new StreamConflictError(`stream ${cp.stream} already has a checkpoint of size ${cp.size}`);
          throw err;
        });
      }
      for (const head of heads) {
        await client.query({
          name: 'stream-head', text: 'UPDATE streams SET head_size = $1, head_root = $2, head_note = $3 WHERE id = $4',
          values: [head.size, head.root, head.note, head.stream],
        });
      }
      for (const seal of seals) {
        await client.query({
          name: 'stream-seal', text: "UPDATE streams SET state = 'sealed', closed_by = $1, closed_at = $2 WHERE id = $3", values: [seal.by, seal.at, seal.stream],
        });
      }
    });
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

async function headOf(client: pg.PoolClient, stream: string): Promise<StreamHead | null> {
  const { rows } = await client.query<{ seq: string; hash: string }>({
    name: 'journal-head', text: 'SELECT seq, hash FROM journal WHERE stream = $1 ORDER BY seq DESC LIMIT 1', values: [stream],
  });
  const row = rows[0];
  return row ? { seq: Number(row.seq), hash: row.hash } : null;
}
