import type pg from 'pg';
import type {
  ClaimResult, IdempotencyClaim, IdempotencyStore, IdempotencyUpdate, KeyClaim, StoredResponse,
} from '../../../ports/idempotency-store.js';
import type { PostgresConnection } from './connection.js';
import { checkClaimHeld } from '../shared/claim-fence.js';
import { type ClaimVerdict, type CommitClaim, type StoredClaim, judgeClaim } from '../shared/claim-rules.js';

interface Row {
  merchantId: string;
  key: string;
  fingerprint: string;
  paymentId: string | null;
  response: string | null;
  leaseExpiresAt: string;
  expiresAt: string;
}

/** A claim with its key: what the claim statement inserts, or locks the key's row for. */
type KeyedClaim = IdempotencyClaim;

export class PostgresIdempotencyStore implements IdempotencyStore {
  readonly expiresByTtl = false;

  constructor(private readonly conn: PostgresConnection) {}

  /**
   * Inserts the claim if the key is free; otherwise the same statement locks the key's row,
   * which is then read and judged (judgeClaim), so of any number of instances racing on one
   * key exactly one gets it.
   */
  async claim(claim: IdempotencyClaim): Promise<ClaimResult> {
    return this.conn.transaction(async (client) => {
      const held = await lockClaimedKeys(client, [claim]);
      const row = held.rows.get(keyId(claim));
      const verdict = held.verdict(claim);
      switch (verdict) {
        case 'fresh':
          if (row) await replaceWithClaim(client, claim);
          return { kind: 'claimed' };
        case 'mismatch':
        case 'in_flight':
          return { kind: verdict };
        case 'completed': {
          const { response, paymentId } = row as Row;
          return { kind: 'completed', response: JSON.parse(response as string) as StoredResponse, paymentId };
        }
        case 'take_over':
        case 'recovered': {
          await client.query({
            name: 'idem-takeover', text: 'UPDATE idempotency SET lease_expires_at = $3 WHERE merchant_id = $1 AND key = $2',
            values: [claim.merchantId, claim.key, claim.leaseExpiresAt],
          });
          const { paymentId } = row as Row;
          return paymentId === null ? { kind: 'claimed' } : { kind: 'recovered', paymentId };
        }
      }
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

/** The keys of claims, locked for the rest of the transaction, and how each claim fares. */
export interface HeldKeys {
  /** Rows that were there before (locked, read after locking); a key inserted by the claim has none. */
  rows: Map<string, Row>;
  /** Keys the claim statement inserted: fresh, and already the claim's row. */
  inserted: Set<string>;
  verdict(claim: CommitClaim): ClaimVerdict;
}

export function keyId(key: { merchantId: string; key: string }): string {
  return JSON.stringify([key.merchantId, key.key]);
}

/**
 * Claims keys, or locks the rows that hold them, before anything else of the transaction
 * depends on them. One INSERT, in (merchant, key) order so that two transactions claiming
 * overlapping keys wait for each other in the same order and never deadlock: a free key gets
 * the claim's row; a taken one is locked by ON CONFLICT DO UPDATE … WHERE false (locked, not
 * changed), whoever committed it last. The taken rows are then read in a statement of their
 * own, whose snapshot is taken after the locks: what it reads cannot change before the commit.
 */
export async function lockClaimedKeys(client: pg.PoolClient, claims: readonly KeyedClaim[]): Promise<HeldKeys> {
  const byKey = new Map<string, KeyedClaim>();
  for (const claim of claims) if (!byKey.has(keyId(claim))) byKey.set(keyId(claim), claim);
  const sorted = [...byKey.values()].sort(compareKeys);
  const { rows: insertedRows } = sorted.length === 0 ? { rows: [] } : await client.query<{ merchantId: string; key: string }>({
    name: 'idem-claim-lock',
    text: `INSERT INTO idempotency (merchant_id, key, fingerprint, lease_expires_at, expires_at, created_at)
           SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[])
           ON CONFLICT (merchant_id, key) DO UPDATE SET key = excluded.key WHERE false
           RETURNING merchant_id AS "merchantId", key`,
    values: [sorted.map((c) => c.merchantId), sorted.map((c) => c.key), sorted.map((c) => c.fingerprint),
      sorted.map((c) => c.leaseExpiresAt), sorted.map((c) => c.expiresAt), sorted.map((c) => c.now)],
  });
  const inserted = new Set(insertedRows.map(keyId));
  const taken = sorted.filter((c) => !inserted.has(keyId(c)));
  const rows = new Map<string, Row>();
  if (taken.length > 0) {
    const { rows: found } = await client.query<Row>({
      name: 'idem-read-locked',
      text: `SELECT merchant_id AS "merchantId", key, fingerprint, payment_id AS "paymentId", response,
                    lease_expires_at AS "leaseExpiresAt", expires_at AS "expiresAt"
             FROM idempotency WHERE (merchant_id, key) IN (SELECT * FROM unnest($1::text[], $2::text[]))`,
      values: [taken.map((c) => c.merchantId), taken.map((c) => c.key)],
    });
    for (const row of found) rows.set(keyId(row), row);
  }
  return {
    rows,
    inserted,
    verdict: (claim) => {
      const id = keyId(claim);
      if (inserted.has(id)) return 'fresh';
      const row = rows.get(id);
      // Not inserted, so the row was there and is locked: it cannot be missing. Were it, the safe answer is a loss.
      return row ? judgeClaim(storedClaim(row), claim) : 'in_flight';
    },
  };
}

/** Bytewise, as the columns compare (COLLATE "C"): the lock order of every transaction. */
function compareKeys(a: { merchantId: string; key: string }, b: { merchantId: string; key: string }): number {
  return compareBytes(a.merchantId, b.merchantId) || compareBytes(a.key, b.key);
}

function compareBytes(a: string, b: string): number {
  return a === b ? 0 : Buffer.compare(Buffer.from(a), Buffer.from(b));
}

function storedClaim(row: Row): StoredClaim {
  return { ...row, hasResponse: row.response !== null };
}

/** A fresh claim over an expired key, or a claim in a commit over a lapsed one: the row becomes the claim's. */
async function replaceWithClaim(client: pg.PoolClient, claim: IdempotencyClaim): Promise<void> {
  await client.query({
    name: 'idem-replace',
    text: `UPDATE idempotency SET fingerprint = $3, payment_id = NULL, response = NULL, lease_expires_at = $4, expires_at = $5, created_at = $6
           WHERE merchant_id = $1 AND key = $2`,
    values: [claim.merchantId, claim.key, claim.fingerprint, claim.leaseExpiresAt, claim.expiresAt, claim.now],
  });
}

/** The claims a batch makes in its commit (IdempotencyUpdate.claim), with their keys. */
export function commitClaims(updates: readonly (IdempotencyUpdate | undefined)[]): KeyedClaim[] {
  return updates.flatMap((u) => (u?.claim ? [{ merchantId: u.merchantId, key: u.key, ...u.claim }] : []));
}

/**
 * Inside the journal's commit transaction, once the batch's claims are checked (a winning
 * claim not inserted by lockClaimedKeys makes the row its own first). A purged key has nothing
 * left to update.
 */
export async function applyIdempotencyUpdate(client: pg.PoolClient, update: IdempotencyUpdate, held: HeldKeys): Promise<void> {
  if (update.claim && !held.inserted.has(keyId(update))) await replaceWithClaim(client, withKey(update, update.claim));
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

function withKey(update: IdempotencyUpdate, claim: KeyClaim): KeyedClaim {
  return { merchantId: update.merchantId, key: update.key, ...claim };
}
