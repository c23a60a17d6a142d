import type Database from 'better-sqlite3';
import type { GatewayLedger, LedgerCall, LedgerEntry, RecordedCall } from '../../../ports/gateway-ledger.js';
import type { SqliteConnection } from './connection.js';

type Statement = Database.Statement<unknown[], unknown>;

export class SqliteGatewayLedger implements GatewayLedger {
  // Prepared once at open: reconciliation looks outcomes up.
  private readonly getStmt: Statement;

  constructor(private readonly conn: SqliteConnection) {
    const db = conn.db;
    this.getStmt = db.prepare(`
      SELECT gateway_key AS gatewayKey, calls, outcome, code, decline_code AS declineCode,
             authorization_code AS authorizationCode, amount, currency, created_at AS createdAt, updated_at AS updatedAt
      FROM gateway_ledger WHERE gateway_key = ?`);
  }

  get(gatewayKey: string): Promise<LedgerEntry | null> {
    return this.conn.run(() => (this.getStmt.get(gatewayKey) as LedgerEntry | undefined) ?? null);
  }

  /** Read and written on the write thread, group-committed with the other writes of this turn of the event loop. */
  async recordCall(call: LedgerCall): Promise<RecordedCall> {
    return (await this.conn.write({ kind: 'ledger.call', call })) as RecordedCall;
  }
}
