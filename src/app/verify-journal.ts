import { ChainVerifier, type ChainReport, type VerifierOptions } from '../core/chain-verifier.js';
import { headOfLine } from '../core/signed-head.js';
import type { JournalStore } from '../ports/journal-store.js';
import { type SourcedRecord, storeRecords } from './journal-source.js';

export interface VerifyOptions extends VerifierOptions {
  onProgress?: (records: number) => void;
}

/** Progress is reported every this many records. */
export const PROGRESS_EVERY_RECORDS = 10_000;

/** Verifies every record of a source (an export, a mirror's lines) in one pass; memory is bounded per stream. */
export async function verifyRecords(source: AsyncIterable<SourcedRecord[]>, options: VerifyOptions = {}): Promise<ChainReport> {
  return run(new ChainVerifier(options), source, options);
}

/**
 * Verifies a store: every stream in seq order, plus the latest checkpoint the store keeps
 * of each stream, so a stream cut back below its last checkpoint is caught even when the
 * checkpoint records went with it.
 */
export async function verifyStore(journal: JournalStore, options: VerifyOptions = {}): Promise<ChainReport> {
  // Every commit stores a signed head, so every record a store holds must be covered by one.
  const verifier = new ChainVerifier({ requireCoverage: true, ...options });
  for (const checkpoint of await journal.latestCheckpoints()) verifier.expectCheckpoint(checkpoint.stream, checkpoint);
  for (const stream of await journal.listStreams()) if (stream.state === 'stopped') verifier.expectStopped(stream.id);
  return run(verifier, storeRecords(journal), options);
}

/**
 * Head values among the records (`{ head }`: a file's head lines, a store's newest head after
 * its stream's records) are signed heads of their streams, handed over in their place, after
 * the records they cover; everything else is a record.
 */
async function run(verifier: ChainVerifier, source: AsyncIterable<SourcedRecord[]>, options: VerifyOptions): Promise<ChainReport> {
  let count = 0;
  for await (const batch of source) {
    for (const { value, at } of batch) {
      const head = headOfLine(value);
      if (head) {
        verifier.expectHead(head.stream, head, at);
        continue;
      }
      verifier.add(value, at);
      if (++count % PROGRESS_EVERY_RECORDS === 0) options.onProgress?.(count);
    }
  }
  return verifier.finish();
}
