import type { IdempotencyUpdate } from '../../../ports/idempotency-store.js';
import { ClaimLostError } from '../../../ports/store.js';

/**
 * The fence of an idempotency update, decided alike by every store: an update with
 * `heldUntil` goes through only while the stored claim still holds exactly that lease. A
 * take-over sets a later lease and a purge removes the row, so either refuses the commit.
 * `storedLease` is the row's lease, or undefined when there is no row.
 */
export function checkClaimHeld(update: Pick<IdempotencyUpdate, 'key' | 'heldUntil'>, storedLease: string | undefined): void {
  if (update.heldUntil === undefined || storedLease === update.heldUntil) return;
  throw new ClaimLostError(`the claim on idempotency key ${JSON.stringify(update.key)} was taken over; the commit is refused`);
}
