import type pg from 'pg';
import type { ClaimResult, IdempotencyClaim, IdempotencyStore, StoredResponse } from '../../../ports/idempotency-store.js';
import type { PostgresConnection } from './connection.js';
import { type ClaimVerdict, type CommitClaim, claimResult, judgeClaim, takesOver } from '../shared/claim-rules.js';
import { type LockedBatch, keyId, lockBatchStatement, lockedBatch } from './batch-lock.js';

export class PostgresIdempotencyStore implements IdempotencyStore {
  readonly expiresByTtl = false;

  constructor(private readonly conn: PostgresConnection) {}

  /**
   * Inserts the claim if the key is free; otherwise locks the key's row (lockBatchStatement), reads it
   * and decides (judgeClaim), so of any number of instances racing on one key exactly one gets it.
   */
  async claim(claim: IdempotencyClaim): Promise<ClaimResult> {
    const { merchantId, key, ...keyClaim } = claim;
    return this.conn.transaction(async (client, opened) => {
      const locked = lockedBatch(opened as pg.QueryResult);
      const held = locked.keys.get(keyId(claim));
      const row = held && !held.inserted ? held.row : undefined;
      const verdict = claimVerdict(locked, claim);
      if (verdict === 'fresh' && row) {
        await client.query({
          name: 'idem-replace',
          text: `UPDATE idempotency SET fingerprint = $3, payment_id = NULL, response = NULL, lease_expires_at = $4, expires_at = $5, created_at = $6
                 WHERE merchant_id = $1 AND key = $2`,
          values: [claim.merchantId, claim.key, claim.fingerprint, claim.leaseExpiresAt, claim.expiresAt, claim.now],
        });
      } else if (takesOver(verdict)) {
        await client.query({
          name: 'idem-takeover', text: 'UPDATE idempotency SET lease_expires_at = $3 WHERE merchant_id = $1 AND key = $2',
          values: [claim.merchantId, claim.key, claim.leaseExpiresAt],
        });
      }
      return claimResult(verdict, row, () => JSON.parse(row?.response as string) as StoredResponse);
    }, lockBatchStatement([], [], [{ merchantId, key, claim: keyClaim }]));
  }

  async release(merchantId: string, key: string): Promise<void> {
    await this.conn.query({
      name: 'idem-release',
      text: 'DELETE FROM idempotency WHERE merchant_id = $1 AND key = $2 AND response IS NULL AND payment_id IS NULL',
      values: [merchantId, key],
    });
  }

  /**
   * One statement, so one transaction. FOR UPDATE SKIP LOCKED: a row a claim holds locked is
   * left for the next run, and purgers of other instances take disjoint rows instead of
   * queueing behind each other; a row locked here is re-checked against the condition after
   * any commit that changed it (a fresh claim of an expired key), so it is kept.
   */
  async purgeExpired(now: string, limit: number): Promise<number> {
    const result = await this.conn.query({
      name: 'idem-purge',
      text: `DELETE FROM idempotency WHERE (merchant_id, key) IN (
               SELECT merchant_id, key FROM idempotency WHERE expires_at <= $1 AND lease_expires_at <= $1
               LIMIT $2 FOR UPDATE SKIP LOCKED)`,
      values: [now, limit],
    });
    return result.rowCount ?? 0;
  }
}

/**
 * How a claim fares against its key as lockBatch left it: a key the claim inserted is fresh;
 * a row that was there is judged (judgeClaim). A claimed key always has one or the other; were
 * it missing, the safe answer is a loss.
 */
export function claimVerdict(locked: LockedBatch, claim: CommitClaim): ClaimVerdict {
  const held = locked.keys.get(keyId(claim));
  if (!held) return 'in_flight';
  return held.inserted ? 'fresh' : judgeClaim({ ...held.row, hasResponse: held.row.response !== null }, claim);
}
