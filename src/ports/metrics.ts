import type { PaymentStatus } from '../core/payment.js';

export type AttemptResultName = 'approved' | 'declined' | 'timeout' | 'malformed' | 'unavailable';

/** Why a request failed authentication (the error code it was answered with). */
export type AuthFailureReason = 'api_key_missing' | 'api_key_invalid' | 'api_key_revoked' | 'too_many_auth_failures';

/** What a reconciled payment became, or `unresolved` when the gateway could not say this time. */
/** `overtaken`: another reconciler took the claim over while this one stalled, and settles the payment. */
export type ReconciliationOutcome = PaymentStatus | 'unresolved' | 'overtaken';

/**
 * Operational metrics. Dimensions stay low-cardinality: outcome, result, service, a configured
 * witness's name, a route pattern, a store operation — never a transaction, merchant or key ID.
 */
export interface Metrics {
  /** A payment was answered with this status; `declineCode` is the gateway's decline code (null when none). */
  paymentOutcome(status: PaymentStatus, declineCode?: string | null): void;
  gatewayAttempt(result: AttemptResultName, latencyMs: number): void;
  /** A gateway attempt after the first of its payment. */
  gatewayRetry(): void;
  idempotentReplay(): void;
  /** A request whose Idempotency-Key was in use by another request, or reused with another body. */
  idempotencyConflict(): void;
  /** One payment reconciliation settled (or left unresolved). */
  reconciliation(outcome: ReconciliationOutcome): void;
  coldStart(): void;
  /** The journal writer found records it did not write (and moved to a new stream), or refused to seal a tampered stream. */
  journalConflict(): void;
  /** One group commit made durable: how long the store took and how many records it held. */
  journalCommit(durationMs: number, records: number): void;
  /** One group commit the store refused or failed; its requests were answered 503. */
  journalWriteError(): void;
  /** A store call failed as unavailable; `operation` names the port method (e.g. `journal.commit`), a bounded set. */
  storeError(operation: string): void;
  /** One HTTP request answered: `route` is the route's pattern (or `unmatched`), never the raw URL. */
  httpRequest(method: string, route: string, status: number, durationMs: number): void;
  /** A request refused by the per-key rate limit (429 rate_limited). */
  rateLimited(): void;
  authFailure(reason: AuthFailureReason): void;
  /**
   * How old the newest journal checkpoint a witness cosigned is, as this process knows it
   * (reported after every push to it). `witness` is the witness's key name: one per
   * configured witness, so a low-cardinality dimension.
   */
  witnessCheckpointAge(witness: string, ageMs: number): void;
  /** Emits what was collected (EMF: one log line per flush; a scraped registry: nothing to do). */
  flush(): void;
}

const noop = (): void => undefined;

/** For runtimes without metrics. */
export const NO_METRICS: Metrics = {
  paymentOutcome: noop,
  gatewayAttempt: noop,
  gatewayRetry: noop,
  idempotentReplay: noop,
  idempotencyConflict: noop,
  reconciliation: noop,
  coldStart: noop,
  journalConflict: noop,
  journalCommit: noop,
  journalWriteError: noop,
  storeError: noop,
  httpRequest: noop,
  rateLimited: noop,
  authFailure: noop,
  witnessCheckpointAge: noop,
  flush: noop,
};
