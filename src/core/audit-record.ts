import { canonicalJson, canonicalJsonWithout } from './jcs.js';
import { sha256Hex } from './sha256.js';

/** Record types (SPEC §3). */
export const RECORD_TYPES = [
  'journal.started', 'journal.checkpoint', 'journal.stopped', 'journal.sealed', 'journal.key_rotated',
  'payment.received', 'payment.attempted', 'payment.succeeded', 'payment.declined',
  'payment.failed', 'payment.processing', 'payment.reconciled',
  'request.rejected', 'auth.failed', 'idempotency.replayed', 'idempotency.conflict', 'idempotency.purged',
  'key.created', 'key.revoked', 'audit.read',
] as const;
export type RecordType = (typeof RECORD_TYPES)[number];

export type Outcome = 'success' | 'failure' | 'unknown';

export interface Origin {
  requestId: string | null;
  traceId: string | null;
  ip: string | null;
}

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** What a use case hands the journal: everything but the position in a stream. */
export interface RecordDraft {
  type: RecordType;
  actor: string;
  origin: Origin;
  resource: string | null;
  outcome: Outcome;
  reason: string | null;
  data: JsonObject;
}

/** A record without its hash, in SPEC §3 field order. */
export interface RecordBody extends RecordDraft {
  v: 1;
  journal: string;
  stream: string;
  seq: number;
  prev: string;
  ts: string;
}

export interface AuditRecord extends RecordBody {
  hash: string;
}

export const RECORD_VERSION = 1;
export const GENESIS_PREV = '0'.repeat(64);

/** RFC 6962 leaf hash of a record: hex SHA-256(0x00 ‖ JCS(record without hash)). */
export function leafHash(body: RecordBody): string {
  return hashCanonical(canonicalJson(body));
}

/** leafHash of what a record holds apart from its claimed hash (what verifiers recompute). */
export function recordLeafHash(record: AuditRecord): string {
  return hashCanonical(canonicalJsonWithout(record as unknown as Record<string, unknown>, 'hash'));
}

/** The leaf prefix 0x00 as a character: its UTF-8 encoding is the one byte 0x00. */
function hashCanonical(canonical: string): string {
  return sha256Hex(`\u0000${canonical}`);
}

const jsonString = (value: string | null): string => (value === null ? 'null' : JSON.stringify(value));

/**
 * JCS of a body that sealRecord built itself, so its members are exactly those of RecordBody
 * (and of Origin): their sorted order is written out and only `data` is canonicalized
 * generically. Verification never takes this path; it canonicalizes whatever a stored
 * record holds, so an added or missing member changes the hash.
 */
function canonicalSealedBody(body: RecordBody): string {
  const origin = body.origin;
  return `{"actor":${jsonString(body.actor)},"data":${canonicalJson(body.data)},"journal":${jsonString(body.journal)},`
    + `"origin":{"ip":${jsonString(origin.ip)},"requestId":${jsonString(origin.requestId)},"traceId":${jsonString(origin.traceId)}},`
    + `"outcome":${jsonString(body.outcome)},"prev":${jsonString(body.prev)},"reason":${jsonString(body.reason)},`
    + `"resource":${jsonString(body.resource)},"seq":${canonicalJson(body.seq)},"stream":${jsonString(body.stream)},`
    + `"ts":${jsonString(body.ts)},"type":${jsonString(body.type)},"v":${canonicalJson(body.v)}}`;
}

export interface Position {
  journal: string;
  stream: string;
  seq: number;
  prev: string;
  ts: string;
}

/** Places a draft at a position in a stream and seals it with its hash. */
export function sealRecord(draft: RecordDraft, at: Position): AuditRecord {
  const body: RecordBody = {
    v: RECORD_VERSION,
    journal: at.journal,
    stream: at.stream,
    seq: at.seq,
    prev: at.prev,
    ts: at.ts,
    type: draft.type,
    actor: draft.actor,
    // Copied member by member, so the body holds exactly what canonicalSealedBody writes.
    origin: { requestId: draft.origin.requestId, traceId: draft.origin.traceId, ip: draft.origin.ip },
    resource: draft.resource,
    outcome: draft.outcome,
    reason: draft.reason,
    data: draft.data,
  };
  return { ...body, hash: hashCanonical(canonicalSealedBody(body)) };
}

/** Splits a record into its body and its claimed hash (for recomputation). */
export function bodyOf(record: AuditRecord): RecordBody {
  const { hash: _hash, ...body } = record;
  return body;
}

/** The single-line JSON form used by exports and the log mirror. */
export function recordLine(record: AuditRecord): string {
  return JSON.stringify(record);
}
