import type { Store } from '../../../ports/store.js';
import { PostgresConnection, type PostgresOptions } from './connection.js';
import { PostgresIdempotencyStore } from './idempotency.js';
import { PostgresJournalStore } from './journal.js';
import { PostgresJournalTreeStore } from './journal-tree.js';
import { PostgresKeyStore } from './keys.js';
import { PostgresGatewayLedger } from './ledger.js';
import { PostgresPaymentStore } from './payments.js';
import { migrate } from './schema.js';

export type { PostgresOptions } from './connection.js';
export { SCHEMA_VERSION } from './schema.js';

/** Opens a PostgreSQL store: one pool per instance; migrations run first (safe when instances start together). */
export async function openPostgresStore(options: PostgresOptions): Promise<Store> {
  const conn = new PostgresConnection(options);
  try {
    await conn.transaction((client) => migrate(client));
  } catch (err) {
    await conn.close();
    throw err;
  }
  return {
    kind: 'postgres',
    journal: new PostgresJournalStore(conn),
    journalTree: new PostgresJournalTreeStore(conn),
    payments: new PostgresPaymentStore(conn),
    idempotency: new PostgresIdempotencyStore(conn),
    keys: new PostgresKeyStore(conn),
    gatewayLedger: new PostgresGatewayLedger(conn),
    async ping() {
      await conn.query({ name: 'ping', text: 'SELECT 1' });
    },
    close: () => conn.close(),
  };
}
