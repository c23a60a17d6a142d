import type { Payment } from '../../../core/payment.js';
import type { ListQuery, PaymentPage, PaymentStore } from '../../../ports/payment-store.js';
import type { PostgresConnection } from './connection.js';

export class PostgresPaymentStore implements PaymentStore {
  constructor(private readonly conn: PostgresConnection) {}

  async get(merchantId: string, id: string): Promise<Payment | null> {
    const { rows } = await this.conn.query<{ body: string }>({
      name: 'payment-get', text: 'SELECT body FROM payments WHERE id = $1 AND merchant_id = $2', values: [id, merchantId],
    });
    return rows[0] ? (JSON.parse(rows[0].body) as Payment) : null;
  }

  async list(query: ListQuery): Promise<PaymentPage> {
    // One statement shape per filter combination, so each keeps its index range plan.
    const after = query.startingAfter !== undefined;
    const status = query.status !== undefined;
    const reference = query.merchantReference !== undefined;
    const values: unknown[] = [query.merchantId, query.limit + 1];
    const param = (value: unknown): string => `$${values.push(value)}`;
    const text = `SELECT body FROM payments WHERE merchant_id = $1
      ${reference ? `AND merchant_reference = ${param(query.merchantReference)}` : ''}
      ${after ? `AND id < ${param(query.startingAfter)}` : ''} ${status ? `AND status = ${param(query.status)}` : ''}
      ORDER BY id DESC LIMIT $2`;
    const name = `payments-list-${after ? 'a' : ''}${status ? 's' : ''}${reference ? 'r' : ''}`;
    const { rows } = await this.conn.query<{ body: string }>({ name, text, values });
    return { data: rows.slice(0, query.limit).map((r) => JSON.parse(r.body) as Payment), hasMore: rows.length > query.limit };
  }

  async listProcessing(updatedBefore: string, limit: number): Promise<Payment[]> {
    const { rows } = await this.conn.query<{ body: string }>({
      name: 'payments-processing',
      text: "SELECT body FROM payments WHERE status = 'processing' AND updated_at < $1 ORDER BY updated_at, id LIMIT $2",
      values: [updatedBefore, limit],
    });
    return rows.map((r) => JSON.parse(r.body) as Payment);
  }
}
