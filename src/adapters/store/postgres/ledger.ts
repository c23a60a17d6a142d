import type { GatewayLedger, LedgerEntry } from '../../../ports/gateway-ledger.js';
import type { PostgresConnection } from './connection.js';

export class PostgresGatewayLedger implements GatewayLedger {
  constructor(private readonly conn: PostgresConnection) {}

  async get(gatewayKey: string): Promise<LedgerEntry | null> {
    const { rows } = await this.conn.query<LedgerEntry>({
      name: 'ledger-get',
      text: `SELECT gateway_key AS "gatewayKey", calls, outcome, code, decline_code AS "declineCode", authorization_code AS "authorizationCode",
                    amount::int AS amount, currency, created_at AS "createdAt", updated_at AS "updatedAt"
             FROM gateway_ledger WHERE gateway_key = $1`,
      values: [gatewayKey],
    });
    return rows[0] ?? null;
  }

  async put(entry: LedgerEntry): Promise<void> {
    await this.conn.query({
      name: 'ledger-put',
      text: `INSERT INTO gateway_ledger (gateway_key, calls, outcome, code, decline_code, authorization_code, amount, currency, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
             ON CONFLICT (gateway_key) DO UPDATE SET calls = excluded.calls, outcome = excluded.outcome, code = excluded.code,
               decline_code = excluded.decline_code, authorization_code = excluded.authorization_code, amount = excluded.amount,
               currency = excluded.currency, created_at = excluded.created_at, updated_at = excluded.updated_at`,
      values: [entry.gatewayKey, entry.calls, entry.outcome, entry.code, entry.declineCode, entry.authorizationCode, entry.amount, entry.currency, entry.createdAt, entry.updatedAt],
    });
  }
}
