import type { StreamSeal, StreamState } from '../../../ports/journal-store.js';
import { StreamConflictError } from '../../../ports/store.js';

/**
 * Records go only to a registered, open stream: records of an unregistered stream would be
 * invisible to listStreams (hence to verify and export), and a stream stopped, or sealed by
 * another writer once its lease lapsed, takes no more. Shared by every store.
 */
export function checkTakesRecords(streamId: string, state: StreamState | undefined): void {
  if (state === undefined) throw new StreamConflictError(`stream ${streamId} does not exist`);
  if (state !== 'open') throw new StreamConflictError(`stream ${streamId} is ${state}`);
}

/**
 * A seal closes a lapsed stream at the signed head its sealer checked: only if the stream is
 * still open and its stored head still covers exactly that many records. A writer that came
 * back and committed in between, or another sealer that got there first, makes it a conflict.
 */
export function checkSealable(seal: StreamSeal, stored: { state: StreamState; headSize: number } | undefined): void {
  if (stored === undefined) throw new StreamConflictError(`stream ${seal.stream} does not exist`);
  if (stored.state !== 'open') throw new StreamConflictError(`stream ${seal.stream} is ${stored.state}`);
  if (stored.headSize !== seal.headSize) {
    throw new StreamConflictError(`stream ${seal.stream}: its signed head covers ${stored.headSize} records, not the ${seal.headSize} the seal covers`);
  }
}
