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

/** The card fields that records may carry (no expiry, no fingerprint needed in every record). */
export function recordCard(card: MaskedCard): { brand: string; bin: string; last4: string } {
  return { brand: card.brand, bin: card.bin, last4: card.last4 };
}
