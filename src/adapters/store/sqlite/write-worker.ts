/**
 * The SQLite write thread: its own connection to the file, running every group commit of the
 * request path. A commit's fsync (and WAL checkpoints) then block this thread, not the
 * event loop that serves requests.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openDatabase } from './connection.js';
import { SqliteWrites } from './write-ops.js';
import { type FromWriteThread, type ToWriteThread, type WriteOutcome, type WriteThreadData, toWire } from './write-wire.js';

const port = parentPort;
if (!port) throw new Error('write-worker runs as a worker thread');
const { path, busyTimeoutMs } = workerData as WriteThreadData;
const db = openDatabase(path, busyTimeoutMs);
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
    begin.run();
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

port.on('message', (message: ToWriteThread) => {
  if (message.kind === 'close') {
    db.close();
    port.close();
    return;
  }
  port.postMessage(commitBatch(message));
});
