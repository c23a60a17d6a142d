import { ClaimLostError, ClaimsTakenError, StoreUnavailableError, StreamConflictError } from '../../../ports/store.js';
import { translateError } from './errors.js';
import type { WriteOp } from './write-ops.js';

/** Messages between the store and its write thread. */
export interface WriteThreadData {
  path: string;
  busyTimeoutMs: number;
}
export type ToWriteThread = { kind: 'batch'; ops: WriteOp[] } | { kind: 'close' };
export type FromWriteThread =
  | { kind: 'done'; outcomes: WriteOutcome[] }
  /** The transaction failed as a whole: nothing of the batch is durable. */
  | { kind: 'failed'; error: WireError };
export type WriteOutcome = { ok: true; value: unknown } | { ok: false; error: WireError };

/** An error as it crosses threads: only the port's error classes and a message that names no SQL. */
export interface WireError {
  kind: 'claim_lost' | 'claims_taken' | 'conflict' | 'unavailable' | 'other';
  message: string;
  /** ClaimsTakenError's units. */
  units?: readonly number[];
}

export function toWire(err: unknown): WireError {
  const translated = translateError(err);
  if (translated instanceof ClaimLostError) return { kind: 'claim_lost', message: translated.message };
  if (translated instanceof ClaimsTakenError) return { kind: 'claims_taken', message: translated.message, units: translated.units };
  if (translated instanceof StreamConflictError) return { kind: 'conflict', message: translated.message };
  if (translated instanceof StoreUnavailableError) return { kind: 'unavailable', message: translated.message };
  return { kind: 'other', message: translated instanceof Error ? translated.message : String(translated) };
}

export function fromWire(error: WireError): Error {
  switch (error.kind) {
    case 'claim_lost': return new ClaimLostError(error.message);
    case 'claims_taken': return new ClaimsTakenError(error.message, error.units ?? []);
    case 'conflict': return new StreamConflictError(error.message);
    case 'unavailable': return new StoreUnavailableError(error.message);
    case 'other': return new Error(error.message);
  }
}
