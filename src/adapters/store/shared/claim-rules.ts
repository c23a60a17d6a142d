import type { ClaimResult, IdempotencyClaim, IdempotencyUpdate, StoredResponse } from '../../../ports/idempotency-store.js';
import { ClaimsTakenError } from '../../../ports/store.js';

/** What a store holds of a key, as far as deciding a claim goes. */
export interface StoredClaim {
  fingerprint: string;
  paymentId: string | null;
  hasResponse: boolean;
  leaseExpiresAt: string;
  expiresAt: string;
}

/**
 * How a claim on a key fares, decided alike by every store:
 * - `fresh`: no key, or an expired one: the claim writes a new row;
 * - `take_over`: a claim whose holder's lease ran out before it created anything: the claim
 *   takes it over (a new lease);
 * - `recovered`: the same, but the holder had created a payment: taken over, and answered;
 * - `in_flight`, `mismatch`, `completed`: someone else's, left as it is.
 */
export type ClaimVerdict = 'fresh' | 'take_over' | 'recovered' | 'in_flight' | 'mismatch' | 'completed';

export function judgeClaim(row: StoredClaim | undefined, claim: Pick<IdempotencyClaim, 'fingerprint' | 'now'>): ClaimVerdict {
  if (!row || row.expiresAt <= claim.now) return 'fresh';
  if (row.fingerprint !== claim.fingerprint) return 'mismatch';
  if (row.hasResponse) return 'completed';
  if (row.leaseExpiresAt > claim.now) return 'in_flight';
  // The holder's lease ran out: it crashed. The key is taken over, keeping what it created.
  return row.paymentId === null ? 'take_over' : 'recovered';
}

/** Whether a verdict takes the key over: the store gives the claim's lease to the row that is there. */
export function takesOver(verdict: ClaimVerdict): boolean {
  return verdict === 'take_over' || verdict === 'recovered';
}

/**
 * What claim() answers for a verdict, once the store has written what it asks (a new row when
 * `fresh`, the claim's lease when it takes over). `row` is the key as it was judged;
 * `response` reads its stored response, the store's own way, for `completed`.
 */
export function claimResult(verdict: ClaimVerdict, row: { paymentId: string | null } | undefined, response: () => StoredResponse): ClaimResult {
  switch (verdict) {
    case 'fresh':
    case 'take_over':
      return { kind: 'claimed' };
    case 'mismatch':
    case 'in_flight':
      return { kind: verdict };
    case 'completed':
      return { kind: 'completed', response: response(), paymentId: row?.paymentId ?? null };
    case 'recovered':
      return { kind: 'recovered', paymentId: row?.paymentId as string };
  }
}

/** What deciding a claim made in a commit needs: the key, and the claim's fingerprint and time. */
export type CommitClaim = Pick<IdempotencyClaim, 'merchantId' | 'key' | 'fingerprint' | 'now'>;

/** A claim inside a journal commit wins exactly where `claim()` would answer `claimed`. */
export function winsInCommit(verdict: ClaimVerdict): boolean {
  return verdict === 'fresh' || verdict === 'take_over';
}

/**
 * Checks the claims a batch makes in its commit before anything is written. `verdictOf` reads
 * the stored key (the store's own way, inside its transaction); a key claimed by an earlier
 * unit of the same batch is taken for the later ones. Throws ClaimsTakenError naming every
 * losing unit, so the writer can commit the others without them in one retry.
 */
export function checkCommitClaims<U>(
  units: readonly U[],
  claimOf: (unit: U) => CommitClaim | undefined,
  verdictOf: (claim: CommitClaim) => ClaimVerdict,
): void {
  const claimed = new Set<string>();
  const lost: number[] = [];
  units.forEach((unit, i) => {
    const claim = claimOf(unit);
    if (!claim) return;
    const id = JSON.stringify([claim.merchantId, claim.key]);
    if (claimed.has(id) || !winsInCommit(verdictOf(claim))) lost.push(i);
    else claimed.add(id);
  });
  if (lost.length > 0) throw new ClaimsTakenError(`${lost.length} idempotency key(s) of this batch are held already; nothing was written`, lost);
}

/** The claim a unit makes in its commit, with the key it claims. */
export function commitClaimOf(unit: { idempotency?: Pick<IdempotencyUpdate, 'merchantId' | 'key' | 'claim'> | undefined }): CommitClaim | undefined {
  const update = unit.idempotency;
  return update?.claim && { merchantId: update.merchantId, key: update.key, fingerprint: update.claim.fingerprint, now: update.claim.now };
}
