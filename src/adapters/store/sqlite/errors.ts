import Database from 'better-sqlite3';
import { StoreUnavailableError, StreamConflictError } from '../../../ports/store.js';

/**
 * Turns a driver error into a port error at the adapter edge. The message names the SQLite
 * result code only: driver messages can quote schema or SQL, which must never reach a response.
 */
export function translateError(err: unknown): unknown {
  if (err instanceof StoreUnavailableError || err instanceof StreamConflictError) return err;
  if (err instanceof Database.SqliteError) {
    return new StoreUnavailableError(`SQLite store failed (${err.code})`, { cause: err });
  }
  // better-sqlite3 reports use of a closed handle as a TypeError, not a SqliteError.
  if (err instanceof TypeError && /database connection is not open/i.test(err.message)) {
    return new StoreUnavailableError('SQLite store is closed', { cause: err });
  }
  return err;
}

export function isConstraintError(err: unknown, code: string): boolean {
  return err instanceof Database.SqliteError && err.code === code;
}
