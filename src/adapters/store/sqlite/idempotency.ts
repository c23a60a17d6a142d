import type Database from 'better-sqlite3';
import type {
  ClaimResult, IdempotencyClaim, IdempotencyStore, IdempotencyUpdate, StoredResponse,
} from '../../../ports/idempotency-store.js';
import type { SqliteConnection } from './connection.js';

type Statement = Database.Statement<unknown[], unknown>;

interface Row {
  fingerprint: string;
  paymentId: string | null;
  response: string | null;
  leaseExpiresAt: string;
  expiresAt: string;
}

export class SqliteIdempotencyStore implements IdempotencyStore {
  // Prepared once at open: claim runs on every request that carries an Idempotency-Key.
  private readonly selectStmt: Statement;
  private readonly claimFreshStmt: Statement;
  private readonly takeOverStmt: Statement;
  private readonly updateStmt: Statement;
  private readonly releaseStmt: Statement;
  private readonly purgeStmt: Statement;
  private readonly claimTx: Database.Transaction<(claim: IdempotencyClaim) => ClaimResult>;

  constructor(private readonly conn: SqliteConnection) {
    const db = conn.db;
    this.selectStmt = db.prepare(`
      SELECT fingerprint, payment_id AS paymentId, response, lease_expires_at AS leaseExpiresAt, expires_at AS expiresAt
      FROM idempotency WHERE merchant_id = ? AND key = ?`);
    this.claimFreshStmt = db.prepare(`
      INSERT INTO idempotency (merchant_id, key, fingerprint, payment_id, response, lease_expires_at, expires_at, created_at)
      VALUES (@merchantId, @key, @fingerprint, NULL, NULL, @leaseExpiresAt, @expiresAt, @now)
      ON CONFLICT (merchant_id, key) DO UPDATE SET
        fingerprint = excluded.fingerprint, payment_id = NULL, response = NULL,
        lease_expires_at = excluded.lease_expires_at, expires_at = excluded.expires_at, created_at = excluded.created_at`);
    this.takeOverStmt = db.prepare('UPDATE idempotency SET lease_expires_at = ? WHERE merchant_id = ? AND key = ?');
    this.updateStmt = db.prepare(`
      UPDATE idempotency SET payment_id = coalesce(@paymentId, payment_id), response = coalesce(@response, response)
      WHERE merchant_id = @merchantId AND key = @key`);
    this.releaseStmt = db.prepare(`
      DELETE FROM idempotency
      WHERE merchant_id = ? AND key = ? AND response IS NULL AND payment_id IS NULL`);
    // DELETE … LIMIT needs a compile-time option that stock SQLite builds lack.
    this.purgeStmt = db.prepare(`
      DELETE FROM idempotency WHERE rowid IN (SELECT rowid FROM idempotency WHERE expires_at <= ? LIMIT ?)`);
    this.claimTx = db.transaction((claim: IdempotencyClaim) => this.decide(claim));
  }

  /** BEGIN IMMEDIATE takes the write lock before reading, so claimants in other processes queue behind it. */
  claim(claim: IdempotencyClaim): Promise<ClaimResult> {
    return this.conn.run(() => this.claimTx.immediate(claim));
  }

  release(merchantId: string, key: string): Promise<void> {
    return this.conn.run(() => {
      this.releaseStmt.run(merchantId, key);
    });
  }

  purgeExpired(now: string, limit: number): Promise<number> {
    return this.conn.run(() => this.purgeStmt.run(now, limit).changes);
  }

  /** Runs inside the journal's commit transaction. A purged key has nothing left to update. */
  apply(update: IdempotencyUpdate): void {
    this.updateStmt.run({
      merchantId: update.merchantId,
      key: update.key,
      paymentId: update.paymentId ?? null,
      response: update.response === undefined ? null : JSON.stringify(update.response),
    });
  }

  private decide(claim: IdempotencyClaim): ClaimResult {
    const row = this.selectStmt.get(claim.merchantId, claim.key) as Row | undefined;
    if (!row || row.expiresAt <= claim.now) {
      this.claimFreshStmt.run(claim);
      return { kind: 'claimed' };
    }
    if (row.fingerprint !== claim.fingerprint) return { kind: 'mismatch' };
    if (row.response !== null) {
      return { kind: 'completed', response: JSON.parse(row.response) as StoredResponse, paymentId: row.paymentId };
    }
    if (row.leaseExpiresAt > claim.now) return { kind: 'in_flight' };
    // The holder's lease ran out: it crashed. Take the key over, keeping what it created.
    this.takeOverStmt.run(claim.leaseExpiresAt, claim.merchantId, claim.key);
    return row.paymentId === null ? { kind: 'claimed' } : { kind: 'recovered', paymentId: row.paymentId };
  }
}
