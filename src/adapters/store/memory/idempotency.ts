import type {
  ClaimResult, IdempotencyClaim, IdempotencyStore, IdempotencyUpdate, KeyClaim, StoredResponse,
} from '../../../ports/idempotency-store.js';
import { type ClaimVerdict, type CommitClaim, type StoredClaim, claimResult, judgeClaim, takesOver } from '../shared/claim-rules.js';
import { type IdempotencyRow, type MemoryState, copy, idempotencyKeyOf } from './state.js';

export class MemoryIdempotencyStore implements IdempotencyStore {
  readonly expiresByTtl = false;

  constructor(private readonly state: MemoryState) {}

  // No await between reading and writing the row: the event loop makes each claim atomic.
  async claim(claim: IdempotencyClaim): Promise<ClaimResult> {
    this.state.assertOpen();
    const id = idempotencyKeyOf(claim.merchantId, claim.key);
    const row = this.state.idempotency.get(id);
    const verdict = judgeClaim(row && storedClaim(row), claim);
    if (verdict === 'fresh') this.state.idempotency.set(id, newRow(claim));
    else if (takesOver(verdict)) (row as IdempotencyRow).leaseExpiresAt = claim.leaseExpiresAt;
    return claimResult(verdict, row, () => copy(row?.response as StoredResponse));
  }

  async release(merchantId: string, key: string): Promise<void> {
    this.state.assertOpen();
    const id = idempotencyKeyOf(merchantId, key);
    const row = this.state.idempotency.get(id);
    if (row && row.response === null && row.paymentId === null) this.state.idempotency.delete(id);
  }

  async purgeExpired(now: string, limit: number): Promise<number> {
    this.state.assertOpen();
    let purged = 0;
    for (const [id, row] of this.state.idempotency) {
      if (purged >= limit) break;
      // A claim a live request still holds stays, however old.
      if (row.expiresAt <= now && row.leaseExpiresAt <= now) {
        this.state.idempotency.delete(id);
        purged++;
      }
    }
    return purged;
  }
}

/** The stored lease of a key, for the fence of a commit (checkClaimHeld); undefined when there is no row. */
export function storedLease(state: MemoryState, update: IdempotencyUpdate): string | undefined {
  return state.idempotency.get(idempotencyKeyOf(update.merchantId, update.key))?.leaseExpiresAt;
}

/** How a claim made inside a commit (IdempotencyUpdate.claim) fares against the stored key. */
export function commitClaimVerdict(state: MemoryState, claim: CommitClaim): ClaimVerdict {
  const row = state.idempotency.get(idempotencyKeyOf(claim.merchantId, claim.key));
  return judgeClaim(row && storedClaim(row), claim);
}

/**
 * Applied inside a journal commit, once its claims are checked (a claim writes the key's row
 * first). A key that is gone (purged) has nothing left to update.
 */
export function applyIdempotencyUpdate(state: MemoryState, update: IdempotencyUpdate): void {
  const id = idempotencyKeyOf(update.merchantId, update.key);
  if (update.claim) state.idempotency.set(id, newRow(update.claim));
  const row: IdempotencyRow | undefined = state.idempotency.get(id);
  if (!row) return;
  if (update.paymentId !== undefined) row.paymentId = update.paymentId;
  if (update.response !== undefined) row.response = copy(update.response);
}

function storedClaim(row: IdempotencyRow): StoredClaim {
  return { fingerprint: row.fingerprint, paymentId: row.paymentId, hasResponse: row.response !== null, leaseExpiresAt: row.leaseExpiresAt, expiresAt: row.expiresAt };
}

function newRow(claim: KeyClaim): IdempotencyRow {
  return {
    fingerprint: claim.fingerprint, paymentId: null, response: null,
    leaseExpiresAt: claim.leaseExpiresAt, expiresAt: claim.expiresAt, createdAt: claim.now,
  };
}
