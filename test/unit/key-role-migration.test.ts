import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { describe, expect, inject, it } from 'vitest';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { createTables, openDynamoStore, tableName } from '../../src/adapters/store/dynamodb/index.js';
import { openPostgresStore } from '../../src/adapters/store/postgres/index.js';
import { openSqliteStore } from '../../src/adapters/store/sqlite/index.js';
import { dynamoEndpoint, dynamoUrl, freshPrefix } from '../support/dynamodb.js';
import { freshDatabase } from '../support/postgres.js';

/** Keys made before roles existed keep working as merchant keys once the store is upgraded; no other role is storable. */

/** The PostgreSQL migration that added api_keys.role. */
const ROLE_MIGRATION = 4;

const OLD_KEY = { id: 'key_old', merchant_id: 'acme', name: null, secret_hash: 'e'.repeat(64), created_at: '2026-01-01T00:00:00.000Z', revoked_at: null };

describe('the key role migration', () => {
  it('SQLite: a key of a schema-4 file reads as a merchant key after the upgrade; the column takes only known roles', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'paylog-role-mig-'));
    const path = join(dir, 'paylog.db');
    try {
      await openSqliteStore({ path }).close();
      // Back to the schema before roles: api_keys without its role column, no later migration's
      // payments column (merchant_reference, migration 6) either, user_version 4.
      const db = new Database(path);
      db.exec(`
        DROP INDEX payments_by_merchant_reference;
        ALTER TABLE payments DROP COLUMN merchant_reference;
        CREATE TABLE api_keys_v4 (id TEXT PRIMARY KEY, merchant_id TEXT NOT NULL, name TEXT, secret_hash TEXT NOT NULL UNIQUE, created_at TEXT NOT NULL, revoked_at TEXT);
        DROP TABLE api_keys;
        ALTER TABLE api_keys_v4 RENAME TO api_keys;
        PRAGMA user_version = 4;`);
      db.prepare('INSERT INTO api_keys VALUES (@id, @merchant_id, @name, @secret_hash, @created_at, @revoked_at)').run(OLD_KEY);
      db.close();

      const store = openSqliteStore({ path });
      try {
        expect(await store.keys.findByHash(OLD_KEY.secret_hash)).toMatchObject({ id: 'key_old', merchantId: 'acme', role: 'merchant' });
      } finally {
        await store.close();
      }
      const raw = new Database(path);
      try {
        expect(() => raw.prepare("UPDATE api_keys SET role = 'admin'").run()).toThrow(/CHECK constraint/);
      } finally {
        raw.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('PostgreSQL: a key stored before the migration reads as a merchant key after it; the column takes only known roles', async () => {
    const url = await freshDatabase(inject('postgresUrl'), 'rolemig');
    await (await openPostgresStore({ url })).close();
    const raw = new pg.Client({ connectionString: url });
    await raw.connect();
    try {
      // Back to the schema before roles (migration 4), undoing the later ones too (5: merchant_reference;
      // 6 and 7: the functions a commit locks through and the gateway ledger records through).
      await raw.query('DROP INDEX payments_by_merchant_reference');
      await raw.query('ALTER TABLE payments DROP COLUMN merchant_reference');
      await raw.query('DROP FUNCTION paylog_lock_batch, paylog_record_calls');
      await raw.query('ALTER TABLE api_keys DROP COLUMN role');
      await raw.query('DELETE FROM schema_migrations WHERE version >= $1', [ROLE_MIGRATION]);
      await raw.query('INSERT INTO api_keys (id, merchant_id, name, secret_hash, created_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6)',
        [OLD_KEY.id, OLD_KEY.merchant_id, OLD_KEY.name, OLD_KEY.secret_hash, OLD_KEY.created_at, OLD_KEY.revoked_at]);
      const store = await openPostgresStore({ url });
      try {
        expect(await store.keys.findByHash(OLD_KEY.secret_hash)).toMatchObject({ id: 'key_old', merchantId: 'acme', role: 'merchant' });
      } finally {
        await store.close();
      }
      await expect(raw.query("UPDATE api_keys SET role = 'admin'")).rejects.toThrow(/check constraint/);
    } finally {
      await raw.end();
    }
  });

  it('DynamoDB: a key item without a role attribute reads as a merchant key; one with a role paylog does not know grants nothing', async () => {
    const prefix = freshPrefix('rolemig');
    const url = dynamoUrl(prefix);
    await createTables({ url });
    const doc = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1', endpoint: dynamoEndpoint() }));
    const table = tableName(prefix, 'apiKeys');
    const item = { id: OLD_KEY.id, merchantId: OLD_KEY.merchant_id, secretHash: OLD_KEY.secret_hash, createdAt: OLD_KEY.created_at };
    await doc.send(new PutCommand({ TableName: table, Item: item }));
    await doc.send(new PutCommand({ TableName: table, Item: { ...item, id: 'key_odd', secretHash: 'f'.repeat(64), role: 'admin' } }));
    const store = await openDynamoStore({ url });
    try {
      expect(await store.keys.get(OLD_KEY.id)).toMatchObject({ id: 'key_old', merchantId: 'acme', role: 'merchant' });
      await expect(store.keys.get('key_odd')).rejects.toThrow(/unknown role/);
    } finally {
      await store.close();
      doc.destroy();
    }
  });
});
