import type { AuditRecord } from './audit-record.js';
import { canonicalJsonWithout, plainMember } from './jcs.js';
import { sha256Hex } from './sha256.js';

/**
 * The leaf hash of a record as read back from a store or an export, for verifiers: hex
 * SHA-256(0x00 ‖ JCS(record without hash)), equal to recordLeafHash for every value, and
 * about twice as fast on the records paylog writes.
 *
 * A stored record is the JSON a writer made of a RecordBody and its hash, so it almost always
 * has exactly those members, of the types they should have. For such a record the canonical
 * form is a copy with its members in sorted order (origin's too) written by one native
 * JSON.stringify, provided every member holds only strings, finite numbers, booleans, null,
 * arrays and objects whose keys are already in sorted order at every depth: for such a value
 * JSON.stringify's output is the JCS form, byte for byte (a string is written as JCS asks).
 * Anything else — a member more or less, a member of another type, unsorted keys (a
 * checkpoint's `{ size, root, note }`), a value JSON.stringify would write differently — is canonicalized
 * the generic way, so the hash is always the one recordLeafHash computes: a verifier is exactly
 * as strict as before, only faster on what honest writers store.
 */
export function storedLeafHash(record: AuditRecord): string {
  return sha256Hex(`\u0000${canonicalStored(record as unknown as Record<string, unknown>)}`);
}

/** Members of a stored record: the RecordBody's, in sorted (JCS) order, and its hash. */
const BODY_MEMBERS_SORTED = ['actor', 'data', 'journal', 'origin', 'outcome', 'prev', 'reason', 'resource', 'seq', 'stream', 'ts', 'type', 'v'] as const;
const STORED_MEMBERS: ReadonlySet<string> = new Set([...BODY_MEMBERS_SORTED, 'hash']);

/**
 * JCS of a record without its hash. When it has exactly a stored record's members, each a
 * plain JSON value with its keys sorted at every depth (origin's three are put in order here),
 * a copy with the members in sorted order is written by one native JSON.stringify: for such
 * values its output is the JCS form, byte for byte. One call, one flat string: written member
 * by member (a JSON.stringify and two concatenations each) the form cost about 60 % more, and
 * its pieces were garbage, and the hash flattened them again.
 */
export function canonicalStored(r: Record<string, unknown>): string {
  const keys = Object.keys(r);
  if (keys.length !== STORED_MEMBERS.size) return canonicalJsonWithout(r, 'hash');
  // Own members, each once (keys are unique): exactly the stored set, each a plain JSON value
  // (which also leaves out undefined, which JCS leaves out).
  for (const key of keys) {
    if (!STORED_MEMBERS.has(key)) return canonicalJsonWithout(r, 'hash');
    if (key !== 'origin' && key !== 'hash' && !plainMember(r[key])) return canonicalJsonWithout(r, 'hash');
  }
  const origin = sortedOrigin(r.origin);
  if (origin === null) return canonicalJsonWithout(r, 'hash');
  return JSON.stringify({
    actor: r.actor, data: r.data, journal: r.journal, origin, outcome: r.outcome, prev: r.prev, reason: r.reason,
    resource: r.resource, seq: r.seq, stream: r.stream, ts: r.ts, type: r.type, v: r.v,
  });
}

/**
 * A writer stores origin as { requestId, traceId, ip }, not sorted: the same members in sorted
 * order; any other plain value as it is; null when it is neither (left to canonicalJson).
 */
function sortedOrigin(value: unknown): unknown {
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const o = value as Record<string, unknown>;
    const { ip, requestId, traceId } = o;
    if (stringOrNull(ip) && stringOrNull(requestId) && stringOrNull(traceId) && Object.keys(o).length === 3
      && Object.hasOwn(o, 'ip') && Object.hasOwn(o, 'requestId') && Object.hasOwn(o, 'traceId')) return { ip, requestId, traceId };
  }
  return value !== undefined && plainMember(value) ? value : null;
}

const stringOrNull = (v: unknown): v is string | null => v === null || typeof v === 'string';
