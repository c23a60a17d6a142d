import { dirname } from 'node:path';
import type { Config } from '../config/config.js';
import { ConfigError } from '../config/settings.js';
import { privateDirectory } from './private-files.js';
import { type Store, StoreUnavailableError } from '../ports/store.js';

export interface StoreAccess {
  /**
   * The caller only reads (`paylog verify` and its threads). A SQLite store then starts no
   * write thread and refuses writes, and the file must exist with its schema; the other stores
   * open as usual (their connections cost nothing until used).
   */
  readOnly?: boolean;
}

/**
 * Opens the configured store, loading only that backend's adapter. A DynamoDB store's tables
 * are checked first (two describe calls per table, in parallel), so every process that opens
 * one — `serve`, a Lambda cold start, `migrate`, every other command — stops at once with a
 * one-line DynamoTableError when they are not as defined.
 */
export async function openStore(config: Config, access: StoreAccess = {}): Promise<Store> {
  const location = config.store;
  switch (location.kind) {
    case 'sqlite': {
      // The database and its -wal and -shm are 0600 (openDatabase); the directory holding them is 0700.
      if (location.path !== ':memory:') privateDirectory(dirname(location.path), 'PAYLOG_STORE');
      const { openSqliteStore } = await import('../adapters/store/sqlite/index.js');
      return openSqliteStore({
        path: location.path, batchWritesMax: config.sqliteBatchWritesMax,
        // A database in memory is created empty by its opener: only a writable one can hold a schema.
        readOnly: access.readOnly === true && location.path !== ':memory:',
      });
    }
    case 'memory': {
      const { createMemoryStore } = await import('../adapters/store/memory/index.js');
      return createMemoryStore();
    }
    case 'dynamodb': {
      const [dynamo, { checkTables }] = await Promise.all([
        import('../adapters/store/dynamodb/index.js'),
        import('../adapters/store/dynamodb/check-tables.js'),
      ]);
      try {
        // Missing tables, wrong keys, a missing index, TTL off, an endpoint that does not answer,
        // denied actions: each stops the process here with one line that says how to fix it,
        // instead of surfacing later as a request's ValidationException.
        await checkTables(location.url);
        return await dynamo.openDynamoStore({ url: location.url });
      } catch (err) {
        throw err instanceof dynamo.DynamoUrlError ? new ConfigError(`PAYLOG_STORE (--store): ${err.message}`) : err;
      }
    }
    case 'postgres': {
      const { openPostgresStore } = await import('../adapters/store/postgres/index.js');
      return openPostgresStore({ url: location.url, poolMax: config.storePoolMax });
    }
  }
}

/**
 * Creates what a store needs before it can open, for `paylog migrate`: DynamoDB tables from
 * the definitions the CDK stack uses. Returns the tables it made sure exist; other stores
 * need nothing here (SQLite and PostgreSQL migrate when they open).
 */
export async function prepareStore(config: Config): Promise<string[]> {
  const location = config.store;
  if (location.kind !== 'dynamodb') return [];
  const [dynamo, { DynamoTableError, checkTables }] = await Promise.all([
    import('../adapters/store/dynamodb/index.js'),
    import('../adapters/store/dynamodb/check-tables.js'),
  ]);
  try {
    const { prefix } = dynamo.parseDynamoUrl(location.url);
    try {
      await dynamo.createTables({ url: location.url });
    } catch (err) {
      // createTables names only the error of an endpoint that did not answer; the check says
      // which endpoint and region it was, and throws that line instead (else the original).
      if (err instanceof StoreUnavailableError && !(err instanceof DynamoTableError)) await checkTables(location.url);
      throw err;
    }
    return (Object.keys(dynamo.TABLES) as Array<keyof typeof dynamo.TABLES>).map((table) => dynamo.tableName(prefix, table));
  } catch (err) {
    throw err instanceof dynamo.DynamoUrlError ? new ConfigError(`PAYLOG_STORE (--store): ${err.message}`) : err;
  }
}
