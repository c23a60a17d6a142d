import { type AuditRecord, recordLine } from '../../../core/audit-record.js';
import type { RecordPosition, StoredCheckpoint, StreamStatus } from '../../../ports/journal-store.js';
import type { Item } from './connection.js';

/** Digits of the seq in `tsKey`: Number.MAX_SAFE_INTEGER has 16, so string order is numeric order. */
const SEQ_DIGITS = 16;

/**
 * `body` is the record exactly as recordLine wrote it, so exports reproduce it byte for byte;
 * the other attributes are copies kept to key, index and check it. `resource` and `tsKey` are
 * left out for records about nothing: an index key cannot be null, and such records need no
 * entry in byResource.
 */
export function journalItem(record: AuditRecord): Item {
  const item: Item = {
    stream: record.stream, seq: record.seq, hash: record.hash, type: record.type, ts: record.ts, body: recordLine(record),
  };
  if (record.resource !== null) {
    item.resource = record.resource;
    item.tsKey = tsKeyOf(record);
  }
  return item;
}

/** byResource's sort key: time order, then stream and seq for equal times; '#' sorts below every ID character. */
export function tsKeyOf(position: RecordPosition): string {
  return `${position.ts}#${position.stream}#${String(position.seq).padStart(SEQ_DIGITS, '0')}`;
}

export function toStreamStatus(item: Item): StreamStatus {
  return {
    id: item.id as string,
    journal: item.journal as string,
    startedAt: item.startedAt as string,
    writer: item.writer as string,
    leaseExpiresAt: item.leaseExpiresAt as string,
    state: item.state as StreamStatus['state'],
    closedBy: (item.closedBy as string | undefined) ?? null,
    closedAt: (item.closedAt as string | undefined) ?? null,
    head: typeof item.headNote === 'string'
      ? { stream: item.id as string, size: item.headSize as number, root: item.headRoot as string, note: item.headNote }
      : null,
  };
}

export function toCheckpoint(item: Item): StoredCheckpoint {
  return {
    stream: item.stream as string, size: item.size as number, root: item.root as string,
    note: item.note as string, createdAt: item.createdAt as string,
  };
}
