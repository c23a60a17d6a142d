import type { AuditRecord } from '../core/audit-record.js';
import type { Location } from '../core/chain-verifier.js';
import type { SignedHead } from '../core/signed-head.js';
import type { JournalStore } from '../ports/journal-store.js';

/** Records read per store round trip when walking a whole journal. */
export const READ_PAGE_RECORDS = 5_000;

export interface SourcedRecord {
  /** A record, or `{ head }`: a stream's signed head, after its records (core/signed-head.ts). */
  value: unknown;
  at: Location;
}

/**
 * Every stream of a store, each in seq order, a page at a time (memory stays bounded), then
 * its newest signed head as `{ head }`. The head is read after the records: commits write
 * records and head together, so a record read before the head and beyond it was never
 * signed, while a head newer than the records read (a live writer committed meanwhile) has
 * its missing records read too. A live journal thus reads as consistent, and a forged tail
 * still shows. Sources yield batches: one await per record would cost more than checking it.
 */
export async function* storeRecords(journal: JournalStore, since?: string): AsyncGenerator<SourcedRecord[]> {
  for (const stream of await journal.listStreams()) yield* streamRecords(journal, stream, since);
}

/** One stream of a store, as storeRecords reads each: its records a page at a time, then its signed head. */
export async function* streamRecords(journal: JournalStore, stream: { id: string }, since?: string): AsyncGenerator<SourcedRecord[]> {
  let from = 1;
  let yielded = 0;
  const readUpTo = async function* (last: number): AsyncGenerator<SourcedRecord[]> {
    while (from <= last) {
      const wanted = Math.min(READ_PAGE_RECORDS, last - from + 1);
      const page: AuditRecord[] = await journal.readStream(stream.id, from, wanted);
      const batch: SourcedRecord[] = [];
      for (const record of page) {
        if (since === undefined || record.ts >= since) batch.push({ value: record, at: { stream: stream.id } });
      }
      yielded += batch.length;
      if (batch.length > 0) yield batch;
      const lastRead = page[page.length - 1];
      if (lastRead) from = lastRead.seq + 1;
      if (!lastRead || page.length < wanted) return;
    }
  };
  yield* readUpTo(Number.MAX_SAFE_INTEGER);
  const head: SignedHead | null = (await journal.streamStatus(stream.id))?.head ?? null;
  if (head === null) return;
  if (head.size >= from) yield* readUpTo(head.size);
  // A partial read (`since`) that kept none of a stream's records has nothing for its head to cover.
  if (yielded > 0 || since === undefined) yield [{ value: { head }, at: { stream: stream.id } }];
}
