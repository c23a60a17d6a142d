import type { Payment } from '../../../core/payment.js';
import type { ListQuery, PaymentPage, PaymentStore } from '../../../ports/payment-store.js';
import { type MemoryState, copy } from './state.js';

/** A scan per query is fine here: this store exists for tests and small demos. */
export class MemoryPaymentStore implements PaymentStore {
  constructor(private readonly state: MemoryState) {}

  async get(merchantId: string, id: string): Promise<Payment | null> {
    this.state.assertOpen();
    const payment = this.state.payments.get(id);
    return payment && payment.merchantId === merchantId ? copy(payment) : null;
  }

  async list(query: ListQuery): Promise<PaymentPage> {
    this.state.assertOpen();
    const { merchantId, startingAfter, status, merchantReference } = query;
    const matching = [...this.state.payments.values()]
      .filter((p) => p.merchantId === merchantId)
      .filter((p) => startingAfter === undefined || p.id < startingAfter)
      .filter((p) => status === undefined || p.status === status)
      .filter((p) => merchantReference === undefined || p.merchantReference === merchantReference)
      // TypeIDs are time-ordered, so descending ID is newest first.
      .sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
    return { data: matching.slice(0, query.limit).map(copy), hasMore: matching.length > query.limit };
  }

  async listProcessing(updatedBefore: string, limit: number): Promise<Payment[]> {
    this.state.assertOpen();
    return [...this.state.payments.values()]
      .filter((p) => p.status === 'processing' && p.updatedAt < updatedBefore)
      .sort((a, b) => (a.updatedAt < b.updatedAt ? -1 : a.updatedAt > b.updatedAt ? 1 : a.id < b.id ? -1 : 1))
      .slice(0, limit)
      .map(copy);
  }
}
