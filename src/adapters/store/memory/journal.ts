import type { AuditRecord } from '../../../core/audit-record.js';
import type {
  CommitUnit, JournalStore, RecordPosition, ResourcePage, StoredCheckpoint, StreamHead, StreamInfo, StreamStatus,
} from '../../../ports/journal-store.js';
import { StreamConflictError } from '../../../ports/store.js';
import { canTransition } from '../../../core/payment.js';
import { checkContinues } from '../shared/continuity.js';
import { byLeaseExpiry, isLapsed } from '../../../core/stream-lease.js';
import { checkBatch } from '../shared/batch-rules.js';
import { checkSealable, checkTakesRecords } from '../shared/stream-rules.js';
import { applyIdempotencyUpdate, commitClaimVerdict, storedLease } from './idempotency.js';
import { checkCommitClaims, commitClaimOf } from '../shared/claim-rules.js';
import { checkClaimHeld } from '../shared/claim-fence.js';
import { type MemoryState, copy } from './state.js';

export class MemoryJournalStore implements JournalStore {
  constructor(private readonly state: MemoryState) {}

  async createStream(info: StreamInfo): Promise<void> {
    this.state.assertOpen();
    if (this.state.streams.has(info.id)) throw new StreamConflictError(`stream ${info.id} already exists`);
    this.state.streams.set(info.id, { ...copy(info), state: 'open', closedBy: null, closedAt: null, head: null });
    this.state.records.set(info.id, []);
  }

  async commit(units: CommitUnit[]): Promise<void> {
    this.state.assertOpen();
    // Validate the whole batch before touching anything, so a failure applies nothing.
    checkBatch(units);
    checkCommitClaims(units, commitClaimOf, (claim) => commitClaimVerdict(this.state, claim));
    const heads = new Map<string, StreamHead | null>();
    for (const unit of units) {
      for (const record of unit.records) {
        if (!heads.has(record.stream)) {
          checkTakesRecords(record.stream, this.state.streams.get(record.stream)?.state);
          heads.set(record.stream, this.storedHead(record.stream));
        }
        checkContinues(record, heads.get(record.stream) ?? null);
        heads.set(record.stream, { seq: record.seq, hash: record.hash });
      }
      if (unit.head) checkTakesRecords(unit.head.stream, this.state.streams.get(unit.head.stream)?.state);
      if (unit.idempotency) checkClaimHeld(unit.idempotency, storedLease(this.state, unit.idempotency));
      if (unit.seal) {
        const stream = this.state.streams.get(unit.seal.stream);
        checkSealable(unit.seal, stream && { state: stream.state, headSize: stream.head?.size ?? 0 });
      }
      const cp = unit.checkpoint;
      if (cp) {
        if (!this.state.streams.has(cp.stream)) throw new StreamConflictError(`stream ${cp.stream} does not exist`);
        if ((this.state.checkpoints.get(cp.stream) ?? []).some((c) => c.size === cp.size)) {
          throw new StreamConflictError(`stream ${cp.stream} already has a checkpoint of size ${cp.size}`);
        }
      }
    }
    for (const unit of units) {
      for (const record of unit.records) this.append(copy(record));
      if (unit.payment && canTransition(this.state.payments.get(unit.payment.id)?.status ?? null, unit.payment.status)) {
        this.state.payments.set(unit.payment.id, copy(unit.payment));
      }
      if (unit.idempotency) applyIdempotencyUpdate(this.state, unit.idempotency);
      if (unit.checkpoint) {
        const list = this.state.checkpoints.get(unit.checkpoint.stream) ?? [];
        list.push(copy(unit.checkpoint));
        this.state.checkpoints.set(unit.checkpoint.stream, list);
      }
      if (unit.head) (this.state.streams.get(unit.head.stream) as StreamStatus).head = copy(unit.head);
      if (unit.seal) Object.assign(this.state.streams.get(unit.seal.stream) as StreamStatus, { state: 'sealed', closedBy: unit.seal.by, closedAt: unit.seal.at });
    }
  }

  async streamStatus(streamId: string): Promise<StreamStatus | null> {
    this.state.assertOpen();
    const stream = this.state.streams.get(streamId);
    return stream ? copy(stream) : null;
  }

  async head(streamId: string): Promise<StreamHead | null> {
    this.state.assertOpen();
    return this.state.records.has(streamId) ? this.storedHead(streamId) : null;
  }

  async renewLease(streamId: string, leaseExpiresAt: string): Promise<boolean> {
    this.state.assertOpen();
    const stream = this.state.streams.get(streamId);
    if (stream?.state !== 'open') return false;
    stream.leaseExpiresAt = leaseExpiresAt;
    return true;
  }

  async closeStream(streamId: string, state: 'stopped' | 'sealed', by: string, at: string): Promise<boolean> {
    this.state.assertOpen();
    const stream = this.state.streams.get(streamId);
    if (stream?.state !== 'open') return false;
    Object.assign(stream, { state, closedBy: by, closedAt: at });
    return true;
  }

  /** Only the hashes, which are strings: nothing of the stored records to copy (the writer reads them at every checkpoint). */
  async readHashes(streamId: string, fromSeq: number, limit: number): Promise<string[]> {
    this.state.assertOpen();
    return this.stored(streamId, fromSeq, limit).map((r) => r.hash);
  }

  async latestCheckpoints(): Promise<StoredCheckpoint[]> {
    this.state.assertOpen();
    return [...this.state.checkpoints.keys()].sort().map((id) => this.latest(id)).filter((c): c is StoredCheckpoint => c !== null);
  }

  async latestCheckpoint(streamId: string): Promise<StoredCheckpoint | null> {
    this.state.assertOpen();
    return this.latest(streamId);
  }

  private latest(streamId: string): StoredCheckpoint | null {
    const list = this.state.checkpoints.get(streamId) ?? [];
    const best = list.reduce<StoredCheckpoint | null>((a, c) => (a === null || c.size > a.size ? c : a), null);
    return best ? copy(best) : null;
  }

  async listStreams(): Promise<StreamStatus[]> {
    this.state.assertOpen();
    return [...this.state.streams.values()]
      .sort((a, b) => compare(a.startedAt, b.startedAt) || compare(a.id, b.id))
      .map(copy);
  }

  async listLapsedStreams(now: string, limit: number): Promise<StreamStatus[]> {
    this.state.assertOpen();
    return [...this.state.streams.values()].filter((s) => isLapsed(s, now)).sort(byLeaseExpiry).slice(0, Math.max(limit, 0)).map(copy);
  }

  async readStream(streamId: string, fromSeq: number, limit: number): Promise<AuditRecord[]> {
    this.state.assertOpen();
    return this.stored(streamId, fromSeq, limit).map(copy);
  }

  async readByResource(resource: string, page?: ResourcePage): Promise<AuditRecord[]> {
    this.state.assertOpen();
    const order = (a: RecordPosition, b: RecordPosition): number => compare(a.ts, b.ts) || compare(a.stream, b.stream) || a.seq - b.seq;
    const all = [...(this.state.byResource.get(resource) ?? [])].sort(order);
    if (!page) return all.map(copy);
    const after = page.after;
    return all.filter((r) => after === undefined || order(r, after) > 0).slice(0, page.limit).map(copy);
  }

  /** The stored records of a range, uncopied: for the readers, which copy what they hand out. */
  private stored(streamId: string, fromSeq: number, limit: number): AuditRecord[] {
    const records = this.state.records.get(streamId) ?? [];
    const from = Math.max(fromSeq, 1) - 1;
    return records.slice(from, from + Math.max(limit, 0));
  }

  /** Throws for an unknown stream: records nobody registered would be invisible to listStreams. */
  private storedHead(streamId: string): StreamHead | null {
    const records = this.state.records.get(streamId);
    if (!records) throw new StreamConflictError(`stream ${streamId} does not exist`);
    const last = records[records.length - 1];
    return last ? { seq: last.seq, hash: last.hash } : null;
  }

  private append(record: AuditRecord): void {
    (this.state.records.get(record.stream) as AuditRecord[]).push(record);
    if (record.resource !== null) {
      const list = this.state.byResource.get(record.resource) ?? [];
      list.push(record);
      this.state.byResource.set(record.resource, list);
    }
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
