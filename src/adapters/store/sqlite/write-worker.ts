/**
 * The SQLite write thread: its own connection to the file, running every group commit of the
 * request path. A commit's fsync (and WAL checkpoints) then block this thread, not the
 * event loop that serves requests.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { openDatabase } from './connection.js';
import { SqliteWrites } from './write-ops.js';
import { type FromWriteThread, type ToWriteThread, type WriteOutcome, type WriteThreadData, toWire } from './write-wire.js';

const port = parentPort;
if (!port) throw new Error('write-worker runs as a worker thread');
const { path, busyTimeoutMs } = workerData as WriteThreadData;
const db = openDatabase(path, busyTimeoutMs);
// This thread waits for the write lock itself (takeWriteLock): SQLite's own busy handler
// sleeps 1, 2, 5, 10… ms between tries, which is most of a commit's time when two
// processes share the file.
db.pragma('busy_timeout = 0');
const writes = new SqliteWrites(db);
const begin = db.prepare('BEGIN IMMEDIATE');
const commit = db.prepare('COMMIT');
const rollback = db.prepare('ROLLBACK');

/**
 * One transaction for the whole batch; a failed op undoes only its own changes (see
 * SqliteWrites.run). IMMEDIATE takes the write lock before any read: writers in other
 * processes queue behind it.
 */
function commitBatch(ops: ToWriteThread & { kind: 'batch' }): FromWriteThread {
  const outcomes: WriteOutcome[] = [];
  try {
    takeWriteLock();
    for (const op of ops.ops) {
      try {
        outcomes.push({ ok: true, value: writes.run(op) });
      } catch (err) {
        // Some errors (SQLITE_FULL, SQLITE_IOERR) roll the whole transaction back, not just the op.
        if (!db.inTransaction) throw err;
        outcomes.push({ ok: false, error: toWire(err) });
      }
    }
    commit.run();
    return { kind: 'done', outcomes };
  } catch (err) {
    try {
      if (db.inTransaction) rollback.run();
    } catch {
      // The batch is failed either way; the handle reports its state on the next use.
    }
    return { kind: 'failed', error: toWire(err) };
  }
}

/** Shortest and longest pause between tries for the write lock (ms). */
const LOCK_RETRY_MIN_MS = 0.05;
const LOCK_RETRY_MAX_MS = 2;
const pause = new Int32Array(new SharedArrayBuffer(4));

/**
 * BEGIN IMMEDIATE, retried while another connection holds the write lock, for up to the busy
 * timeout: pauses start at 50 µs and double to 2 ms (Atomics.wait blocks only this thread).
 */
function takeWriteLock(): void {
  const deadline = performance.now() + busyTimeoutMs;
  for (let waitMs = LOCK_RETRY_MIN_MS; ; waitMs = Math.min(LOCK_RETRY_MAX_MS, waitMs * 2)) {
    try {
      begin.run();
      return;
    } catch (err) {
      if (!isBusy(err) || performance.now() + waitMs > deadline) throw err;
      Atomics.wait(pause, 0, 0, waitMs);
    }
  }
}

function isBusy(err: unknown): boolean {
  return err instanceof Database.SqliteError && (err.code === 'SQLITE_BUSY' || err.code.startsWith('SQLITE_BUSY_'));
}

port.on('message', (message: ToWriteThread) => {
  if (message.kind === 'close') {
    db.close();
    port.close();
    return;
  }
  port.postMessage(commitBatch(message));
});
