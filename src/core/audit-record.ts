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

/**
 * JCS of a body that sealRecord built itself, so its members are exactly those of RecordBody
 * (and of Origin): they are laid out here in sorted order, so that for the usual `data` (keys
 * in order, plain values) canonicalJson is one native JSON.stringify of the whole body.
 * Verification never takes this path; it canonicalizes whatever a stored record holds, so an
 * added or missing member changes the hash.
 */
function canonicalSealedBody(body: RecordBody): string {
  const origin = body.origin;
  return canonicalJson({
    actor: body.actor, data: body.data, journal: body.journal,
    origin: { ip: origin.ip, requestId: origin.requestId, traceId: origin.traceId },
    outcome: body.outcome, prev: body.prev, reason: body.reason, resource: body.resource,
    seq: body.seq, stream: body.stream, ts: body.ts, type: body.type, v: body.v,
  });
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
  const record: AuditRecord = {
    v: RECORD_VERSION,
    journal: at.journal,
    stream: at.stream,
    seq: at.seq,
    prev: at.prev,
    ts: at.ts,
    type: draft.type,
    actor: draft.actor,
    // Copied member by member, so the record holds exactly what canonicalSealedBody writes.
    origin: { requestId: draft.origin.requestId, traceId: draft.origin.traceId, ip: draft.origin.ip },
    resource: draft.resource,
    outcome: draft.outcome,
    reason: draft.reason,
    data: draft.data,
    // Set below, once the rest is in place: the record is built once, in SPEC §3 order, hash last.
    hash: '',
  };
  record.hash = hashCanonical(canonicalSealedBody(record));
  return record;
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
