import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { describe, expect, inject, it } from 'vitest';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { Payment } from '../../src/core/payment.js';
import { createTables, openDynamoStore, tableName } from '../../src/adapters/store/dynamodb/index.js';
import { openPostgresStore } from '../../src/adapters/store/postgres/index.js';
import { openSqliteStore } from '../../src/adapters/store/sqlite/index.js';
import { payment } from '../contract/fixtures.js';
import { dynamoEndpoint, dynamoUrl, freshPrefix } from '../support/dynamodb.js';
import { freshDatabase } from '../support/postgres.js';

/** Payments stored before the reference filter existed are found by it once the store is upgraded. */

const OLD: Payment[] = [
  payment(1, { merchantReference: 'order_1' }),
  payment(2, { merchantReference: null }),
  payment(3, { merchantReference: 'order_1', status: 'declined' }),
  payment(4, { merchantId: 'globex', merchantReference: 'order_1' }),
];
const row = (p: Payment) => [p.id, p.merchantId, p.status, p.updatedAt, JSON.stringify(p)];
const ids = (payments: Payment[]) => payments.map((p) => p.id);

describe('the merchant reference migration', () => {
  it('SQLite: payments of a schema-5 file are found by reference after the upgrade', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'paylog-ref-mig-'));
    const path = join(dir, 'paylog.db');
    try {
      await openSqliteStore({ path }).close();
      // Back to the schema before the column: no index, no column, user_version 5.
      const db = new Database(path);
      db.exec('DROP INDEX payments_by_merchant_reference; ALTER TABLE payments DROP COLUMN merchant_reference; PRAGMA user_version = 5;');
      const insert = db.prepare('INSERT INTO payments (id, merchant_id, status, updated_at, body) VALUES (?, ?, ?, ?, ?)');
      for (const p of OLD) insert.run(...row(p));
      db.close();

      const store = openSqliteStore({ path });
      try {
        expect(ids((await store.payments.list({ merchantId: 'acme', limit: 10, merchantReference: 'order_1' })).data)).toEqual([OLD[2]?.id, OLD[0]?.id]);
        expect(ids((await store.payments.list({ merchantId: 'acme', limit: 10, merchantReference: 'order_1', status: 'declined' })).data)).toEqual([OLD[2]?.id]);
        expect(ids((await store.payments.list({ merchantId: 'globex', limit: 10, merchantReference: 'order_1' })).data)).toEqual([OLD[3]?.id]);
      } finally {
        await store.close();
      }
      const raw = new Database(path, { readonly: true });
      try {
        expect(raw.prepare('SELECT merchant_reference FROM payments WHERE id = ?').pluck().get(OLD[1]?.id)).toBeNull();
        // The lookup is served by the index, not a scan of the merchant's payments.
        const plan = raw.prepare("EXPLAIN QUERY PLAN SELECT body FROM payments WHERE merchant_id = 'acme' AND merchant_reference = 'order_1' ORDER BY id DESC LIMIT 11").all() as { detail: string }[];
        expect(plan.map((p) => p.detail).join('\n')).toMatch(/USING INDEX payments_by_merchant_reference \(merchant_id=\? AND merchant_reference=\?\)/);
      } finally {
        raw.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('PostgreSQL: payments stored before the migration are found by reference after it', async () => {
    const url = await freshDatabase(inject('postgresUrl'), 'refmig');
    await (await openPostgresStore({ url })).close();
    const raw = new pg.Client({ connectionString: url });
    await raw.connect();
    try {
      // The schema as a paylog before migration 5 (the merchant reference) left it: what 5 and the
      // migrations after it added is taken away, and they run again at the next open.
      await raw.query('DROP INDEX payments_by_merchant_reference');
      await raw.query('ALTER TABLE payments DROP COLUMN merchant_reference');
      await raw.query('DROP FUNCTION paylog_lock_batch, paylog_record_calls');
      await raw.query('DELETE FROM schema_migrations WHERE version >= 5');
      for (const p of OLD) await raw.query('INSERT INTO payments (id, merchant_id, status, updated_at, body) VALUES ($1, $2, $3, $4, $5)', row(p));
      const store = await openPostgresStore({ url });
      try {
        expect(ids((await store.payments.list({ merchantId: 'acme', limit: 10, merchantReference: 'order_1' })).data)).toEqual([OLD[2]?.id, OLD[0]?.id]);
        expect(ids((await store.payments.list({ merchantId: 'acme', limit: 10, merchantReference: 'order_1', status: 'declined' })).data)).toEqual([OLD[2]?.id]);
        expect(ids((await store.payments.list({ merchantId: 'globex', limit: 10, merchantReference: 'order_1' })).data)).toEqual([OLD[3]?.id]);
      } finally {
        await store.close();
      }
      const { rows } = await raw.query<{ ref: string | null }>('SELECT merchant_reference AS ref FROM payments WHERE id = $1', [OLD[1]?.id]);
      expect(rows[0]?.ref).toBeNull();
      const { rows: [index] } = await raw.query<{ def: string }>("SELECT indexdef AS def FROM pg_indexes WHERE indexname = 'payments_by_merchant_reference'");
      expect(index?.def).toMatch(/\(merchant_id, merchant_reference, id\)/);
    } finally {
      await raw.end();
    }
  });

  it('DynamoDB: paylog migrate gives payment items stored without the index key their key, and only those with a reference', async () => {
    const prefix = freshPrefix('refmig');
    const url = dynamoUrl(prefix);
    await createTables({ url });
    const doc = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1', endpoint: dynamoEndpoint() }));
    const table = tableName(prefix, 'payments');
    try {
      // Items as a paylog before the index wrote them: no merchantReference attribute.
      for (const p of OLD) {
        await doc.send(new PutCommand({ TableName: table, Item: {
          id: p.id, merchantId: p.merchantId, status: p.status, updatedAt: p.updatedAt, merchantStatus: `${p.merchantId}#${p.status}`, body: JSON.stringify(p),
        } }));
      }
      await createTables({ url });
      const { Item: without } = await doc.send(new GetCommand({ TableName: table, Key: { id: OLD[1]?.id } }));
      expect(without).not.toHaveProperty('merchantReference');
      const { Item: withRef } = await doc.send(new GetCommand({ TableName: table, Key: { id: OLD[3]?.id } }));
      expect(withRef?.merchantReference).toBe('globex#order_1');
      const store = await openDynamoStore({ url });
      try {
        expect(ids((await store.payments.list({ merchantId: 'acme', limit: 10, merchantReference: 'order_1' })).data)).toEqual([OLD[2]?.id, OLD[0]?.id]);
        expect(ids((await store.payments.list({ merchantId: 'acme', limit: 10, merchantReference: 'order_1', status: 'declined' })).data)).toEqual([OLD[2]?.id]);
        expect(ids((await store.payments.list({ merchantId: 'globex', limit: 10, merchantReference: 'order_1' })).data)).toEqual([OLD[3]?.id]);
      } finally {
        await store.close();
      }
    } finally {
      doc.destroy();
    }
  });
});
