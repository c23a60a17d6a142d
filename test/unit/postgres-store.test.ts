import pg from 'pg';
import { describe, expect, inject, it } from 'vitest';
import { openPostgresStore } from '../../src/adapters/store/postgres/index.js';
import { StoreUnavailableError } from '../../src/ports/store.js';
import { openStream } from '../contract/fixtures.js';
import { freePort } from '../support/process.js';
import { freshDatabase } from '../support/postgres.js';

const freshDb = (): Promise<string> => freshDatabase(inject('postgresUrl'), 'unit');

describe('PostgreSQL store', () => {
  it('refuses UPDATE and DELETE of journal and checkpoint rows, whoever sends them', async () => {
    const url = await freshDb();
    const store = await openPostgresStore({ url });
    const stream = await openStream(store, 'str_1');
    await store.journal.commit([{ records: stream.many(3) }]);
    await store.close();
    const raw = new pg.Client({ connectionString: url });
    await raw.connect();
    try {
      await expect(raw.query("UPDATE journal SET body = 'x' WHERE seq = 2")).rejects.toThrow(/append-only/);
      await expect(raw.query('DELETE FROM journal WHERE seq = 3')).rejects.toThrow(/append-only/);
      await expect(raw.query('DELETE FROM checkpoints')).resolves.toBeDefined(); // no rows: nothing to refuse
      expect((await raw.query('SELECT count(*)::int AS n FROM journal')).rows[0].n).toBe(3);
    } finally {
      await raw.end();
    }
  });

  it('migrates once when five instances open a new database at the same time, and reopening is a no-op', async () => {
    const url = await freshDb();
    const stores = await Promise.all(Array.from({ length: 5 }, () => openPostgresStore({ url, poolMax: 2 })));
    await Promise.all(stores.map((s) => s.close()));
    const again = await openPostgresStore({ url });
    await again.close();
    const raw = new pg.Client({ connectionString: url });
    await raw.connect();
    const { rows } = await raw.query('SELECT version FROM schema_migrations ORDER BY version');
    await raw.end();
    expect(rows.map((r) => r.version)).toEqual([1]);
  });

  it('commits a 500-record batch in one transaction and reads it back in order', async () => {
    const store = await openPostgresStore({ url: await freshDb() });
    try {
      const stream = await openStream(store, 'str_big');
      const records = stream.many(500, { resource: 'txn_big', data: { note: 'naïve ✓', n: 1 } });
      await store.journal.commit([{ records }]);
      expect(await store.journal.head('str_big')).toEqual({ seq: 500, hash: records[499]!.hash });
      expect(await store.journal.readStream('str_big', 1, 1000)).toEqual(records);
      expect(await store.journal.readHashes('str_big', 250, 3)).toEqual(records.slice(249, 252).map((r) => r.hash));
    } finally {
      await store.close();
    }
  });

  it('two instances on one database see each other’s writes', async () => {
    const url = await freshDb();
    const [a, b] = await Promise.all([openPostgresStore({ url }), openPostgresStore({ url })]);
    try {
      const stream = await openStream(a!, 'str_a');
      await a!.journal.commit([{ records: stream.many(2) }]);
      expect((await b!.journal.listStreams()).map((s) => s.id)).toEqual(['str_a']);
      expect(await b!.journal.head('str_a')).toMatchObject({ seq: 2 });
    } finally {
      await a!.close();
      await b!.close();
    }
  });

  it('an unreachable server is a StoreUnavailableError, without credentials or SQL in the message', async () => {
    const port = await freePort();
    const failure = await openPostgresStore({ url: `postgres://paylog:s3cret@127.0.0.1:${port}/nowhere`, connectTimeoutMs: 500 }).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(StoreUnavailableError);
    expect(String((failure as Error).message)).not.toMatch(/s3cret|SELECT|CREATE/);
  });
});
