import { checkpointOrigin, signCheckpoint, type TrustedKey } from '../core/checkpoint.js';
import { parseVerifierKey, type NoteSigner, verifierKeyOf } from '../core/signed-note.js';
import { isLapsed } from '../core/stream-lease.js';
import { rfc3339 } from '../core/time.js';
import type { AppContext, Caller } from './context.js';
import { draft } from './records.js';
import { signedPrefix } from './signed-prefix.js';

export interface SealedStream {
  stream: string;
  size: number;
  root: string;
}

export interface RefusedStream {
  stream: string;
  reason: string;
}

export interface SealResult {
  sealed: SealedStream[];
  /** Lapsed streams left open: nothing their writers signed can be vouched for; verify reports them. */
  refused: RefusedStream[];
}

/**
 * Streams sealed by one call at most. Each seal reads the records it covers, and a start
 * (a Lambda cold start above all) waits for them; streams left over are sealed by the next
 * writer to start.
 */
export const SEAL_STREAMS_PER_START = 8;

/**
 * Seals the streams of writers that died without journal.stopped: once a stream's lease has
 * lapsed, this writer checks the records its writer signed (up to that writer's last signed
 * head: see signed-prefix.ts), signs a final checkpoint of exactly those, and in ONE commit
 * saves it for that stream, closes the stream as sealed, and records `journal.sealed` in its
 * own stream. A crash can leave the stream open (the next writer seals it) but never closed
 * without its seal, and nothing its writer did not sign is ever signed here. Of several
 * writers starting at once, one seals each stream; the others' commits are refused.
 */
export async function sealAbandonedStreams(ctx: AppContext, caller: Caller, signers: readonly NoteSigner[]): Promise<SealResult> {
  const now = rfc3339(ctx.clock.now());
  const own = ctx.writer.streamId;
  const trusted: TrustedKey[] = signers.map((signer) => ({ key: parseVerifierKey(verifierKeyOf(signer)), validFrom: null, validUntil: null }));
  const result: SealResult = { sealed: [], refused: [] };
  // One more than the bound: this writer's own stream may be among them.
  for (const stream of await ctx.store.journal.listLapsedStreams(now, SEAL_STREAMS_PER_START + 1)) {
    if (stream.id === own || !isLapsed(stream, now) || result.sealed.length + result.refused.length === SEAL_STREAMS_PER_START) continue;
    const prefix = await signedPrefix(ctx.store.journal, stream, trusted);
    if (!prefix.ok) {
      result.refused.push({ stream: stream.id, reason: prefix.reason });
      continue;
    }
    const { size, root } = prefix;
    const note = signCheckpoint({ origin: checkpointOrigin(stream.journal, stream.id), size, root, time: now }, signers);
    try {
      await ctx.writer.append({
        records: [draft(caller, 'journal.sealed', stream.id, 'success', { stream: stream.id, size, root, note, writer: stream.writer, leaseExpiredAt: stream.leaseExpiresAt }, 'writer_lease_expired')],
        checkpoint: { stream: stream.id, size, root, note, createdAt: now },
        seal: { stream: stream.id, by: own, at: now, headSize: size },
      });
    } catch {
      // Another writer sealed it first, or its own writer came back and committed: not ours to seal.
      continue;
    }
    result.sealed.push({ stream: stream.id, size, root });
  }
  return result;
}
