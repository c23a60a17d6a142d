import { chmodSync, closeSync, openSync, statSync } from 'node:fs';
import Database from 'better-sqlite3';
import { StoreUnavailableError } from '../../../ports/store.js';
import { translateError } from './errors.js';
import type { WriteOp } from './write-ops.js';
import type { SqliteWriteThread } from './write-thread.js';

export const DEFAULT_BUSY_TIMEOUT_MS = 5_000;

/**
 * Opens the file with the pragmas every connection needs. Several processes (a server, a CLI
 * command) may share the file: WAL lets readers run beside the one writer, and busy_timeout
 * makes a writer wait for the lock instead of failing at once.
 */
export function openDatabase(path: string, busyTimeoutMs: number = DEFAULT_BUSY_TIMEOUT_MS, readOnly = false): Database.Database {
  if (!Number.isSafeInteger(busyTimeoutMs) || busyTimeoutMs < 0) {
    throw new RangeError('busyTimeoutMs must be a non-negative integer');
  }
  makePrivate(path, !readOnly);
  let db: Database.Database;
  try {
    db = new Database(path, { timeout: busyTimeoutMs, fileMustExist: readOnly });
  } catch (err) {
    // A missing directory or unreadable file surfaces as a TypeError or SqliteError, depending on where it fails.
    throw new StoreUnavailableError(`cannot open the SQLite file ${path}${readOnly ? ' (opened read-only, it must exist)' : ''}`, { cause: err });
  }
  try {
    db.pragma(`busy_timeout = ${busyTimeoutMs}`);
    if (readOnly) {
      // Not SQLITE_OPEN_READONLY: such a connection cannot create the -shm a WAL file needs once the
      // last writer closed it. query_only refuses every write at the SQL level instead; a paylog file
      // is already in WAL mode, which the connection reads from its header.
      db.pragma('query_only = ON');
      return db;
    }
    db.pragma('journal_mode = WAL');
    // FULL fsyncs the WAL on every commit: a record reported durable survives power loss.
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    return db;
  } catch (err) {
    db.close();
    throw translateError(err);
  }
}

/**
 * Makes the database file, before SQLite opens it, and its -wal and -shm readable by the owner
 * only, whatever the umask. SQLite creates -wal and -shm with the database file's mode, so a
 * database created here 0600 gets private companions; files an older paylog created under a
 * loose umask are tightened (group and others' bits removed): they are paylog's own files and
 * hold every payment. A file paylog may not chmod (another owner's) stops the open.
 */
function makePrivate(path: string, create: boolean): void {
  if (path === '' || path === ':memory:' || path.startsWith('file:')) return;
  try {
    if (create) closeSync(openSync(path, 'wx', 0o600));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new StoreUnavailableError(`cannot create the SQLite file ${path}`, { cause: err });
  }
  for (const file of [path, `${path}-wal`, `${path}-shm`]) {
    let mode: number;
    try {
      mode = statSync(file).mode;
    } catch {
      continue;
    }
    if ((mode & 0o077) === 0) continue;
    try {
      chmodSync(file, mode & 0o700);
    } catch (err) {
      throw new StoreUnavailableError(`${file} is readable by group or others (mode 0${(mode & 0o777).toString(8)}) and paylog cannot change that: run chmod 600 ${file}`, { cause: err });
    }
  }
}

/** What a read-only connection answers every write with. */
export const READ_ONLY_MESSAGE = 'SQLite store opened read-only (as paylog verify opens it): it takes no writes';

/**
 * The open handle for reads and rare writes, the closed flag, and the write thread that
 * group-commits the request path's writes (see SqliteWriteThread). Without a write thread the
 * connection is read-only: every write is refused with READ_ONLY_MESSAGE.
 */
export class SqliteConnection {
  private closed = false;

  constructor(readonly db: Database.Database, private readonly writes: SqliteWriteThread | null) {}

  /** Runs synchronous work (better-sqlite3 is synchronous) and hands the result back as the port's Promise. */
  run<T>(work: () => T): Promise<T> {
    if (this.closed) return Promise.reject(new StoreUnavailableError('SQLite store is closed'));
    try {
      return Promise.resolve(work());
    } catch (err) {
      // A rare write made here on a read-only connection: refused by query_only, said as plainly as write()'s.
      if (!this.writes && err instanceof Database.SqliteError && err.code === 'SQLITE_READONLY') {
        return Promise.reject(new StoreUnavailableError(READ_ONLY_MESSAGE, { cause: err }));
      }
      return Promise.reject(translateError(err));
    }
  }

  /** Why writes are refused (the write thread died, the store is closed or read-only), or null. */
  get writeFailure(): Error | null {
    if (this.closed) return new StoreUnavailableError('SQLite store is closed');
    return this.writes ? this.writes.failure : new StoreUnavailableError(READ_ONLY_MESSAGE);
  }

  /** Joins the next group commit on the write thread; resolves once durable. */
  write(op: WriteOp): Promise<unknown> {
    if (this.closed) return Promise.reject(new StoreUnavailableError('SQLite store is closed'));
    if (!this.writes) return Promise.reject(new StoreUnavailableError(READ_ONLY_MESSAGE));
    return this.writes.write(op);
  }

  /** Lets the commit in flight finish, then closes both connections. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.writes?.close();
    } finally {
      this.db.close();
    }
  }
}
