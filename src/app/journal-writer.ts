import { type AuditRecord, GENESIS_PREV, type RecordDraft, sealRecord } from '../core/audit-record.js';
import { rfc3339 } from '../core/time.js';
import type { Clock } from '../ports/clock.js';
import type { CommitUnit, JournalStore } from '../ports/journal-store.js';
import type { Payment } from '../core/payment.js';
import type { IdempotencyUpdate } from '../ports/idempotency-store.js';
import { PaylogError } from '../core/errors.js';

/** What a use case appends: records, and the read-model changes that must land with them. */
export interface AppendUnit {
  records: RecordDraft[];
  payment?: Payment;
  /** A function is called with the unit's sealed records, so a stored response can point at them. */
  idempotency?: IdempotencyUpdate | ((sealed: AuditRecord[]) => IdempotencyUpdate);
}

export interface JournalWriterOptions {
  journal: string;
  streamId: string;
  writer: string;
  /** Records in one group commit; larger batches wait for the next one. */
  batchRecordsMax: number;
  /** Records waiting to be committed before appends are refused (back-pressure). */
  queueRecordsMax: number;
}

export const DEFAULT_BATCH_RECORDS_MAX = 512;
export const DEFAULT_QUEUE_RECORDS_MAX = 50_000;

interface Pending {
  unit: AppendUnit;
  resolve: (records: AuditRecord[]) => void;
  reject: (err: unknown) => void;
}

/**
 * The single writer of one stream. Appends from concurrent requests queue here and
 * are committed together, one store transaction per batch (group commit); every
 * waiter resolves only when its batch is durable, and every waiter of a failed batch
 * is rejected — never a false success.
 */
export class JournalWriter {
  private readonly queue: Pending[] = [];
  private queuedRecords = 0;
  private seq = 0;
  private prev = GENESIS_PREV;
  private flushing = false;
  private scheduled = false;
  private state: 'new' | 'open' | 'stopping' | 'stopped' = 'new';
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly store: JournalStore,
    private readonly clock: Clock,
    private readonly options: JournalWriterOptions,
  ) {}

  get streamId(): string {
    return this.options.streamId;
  }

  get journal(): string {
    return this.options.journal;
  }

  /** Registers the stream and makes `journal.started` durable. */
  async start(started: RecordDraft): Promise<AuditRecord> {
    if (this.state !== 'new') throw new Error('journal writer already started');
    await this.store.createStream({
      id: this.options.streamId,
      journal: this.options.journal,
      startedAt: rfc3339(this.clock.now()),
      writer: this.options.writer,
    });
    this.state = 'open';
    const [record] = await this.append({ records: [started] });
    return record as AuditRecord;
  }

  /** Queues a unit for the next group commit; resolves with its sealed records once durable. */
  append(unit: AppendUnit): Promise<AuditRecord[]> {
    if (this.state !== 'open') return Promise.reject(new PaylogError('store_unavailable', { message: 'The journal is closed.' }));
    if (this.queuedRecords + unit.records.length > this.options.queueRecordsMax) {
      return Promise.reject(new PaylogError('overloaded'));
    }
    return new Promise<AuditRecord[]>((resolve, reject) => {
      this.queue.push({ unit, resolve, reject });
      this.queuedRecords += unit.records.length;
      this.schedule();
    });
  }

  /** Appends the final record, waits for everything queued, and refuses further appends. */
  async stop(stopped: RecordDraft): Promise<void> {
    if (this.state !== 'open') return;
    const last = this.append({ records: [stopped] });
    this.state = 'stopping';
    try {
      await last;
    } finally {
      await this.idle();
      this.state = 'stopped';
    }
  }

  /** Resolves when nothing is queued or being committed. */
  idle(): Promise<void> {
    if (!this.flushing && !this.scheduled && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private schedule(): void {
    if (this.scheduled || this.flushing) return;
    this.scheduled = true;
    // setImmediate lets every request that is ready in this turn of the event loop join the batch.
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  private async flush(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (this.queue.length > 0) await this.commitNextBatch();
    } finally {
      this.flushing = false;
      if (this.queue.length > 0) this.schedule();
      else for (const wake of this.idleWaiters.splice(0)) wake();
    }
  }

  private async commitNextBatch(): Promise<void> {
    const batch: Pending[] = [];
    let records = 0;
    while (this.queue.length > 0) {
      const next = this.queue[0] as Pending;
      if (batch.length > 0 && records + next.unit.records.length > this.options.batchRecordsMax) break;
      batch.push(this.queue.shift() as Pending);
      records += next.unit.records.length;
    }
    this.queuedRecords -= records;

    const startSeq = this.seq;
    const startPrev = this.prev;
    const ts = rfc3339(this.clock.now());
    const sealed: AuditRecord[][] = [];
    const units: CommitUnit[] = batch.map(({ unit }) => {
      const own = unit.records.map((draft) => this.seal(draft, ts));
      sealed.push(own);
      const commit: CommitUnit = { records: own };
      if (unit.payment) commit.payment = withAuditPointer(unit.payment, own);
      if (unit.idempotency) commit.idempotency = typeof unit.idempotency === 'function' ? unit.idempotency(own) : unit.idempotency;
      return commit;
    });

    try {
      await this.store.commit(units);
    } catch (err) {
      // Nothing of the batch is durable: rewind to the last durable head, reading it back
      // from the store in case the failure happened after the store had committed.
      await this.rewind(startSeq, startPrev);
      const failure = err instanceof PaylogError ? err : new PaylogError('store_unavailable', { cause: err });
      for (const pending of batch) pending.reject(failure);
      return;
    }
    batch.forEach((pending, i) => pending.resolve(sealed[i] as AuditRecord[]));
  }

  private seal(draft: RecordDraft, ts: string): AuditRecord {
    const record = sealRecord(draft, {
      journal: this.options.journal,
      stream: this.options.streamId,
      seq: this.seq + 1,
      prev: this.prev,
      ts,
    });
    this.seq = record.seq;
    this.prev = record.hash;
    return record;
  }

  private async rewind(seq: number, prev: string): Promise<void> {
    try {
      const head = await this.store.head(this.options.streamId);
      this.seq = head?.seq ?? seq;
      this.prev = head?.hash ?? prev;
    } catch {
      this.seq = seq;
      this.prev = prev;
    }
  }
}

/** A payment's `audit` field points at the last of its records in the same commit. */
export function withAuditPointer(payment: Payment, records: AuditRecord[]): Payment {
  const mine = records.filter((r) => r.resource === payment.id);
  const last = mine[mine.length - 1];
  return last ? { ...payment, audit: { stream: last.stream, seq: last.seq, hash: last.hash } } : payment;
}
