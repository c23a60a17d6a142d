import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { READ_ONLY_MESSAGE } from '../../src/adapters/store/sqlite/connection.js';
import { openSqliteStore } from '../../src/adapters/store/sqlite/index.js';
import { SCHEMA_VERSION } from '../../src/adapters/store/sqlite/schema.js';
import { type Store, StoreUnavailableError } from '../../src/ports/store.js';
import { openStream, streamInfo } from '../contract/fixtures.js';

/** Every write thread started, counted where the store starts it (structural, not timed). */
const writeThreads = vi.hoisted(() => ({ started: 0 }));
vi.mock('../../src/adapters/store/sqlite/write-thread.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../src/adapters/store/sqlite/write-thread.js')>();
  class CountedWriteThread extends original.SqliteWriteThread {
    constructor(...args: ConstructorParameters<typeof original.SqliteWriteThread>) {
      super(...args);
      writeThreads.started++;
    }
  }
  return { ...original, SqliteWriteThread: CountedWriteThread };
});

/*
 * A SQLite store opened read-only (what `paylog verify` and its threads open): it starts no
 * write thread, reads what a writer committed, and refuses every write plainly — through the
 * store, and at the SQL level on its connection.
 */
describe('openSqliteStore({ readOnly: true })', () => {
  let dir: string;
  let path: string;
  const opened: Store[] = [];
  const open = (readOnly: boolean): Store => {
    const store = openSqliteStore({ path, readOnly });
    opened.push(store);
    return store;
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'paylog-sqlite-ro-'));
    path = join(dir, 'paylog.db');
    writeThreads.started = 0;
  });
  afterEach(async () => {
    for (const store of opened.splice(0)) await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('starts no write thread, reads what a writer committed, and is ready', async () => {
    const writer = open(false);
    expect(writeThreads.started).toBe(1);
    const stream = await openStream(writer, 'str_ro');
    await writer.journal.commit([{ records: stream.many(3) }]);

    const reader = open(true);
    expect(writeThreads.started).toBe(1);
    expect((await reader.journal.readStream('str_ro', 1, 10)).map((r) => r.seq)).toEqual([1, 2, 3]);
    expect((await reader.journal.listStreams()).map((s) => s.id)).toEqual(['str_ro']);
    await expect(reader.ping()).resolves.toBeUndefined();
  });

  it('refuses every write with one plain message, and SQLite refuses writes on its connection', async () => {
    await open(false).journal.createStream(streamInfo('str_ro'));
    const reader = open(true);
    const refused = [
      reader.journal.createStream(streamInfo('str_ro3')),
      reader.journal.closeStream('str_ro', 'stopped', 'str_ro', new Date(0).toISOString()),
      openStream(reader, 'str_ro2'),
      reader.idempotency.release('acme', 'k'),
    ];
    for (const write of refused) {
      const err = await write.then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(StoreUnavailableError);
      expect((err as Error).message).toBe(READ_ONLY_MESSAGE);
    }
    // A write made on its own connection (the adapter's rare synchronous writes, such as a new key) is refused by SQLite.
    const key = { id: 'key_ro', merchantId: 'acme', role: 'merchant', name: null, secretHash: 'h'.repeat(64), createdAt: new Date(0).toISOString(), revokedAt: null } as const;
    await expect(reader.keys.create(key)).rejects.toThrow(new StoreUnavailableError(READ_ONLY_MESSAGE));
    expect(await reader.keys.list()).toEqual([]);
  });

  it('neither creates nor migrates a file: a missing one, or one of another schema version, stops the open', () => {
    expect(() => open(true)).toThrow(StoreUnavailableError);
    expect(() => open(true)).toThrow(/opened read-only, it must exist/);
    const db = new Database(path);
    db.pragma('user_version = 1');
    db.close();
    expect(() => open(true)).toThrow(new RegExp(`schema version 1, not this paylog's ${SCHEMA_VERSION}, and is opened read-only; run paylog migrate`));
    expect(writeThreads.started).toBe(0);
  });
});
