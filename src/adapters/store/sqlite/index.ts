import type Database from 'better-sqlite3';
import { type Store, StoreUnavailableError } from '../../../ports/store.js';
import { DEFAULT_BUSY_TIMEOUT_MS, SqliteConnection, openDatabase } from './connection.js';
import { translateError } from './errors.js';
import { SqliteIdempotencyStore } from './idempotency.js';
import { SqliteJournalStore } from './journal.js';
import { SqliteJournalTreeStore } from './journal-tree.js';
import { SqliteKeyStore } from './keys.js';
import { SqliteGatewayLedger } from './ledger.js';
import { SqlitePaymentStore } from './payments.js';
import { SCHEMA_VERSION, migrate } from './schema.js';
import { DEFAULT_BATCH_WRITES_MAX, SqliteWriteThread } from './write-thread.js';

export interface SqliteStoreOptions {
  /** The database file; created with its schema if missing. */
  path: string;
  /** How long a write waits for another connection's lock before failing. Default 5000. */
  busyTimeoutMs?: number;
  /** Writes in one group commit; 1 commits each write alone. Default 1024. */
  batchWritesMax?: number;
  /**
   * Reads only (`paylog verify` and its threads): no write thread is started, every write is
   * refused, and the file is neither created nor migrated, so it must exist at this paylog's
   * schema version. Default false.
   */
  readOnly?: boolean;
}

/** Opens (creating or upgrading) a SQLite file as a Store. Several processes may open the same file. */
export function openSqliteStore(options: SqliteStoreOptions): Store {
  const busyTimeoutMs = options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
  const batchWritesMax = options.batchWritesMax ?? DEFAULT_BATCH_WRITES_MAX;
  const readOnly = options.readOnly ?? false;
  if (!Number.isSafeInteger(batchWritesMax) || batchWritesMax < 1) throw new RangeError('batchWritesMax must be a positive integer');
  const db = openDatabase(options.path, busyTimeoutMs, readOnly);
  try {
    if (readOnly) assertCurrentSchema(db, options.path);
    else migrate(db);
  } catch (err) {
    db.close();
    throw translateError(err);
  }
  // The write thread opens the file once the schema exists (its statements are prepared at start).
  const conn = new SqliteConnection(db, readOnly ? null : new SqliteWriteThread({ path: options.path, busyTimeoutMs }, batchWritesMax));
  try {
    // Statements are prepared in these constructors, so the schema must exist first.
    const payments = new SqlitePaymentStore(conn);
    const idempotency = new SqliteIdempotencyStore(conn);
    // Reads a page of the file: a bare SELECT 1 would succeed without touching the database at all.
    const pingStmt = db.prepare('SELECT 1 FROM sqlite_schema LIMIT 1');
    return {
      kind: 'sqlite',
      journal: new SqliteJournalStore(conn),
      journalTree: new SqliteJournalTreeStore(conn),
      payments,
      idempotency,
      keys: new SqliteKeyStore(conn),
      gatewayLedger: new SqliteGatewayLedger(conn),
      // Ready only if both connections are: reads here, writes on the write thread (none when read-only).
      ping: () => conn.run(() => {
        const failure = readOnly ? null : conn.writeFailure;
        if (failure) throw failure;
        pingStmt.get();
      }),
      close: () => conn.close(),
    };
  } catch (err) {
    void conn.close();
    throw translateError(err);
  }
}

/** A read-only open cannot migrate: the file must already have this paylog's schema. */
function assertCurrentSchema(db: Database.Database, path: string): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version === SCHEMA_VERSION) return;
  throw new StoreUnavailableError(version > SCHEMA_VERSION
    ? `the SQLite file ${path} has schema version ${version}, newer than this paylog's ${SCHEMA_VERSION}; upgrade paylog`
    : `the SQLite file ${path} has schema version ${version}, not this paylog's ${SCHEMA_VERSION}, and is opened read-only; run paylog migrate first`);
}
