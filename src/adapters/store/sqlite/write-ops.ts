import type Database from 'better-sqlite3';
import type { SignedHead } from '../../../core/signed-head.js';
import type { StoredCheckpoint, StreamHead, StreamSeal, StreamState } from '../../../ports/journal-store.js';
import type { ClaimResult, IdempotencyClaim, KeyClaim, StoredResponse } from '../../../ports/idempotency-store.js';
import type { LedgerCall, LedgerEntry, RecordedCall } from '../../../ports/gateway-ledger.js';
import { StreamConflictError } from '../../../ports/store.js';
import { checkContinues } from '../shared/continuity.js';
import { sqlStatusList } from '../shared/payment-transition.js';
import { MUTABLE_PAYMENT_STATUSES } from '../../../core/payment.js';
import { applyCall } from '../shared/ledger-call.js';
import { checkBatch } from '../shared/batch-rules.js';
import { checkClaimHeld } from '../shared/claim-fence.js';
import { type ClaimVerdict, type CommitClaim, checkCommitClaims, claimResult, commitClaimOf, judgeClaim, takesOver } from '../shared/claim-rules.js';
import { checkSealable, checkTakesRecords } from '../shared/stream-rules.js';
import { isConstraintError } from './errors.js';
import { SqliteTreeWrites, type TreeWriteOp } from './journal-tree-ops.js';

/**
 * The writes of the request path, as plain data: they cross to the write thread by
 * postMessage, so bodies arrive already serialized (the thread binds strings, nothing more).
 */
export type WriteOp =
  | { kind: 'claim'; claim: IdempotencyClaim }
  | { kind: 'release'; merchantId: string; key: string }
  /** Answers how many expired keys it deleted. */
  | { kind: 'idempotency.purge'; now: string; limit: number }
  | { kind: 'ledger.call'; call: LedgerCall }
  | { kind: 'journal.commit'; units: CommitRows[] }
  /** Both answer whether the stream was still open (and so changed). */
  | { kind: 'stream.renew'; streamId: string; leaseExpiresAt: string }
  | { kind: 'stream.close'; streamId: string; state: 'stopped' | 'sealed'; by: string; at: string }
  | TreeWriteOp;

export interface RecordRow {
  stream: string;
  seq: number;
  prev: string;
  hash: string;
  resource: string | null;
  type: string;
  ts: string;
  /** The record's line, exactly as exports reproduce it. */
  body: string;
}

/** One journal CommitUnit, ready to bind. */
export interface CommitRows {
  head?: SignedHead;
  seal?: StreamSeal;
  records: RecordRow[];
  payment?: { id: string; merchantId: string; status: string; updatedAt: string; merchantReference: string | null; body: string };
  idempotency?: { merchantId: string; key: string; paymentId: string | null; response: string | null; heldUntil?: string; claim?: KeyClaim };
  checkpoint?: StoredCheckpoint;
}

type Statement = Database.Statement<unknown[], unknown>;

/** 64 rows × 7 columns stays far below SQLite's limit on bound parameters (32,766). */
const RECORDS_PER_INSERT = 64;

interface IdempotencyRow {
  fingerprint: string;
  paymentId: string | null;
  response: string | null;
  leaseExpiresAt: string;
  expiresAt: string;
}

/** Runs write ops against one connection; the caller holds the transaction around them. */
export class SqliteWrites {
  // Prepared once at open: these run for every payment.
  private readonly idemSelect: Statement;
  private readonly idemClaimFresh: Statement;
  private readonly idemTakeOver: Statement;
  private readonly idemUpdate: Statement;
  private readonly idemRelease: Statement;
  private readonly idemPurge: Statement;
  private readonly ledgerSelect: Statement;
  private readonly ledgerPut: Statement;
  private readonly streamState: Statement;
  private readonly streamSealState: Statement;
  private readonly saveHead: Statement;
  private readonly sealStream: Statement;
  private readonly head: Statement;
  /** Multi-row INSERT statements by row count, prepared when first needed. */
  private readonly insertRecordStatements = new Map<number, Statement>();
  private readonly upsertPayment: Statement;
  private readonly insertCheckpointStmt: Statement;
  private readonly renewLease: Statement;
  private readonly closeStream: Statement;

  private readonly commitInSavepoint: (units: CommitRows[]) => void;
  private readonly tree: SqliteTreeWrites;

  constructor(private readonly db: Database.Database) {
    this.tree = new SqliteTreeWrites(db);
    // better-sqlite3 runs a transaction function called inside a transaction as a SAVEPOINT.
    this.commitInSavepoint = db.transaction((units: CommitRows[]) => this.commit(units));
    this.idemSelect = db.prepare(`
      SELECT fingerprint, payment_id AS paymentId, response, lease_expires_at AS leaseExpiresAt, expires_at AS expiresAt
      FROM idempotency WHERE merchant_id = ? AND key = ?`);
    this.idemClaimFresh = db.prepare(`
      INSERT INTO idempotency (merchant_id, key, fingerprint, payment_id, response, lease_expires_at, expires_at, created_at)
      VALUES (@merchantId, @key, @fingerprint, NULL, NULL, @leaseExpiresAt, @expiresAt, @now)
      ON CONFLICT (merchant_id, key) DO UPDATE SET
        fingerprint = excluded.fingerprint, payment_id = NULL, response = NULL,
        lease_expires_at = excluded.lease_expires_at, expires_at = excluded.expires_at, created_at = excluded.created_at`);
    this.idemTakeOver = db.prepare('UPDATE idempotency SET lease_expires_at = ? WHERE merchant_id = ? AND key = ?');
    this.idemUpdate = db.prepare(`
      UPDATE idempotency SET payment_id = coalesce(@paymentId, payment_id), response = coalesce(@response, response)
      WHERE merchant_id = @merchantId AND key = @key`);
    this.idemRelease = db.prepare(`
      DELETE FROM idempotency
      WHERE merchant_id = ? AND key = ? AND response IS NULL AND payment_id IS NULL`);
    // Past its expiry and past its lease: a claim a live request still holds stays. DELETE …
    // LIMIT needs a compile-time option that stock SQLite builds lack.
    this.idemPurge = db.prepare(`
      DELETE FROM idempotency WHERE rowid IN (
        SELECT rowid FROM idempotency WHERE expires_at <= @now AND lease_expires_at <= @now LIMIT @limit)`);
    this.ledgerSelect = db.prepare(`
      SELECT gateway_key AS gatewayKey, calls, outcome, code, decline_code AS declineCode,
             authorization_code AS authorizationCode, amount, currency, created_at AS createdAt, updated_at AS updatedAt
      FROM gateway_ledger WHERE gateway_key = ?`);
    this.ledgerPut = db.prepare(`
      INSERT INTO gateway_ledger
        (gateway_key, calls, outcome, code, decline_code, authorization_code, amount, currency, created_at, updated_at)
      VALUES
        (@gatewayKey, @calls, @outcome, @code, @declineCode, @authorizationCode, @amount, @currency, @createdAt, @updatedAt)
      ON CONFLICT (gateway_key) DO UPDATE SET
        calls = excluded.calls, outcome = excluded.outcome, code = excluded.code, decline_code = excluded.decline_code,
        authorization_code = excluded.authorization_code, amount = excluded.amount, currency = excluded.currency,
        created_at = excluded.created_at, updated_at = excluded.updated_at`);
    this.streamState = db.prepare('SELECT state FROM streams WHERE id = ?').pluck();
    this.streamSealState = db.prepare('SELECT state, coalesce(head_size, 0) AS headSize FROM streams WHERE id = ?');
    this.saveHead = db.prepare('UPDATE streams SET head_size = @size, head_root = @root, head_note = @note WHERE id = @stream');
    this.sealStream = db.prepare("UPDATE streams SET state = 'sealed', closed_by = @by, closed_at = @at WHERE id = @stream");
    this.head = db.prepare('SELECT seq, hash FROM journal WHERE stream = ? ORDER BY seq DESC LIMIT 1');
    this.upsertPayment = db.prepare(`
      INSERT INTO payments (id, merchant_id, status, updated_at, merchant_reference, body)
      VALUES (@id, @merchantId, @status, @updatedAt, @merchantReference, @body)
      ON CONFLICT (id) DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at,
        merchant_reference = excluded.merchant_reference, body = excluded.body
      WHERE payments.status IN (${sqlStatusList(MUTABLE_PAYMENT_STATUSES)})`);
    this.renewLease = db.prepare("UPDATE streams SET lease_expires_at = ? WHERE id = ? AND state = 'open'");
    this.closeStream = db.prepare("UPDATE streams SET state = ?, closed_by = ?, closed_at = ? WHERE id = ? AND state = 'open'");
    this.insertCheckpointStmt = db.prepare('INSERT INTO checkpoints (stream, size, root, note, created_at) VALUES (@stream, @size, @root, @note, @createdAt)');
  }

  /**
   * Runs one op inside the caller's transaction. Each op either fails before writing or
   * writes with a single statement (which SQLite makes atomic), except a journal commit,
   * which gets a savepoint of its own: its failure undoes only its own rows.
   */
  run(op: WriteOp): unknown {
    switch (op.kind) {
      case 'claim': return this.claim(op.claim);
      case 'release':
        this.idemRelease.run(op.merchantId, op.key);
        return undefined;
      case 'idempotency.purge': return this.idemPurge.run({ now: op.now, limit: op.limit }).changes;
      case 'ledger.call': return this.ledgerCall(op.call);
      case 'journal.commit':
        this.commitInSavepoint(op.units);
        return undefined;
      case 'tree.append':
      case 'tree.cosign':
        return this.tree.run(op);
      case 'stream.renew':
        return this.renewLease.run(op.leaseExpiresAt, op.streamId).changes === 1;
      case 'stream.close':
        return this.closeStream.run(op.state, op.by, op.at, op.streamId).changes === 1;
    }
  }

  /** Claims of one batch run one after another, so each sees the rows of those before it. */
  private claim(claim: IdempotencyClaim): ClaimResult {
    const row = this.idemSelect.get(claim.merchantId, claim.key) as IdempotencyRow | undefined;
    const verdict = this.verdict(claim, row);
    if (verdict === 'fresh') this.idemClaimFresh.run(claim);
    else if (takesOver(verdict)) this.idemTakeOver.run(claim.leaseExpiresAt, claim.merchantId, claim.key);
    return claimResult(verdict, row, () => JSON.parse(row?.response as string) as StoredResponse);
  }

  private verdict(
    claim: CommitClaim,
    row = this.idemSelect.get(claim.merchantId, claim.key) as IdempotencyRow | undefined,
  ): ClaimVerdict {
    return judgeClaim(row && { ...row, hasResponse: row.response !== null }, claim);
  }

  /** Read and written under the write lock, so calls under one key, from any process, count and settle one at a time. */
  private ledgerCall(call: LedgerCall): RecordedCall {
    const recorded = applyCall((this.ledgerSelect.get(call.gatewayKey) as LedgerEntry | undefined) ?? null, call);
    this.ledgerPut.run(recorded.entry);
    return recorded;
  }

  private commit(units: CommitRows[]): void {
    checkBatch(units);
    checkCommitClaims(units, commitClaimOf, (claim) => this.verdict(claim));
    const heads = new Map<string, StreamHead | null>();
    // Checked one by one above, inserted together below: the rows of other tables do not depend on them.
    const pending: RecordRow[] = [];
    for (const unit of units) {
      for (const record of unit.records) {
        if (!heads.has(record.stream)) {
          // Checked in the same transaction as the insert, so a seal cannot slip in between.
          checkTakesRecords(record.stream, this.streamState.get(record.stream) as StreamState | undefined);
          heads.set(record.stream, (this.head.get(record.stream) as StreamHead | undefined) ?? null);
        }
        checkContinues(record, heads.get(record.stream) ?? null);
        pending.push(record);
        heads.set(record.stream, { seq: record.seq, hash: record.hash });
      }
      if (unit.payment) this.upsertPayment.run(unit.payment);
      if (unit.idempotency) {
        const { heldUntil, claim, ...update } = unit.idempotency;
        // Checked above with every claim of the batch: this one wins.
        if (claim) this.idemClaimFresh.run({ merchantId: update.merchantId, key: update.key, ...claim });
        if (heldUntil !== undefined) checkClaimHeld(unit.idempotency, (this.idemSelect.get(update.merchantId, update.key) as IdempotencyRow | undefined)?.leaseExpiresAt);
        // A purged key has nothing left to update.
        this.idemUpdate.run(update);
      }
      if (unit.checkpoint) this.insertCheckpoint(unit.checkpoint);
      if (unit.head) {
        checkTakesRecords(unit.head.stream, this.streamState.get(unit.head.stream) as StreamState | undefined);
        this.saveHead.run(unit.head);
      }
      if (unit.seal) {
        checkSealable(unit.seal, this.streamSealState.get(unit.seal.stream) as { state: StreamState; headSize: number } | undefined);
        this.sealStream.run(unit.seal);
      }
    }
    this.insertRecords(pending);
  }

  /** Multi-row INSERTs of up to RECORDS_PER_INSERT rows: one statement per row costs about twice as much. */
  private insertRecords(records: RecordRow[]): void {
    for (let from = 0; from < records.length; from += RECORDS_PER_INSERT) {
      const chunk = records.slice(from, from + RECORDS_PER_INSERT);
      const params: unknown[] = [];
      for (const r of chunk) params.push(r.stream, r.seq, r.hash, r.resource, r.type, r.ts, r.body);
      try {
        this.insertRecordsStatement(chunk.length).run(params);
      } catch (err) {
        if (isConstraintError(err, 'SQLITE_CONSTRAINT_PRIMARYKEY')) {
          const first = chunk[0] as RecordRow;
          throw new StreamConflictError(`stream ${first.stream} already has one of seqs ${first.seq}–${first.seq + chunk.length - 1}`);
        }
        throw err;
      }
    }
  }

  private insertRecordsStatement(rows: number): Statement {
    let statement = this.insertRecordStatements.get(rows);
    if (!statement) {
      statement = this.db.prepare(`INSERT INTO journal (stream, seq, hash, resource, type, ts, body) VALUES ${Array(rows).fill('(?, ?, ?, ?, ?, ?, ?)').join(', ')}`);
      this.insertRecordStatements.set(rows, statement);
    }
    return statement;
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
}
