import type { Store } from '../../../ports/store.js';
import { DEFAULT_BUSY_TIMEOUT_MS, SqliteConnection, openDatabase } from './connection.js';
import { translateError } from './errors.js';
import { SqliteIdempotencyStore } from './idempotency.js';
import { SqliteJournalStore } from './journal.js';
import { SqliteJournalTreeStore } from './journal-tree.js';
import { SqliteKeyStore } from './keys.js';
import { SqliteGatewayLedger } from './ledger.js';
import { SqlitePaymentStore } from './payments.js';
import { migrate } from './schema.js';
import { DEFAULT_BATCH_WRITES_MAX, SqliteWriteThread } from './write-thread.js';

export interface SqliteStoreOptions {
  /** The database file; created with its schema if missing. */
  path: string;
  /** How long a write waits for another connection's lock before failing. Default 5000. */
  busyTimeoutMs?: number;
  /** Writes in one group commit; 1 commits each write alone. Default 1024. */
  batchWritesMax?: number;
}

/** Opens (creating or upgrading) a SQLite file as a Store. Several processes may open the same file. */
export function openSqliteStore(options: SqliteStoreOptions): Store {
  const busyTimeoutMs = options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
  const batchWritesMax = options.batchWritesMax ?? DEFAULT_BATCH_WRITES_MAX;
  if (!Number.isSafeInteger(batchWritesMax) || batchWritesMax < 1) throw new RangeError('batchWritesMax must be a positive integer');
  const db = openDatabase(options.path, busyTimeoutMs);
  try {
    migrate(db);
  } catch (err) {
    db.close();
    throw translateError(err);
  }
  // The write thread opens the file once the schema exists (its statements are prepared at start).
  const conn = new SqliteConnection(db, new SqliteWriteThread({ path: options.path, busyTimeoutMs }, batchWritesMax));
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
      // Ready only if both connections are: reads here, writes on the write thread.
      ping: () => conn.run(() => {
        const failure = conn.writeFailure;
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
