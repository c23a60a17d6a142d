import type pg from 'pg';
import type {
  ClaimResult, IdempotencyClaim, IdempotencyStore, IdempotencyUpdate, StoredResponse,
} from '../../../ports/idempotency-store.js';
import type { PostgresConnection } from './connection.js';
import { checkClaimHeld } from '../shared/claim-fence.js';

interface Row {
  fingerprint: string;
  paymentId: string | null;
  response: string | null;
  leaseExpiresAt: string;
  expiresAt: string;
}

export class PostgresIdempotencyStore implements IdempotencyStore {
  readonly expiresByTtl = false;

  constructor(private readonly conn: PostgresConnection) {}

  /**
   * Inserts the claim if the key is free; otherwise locks the row (FOR UPDATE) and decides,
   * so of any number of instances racing on one key exactly one gets it.
   */
  async claim(claim: IdempotencyClaim): Promise<ClaimResult> {
    return this.conn.transaction(async (client) => {
      // READ COMMITTED: every statement sees the latest commits, so when the row the INSERT
      // collided with was released or purged before the SELECT, the next pass inserts.
      for (let pass = 1; pass <= CLAIM_PASSES_MAX; pass++) {
        const result = await decide(client, claim);
        if (result !== null) return result;
      }
      // The key keeps appearing and vanishing under us: the client retries (409, Retry-After).
      return { kind: 'in_flight' };
    });
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

/** Inside the journal's commit transaction. A purged key has nothing left to update. */
export async function applyIdempotencyUpdate(client: pg.PoolClient, update: IdempotencyUpdate): Promise<void> {
  if (update.heldUntil !== undefined) {
    // Locked until the commit ends, so no take-over can slip in between the check and the commit.
    const { rows } = await client.query<{ leaseExpiresAt: string }>({
      name: 'idem-fence', text: 'SELECT lease_expires_at AS "leaseExpiresAt" FROM idempotency WHERE merchant_id = $1 AND key = $2 FOR UPDATE',
      values: [update.merchantId, update.key],
    });
    checkClaimHeld(update, rows[0]?.leaseExpiresAt);
  }
  await client.query({
    name: 'idem-update',
    text: 'UPDATE idempotency SET payment_id = coalesce($3, payment_id), response = coalesce($4, response) WHERE merchant_id = $1 AND key = $2',
    values: [update.merchantId, update.key, update.paymentId ?? null, update.response === undefined ? null : JSON.stringify(update.response)],
  });
}

/** Bound on INSERT-then-lock passes of one claim. */
const CLAIM_PASSES_MAX = 3;

/** One pass of a claim, deciding exactly like the SQLite store; null when the row vanished between INSERT and SELECT. */
async function decide(client: pg.PoolClient, claim: IdempotencyClaim): Promise<ClaimResult | null> {
  const inserted = await client.query({
    name: 'idem-insert',
    text: `INSERT INTO idempotency (merchant_id, key, fingerprint, lease_expires_at, expires_at, created_at)
           VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (merchant_id, key) DO NOTHING`,
    values: [claim.merchantId, claim.key, claim.fingerprint, claim.leaseExpiresAt, claim.expiresAt, claim.now],
  });
  if (inserted.rowCount === 1) return { kind: 'claimed' };
  const { rows } = await client.query<Row>({
    name: 'idem-lock',
    text: `SELECT fingerprint, payment_id AS "paymentId", response, lease_expires_at AS "leaseExpiresAt", expires_at AS "expiresAt"
           FROM idempotency WHERE merchant_id = $1 AND key = $2 FOR UPDATE`,
    values: [claim.merchantId, claim.key],
  });
  const row = rows[0];
  if (row === undefined) return null;
  if (row.expiresAt <= claim.now) {
    await client.query({
      name: 'idem-replace',
      text: `UPDATE idempotency SET fingerprint = $3, payment_id = NULL, response = NULL, lease_expires_at = $4, expires_at = $5, created_at = $6
             WHERE merchant_id = $1 AND key = $2`,
      values: [claim.merchantId, claim.key, claim.fingerprint, claim.leaseExpiresAt, claim.expiresAt, claim.now],
    });
    return { kind: 'claimed' };
  }
  if (row.fingerprint !== claim.fingerprint) return { kind: 'mismatch' };
  if (row.response !== null) return { kind: 'completed', response: JSON.parse(row.response) as StoredResponse, paymentId: row.paymentId };
  if (row.leaseExpiresAt > claim.now) return { kind: 'in_flight' };
  // The holder's lease ran out: it crashed. Take the key over, keeping what it created.
  await client.query({
    name: 'idem-takeover', text: 'UPDATE idempotency SET lease_expires_at = $3 WHERE merchant_id = $1 AND key = $2',
    values: [claim.merchantId, claim.key, claim.leaseExpiresAt],
  });
  return row.paymentId === null ? { kind: 'claimed' } : { kind: 'recovered', paymentId: row.paymentId };
}
