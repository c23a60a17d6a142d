import type { ClaimResult, IdempotencyClaim, IdempotencyStore } from '../../../ports/idempotency-store.js';
import type { SqliteConnection } from './connection.js';

export class SqliteIdempotencyStore implements IdempotencyStore {
  readonly expiresByTtl = false;

  constructor(private readonly conn: SqliteConnection) {}

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

  /**
   * On the write thread, like claims: a DELETE on the serving connection would wait for the
   * write lock on the event loop. Under the write lock, claims of any process are decided
   * either before the delete (and keep their row if it is fresh) or after it.
   */
  async purgeExpired(now: string, limit: number): Promise<number> {
    return (await this.conn.write({ kind: 'idempotency.purge', now, limit })) as number;
  }
}
