import type { Payment, PaymentStatus } from '../core/payment.js';

export interface ListQuery {
  merchantId: string;
  limit: number;
  /** A payment ID: return payments older than it. */
  startingAfter?: string;
  status?: PaymentStatus;
  /** Only payments whose merchantReference is exactly this (payments without one never match). */
  merchantReference?: string;
}

export interface PaymentPage {
  data: Payment[];
  hasMore: boolean;
}

/** The payments read model. Written only through JournalStore.commit. */
export interface PaymentStore {
  get(merchantId: string, id: string): Promise<Payment | null>;
  /** Newest first. */
  list(query: ListQuery): Promise<PaymentPage>;
  /** Payments still processing whose last change is older than `updatedBefore`, oldest first. */
  listProcessing(updatedBefore: string, limit: number): Promise<Payment[]>;
}
