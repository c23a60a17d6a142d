import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Config } from '../config/config.js';
import { ConfigError } from '../config/settings.js';
import type { Store } from '../ports/store.js';

/** Opens the configured store, loading only that backend's adapter. */
export async function openStore(config: Config): Promise<Store> {
  const location = config.store;
  switch (location.kind) {
    case 'sqlite': {
      mkdirSync(dirname(location.path), { recursive: true });
      const { openSqliteStore } = await import('../adapters/store/sqlite/index.js');
      return openSqliteStore({ path: location.path, batchWritesMax: config.sqliteBatchWritesMax });
    }
    case 'memory': {
      const { createMemoryStore } = await import('../adapters/store/memory/index.js');
      return createMemoryStore();
    }
    case 'dynamodb': {
      const dynamo = await import('../adapters/store/dynamodb/index.js');
      try {
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
  const dynamo = await import('../adapters/store/dynamodb/index.js');
  try {
    const { prefix } = dynamo.parseDynamoUrl(location.url);
    await dynamo.createTables({ url: location.url });
    return (Object.keys(dynamo.TABLES) as Array<keyof typeof dynamo.TABLES>).map((table) => dynamo.tableName(prefix, table));
  } catch (err) {
    throw err instanceof dynamo.DynamoUrlError ? new ConfigError(`PAYLOG_STORE (--store): ${err.message}`) : err;
  }
}
