import type { AuditRecord } from '../../../core/audit-record.js';
import type { Payment } from '../../../core/payment.js';
import type { LedgerEntry } from '../../../ports/gateway-ledger.js';
import type { StoredResponse } from '../../../ports/idempotency-store.js';
import type { StoredCheckpoint, StreamStatus } from '../../../ports/journal-store.js';
import type { JournalLeaf, JournalTreeHead } from '../../../ports/journal-tree-store.js';
import type { ApiKey } from '../../../ports/key-store.js';
import { StoreUnavailableError } from '../../../ports/store.js';

export interface IdempotencyRow {
  fingerprint: string;
  paymentId: string | null;
  response: StoredResponse | null;
  leaseExpiresAt: string;
  expiresAt: string;
  createdAt: string;
}

/** Everything the memory store holds; the sub-stores share it so a commit can touch all of it. */
export class MemoryState {
  closed = false;
  readonly streams = new Map<string, StreamStatus>();
  /** Checkpoints of each stream, in commit order. */
  readonly checkpoints = new Map<string, StoredCheckpoint[]>();
  /** Records of each stream, index = seq - 1 (streams are gapless). */
  readonly records = new Map<string, AuditRecord[]>();
  readonly byResource = new Map<string, AuditRecord[]>();
  readonly payments = new Map<string, Payment>();
  readonly idempotency = new Map<string, IdempotencyRow>();
  readonly keys = new Map<string, ApiKey>();
  readonly ledger = new Map<string, LedgerEntry>();
  readonly treeLeaves = new Map<string, JournalLeaf[]>();
  readonly treeHeads = new Map<string, JournalTreeHead>();

  assertOpen(): void {
    if (this.closed) throw new StoreUnavailableError('memory store is closed');
  }
}

/**
 * Values cross the store boundary as JSON, like every real backend: callers can neither
 * mutate stored state through a reference nor rely on anything JSON would drop.
 *
 * The result is JSON.parse(JSON.stringify(value)), made without the text: a JSON round trip of
 * every record, payment and stored response on every commit and read was a quarter of a
 * payment's CPU on this store; copying member by member costs about a tenth of it. Values
 * whose JSON form is not simply their own enumerable members (toJSON, boxed primitives, a
 * `__proto__` member, cycles or very deep nesting, BigInt) take the round trip itself, so the
 * answer, and any error, is always the round trip's (a property test holds the two together).
 */
export function copy<T>(value: T): T {
  try {
    const copied = copyJson(value, 0);
    if (copied !== OMIT) return copied as T;
  } catch (err) {
    if (err !== NOT_PLAIN) throw err;
  }
  return JSON.parse(JSON.stringify(value)) as T;
}

/** Depth past which the round trip decides (deep values, cycles: JSON.stringify's own error). */
const COPY_DEPTH_MAX = 64;
const NOT_PLAIN = new Error('not a plain JSON value');
/** What JSON.stringify leaves out of an object (and writes as null in an array). */
const OMIT = Symbol('omit');

function copyJson(value: unknown, depth: number): unknown {
  switch (typeof value) {
    case 'string': case 'boolean': return value;
    // JSON writes -0 as 0 and a non-finite number as null.
    case 'number': return Number.isFinite(value) ? (value === 0 ? 0 : value) : null;
    case 'undefined': case 'function': case 'symbol': return OMIT;
    case 'bigint': throw NOT_PLAIN;
  }
  if (value === null) return null;
  if (depth > COPY_DEPTH_MAX) throw NOT_PLAIN;
  const object = value as Record<string, unknown>;
  if (typeof object.toJSON === 'function' || object instanceof Number || object instanceof String || object instanceof Boolean) throw NOT_PLAIN;
  if (Array.isArray(object)) {
    const out: unknown[] = new Array(object.length);
    for (let i = 0; i < object.length; i++) {
      const element = copyJson(object[i], depth + 1);
      out[i] = element === OMIT ? null : element;
    }
    return out;
  }
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(object)) {
    // Assigning `__proto__` would set the prototype; JSON.parse makes it an own member.
    if (key === '__proto__') throw NOT_PLAIN;
    const member = copyJson(object[key], depth + 1);
    if (member !== OMIT) out[key] = member;
  }
  return out;
}

/**
 * The composite key of a (merchant, key) pair: the merchant ID's length first, so the pair is
 * unambiguous whatever either holds, and cheaper than a JSON pair (a payment makes six).
 */
export function idempotencyKeyOf(merchantId: string, key: string): string {
  return `${merchantId.length}:${merchantId}:${key}`;
}
