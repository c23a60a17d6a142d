import type { StreamState } from '../../../ports/journal-store.js';
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
