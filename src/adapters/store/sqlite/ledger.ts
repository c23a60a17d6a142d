import type Database from 'better-sqlite3';
import type { GatewayLedger, LedgerEntry } from '../../../ports/gateway-ledger.js';
import type { SqliteConnection } from './connection.js';

type Statement = Database.Statement<unknown[], unknown>;

export class SqliteGatewayLedger implements GatewayLedger {
  // Prepared once at open: the simulated gateway reads and writes its ledger on every charge.
  private readonly getStmt: Statement;
  private readonly putStmt: Statement;

  constructor(private readonly conn: SqliteConnection) {
    const db = conn.db;
    this.getStmt = db.prepare(`
      SELECT gateway_key AS gatewayKey, calls, outcome, code, decline_code AS declineCode,
             authorization_code AS authorizationCode, amount, currency, created_at AS createdAt, updated_at AS updatedAt
      FROM gateway_ledger WHERE gateway_key = ?`);
    this.putStmt = db.prepare(`
      INSERT INTO gateway_ledger
        (gateway_key, calls, outcome, code, decline_code, authorization_code, amount, currency, created_at, updated_at)
      VALUES
        (@gatewayKey, @calls, @outcome, @code, @declineCode, @authorizationCode, @amount, @currency, @createdAt, @updatedAt)
      ON CONFLICT (gateway_key) DO UPDATE SET
        calls = excluded.calls, outcome = excluded.outcome, code = excluded.code, decline_code = excluded.decline_code,
        authorization_code = excluded.authorization_code, amount = excluded.amount, currency = excluded.currency,
        created_at = excluded.created_at, updated_at = excluded.updated_at`);
  }

  get(gatewayKey: string): Promise<LedgerEntry | null> {
    return this.conn.run(() => (this.getStmt.get(gatewayKey) as LedgerEntry | undefined) ?? null);
  }

  put(entry: LedgerEntry): Promise<void> {
    return this.conn.run(() => {
      this.putStmt.run(entry);
    });
  }
}
