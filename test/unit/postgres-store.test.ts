import pg from 'pg';
import { describe, expect, inject, it } from 'vitest';
import { SCHEMA_VERSION } from '../../src/adapters/store/postgres/schema.js';
import { openPostgresStore } from '../../src/adapters/store/postgres/index.js';
import { StoreUnavailableError } from '../../src/ports/store.js';
import { at, claim, openStream, streamInfo } from '../contract/fixtures.js';
import { freePort } from '../support/process.js';
import { freshDatabase } from '../support/postgres.js';

const freshDb = (): Promise<string> => freshDatabase(inject('postgresUrl'), 'unit');

describe('PostgreSQL store', () => {
  it('refuses UPDATE, DELETE and TRUNCATE of journal and checkpoint rows, whoever sends them', async () => {
    const url = await freshDb();
    const store = await openPostgresStore({ url });
    const stream = await openStream(store, 'str_1');
    const checkpoint = { stream: 'str_1', size: 3, root: 'ab'.repeat(32), note: 'note', createdAt: at(3) };
    await store.journal.commit([{ records: stream.many(3), checkpoint }]);
    await store.close();
    const raw = new pg.Client({ connectionString: url });
    await raw.connect();
    try {
      await expect(raw.query("UPDATE journal SET body = 'x' WHERE seq = 2")).rejects.toThrow(/journal is append-only/);
      await expect(raw.query('DELETE FROM journal WHERE seq = 3')).rejects.toThrow(/journal is append-only/);
      await expect(raw.query('TRUNCATE journal, checkpoints')).rejects.toThrow(/append-only/);
      await expect(raw.query("UPDATE checkpoints SET note = 'forged'")).rejects.toThrow(/checkpoints is append-only/);
      await expect(raw.query('DELETE FROM checkpoints')).rejects.toThrow(/checkpoints is append-only/);
      expect((await raw.query('SELECT count(*)::int AS n FROM journal')).rows[0].n).toBe(3);
      expect((await raw.query('SELECT note FROM checkpoints')).rows).toEqual([{ note: 'note' }]);
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
    expect(rows.map((r) => r.version)).toEqual(Array.from({ length: SCHEMA_VERSION }, (_, i) => i + 1));
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

  it('lets exactly one claim win when two instances race on one idempotency key', async () => {
    const url = await freshDb();
    const [a, b] = await Promise.all([openPostgresStore({ url, poolMax: 4 }), openPostgresStore({ url, poolMax: 4 })]);
    try {
      const results = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? a! : b!).idempotency.claim(claim(0))));
      expect(results.filter((r) => r.kind === 'claimed')).toHaveLength(1);
      expect(results.filter((r) => r.kind === 'in_flight')).toHaveLength(39);
    } finally {
      await a!.close();
      await b!.close();
    }
  });

  it('orders text bytewise whatever the database locale, like the other stores', async () => {
    const store = await openPostgresStore({ url: await freshDb() });
    try {
      for (const id of ['str_b', 'str_B', 'str_a', 'str_A']) await store.journal.createStream(streamInfo(id));
      expect((await store.journal.listStreams()).map((s) => s.id)).toEqual(['str_A', 'str_B', 'str_a', 'str_b']);
    } finally {
      await store.close();
    }
  });

  it('close lets a call already running finish; every later call is a StoreUnavailableError', async () => {
    const store = await openPostgresStore({ url: await freshDb() });
    const racing = store.journal.listStreams();
    await store.close();
    await expect(racing).resolves.toEqual([]);
    await expect(store.ping()).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(store.idempotency.claim(claim(0))).rejects.toBeInstanceOf(StoreUnavailableError);
  });

  it('an unreachable server is a StoreUnavailableError, without credentials or SQL in the message', async () => {
    const port = await freePort();
    const failure = await openPostgresStore({ url: `postgres://paylog:s3cret@127.0.0.1:${port}/nowhere`, connectTimeoutMs: 500 }).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(StoreUnavailableError);
    expect(String((failure as Error).message)).not.toMatch(/s3cret|SELECT|CREATE/);
  });
});
