import { checkpointOrigin, signCheckpoint } from '../core/checkpoint.js';
import { MerkleFrontier } from '../core/merkle.js';
import type { NoteSigner } from '../core/signed-note.js';
import { rfc3339 } from '../core/time.js';
import type { AppContext, Caller } from './context.js';
import { READ_PAGE_RECORDS } from './journal-source.js';
import { draft } from './records.js';
import { isLapsed } from '../core/stream-lease.js';

export interface SealedStream {
  stream: string;
  size: number;
  root: string;
}

/**
 * Streams sealed by one call at most. Each seal reads the whole stream it seals, and a start
 * (a Lambda cold start above all) waits for them; streams left over are sealed by the next
 * writer to start.
 */
export const SEAL_STREAMS_PER_START = 8;

/**
 * Seals the streams of writers that died without journal.stopped: once a stream's lease
 * has lapsed, this writer signs a final checkpoint over what is there, saves it for that
 * stream, and records `journal.sealed` in its own stream — so the crashed stream is
 * covered by a signature and anything appended to it later is detected.
 */
export async function sealAbandonedStreams(ctx: AppContext, caller: Caller, signers: readonly NoteSigner[]): Promise<SealedStream[]> {
  const now = rfc3339(ctx.clock.now());
  const own = ctx.writer.streamId;
  const sealed: SealedStream[] = [];
  // One more than the bound: this writer's own stream may be among them.
  for (const stream of await ctx.store.journal.listLapsedStreams(now, SEAL_STREAMS_PER_START + 1)) {
    if (stream.id === own || !isLapsed(stream, now) || sealed.length === SEAL_STREAMS_PER_START) continue;
    // Close first, then read: once closed the stream takes no more commits, so the seal covers
    // everything it will ever hold. Exactly one of several writers starting at once wins it.
    if (!(await ctx.store.journal.closeStream(stream.id, 'sealed', own, now))) continue;
    const frontier = new MerkleFrontier();
    for (let from = 1; ; from += READ_PAGE_RECORDS) {
      const hashes = await ctx.store.journal.readHashes(stream.id, from, READ_PAGE_RECORDS);
      for (const hash of hashes) frontier.push(Buffer.from(hash, 'hex'));
      if (hashes.length < READ_PAGE_RECORDS) break;
    }
    const size = frontier.size;
    const root = frontier.root().toString('hex');
    const note = signCheckpoint({ origin: checkpointOrigin(stream.journal, stream.id), size, root }, signers);
    await ctx.writer.append({
      records: [draft(caller, 'journal.sealed', stream.id, 'success', { stream: stream.id, size, root, note, writer: stream.writer, leaseExpiredAt: stream.leaseExpiresAt }, 'writer_lease_expired')],
      checkpoint: { stream: stream.id, size, root, note, createdAt: now },
    });
    sealed.push({ stream: stream.id, size, root });
  }
  return sealed;
}
