import type {
  ClaimResult, IdempotencyClaim, IdempotencyStore, IdempotencyUpdate,
} from '../../../ports/idempotency-store.js';
import { type IdempotencyRow, type MemoryState, copy, idempotencyKeyOf } from './state.js';

export class MemoryIdempotencyStore implements IdempotencyStore {
  readonly expiresByTtl = false;

  constructor(private readonly state: MemoryState) {}

  // No await between reading and writing the row: the event loop makes each claim atomic.
  async claim(claim: IdempotencyClaim): Promise<ClaimResult> {
    this.state.assertOpen();
    const id = idempotencyKeyOf(claim.merchantId, claim.key);
    const row = this.state.idempotency.get(id);
    if (!row || row.expiresAt <= claim.now) {
      this.state.idempotency.set(id, {
        fingerprint: claim.fingerprint, paymentId: null, response: null,
        leaseExpiresAt: claim.leaseExpiresAt, expiresAt: claim.expiresAt, createdAt: claim.now,
      });
      return { kind: 'claimed' };
    }
    if (row.fingerprint !== claim.fingerprint) return { kind: 'mismatch' };
    if (row.response) return { kind: 'completed', response: copy(row.response), paymentId: row.paymentId };
    if (row.leaseExpiresAt > claim.now) return { kind: 'in_flight' };
    // The holder's lease ran out: it crashed. Take the key over, keeping what it created.
    row.leaseExpiresAt = claim.leaseExpiresAt;
    return row.paymentId === null ? { kind: 'claimed' } : { kind: 'recovered', paymentId: row.paymentId };
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

/** Applied inside a journal commit. A key that is gone (purged) has nothing left to update. */
export function applyIdempotencyUpdate(state: MemoryState, update: IdempotencyUpdate): void {
  const row: IdempotencyRow | undefined = state.idempotency.get(idempotencyKeyOf(update.merchantId, update.key));
  if (!row) return;
  if (update.paymentId !== undefined) row.paymentId = update.paymentId;
  if (update.response !== undefined) row.response = copy(update.response);
}
