import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type { Store } from '../../../ports/store.js';
import { type ClientOptions, DynamoConnection, createClient } from './connection.js';
import { DynamoIdempotencyStore } from './idempotency.js';
import { DynamoJournalStore } from './journal.js';
import { DynamoJournalTreeStore } from './journal-tree.js';
import { DynamoKeyStore } from './keys.js';
import { DynamoGatewayLedger } from './ledger.js';
import { DynamoPaymentStore } from './payments.js';
import { parseDynamoUrl } from './url.js';

export { createTables, type CreateTablesOptions } from './create-tables.js';
export { type DynamoLocation, DynamoUrlError, parseDynamoUrl } from './url.js';
export { TABLES, type TableDefinition, type TableName, tableName } from './tables.js';
export type { ClientOptions } from './connection.js';

export interface DynamoStoreOptions extends ClientOptions {
  /** `dynamodb://TABLE_PREFIX?region=…&endpoint=…` (endpoint for DynamoDB Local or another emulator). */
  url: string;
}

/**
 * A Store on the DynamoDB tables of TABLES (created by `paylog migrate` or the CDK stack).
 * Opening makes no request, so a Lambda cold start pays for none; ping() reaches the tables.
 * Every journal commit is one transaction of records, read model and stream head: see journal.ts.
 */
export async function openDynamoStore(options: DynamoStoreOptions): Promise<Store> {
  const location = parseDynamoUrl(options.url);
  const conn = new DynamoConnection(createClient(location, options), location, createClient(location, options, true));
  const payments = new DynamoPaymentStore(conn);
  const idempotency = new DynamoIdempotencyStore(conn);
  const streamsTable = conn.table('streams');
  return {
    kind: 'dynamodb',
    journal: new DynamoJournalStore(conn),
    journalTree: new DynamoJournalTreeStore(conn),
    payments,
    idempotency,
    keys: new DynamoKeyStore(conn),
    gatewayLedger: new DynamoGatewayLedger(conn),
    // A point read of a key no stream has: cheap, and it fails if the table or the endpoint is not there.
    ping: async () => {
      await conn.run((doc) => doc.send(new GetCommand({ TableName: streamsTable, Key: { id: '-ping-' } })));
    },
    close: async () => conn.close(),
  };
}
