import type { AuditRecord } from './audit-record.js';
import { canonicalJson, canonicalJsonWithout } from './jcs.js';
import { sha256Hex } from './sha256.js';

/**
 * The leaf hash of a record as read back from a store or an export, for verifiers: hex
 * SHA-256(0x00 ‖ JCS(record without hash)), equal to recordLeafHash for every value, and
 * about twice as fast on the records paylog writes.
 *
 * A stored record is the JSON a writer made of a RecordBody and its hash, so it almost always
 * has exactly those members, of the types they should have. For such a record the canonical
 * form is written out member by member in sorted order, and each member that is a string goes
 * through JSON.stringify, which is what JCS asks of a string. An object member (`data`,
 * `origin`) whose keys are already in sorted order at every depth, holding only strings,
 * finite numbers, booleans, null, arrays and such objects, is written by one native
 * JSON.stringify: for such a value its output is the JCS form, byte for byte. Anything else —
 * a member more or less, a member of another type, unsorted keys (a checkpoint's
 * `{ size, root, note }`), a value JSON.stringify would write differently — is canonicalized
 * the generic way, so the hash is always the one recordLeafHash computes: a verifier is exactly
 * as strict as before, only faster on what honest writers store.
 */
export function storedLeafHash(record: AuditRecord): string {
  return sha256Hex(`\u0000${canonicalStored(record as unknown as Record<string, unknown>)}`);
}

/** Members of a stored record: the RecordBody's, in sorted (JCS) order, and its hash. */
const BODY_MEMBERS_SORTED = ['actor', 'data', 'journal', 'origin', 'outcome', 'prev', 'reason', 'resource', 'seq', 'stream', 'ts', 'type', 'v'] as const;
const STORED_MEMBERS: ReadonlySet<string> = new Set([...BODY_MEMBERS_SORTED, 'hash']);

/** JCS of a record without its hash; written out when it has exactly a stored record's members. */
export function canonicalStored(r: Record<string, unknown>): string {
  const keys = Object.keys(r);
  if (keys.length !== STORED_MEMBERS.size) return canonicalJsonWithout(r, 'hash');
  // Own members, each once (keys are unique): exactly the stored set. None may be undefined (JCS leaves those out).
  for (const key of keys) if (!STORED_MEMBERS.has(key) || r[key] === undefined) return canonicalJsonWithout(r, 'hash');
  return `{"actor":${member(r.actor)},"data":${member(r.data)},"journal":${member(r.journal)},"origin":${origin(r.origin)},`
    + `"outcome":${member(r.outcome)},"prev":${member(r.prev)},"reason":${member(r.reason)},"resource":${member(r.resource)},`
    + `"seq":${member(r.seq)},"stream":${member(r.stream)},"ts":${member(r.ts)},"type":${member(r.type)},"v":${member(r.v)}}`;
}

/** canonicalJson(value), with the common shapes taken the short way. */
function member(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value);
  if (typeof value === 'object' && value !== null && sortedPlain(value)) return JSON.stringify(value);
  return canonicalJson(value);
}

/** A writer stores origin as { requestId, traceId, ip }: not sorted, so written out here. */
function origin(value: unknown): string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return member(value);
  const o = value as Record<string, unknown>;
  const { ip, requestId, traceId } = o;
  if (!stringOrNull(ip) || !stringOrNull(requestId) || !stringOrNull(traceId) || Object.keys(o).length !== 3
    || !Object.hasOwn(o, 'ip') || !Object.hasOwn(o, 'requestId') || !Object.hasOwn(o, 'traceId')) return member(value);
  return `{"ip":${JSON.stringify(ip)},"requestId":${JSON.stringify(requestId)},"traceId":${JSON.stringify(traceId)}}`;
}

const stringOrNull = (v: unknown): v is string | null => v === null || typeof v === 'string';

/** Depth beyond which the check gives up and leaves the value to canonicalJson. */
const SORTED_DEPTH_MAX = 32;

/**
 * True when JSON.stringify(value) is its JCS form: plain JSON values only, every object's keys
 * in ascending UTF-16 order (as Object.keys lists them, which is JSON.stringify's order), no
 * non-finite number (JSON.stringify writes null, JCS refuses), no toJSON.
 */
function sortedPlain(value: object, depth = 0): boolean {
  if (depth > SORTED_DEPTH_MAX) return false;
  if (Array.isArray(value)) {
    for (const element of value as unknown[]) if (!plainMember(element, depth)) return false;
    return true;
  }
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return false;
  const keys = Object.keys(value);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string;
    // `__proto__` read as a member gives the prototype, not the own value: leave such objects to canonicalJson.
    if ((i > 0 && !((keys[i - 1] as string) < key)) || key === '__proto__') return false;
    if (!plainMember((value as Record<string, unknown>)[key], depth)) return false;
  }
  return true;
}

function plainMember(v: unknown, depth: number): boolean {
  switch (typeof v) {
    case 'string': case 'boolean': return true;
    case 'number': return Number.isFinite(v);
    case 'object': return v === null || sortedPlain(v, depth + 1);
    // undefined: JSON.stringify leaves a member out and writes an element as null, as canonicalJson does, but keep it simple.
    default: return false;
  }
}
