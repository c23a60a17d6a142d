import type { GatewayLedger, LedgerCall, LedgerEntry, RecordedCall } from '../../../ports/gateway-ledger.js';
import type { PostgresConnection } from './connection.js';

const COLUMNS = `gateway_key AS "gatewayKey", calls, outcome, code, decline_code AS "declineCode", authorization_code AS "authorizationCode",
                 amount::int AS amount, currency, created_at AS "createdAt", updated_at AS "updatedAt"`;

/** Calls recorded in one transaction at most: the bound of one group commit of the ledger. */
export const LEDGER_BATCH_CALLS_MAX = 64;
/** Group commits of the ledger in flight at once, each on its own connection of the pool. */
export const LEDGER_FLUSHES_MAX = 2;

interface PendingCall {
  call: LedgerCall;
  resolve: (recorded: RecordedCall) => void;
  reject: (err: unknown) => void;
}

type CallRow = [string, number, LedgerEntry['outcome'], string | null, string | null, string | null, number, string, string, string, boolean];

/**
 * Every call is one durable, atomic step, as the port asks; calls that arrive together share one
 * transaction (group commit, as the SQLite store's write thread does): one round trip and one WAL
 * flush for all of them instead of one each, and the payment waiting on its charge waits no
 * longer. paylog_record_calls (schema) applies them one after another, each as a statement of
 * its own would; the batch is sorted by gateway key (calls under one key keep their order), so
 * two instances' batches lock shared entries in the same order. A batch that fails fails
 * every call in it: none of them was recorded.
 */
export class PostgresGatewayLedger implements GatewayLedger {
  private readonly queue: PendingCall[] = [];
  private flushing = 0;

  constructor(private readonly conn: PostgresConnection) {}

  async get(gatewayKey: string): Promise<LedgerEntry | null> {
    const { rows } = await this.conn.query<LedgerEntry>({
      name: 'ledger-get',
      text: `SELECT ${COLUMNS} FROM gateway_ledger WHERE gateway_key = $1`,
      values: [gatewayKey],
    });
    return rows[0] ?? null;
  }

  recordCall(call: LedgerCall): Promise<RecordedCall> {
    return new Promise((resolve, reject) => {
      this.queue.push({ call, resolve, reject });
      // The calls of this event-loop turn join the batch; more wait for a flush to finish.
      if (this.queue.length === 1 && this.flushing < LEDGER_FLUSHES_MAX) setImmediate(() => this.flush());
    });
  }

  private flush(): void {
    if (this.queue.length === 0 || this.flushing >= LEDGER_FLUSHES_MAX) return;
    const batch = this.queue.splice(0, LEDGER_BATCH_CALLS_MAX);
    this.flushing++;
    if (this.queue.length > 0) setImmediate(() => this.flush());
    void this.record(batch).finally(() => {
      this.flushing--;
      this.flush();
    });
  }

  private async record(batch: PendingCall[]): Promise<void> {
    const sorted = batch.map((p) => p.call).sort((a, b) => (a.gatewayKey < b.gatewayKey ? -1 : a.gatewayKey > b.gatewayKey ? 1 : 0));
    const order = new Map<LedgerCall, number>(sorted.map((c, i) => [c, i]));
    try {
      const { rows: [row] } = await this.conn.query<{ calls: CallRow[] }>({
        name: 'ledger-record-calls',
        text: 'SELECT paylog_record_calls($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) AS calls',
        values: [
          sorted.map((c) => c.gatewayKey), sorted.map((c) => c.amount), sorted.map((c) => c.currency), sorted.map((c) => c.at),
          sorted.map((c) => c.settleFromCall), sorted.map((c) => c.settle !== null), sorted.map((c) => c.settle?.outcome ?? null),
          sorted.map((c) => c.settle?.code ?? null), sorted.map((c) => c.settle?.declineCode ?? null), sorted.map((c) => c.settle?.authorizationCode ?? null),
        ],
      });
      const calls = (row as { calls: CallRow[] }).calls;
      for (const pending of batch) pending.resolve(recorded(calls[order.get(pending.call) as number] as CallRow));
    } catch (err) {
      for (const pending of batch) pending.reject(err);
    }
  }
}

function recorded([gatewayKey, calls, outcome, code, declineCode, authorizationCode, amount, currency, createdAt, updatedAt, settled]: CallRow): RecordedCall {
  return { entry: { gatewayKey, calls, outcome, code, declineCode, authorizationCode, amount, currency, createdAt, updatedAt }, settled };
}
