import type { AuditRecord } from '../core/audit-record.js';
import type { Location } from '../core/chain-verifier.js';
import type { JournalStore } from '../ports/journal-store.js';

/** Records read per store round trip when walking a whole journal. */
export const READ_PAGE_RECORDS = 5_000;

export interface SourcedRecord {
  value: unknown;
  at: Location;
}

/**
 * Every stream of a store, each in seq order, a page at a time (memory stays bounded).
 * Sources yield batches: one await per record would cost more than checking the record.
 */
export async function* storeRecords(journal: JournalStore, since?: string): AsyncGenerator<SourcedRecord[]> {
  for (const stream of await journal.listStreams()) {
    let from = 1;
    for (;;) {
      const page: AuditRecord[] = await journal.readStream(stream.id, from, READ_PAGE_RECORDS);
      const batch: SourcedRecord[] = [];
      for (const record of page) {
        if (since === undefined || record.ts >= since) batch.push({ value: record, at: { stream: stream.id } });
      }
      if (batch.length > 0) yield batch;
      const last = page[page.length - 1];
      if (!last || page.length < READ_PAGE_RECORDS) break;
      from = last.seq + 1;
    }
  }
}
