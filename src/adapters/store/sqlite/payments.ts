import type Database from 'better-sqlite3';
import type { Payment } from '../../../core/payment.js';
import type { ListQuery, PaymentPage, PaymentStore } from '../../../ports/payment-store.js';
import type { SqliteConnection } from './connection.js';

type Statement = Database.Statement<unknown[], unknown>;

/**
 * One statement per combination of the optional filters: an "(@x IS NULL OR id < @x)" form
 * would keep the planner from using the index range, so each shape gets its own plan.
 */
function listSql(after: boolean, status: boolean, reference: boolean): string {
  return `SELECT body FROM payments WHERE merchant_id = @merchantId
    ${reference ? 'AND merchant_reference = @merchantReference' : ''}
    ${after ? 'AND id < @startingAfter' : ''} ${status ? 'AND status = @status' : ''}
    ORDER BY id DESC LIMIT @limit`;
}

/** Index of the statement for a combination of filters in listStmts. */
const shape = (after: boolean, status: boolean, reference: boolean): number => (reference ? 4 : 0) + (after ? 2 : 0) + (status ? 1 : 0);

export class SqlitePaymentStore implements PaymentStore {
  // Prepared once at open: parsing and planning SQL per request is pure overhead on the hot path.
  private readonly getStmt: Statement;
  private readonly listStmts: Statement[];
  private readonly processingStmt: Statement;

  constructor(private readonly conn: SqliteConnection) {
    const db = conn.db;
    this.getStmt = db.prepare('SELECT body FROM payments WHERE id = ? AND merchant_id = ?').pluck();
    this.listStmts = [];
    for (const reference of [false, true]) {
      for (const after of [false, true]) {
        for (const status of [false, true]) this.listStmts[shape(after, status, reference)] = db.prepare(listSql(after, status, reference)).pluck();
      }
    }
    this.processingStmt = db.prepare(`
      SELECT body FROM payments WHERE status = 'processing' AND updated_at < ?
      ORDER BY updated_at, id LIMIT ?`).pluck();
  }

  get(merchantId: string, id: string): Promise<Payment | null> {
    return this.conn.run(() => {
      const body = this.getStmt.get(id, merchantId) as string | undefined;
      return body === undefined ? null : (JSON.parse(body) as Payment);
    });
  }

  list(query: ListQuery): Promise<PaymentPage> {
    return this.conn.run(() => {
      const after = query.startingAfter !== undefined;
      const status = query.status !== undefined;
      const reference = query.merchantReference !== undefined;
      const stmt = this.listStmts[shape(after, status, reference)] as Statement;
      const params: Record<string, unknown> = { merchantId: query.merchantId, limit: query.limit + 1 };
      if (reference) params.merchantReference = query.merchantReference;
      if (after) params.startingAfter = query.startingAfter;
      if (status) params.status = query.status;
      // One row beyond the page tells whether another page exists.
      const bodies = stmt.all(params) as string[];
      return {
        data: bodies.slice(0, query.limit).map((body) => JSON.parse(body) as Payment),
        hasMore: bodies.length > query.limit,
      };
    });
  }

  listProcessing(updatedBefore: string, limit: number): Promise<Payment[]> {
    return this.conn.run(() => (this.processingStmt.all(updatedBefore, limit) as string[]).map((body) => JSON.parse(body) as Payment));
  }

}
