import type { PaymentStatus } from '../core/payment.js';

export type AttemptResultName = 'approved' | 'declined' | 'timeout' | 'malformed' | 'unavailable';

/**
 * Operational metrics. Dimensions stay low-cardinality: outcome, result, service, a configured
 * witness's name — never a transaction, merchant or key ID.
 */
export interface Metrics {
  paymentOutcome(status: PaymentStatus): void;
  gatewayAttempt(result: AttemptResultName, latencyMs: number): void;
  idempotentReplay(): void;
  coldStart(): void;
  /** The journal writer found records it did not write (and moved to a new stream), or refused to seal a tampered stream. */
  journalConflict(): void;
  /**
   * How old the newest journal checkpoint a witness cosigned is, as this process knows it
   * (reported after every push to it). `witness` is the witness's key name: one per
   * configured witness, so a low-cardinality dimension.
   */
  witnessCheckpointAge(witness: string, ageMs: number): void;
  /** Emits what was collected (EMF: one log line per flush). */
  flush(): void;
}

/** For runtimes without metrics. */
export const NO_METRICS: Metrics = {
  paymentOutcome: () => undefined,
  gatewayAttempt: () => undefined,
  idempotentReplay: () => undefined,
  coldStart: () => undefined,
  journalConflict: () => undefined,
  witnessCheckpointAge: () => undefined,
  flush: () => undefined,
};
