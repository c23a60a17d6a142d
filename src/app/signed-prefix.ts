import { recordLeafHash } from '../core/audit-record.js';
import { checkCheckpoint, checkpointOrigin, type TrustedKey } from '../core/checkpoint.js';
import { GENESIS_PREV } from '../core/audit-record.js';
import { MerkleFrontier } from '../core/merkle.js';
import type { JournalStore, StreamStatus } from '../ports/journal-store.js';
import { READ_PAGE_RECORDS } from './journal-source.js';

export type SignedPrefix = { ok: true; size: number; root: string } | { ok: false; reason: string };

/**
 * What of a crashed writer's stream its own signatures vouch for: the records up to its last
 * signed head, checked one by one — each hash recomputed from the record, each link to the
 * one before, each seq in place — and their Merkle root against the head's. Anything beyond
 * that head was never signed and is left out; a stream whose head is not signed by this
 * journal's keys, whose records do not reproduce it, or that its writer already stopped (an
 * ended stream someone reopened) is refused whole.
 */
export async function signedPrefix(journal: JournalStore, stream: StreamStatus, trusted: readonly TrustedKey[]): Promise<SignedPrefix> {
  const head = stream.head;
  const frontier = new MerkleFrontier();
  if (head === null) return { ok: true, size: 0, root: frontier.root().toString('hex') };
  const check = checkCheckpoint(head.note, trusted, checkpointOrigin(stream.journal, stream.id));
  if (!check.ok) return { ok: false, reason: `its stored head is not one this journal signed (${check.reason.replace(/_/g, ' ')})` };
  if (check.body.size !== head.size || check.body.root !== head.root) return { ok: false, reason: 'its stored head says another size or root than its signed note' };

  let prev = GENESIS_PREV;
  for (let from = 1; from <= head.size; from += READ_PAGE_RECORDS) {
    const records = await journal.readStream(stream.id, from, Math.min(READ_PAGE_RECORDS, head.size - from + 1));
    if (records.length === 0) break;
    for (const record of records) {
      const seq = frontier.size + 1;
      if (record.stream !== stream.id || record.seq !== seq || record.prev !== prev || recordLeafHash(record) !== record.hash) {
        return { ok: false, reason: `its record at seq ${seq} is not the one its signed head covers` };
      }
      if (record.type === 'journal.stopped') return { ok: false, reason: `it was stopped cleanly (journal.stopped at seq ${seq})` };
      frontier.push(Buffer.from(record.hash, 'hex'));
      prev = record.hash;
    }
  }
  if (frontier.size !== head.size) return { ok: false, reason: `it holds ${frontier.size} of the ${head.size} records its signed head covers` };
  if (frontier.root().toString('hex') !== head.root) return { ok: false, reason: 'its records do not reproduce the root of its signed head' };
  return { ok: true, size: head.size, root: head.root };
}
