import { inject } from 'vitest';

/**
 * Every store a test app can run on, and the settings that give it a fresh, empty one on the
 * run's single PostgreSQL cluster and DynamoDB Local (test/support/*-global.ts).
 */
export type StoreKind = 'memory' | 'sqlite' | 'postgres' | 'dynamodb';
export const EVERY_STORE: readonly StoreKind[] = ['memory', 'sqlite', 'postgres', 'dynamodb'];

/** PAYLOG_STORE (and what it needs) for a new store of `kind`; `name` (letters, digits, _) tells its database or tables apart. */
export async function freshStoreSettings(kind: StoreKind, name: string): Promise<Record<string, string>> {
  switch (kind) {
    case 'memory':
      return { PAYLOG_STORE: 'memory:' };
    case 'sqlite':
      // An empty PAYLOG_STORE falls back to the default, a SQLite file in the test's data dir.
      return { PAYLOG_STORE: '' };
    case 'postgres': {
      const { freshDatabase } = await import('./postgres.js');
      return { PAYLOG_STORE: await freshDatabase(inject('postgresUrl'), name) };
    }
    case 'dynamodb': {
      // Imported only here: it sets DynamoDB Local's credentials in this process's environment.
      const { DYNAMO_ENV, dynamoUrl, freshPrefix } = await import('./dynamodb.js');
      const { createTables } = await import('../../src/adapters/store/dynamodb/index.js');
      const url = dynamoUrl(freshPrefix(name));
      await createTables({ url });
      return { ...DYNAMO_ENV, PAYLOG_STORE: url };
    }
  }
}
