import type { CardDetails, MaskedCard } from './card.js';
import type { CardErrorCode } from './errors.js';

export type PaymentStatus = 'processing' | 'succeeded' | 'declined' | 'failed';

/** A POST /v1/payments body after schema validation. */
export interface PaymentRequest {
  amount: number;
  currency: string;
  paymentMethod: { type: 'card'; card: CardDetails };
  description?: string;
  merchantReference?: string;
  metadata?: Record<string, string>;
}

export interface AuditPointer {
  stream: string;
  seq: number;
  hash: string;
}

/** The payment object of SPEC §1. Holds nothing that identifies the card beyond its masked form. */
export interface Payment {
  id: string;
  object: 'payment';
  status: PaymentStatus;
  amount: number;
  currency: string;
  merchantId: string;
  card: MaskedCard;
  attempts: number;
  declineCode: string | null;
  failureCode: CardErrorCode | 'gateway_unavailable' | null;
  description: string | null;
  merchantReference: string | null;
  metadata: Record<string, string>;
  createdAt: string;
  updatedAt: string;
  audit: AuditPointer | null;
}

/** The outcome of running a payment through the gateway (or refusing it before). */
export type PaymentOutcome =
  | { status: 'succeeded' }
  | { status: 'declined'; failureCode: CardErrorCode; declineCode: string | null }
  | { status: 'failed'; failureCode: 'gateway_unavailable' }
  | { status: 'processing' };

/**
 * Payment status transitions move forward only: processing → processing (another attempt) or →
 * succeeded | declined | failed; a terminal status is final, so a late or duplicate write (a
 * slow request, a second reconciler) never undoes or changes an outcome. The stores apply this
 * rule to the payment row of a journal commit (a refused row is left as it is; the rest of the
 * commit goes ahead): SQLite and PostgreSQL build their upsert's WHERE, and DynamoDB its Put's
 * ConditionExpression, from `MUTABLE_PAYMENT_STATUSES`; memory calls `canTransition`.
 */
const NEXT_STATUSES: Readonly<Record<PaymentStatus, readonly PaymentStatus[]>> = {
  processing: ['processing', 'succeeded', 'declined', 'failed'],
  succeeded: [],
  declined: [],
  failed: [],
};

/** The statuses a row may still leave (today only `processing`): what SQL stores' conditional upserts test. */
export const MUTABLE_PAYMENT_STATUSES: readonly PaymentStatus[] = (Object.keys(NEXT_STATUSES) as PaymentStatus[])
  .filter((s) => NEXT_STATUSES[s].length > 0);

/** May a stored payment in status `from` be overwritten with status `to`? (`from` null: no row yet.) */
export function canTransition(from: PaymentStatus | null, to: PaymentStatus): boolean {
  return from === null || NEXT_STATUSES[from].includes(to);
}

export function applyOutcome(payment: Payment, outcome: PaymentOutcome, attempts: number, now: string): Payment {
  return {
    ...payment,
    status: outcome.status,
    attempts,
    declineCode: outcome.status === 'declined' ? outcome.declineCode : null,
    failureCode: outcome.status === 'declined' || outcome.status === 'failed' ? outcome.failureCode : null,
    updatedAt: now,
  };
}

/**
 * The card fields that records may carry (no expiry, no fingerprint needed in every record).
 * Keys in sorted order, as in every record's data paylog builds: canonicalJson then writes
 * it with one native JSON.stringify (src/core/jcs.ts).
 */
export function recordCard(card: MaskedCard): { bin: string; brand: string; last4: string } {
  return { bin: card.bin, brand: card.brand, last4: card.last4 };
}
