/** A response kept under an idempotency key, replayed as it was. */
export interface StoredResponse {
  status: number;
  body: unknown;
  headers: Record<string, string>;
}

export interface IdempotencyClaim {
  merchantId: string;
  key: string;
  /** Keyed hash of the canonical request body. */
  fingerprint: string;
  now: string;
  /** An in-flight claim older than this is presumed crashed and may be taken over. */
  leaseExpiresAt: string;
  /** The key is remembered at least until then (≥ 24 h). */
  expiresAt: string;
}

export type ClaimResult =
  /** The key is ours: no earlier request, or an expired one that created nothing. */
  | { kind: 'claimed' }
  /** The key is ours, taken over from a crashed request that had created this payment. */
  | { kind: 'recovered'; paymentId: string }
  | { kind: 'in_flight' }
  | { kind: 'mismatch' }
  | { kind: 'completed'; response: StoredResponse; paymentId: string | null };

/** Changes to a claimed key, applied inside a journal commit. */
export interface IdempotencyUpdate {
  merchantId: string;
  key: string;
  paymentId?: string;
  response?: StoredResponse;
  /**
   * Fencing: when set, the commit applies only while the key's claim still holds this lease
   * (a take-over always sets a later one); otherwise it fails as a whole with ClaimLostError.
   * So a claimant that stalled past its lease cannot write after the one that took over.
   */
  heldUntil?: string;
  /**
   * Claims the key in this commit, for a request that has not claimed it before: the commit
   * applies only where `claim()` would answer `claimed` at `claim.now` (no live key, an expired
   * one, or a lapsed claim that created nothing), and the row it writes is that claim, already
   * linked to `paymentId`. Anywhere else nothing of the batch is written and the commit fails
   * with ClaimsTakenError, naming every unit whose key was taken; the caller then asks
   * `claim()` who holds the key. So a payment's first durable write holds both its key and its
   * `payment.received` record: one commit fewer, with the key still claimed exactly once.
   */
  claim?: KeyClaim;
}

/** A claim made inside a journal commit (IdempotencyUpdate.claim): the claim without its key. */
export type KeyClaim = Omit<IdempotencyClaim, 'merchantId' | 'key'>;

export interface IdempotencyStore {
  /** Atomically claims a key, or reports who holds it. Exactly one claimant wins any race. */
  claim(claim: IdempotencyClaim): Promise<ClaimResult>;
  /** Forgets an unfinished claim that created no transaction (the request failed before). */
  release(merchantId: string, key: string): Promise<void>;
  /**
   * Deletes at most `limit` keys whose expiry has passed and whose lease has passed too (a
   * claim a live request still holds stays, however old), in one transaction; returns how
   * many. Safe beside claims and other purgers in other processes: a key claimed afresh
   * meanwhile is not deleted.
   */
  purgeExpired(now: string, limit: number): Promise<number>;
  /**
   * True when the backend deletes expired keys by itself (DynamoDB TTL on `expiresAtEpoch`):
   * the scheduled purge then leaves it alone.
   */
  readonly expiresByTtl: boolean;
}
