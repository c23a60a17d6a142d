import { ChainVerifier, type ChainReport } from '../core/chain-verifier.js';
import type { SourcedRecord } from './journal-source.js';

export interface VerifyOptions {
  /** The journal name records must carry, when known. */
  journal?: string;
  onProgress?: (records: number) => void;
}

/** Progress is reported every this many records. */
export const PROGRESS_EVERY_RECORDS = 10_000;

/** Verifies every record of a source in one pass; memory is bounded per stream. */
export async function verifyJournal(source: AsyncIterable<SourcedRecord>, options: VerifyOptions = {}): Promise<ChainReport> {
  const verifier = new ChainVerifier(options.journal);
  let count = 0;
  for await (const { value, at } of source) {
    verifier.add(value, at);
    if (++count % PROGRESS_EVERY_RECORDS === 0) options.onProgress?.(count);
  }
  return verifier.finish();
}
