import type Database from 'better-sqlite3';
import type { ClaimResult, IdempotencyClaim, IdempotencyStore } from '../../../ports/idempotency-store.js';
import type { SqliteConnection } from './connection.js';

export class SqliteIdempotencyStore implements IdempotencyStore {
  private readonly purgeStmt: Database.Statement<unknown[], unknown>;

  constructor(private readonly conn: SqliteConnection) {
    // DELETE … LIMIT needs a compile-time option that stock SQLite builds lack.
    this.purgeStmt = conn.db.prepare(`
      DELETE FROM idempotency WHERE rowid IN (SELECT rowid FROM idempotency WHERE expires_at <= ? LIMIT ?)`);
  }

  /**
   * Decided on the write thread inside a group commit (see SqliteWrites.claim): BEGIN IMMEDIATE
   * holds the write lock before the read, so claimants in other processes queue behind it, and
   * claims of one batch see each other's rows. Answers once the claim is durable.
   */
  claim(claim: IdempotencyClaim): Promise<ClaimResult> {
    return this.conn.write({ kind: 'claim', claim }) as Promise<ClaimResult>;
  }

  async release(merchantId: string, key: string): Promise<void> {
    await this.conn.write({ kind: 'release', merchantId, key });
  }

  purgeExpired(now: string, limit: number): Promise<number> {
    return this.conn.run(() => this.purgeStmt.run(now, limit).changes);
  }
}
