import { Worker } from 'node:worker_threads';
import { StoreUnavailableError } from '../../../ports/store.js';
import type { WriteOp } from './write-ops.js';
import { type FromWriteThread, type ToWriteThread, type WriteThreadData, fromWire } from './write-wire.js';

export const DEFAULT_BATCH_WRITES_MAX = 1024;

interface PendingWrite {
  op: WriteOp;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

/**
 * Group commit for this process's writes, run on a worker thread with its own connection.
 *
 * Writes queued in one turn of the event loop go to the thread as one batch: one
 * BEGIN IMMEDIATE transaction, one fsync'd COMMIT for every request in flight, each write
 * resolving only once that commit is durable (a failed commit rejects them all — never a
 * false success). One batch is in the thread at a time; writes arriving meanwhile form the
 * next one. better-sqlite3 is synchronous: on the serving thread each commit's SQL, WAL
 * write and fsync (and every WAL checkpoint) would stall all requests, which is what kept
 * intake latency high.
 */
export class SqliteWriteThread {
  private readonly worker: Worker;
  private queue: PendingWrite[] = [];
  private inFlight: PendingWrite[] | null = null;
  private scheduled = false;
  private closing = false;
  private dead: Error | null = null;
  private readonly exited: Promise<void>;

  constructor(data: WriteThreadData, private readonly batchWritesMax: number = DEFAULT_BATCH_WRITES_MAX) {
    // Node flags that only make sense for the main script (--input-type) would stop the thread.
    const execArgv = process.execArgv.filter((arg) => !arg.startsWith('--input-type'));
    this.worker = new Worker(workerUrl(), {
      workerData: data,
      execArgv,
      // The thread holds one batch at a time (a few megabytes at most); a small young
      // generation saves the server about 10 MB of resident memory under load.
      resourceLimits: { maxYoungGenerationSizeMb: 2, maxOldGenerationSizeMb: 128 },
    });
    // Only a batch in flight keeps the process alive (see send); an idle store must not.
    this.worker.unref();
    this.worker.on('message', (message: FromWriteThread) => this.settle(message));
    this.worker.on('error', (err) => this.fail(new StoreUnavailableError('SQLite write thread failed', { cause: err })));
    this.exited = new Promise((resolve) => this.worker.once('exit', () => {
      this.fail(new StoreUnavailableError(this.closing ? 'SQLite store is closed' : 'SQLite write thread stopped'));
      resolve();
    }));
  }

  /** Queues a write for the next group commit; resolves with its result once durable. */
  write(op: WriteOp): Promise<unknown> {
    if (this.closing || this.dead) return Promise.reject(this.dead ?? new StoreUnavailableError('SQLite store is closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ op, resolve, reject });
      if (this.scheduled || this.inFlight) return;
      this.scheduled = true;
      // setImmediate lets every write that is ready in this turn of the event loop join the batch.
      setImmediate(() => {
        this.scheduled = false;
        this.send();
      });
    });
  }

  /**
   * Null while writes are accepted; otherwise why not. A thread that died (it is never
   * restarted) makes the store unavailable, and readiness checks say so.
   */
  get failure(): Error | null {
    return this.dead ?? (this.closing ? new StoreUnavailableError('SQLite store is closed') : null);
  }

  /** Commits what was already queued, refuses later writes, and stops the thread. */
  async close(): Promise<void> {
    if (this.closing) return this.exited;
    this.closing = true;
    while (!this.dead && (this.inFlight || this.queue.length > 0)) {
      const answered = new Promise<void>((resolve) => this.worker.once('message', () => setImmediate(resolve)));
      this.send();
      await Promise.race([answered, this.exited]);
    }
    this.fail(new StoreUnavailableError('SQLite store is closed'));
    this.worker.ref();
    this.post({ kind: 'close' });
    return this.exited;
  }

  private send(): void {
    if (this.inFlight || this.queue.length === 0 || this.dead) return;
    // Writes beyond the cap wait for the next commit, in order.
    const batch = this.queue.splice(0, this.batchWritesMax);
    this.inFlight = batch;
    this.worker.ref();
    // A second batch in flight was measured: no faster, and a worse p99 (smaller batches).
    this.post({ kind: 'batch', ops: batch.map((p) => p.op) });
  }

  private settle(message: FromWriteThread): void {
    const batch = this.inFlight ?? [];
    this.inFlight = null;
    this.worker.unref();
    if (message.kind === 'failed') {
      const failure = fromWire(message.error);
      for (const pending of batch) pending.reject(failure);
    } else {
      batch.forEach((pending, i) => {
        const outcome = message.outcomes[i];
        if (outcome?.ok) pending.resolve(outcome.value);
        else pending.reject(outcome ? fromWire(outcome.error) : new StoreUnavailableError('SQLite write thread lost a write'));
      });
    }
    if (this.queue.length > 0 && !this.scheduled) this.send();
  }

  private post(message: ToWriteThread): void {
    this.worker.postMessage(message);
  }

  /** Rejects everything queued and in flight; later writes are refused. */
  private fail(err: Error): void {
    this.dead ??= err;
    const lost = [...(this.inFlight ?? []), ...this.queue];
    this.inFlight = null;
    this.queue = [];
    for (const pending of lost) pending.reject(this.dead);
  }
}

/**
 * The compiled worker beside this module. Under vitest this module runs from its .ts
 * source, which a worker thread cannot load; the build's copy is used then (`npm test`
 * builds first).
 */
function workerUrl(): URL {
  const here = import.meta.url;
  return here.endsWith('.ts') ? new URL('../../../../dist/adapters/store/sqlite/write-worker.js', here) : new URL('./write-worker.js', here);
}
