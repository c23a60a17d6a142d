import type { GatewayLedger, LedgerCall, LedgerEntry, RecordedCall } from '../../../ports/gateway-ledger.js';
import type { PostgresConnection } from './connection.js';

const COLUMNS = `gateway_key AS "gatewayKey", calls, outcome, code, decline_code AS "declineCode", authorization_code AS "authorizationCode",
                 amount::int AS amount, currency, created_at AS "createdAt", updated_at AS "updatedAt"`;

/**
 * recordCall is one upsert, atomic on the row: ON CONFLICT locks the entry as it is now,
 * whichever process wrote it last. A call that finds the outcome already settled costs a
 * second statement that only counts it.
 */
export class PostgresGatewayLedger implements GatewayLedger {
  constructor(private readonly conn: PostgresConnection) {}

  async get(gatewayKey: string): Promise<LedgerEntry | null> {
    const { rows } = await this.conn.query<LedgerEntry>({
      name: 'ledger-get',
      text: `SELECT ${COLUMNS} FROM gateway_ledger WHERE gateway_key = $1`,
      values: [gatewayKey],
    });
    return rows[0] ?? null;
  }

  async recordCall(call: LedgerCall): Promise<RecordedCall> {
    const { settle } = call;
    if (settle !== null) {
      // A row comes back only if this call inserted the entry or settled it.
      const { rows } = await this.conn.query<LedgerEntry>({
        name: 'ledger-settle',
        text: `INSERT INTO gateway_ledger AS l (gateway_key, calls, outcome, code, decline_code, authorization_code, amount, currency, created_at, updated_at)
               VALUES ($1, 1, CASE WHEN $9::int <= 1 THEN $2::text END, CASE WHEN $9::int <= 1 THEN $3::text END,
                       CASE WHEN $9::int <= 1 THEN $4::text END, CASE WHEN $9::int <= 1 THEN $5::text END, $6, $7, $8, $8)
               ON CONFLICT (gateway_key) DO UPDATE SET calls = l.calls + 1, outcome = $2, code = $3, decline_code = $4,
                 authorization_code = $5, updated_at = excluded.updated_at
               WHERE l.outcome IS NULL AND l.calls + 1 >= $9::int
               RETURNING ${COLUMNS}`,
        values: [call.gatewayKey, settle.outcome, settle.code, settle.declineCode, settle.authorizationCode, call.amount, call.currency, call.at, call.settleFromCall],
      });
      const entry = rows[0];
      if (entry) return { entry, settled: entry.outcome !== null };
      // No row: the entry exists, so this is call 2 or later (settleFromCall is reached), and the outcome is settled.
    }
    const { rows } = await this.conn.query<LedgerEntry>({
      name: 'ledger-count',
      text: `INSERT INTO gateway_ledger AS l (gateway_key, calls, amount, currency, created_at, updated_at)
             VALUES ($1, 1, $2, $3, $4, $4)
             ON CONFLICT (gateway_key) DO UPDATE SET calls = l.calls + 1, updated_at = excluded.updated_at
             RETURNING ${COLUMNS}`,
      values: [call.gatewayKey, call.amount, call.currency, call.at],
    });
    return { entry: rows[0] as LedgerEntry, settled: false };
  }
}
