import { type AuditRecord, GENESIS_PREV, type RecordDraft, sealRecord } from '../core/audit-record.js';
import { checkpointOrigin, signCheckpoint } from '../core/checkpoint.js';
import { PaylogError } from '../core/errors.js';
import { MerkleFrontier } from '../core/merkle.js';
import type { Payment } from '../core/payment.js';
import type { NoteSigner } from '../core/signed-note.js';
import { rfc3339 } from '../core/time.js';
import type { Clock } from '../ports/clock.js';
import type { IdempotencyUpdate } from '../ports/idempotency-store.js';
import type { AuditMirror } from '../ports/audit-mirror.js';
import type { Metrics } from '../ports/metrics.js';
import type { SignedHead } from '../core/signed-head.js';
import type { CommitUnit, JournalStore, StoredCheckpoint, StreamHead, StreamSeal, StreamStatus } from '../ports/journal-store.js';
import { ClaimLostError, ClaimsTakenError, StoreUnavailableError, StreamConflictError } from '../ports/store.js';

/** What a use case appends: records, and the read-model changes that must land with them. */
export interface AppendUnit {
  records: RecordDraft[];
  payment?: Payment;
  /** A function is called with the unit's sealed records, so a stored response can point at them. */
  idempotency?: IdempotencyUpdate | ((sealed: AuditRecord[]) => IdempotencyUpdate);
  /** A checkpoint of another stream, saved with the unit (sealing a crashed writer's stream). */
  checkpoint?: StoredCheckpoint;
  /** Append a signed checkpoint of this stream, covering every record before it. */
  checkpointOwn?: boolean;
  /** Close a crashed writer's stream as sealed, atomically with this unit (see JournalStore). */
  seal?: StreamSeal;
}

export interface CheckpointOptions {
  /** Current signing key first; during a key rotation also the previous one (double signing). */
  signers: readonly NoteSigner[];
  /** A checkpoint is added to the batch that brings the stream this many records past the last one. */
  everyRecords: number;
  /** Time-based checkpoints (also when idle) and lease renewals; 0 turns the timer off. */
  intervalMs: number;
  /** The lease each renewal grants; another writer may seal the stream once it lapses. */
  leaseMs: number;
}

export interface JournalWriterOptions {
  journal: string;
  streamId: string;
  writer: string;
  /** Actor of the records the writer makes itself (checkpoints). */
  actor: string;
  /** Records in one group commit; larger batches wait for the next one. */
  batchRecordsMax: number;
  /** Records waiting to be committed before appends are refused (back-pressure). */
  queueRecordsMax: number;
  checkpoints: CheckpointOptions | null;
  /** Told when the writer halts itself (its stream was sealed by another writer). */
  onHalt?: (reason: string) => void;
  /**
   * A new stream to go on with when this one holds records this writer did not write: the
   * writer never writes to such a stream again. Without it, the writer halts instead.
   */
  newStream?: () => { streamId: string; started: RecordDraft };
  /** Told, with the stream and seq, whenever the writer finds records it did not write. */
  onConflict?: (reason: string) => void;
  /** Gets the notes of the checkpoints (its own, and seals) each durable batch saved, in order. */
  onCheckpoints?: (notes: string[]) => void;
  /** Gets every committed batch, in order, before its waiters are resolved. */
  mirror?: AuditMirror;
  /** Told of every group commit: its duration and size when durable, or that it failed. */
  metrics?: Pick<Metrics, 'journalCommit' | 'journalWriteError'>;
}

export const DEFAULT_BATCH_RECORDS_MAX = 512;
export const DEFAULT_QUEUE_RECORDS_MAX = 50_000;

interface Pending {
  unit: AppendUnit;
  resolve: (records: AuditRecord[]) => void;
  reject: (err: unknown) => void;
}

interface TreeState {
  seq: number;
  prev: string;
  frontier: MerkleFrontier;
  lastCheckpointSize: number;
  lastCheckpoint: StoredCheckpoint | null;
  /** The frontier at the last checkpoint, to replay the store's records onto. */
  checkpointFrontier: MerkleFrontier;
}

/**
 * The single writer of one stream. Appends from concurrent requests queue here and
 * are committed together, one store transaction per batch (group commit); every
 * waiter resolves only when its batch is durable, and every waiter of a failed batch
 * is rejected — never a false success. The writer keeps the stream's Merkle frontier,
 * so signing a checkpoint costs one root computation and one signature per checkpoint,
 * nothing per request.
 */
export class JournalWriter {
  private readonly queue: Pending[] = [];
  private queuedRecords = 0;
  private tree: TreeState = {
    seq: 0, prev: GENESIS_PREV, frontier: new MerkleFrontier(), lastCheckpointSize: 0, lastCheckpoint: null, checkpointFrontier: new MerkleFrontier(),
  };
  private flushing = false;
  private scheduled = false;
  private state: 'new' | 'open' | 'stopping' | 'stopped' | 'halted' = 'new';
  private idleWaiters: (() => void)[] = [];
  private timer: NodeJS.Timeout | null = null;
  private onDemand: Promise<StoredCheckpoint | null> | null = null;
  private startedMs = 0;
  /** The stream written to; a writer that finds foreign records in it moves to a new one. */
  private stream: string;
  /** journal.started of a new stream still to be registered (after a conflict). */
  private fresh: RecordDraft | null = null;
  /** The time of the newest batch sealed: the floor of the next batch's time. */
  private lastBatchMs = 0;

  constructor(
    private readonly store: JournalStore,
    private readonly clock: Clock,
    private readonly options: JournalWriterOptions,
  ) {
    this.stream = options.streamId;
  }

  get streamId(): string {
    return this.stream;
  }

  get journal(): string {
    return this.options.journal;
  }

  /** The latest checkpoint this writer made (null before the first). */
  get lastCheckpoint(): StoredCheckpoint | null {
    return this.tree.lastCheckpoint;
  }

  /** When the current stream was registered (ms since the epoch): the age of a stream without a checkpoint yet. */
  get streamStartedMs(): number {
    return this.startedMs;
  }

  /** True once the writer has halted itself; a new writer (a new stream) is needed. */
  get halted(): boolean {
    return this.state === 'halted';
  }

  /**
   * For runtimes whose timers do not run between requests (Lambda freezes the process):
   * renews the lease and checkpoints when the interval has passed since the last checkpoint.
   */
  async checkpointIfDue(): Promise<void> {
    const cp = this.options.checkpoints;
    if (!cp || cp.intervalMs === 0 || this.state !== 'open') return;
    const last = this.tree.lastCheckpoint ? Date.parse(this.tree.lastCheckpoint.createdAt) : this.startedMs;
    if (this.clock.now() - last >= cp.intervalMs) await this.tick();
  }

  /** Registers the stream and makes `journal.started` durable. */
  async start(started: RecordDraft): Promise<AuditRecord> {
    if (this.state !== 'new') throw new Error('journal writer already started');
    await this.registerStream();
    this.state = 'open';
    const [record] = await this.append({ records: [started] });
    const interval = this.options.checkpoints?.intervalMs ?? 0;
    if (interval > 0) {
      this.timer = setInterval(() => void this.tick(), interval);
      this.timer.unref();
    }
    return record as AuditRecord;
  }

  /** Queues a unit for the next group commit; resolves with its sealed records once durable. */
  append(unit: AppendUnit): Promise<AuditRecord[]> {
    if (this.state !== 'open') {
      return Promise.reject(new PaylogError('store_unavailable', { message: this.state === 'halted' ? 'The journal writer has halted.' : 'The journal is closed.' }));
    }
    const count = unit.records.length + (unit.checkpointOwn ? 1 : 0);
    if (this.queuedRecords + count > this.options.queueRecordsMax) return Promise.reject(new PaylogError('overloaded'));
    return new Promise<AuditRecord[]>((resolve, reject) => {
      this.queue.push({ unit, resolve, reject });
      this.queuedRecords += count;
      this.schedule();
    });
  }

  /**
   * Makes a checkpoint covering everything appended so far, sharing one with concurrent
   * callers. Null when checkpoints are off.
   */
  checkpointNow(): Promise<StoredCheckpoint | null> {
    if (!this.options.checkpoints) return Promise.resolve(null);
    this.onDemand ??= this.append({ records: [], checkpointOwn: true })
      .then(() => this.tree.lastCheckpoint)
      .finally(() => { this.onDemand = null; });
    return this.onDemand;
  }

  /** Appends journal.stopped and a final checkpoint (sealing the stream), waits for everything queued. */
  async stop(stopped: RecordDraft): Promise<void> {
    if (this.state !== 'open') return;
    if (this.timer) clearInterval(this.timer);
    const last = this.append({ records: [stopped], checkpointOwn: this.options.checkpoints !== null });
    this.state = 'stopping';
    try {
      await last;
      await this.store.closeStream(this.stream, 'stopped', this.stream, rfc3339(this.clock.now()));
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

  /** Time-based duties: renew the lease, and checkpoint (also when idle, like CloudTrail's empty digests). */
  private async tick(): Promise<void> {
    const cp = this.options.checkpoints;
    if (!cp || this.state !== 'open') return;
    try {
      const stillOurs = await this.store.renewLease(this.stream, rfc3339(this.clock.now() + cp.leaseMs));
      if (!stillOurs) {
        this.halt('the stream was sealed by another writer after its lease lapsed');
        return;
      }
      await this.checkpointNow();
    } catch {
      // A failed tick is retried at the next one; appends report store failures themselves.
    }
  }

  private halt(reason: string): void {
    if (this.timer) clearInterval(this.timer);
    this.state = 'halted';
    const failure = new PaylogError('store_unavailable', { message: 'The journal writer has halted.' });
    for (const pending of this.queue.splice(0)) pending.reject(failure);
    this.queuedRecords = 0;
    this.options.onHalt?.(reason);
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
      while (this.queue.length > 0 && this.state !== 'halted') await this.commitNextBatch();
    } finally {
      this.flushing = false;
      if (this.queue.length > 0) this.schedule();
      else for (const wake of this.idleWaiters.splice(0)) wake();
    }
  }

  private takeBatch(): Pending[] {
    const batch: Pending[] = [];
    let records = 0;
    while (this.queue.length > 0) {
      const next = this.queue[0] as Pending;
      const count = next.unit.records.length + (next.unit.checkpointOwn ? 1 : 0);
      if (batch.length > 0 && (records + count > this.options.batchRecordsMax || isFenced(next.unit))) break;
      batch.push(this.queue.shift() as Pending);
      records += count;
      // A fenced unit is committed alone: should its claim be lost, nothing else fails with it.
      if (isFenced(next.unit)) break;
    }
    this.queuedRecords -= records;
    return batch;
  }

  private async commitNextBatch(): Promise<void> {
    const batch = this.takeBatch();
    if (this.fresh && !(await this.openFreshStream(batch))) return;
    const before = this.snapshot();
    /** The tree after each unit: where the stream stands if the store took the units up to it. */
    const after: TreeState[] = [];
    // Record times never go backwards within a stream: when the wall clock steps back (NTP),
    // the batch gets the previous batch's time, so an honest journal never reads as tampered.
    this.lastBatchMs = Math.max(this.clock.now(), this.lastBatchMs);
    const ts = rfc3339(this.lastBatchMs);
    const sealed: AuditRecord[][] = [];
    let units: CommitUnit[] = [];
    let head: SignedHead | null = null;
    let foreign = false;
    try {
      units = batch.map(({ unit }) => {
        const own = unit.records.map((draft) => this.seal(draft, ts));
        const commit: CommitUnit = { records: own };
        if (unit.checkpointOwn) {
          const { record, checkpoint } = this.sealCheckpoint(ts);
          own.push(record);
          commit.checkpoint = checkpoint;
        }
        sealed.push(own);
        if (unit.payment) commit.payment = withAuditPointer(unit.payment, own);
        if (unit.idempotency) commit.idempotency = typeof unit.idempotency === 'function' ? unit.idempotency(own) : unit.idempotency;
        if (unit.checkpoint) commit.checkpoint = unit.checkpoint;
        if (unit.seal) commit.seal = unit.seal;
        after.push(this.snapshot());
        return commit;
      });
      const cp = this.options.checkpoints;
      if (cp && this.tree.seq - this.tree.lastCheckpointSize >= cp.everyRecords) {
        const { record, checkpoint } = this.sealCheckpoint(ts);
        units.push({ records: [record], checkpoint });
        after.push(this.snapshot());
      }
      // The batch's last unit carries the signed head of everything up to it.
      head = this.signHead(ts);
      if (head) (units[units.length - 1] as CommitUnit).head = head;
      if (this.tree.lastCheckpointSize > before.lastCheckpointSize && !(await this.storeAgrees(before))) {
        foreign = true;
        throw new PaylogError('store_unavailable', { message: 'The journal stream held records this writer did not write; writing to a new stream.' });
      }
      const commitStartedMs = performance.now();
      await this.store.commit(units);
      this.options.metrics?.journalCommit(performance.now() - commitStartedMs, units.reduce((n, u) => n + u.records.length, 0));
    } catch (err) {
      if (err instanceof ClaimsTakenError) {
        this.retryWithoutTakenClaims(batch, err, before);
        return;
      }
      const claimLost = err instanceof ClaimLostError;
      if (!foreign && !claimLost) this.options.metrics?.journalWriteError();
      const durable = this.state === 'halted' || foreign ? 0 : await this.recover(before, after, head);
      // A lost claim is an answer for its (lone) unit, not the store failing: it reaches the caller as
      // it is; so does anything a store did not report as its own failure (a bug: 500, not 503).
      const storeFailed = err instanceof StoreUnavailableError || (err instanceof StreamConflictError && !claimLost);
      const failure = storeFailed || !(err instanceof Error) ? new PaylogError('store_unavailable', { cause: err }) : err;
      this.settle(batch, sealed, units.slice(0, durable), failure);
      return;
    }
    this.settle(batch, sealed, units, null);
  }

  /**
   * Some units claimed keys that others hold (IdempotencyUpdate.claim), and the store wrote
   * nothing: the stream stands where it did before the batch. Those units get the refusal (their
   * callers ask who holds the key); the others go back to the front of the queue, to be sealed
   * again in the next batch. Each round drops at least one unit, so this ends.
   */
  private retryWithoutTakenClaims(batch: Pending[], err: ClaimsTakenError, before: TreeState): void {
    this.tree = before;
    const lost = new Set(err.units);
    const others = batch.filter((pending, i) => {
      if (lost.has(i)) pending.reject(err);
      return !lost.has(i);
    });
    this.queue.unshift(...others);
    this.queuedRecords += others.reduce((n, { unit }) => n + unit.records.length + (unit.checkpointOwn ? 1 : 0), 0);
  }

  /**
   * After a failed commit: how many of the batch's units are durable anyway, and where the
   * stream stands. A signing writer counts a batch durable only when the store holds the head
   * it signed for it (so every record it acknowledges is covered by a signature); otherwise
   * it continues after the last record the store holds, provided that record is its own. A
   * stream that holds a record this writer did not write is abandoned, never adopted.
   */
  private async recover(before: TreeState, after: TreeState[], head: SignedHead | null): Promise<number> {
    let status: StreamStatus | null;
    let tail: StreamHead | null;
    try {
      [status, tail] = await Promise.all([this.store.streamStatus(this.stream), this.store.head(this.stream)]);
    } catch {
      // Unknown; the next commit's continuity check will tell.
      this.tree = before;
      return 0;
    }
    if (status !== null && status.state !== 'open') {
      this.tree = before;
      this.halt(`the stream was ${status.state} by ${status.closedBy ?? 'another writer'}`);
      return 0;
    }
    if (head !== null && status?.head?.note === head.note) {
      this.tree = after[after.length - 1] as TreeState;
      return after.length;
    }
    if (tail === null ? before.seq === 0 : tail.seq === before.seq && tail.hash === before.prev) {
      this.tree = before;
      return 0;
    }
    // The first unit whose end is the tail: units without records of this stream end where the one before did, and may not have landed.
    const i = tail === null ? -1 : after.findIndex((state) => state.seq === tail.seq && state.prev === tail.hash);
    if (i >= 0) {
      this.tree = after[i] as TreeState;
      // Unsigned, the units up to it are durable as they are; signed, their records wait for the next head to cover them.
      return head === null ? i + 1 : 0;
    }
    this.abandon(`stream ${this.stream} ends at seq ${tail?.seq ?? 0}, which this writer did not write (its own last record is seq ${before.seq})`);
    return 0;
  }

  /** The signed head of the stream as sealed so far, or null when this writer does not sign. */
  private signHead(ts: string): SignedHead | null {
    const cp = this.options.checkpoints;
    if (!cp) return null;
    const size = this.tree.seq;
    const root = this.tree.frontier.root().toString('hex');
    const note = signCheckpoint({ origin: checkpointOrigin(this.options.journal, this.stream), size, root, time: ts }, cp.signers);
    return { stream: this.stream, size, root, note };
  }

  /**
   * Leaves a stream that holds records this writer did not write: nothing more is written to
   * it and nothing of it is signed. The writer goes on with a new stream when it can.
   */
  private abandon(reason: string): void {
    this.options.onConflict?.(reason);
    const next = this.options.newStream?.();
    if (!next) {
      this.halt(reason);
      return;
    }
    this.stream = next.streamId;
    this.tree = emptyTree();
    this.fresh = next.started;
  }

  /** Registers the new stream and puts its journal.started first in the batch; false (batch rejected) if the store is down. */
  private async openFreshStream(batch: Pending[]): Promise<boolean> {
    try {
      await this.registerStream();
    } catch (err) {
      this.options.metrics?.journalWriteError();
      const failure = new PaylogError('store_unavailable', { cause: err });
      for (const pending of batch) pending.reject(failure);
      return false;
    }
    batch.unshift({ unit: { records: [this.fresh as RecordDraft] }, resolve: () => undefined, reject: () => undefined });
    this.fresh = null;
    return true;
  }

  private async registerStream(): Promise<void> {
    const now = this.clock.now();
    this.startedMs = now;
    await this.store.createStream({
      id: this.stream,
      journal: this.options.journal,
      startedAt: rfc3339(now),
      writer: this.options.writer,
      leaseExpiresAt: rfc3339(now + (this.options.checkpoints?.leaseMs ?? 0)),
    });
  }

  /**
   * Resolves the waiters of the units that are durable, in order, after handing their records
   * to the mirror; rejects the rest with `failure`. The automatic checkpoint unit at the end
   * of a batch has no waiter.
   */
  private settle(batch: Pending[], sealed: AuditRecord[][], durable: CommitUnit[], failure: Error | null): void {
    if (durable.length > 0) {
      try {
        this.options.mirror?.publish(durable.flatMap((u) => u.records), lastHead(durable));
      } catch {
        // The records are durable in the store; a mirror failure must not turn that into an error.
      }
      const notes = durable.flatMap((u) => (u.checkpoint ? [u.checkpoint.note] : []));
      if (notes.length > 0) this.options.onCheckpoints?.(notes);
    }
    batch.forEach((pending, i) => {
      if (i < durable.length) pending.resolve(sealed[i] as AuditRecord[]);
      else pending.reject(failure);
    });
  }

  private snapshot(): TreeState {
    return { ...this.tree, frontier: this.tree.frontier.clone() };
  }

  private seal(draft: RecordDraft, ts: string): AuditRecord {
    const record = sealRecord(draft, {
      journal: this.options.journal,
      stream: this.stream,
      seq: this.tree.seq + 1,
      prev: this.tree.prev,
      ts,
    });
    this.tree.seq = record.seq;
    this.tree.prev = record.hash;
    this.tree.frontier.push(Buffer.from(record.hash, 'hex'));
    return record;
  }

  /** Signs the tree of every record sealed so far and seals the journal.checkpoint record that carries it. */
  private sealCheckpoint(ts: string): { record: AuditRecord; checkpoint: StoredCheckpoint } {
    const cp = this.options.checkpoints as CheckpointOptions;
    const size = this.tree.seq;
    const root = this.tree.frontier.root().toString('hex');
    this.tree.checkpointFrontier = this.tree.frontier.clone();
    const note = signCheckpoint({ origin: checkpointOrigin(this.options.journal, this.stream), size, root, time: ts }, cp.signers);
    const checkpoint: StoredCheckpoint = { stream: this.stream, size, root, note, createdAt: ts };
    const record = this.seal({
      type: 'journal.checkpoint', actor: this.options.actor, origin: { requestId: null, traceId: null, ip: null },
      resource: this.stream, outcome: 'success', reason: null, data: { size, root, note },
    }, ts);
    this.tree.lastCheckpointSize = size;
    this.tree.lastCheckpoint = checkpoint;
    return { record, checkpoint };
  }

  /**
   * Before a new checkpoint is committed, the tree it signs must extend the previous
   * checkpoint with exactly the records the store holds since then (at most about
   * everyRecords hashes to read). A mismatch means the store was changed under the writer:
   * the writer leaves the stream rather than sign a tree that disagrees with the store.
   */
  private async storeAgrees(before: TreeState): Promise<boolean> {
    const count = before.seq - before.lastCheckpointSize;
    const stored = count > 0 ? await this.store.readHashes(this.stream, before.lastCheckpointSize + 1, count) : [];
    const replay = before.checkpointFrontier.clone();
    for (const hash of stored) replay.push(Buffer.from(hash, 'hex'));
    if (stored.length === count && replay.root().equals(before.frontier.root())) return true;
    this.abandon(`stream ${this.stream}: the stored records after seq ${before.lastCheckpointSize} are not the ones this writer wrote`);
    return false;
  }
}

/** The newest signed head among committed units: the batch's own, on its last unit. */
function lastHead(units: CommitUnit[]): SignedHead | null {
  for (let i = units.length - 1; i >= 0; i--) {
    const head = units[i]?.head;
    if (head) return head;
  }
  return null;
}

function emptyTree(): TreeState {
  return { seq: 0, prev: GENESIS_PREV, frontier: new MerkleFrontier(), lastCheckpointSize: 0, lastCheckpoint: null, checkpointFrontier: new MerkleFrontier() };
}

/** A payment's `audit` field points at the last of its records in the same commit. */
export function withAuditPointer(payment: Payment, records: AuditRecord[]): Payment {
  const mine = records.filter((r) => r.resource === payment.id);
  const last = mine[mine.length - 1];
  return last ? { ...payment, audit: { stream: last.stream, seq: last.seq, hash: last.hash } } : payment;
}

/** A unit whose idempotency update is fenced by its claim (IdempotencyUpdate.heldUntil). */
function isFenced(unit: AppendUnit): boolean {
  return typeof unit.idempotency === 'object' && unit.idempotency.heldUntil !== undefined;
}
