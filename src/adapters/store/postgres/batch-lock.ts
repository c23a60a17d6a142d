import pg from 'pg';
import type { KeyClaim } from '../../../ports/idempotency-store.js';
import type { StreamHead, StreamState } from '../../../ports/journal-store.js';

/** An idempotency key as stored: what deciding a claim, a fence or a replay needs. */
export interface KeyRow {
  fingerprint: string;
  paymentId: string | null;
  response: string | null;
  leaseExpiresAt: string;
  expiresAt: string;
}

/** A key a transaction locks: with the claim it makes, or only to update it (or check its fence). */
export interface KeyToLock {
  merchantId: string;
  key: string;
  claim?: KeyClaim | undefined;
}

/** What paylog_lock_batch locked, as it stands once locked. */
export interface LockedBatch {
  streams: Map<string, { state: StreamState; headSize: number }>;
  /** The last record of each stream the batch appends to; none for an empty stream. */
  heads: Map<string, StreamHead>;
  /** By keyId. `inserted`: the claim's row was inserted (the key was free); otherwise the row as it was. A key without a row is absent. */
  keys: Map<string, { inserted: true } | { inserted: false; row: KeyRow }>;
}

const { escapeLiteral } = pg;

export function keyId(key: { merchantId: string; key: string }): string {
  return JSON.stringify([key.merchantId, key.key]);
}

type LockResult = {
  streams: [string, StreamState, number][];
  heads: [string, number, string][];
  keys: ([string, string, true] | [string, string, false, string, string | null, string | null, string, string])[];
};

/**
 * The statement that locks a transaction's streams and idempotency keys and reads them back (the
 * paylog_lock_batch function of the schema says how), to be sent with BEGIN in one round trip
 * (PostgresConnection.transaction): so its arguments are literals, escaped by the driver. Keys
 * are sorted here, by one comparison for every paylog process, so every transaction locks in the
 * same order; a key named twice is locked once, with its first claim.
 */
export function lockBatchStatement(streams: readonly string[], recordStreams: readonly string[], keys: readonly KeyToLock[]): string {
  const byId = new Map<string, KeyToLock>();
  for (const k of keys) {
    const id = keyId(k);
    const known = byId.get(id);
    if (!known || (!known.claim && k.claim)) byId.set(id, k);
  }
  const sorted = [...byId.values()].sort((a, b) => compare(a.merchantId, b.merchantId) || compare(a.key, b.key));
  const args = [
    streams, recordStreams, sorted.map((k) => k.merchantId), sorted.map((k) => k.key),
    sorted.map((k) => k.claim?.fingerprint ?? null), sorted.map((k) => k.claim?.leaseExpiresAt ?? null),
    sorted.map((k) => k.claim?.expiresAt ?? null), sorted.map((k) => k.claim?.now ?? null),
  ];
  return `SELECT paylog_lock_batch(${args.map(textArray).join(', ')}) AS locked`;
}

/** What lockBatchStatement's statement returned, by stream and by key. */
export function lockedBatch(result: pg.QueryResult): LockedBatch {
  const locked = (result.rows[0] as { locked: LockResult }).locked;
  return {
    streams: new Map(locked.streams.map(([id, state, headSize]) => [id, { state, headSize }])),
    heads: new Map(locked.heads.map(([stream, seq, hash]) => [stream, { seq, hash }])),
    keys: new Map(locked.keys.map((k) => [
      keyId({ merchantId: k[0], key: k[1] }),
      k[2] ? { inserted: true } : { inserted: false, row: { fingerprint: k[3], paymentId: k[4], response: k[5], leaseExpiresAt: k[6], expiresAt: k[7] } },
    ])),
  };
}

function textArray(values: readonly (string | null)[]): string {
  return `ARRAY[${values.map((v) => (v === null ? 'NULL' : escapeLiteral(v))).join(', ')}]::text[]`;
}

/** Any total order serves, as long as every process uses the same one: UTF-16 code units. */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
