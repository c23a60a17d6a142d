import type { GatewayLedger } from './gateway-ledger.js';
import type { IdempotencyStore } from './idempotency-store.js';
import type { JournalStore } from './journal-store.js';
import type { JournalTreeStore } from './journal-tree-store.js';
import type { KeyStore } from './key-store.js';
import type { PaymentStore } from './payment-store.js';

/** Everything one backend holds. Each adapter (memory, sqlite, …) provides one. */
export interface Store {
  readonly kind: string;
  readonly journal: JournalStore;
  readonly journalTree: JournalTreeStore;
  readonly payments: PaymentStore;
  readonly idempotency: IdempotencyStore;
  readonly keys: KeyStore;
  readonly gatewayLedger: GatewayLedger;
  /** Throws when the backend cannot be reached. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** Raised by adapters when the backend is unreachable or failed a write; maps to 503. */
export class StoreUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreUnavailableError';
  }
}

/** Raised when a commit would overwrite or skip a seq in a stream. */
export class StreamConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StreamConflictError';
  }
}

/**
 * Raised when a commit fenced by an idempotency claim (IdempotencyUpdate.heldUntil) finds the
 * claim taken over by another claimant: nothing of the commit was written.
 */
export class ClaimLostError extends StreamConflictError {
  constructor(message: string) {
    super(message);
    this.name = 'ClaimLostError';
  }
}

/**
 * Raised when a journal commit claims idempotency keys (IdempotencyUpdate.claim) that are
 * held already: nothing of the batch was written. `units` are the indexes, in the batch, of
 * every unit whose claim lost.
 */
export class ClaimsTakenError extends StreamConflictError {
  constructor(message: string, readonly units: readonly number[]) {
    super(message);
    this.name = 'ClaimsTakenError';
  }
}
