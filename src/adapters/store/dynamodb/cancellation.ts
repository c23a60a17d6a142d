import type { StreamState } from '../../../ports/journal-store.js';
import { ClaimLostError, ClaimsTakenError, StoreUnavailableError, StreamConflictError } from '../../../ports/store.js';
import { checkContinues } from '../shared/continuity.js';
import { checkSealable, checkTakesRecords } from '../shared/stream-rules.js';
import type { ItemRole } from './commit-plan.js';
import { type RawAttribute, rawItemValues } from './errors.js';

interface CancellationReason {
  Code?: string;
  Item?: Record<string, RawAttribute>;
}

/**
 * What a cancelled journal transaction means. A failed condition is a conflict, described by
 * the same rules every store applies (the stream is not open, or its head is not where the
 * batch continues; a record or checkpoint already exists). Any other reason — a conflict with
 * another transaction or throttling that outlasted the SDK's retries, a validation error — is
 * the store failing: nothing was written, and the caller is told so, never that it succeeded.
 */
export function explainCancellation(err: unknown, roles: readonly ItemRole[]): unknown {
  if (!(err instanceof Error) || err.name !== 'TransactionCanceledException') return err;
  const reasons = (err as { CancellationReasons?: CancellationReason[] }).CancellationReasons ?? [];
  // Keys claimed in the commit and held already: every claim rides in the batch's first
  // transaction (commit-plan.ts), so nothing of the batch was written, and the writer can
  // commit the other units without these.
  const taken = reasons.flatMap((r, i) => {
    const role = roles[i];
    return r.Code === 'ConditionalCheckFailed' && role?.kind === 'claim' ? [role.unit] : [];
  });
  if (taken.length > 0) {
    return new ClaimsTakenError(`${taken.length} idempotency key(s) of this batch are held already; nothing was written`, taken.sort((a, b) => a - b));
  }
  // A lost claim first: a reconciler overtaken also finds the payment row settled (refused).
  const fenced = reasons.findIndex((r, i) => r.Code === 'ConditionalCheckFailed' && roles[i]?.kind === 'idempotency');
  if (fenced >= 0) return conflictOf(roles[fenced] as ItemRole, null);
  const at = reasons.findIndex((r) => r.Code !== undefined && r.Code !== 'None');
  const reason = reasons[at];
  const role = roles[at];
  if (reason?.Code === 'ConditionalCheckFailed' && role) return conflictOf(role, rawItemValues(reason.Item));
  return new StoreUnavailableError(`DynamoDB store failed (${reason?.Code ?? err.name})`, { cause: err });
}

/**
 * The positions of payment rows whose forward-only condition failed, when those are the only
 * reasons the transaction was cancelled; null for any other error or cancellation.
 */
export function refusedPaymentRows(err: unknown, roles: readonly ItemRole[]): Set<number> | null {
  if (!(err instanceof Error) || err.name !== 'TransactionCanceledException') return null;
  const reasons = (err as { CancellationReasons?: CancellationReason[] }).CancellationReasons ?? [];
  const refused = new Set<number>();
  for (const [i, reason] of reasons.entries()) {
    if (reason.Code === undefined || reason.Code === 'None') continue;
    if (reason.Code !== 'ConditionalCheckFailed' || roles[i]?.kind !== 'payment') return null;
    refused.add(i);
  }
  return refused.size > 0 ? refused : null;
}

function conflictOf(role: ItemRole, old: Record<string, string | number> | null): StreamConflictError {
  switch (role.kind) {
    case 'head': {
      const conflict = ruleConflict(() => {
        checkTakesRecords(role.stream, old?.state as StreamState | undefined);
        const seq = old?.headSeq;
        checkContinues(role.first, seq === undefined ? null : { seq: Number(seq), hash: String(old?.headHash ?? '') });
      });
      return conflict ?? new StreamConflictError(`stream ${role.stream} has no head paylog can continue`);
    }
    case 'signed-head': {
      const conflict = ruleConflict(() => checkTakesRecords(role.stream, old?.state as StreamState | undefined));
      return conflict ?? new StreamConflictError(`stream ${role.stream} holds ${String(old?.headSeq)} records, not the ${role.size} its signed head covers`);
    }
    case 'seal': {
      const stream = old === null ? undefined : { state: old.state as StreamState, headSize: Number(old.headSize ?? 0) };
      return ruleConflict(() => checkSealable(role.seal, stream)) ?? new StreamConflictError(`stream ${role.seal.stream} could not be sealed`);
    }
    case 'stream-exists':
      return new StreamConflictError(`stream ${role.stream} does not exist`);
    case 'record':
      return new StreamConflictError(`stream ${role.stream} already has seq ${role.seq}`);
    case 'checkpoint':
      return new StreamConflictError(`stream ${role.stream} already has a checkpoint of size ${role.size}`);
    case 'payment':
      // Refused rows are dropped and the transaction sent again (journal.ts); not a conflict.
      return new StreamConflictError(`payment ${role.id} could not be written`);
    case 'idempotency':
      // Only a fenced update carries a condition (IdempotencyUpdate.heldUntil).
      return new ClaimLostError(`the claim on idempotency key ${JSON.stringify(role.key)} was taken over; the commit is refused`);
    case 'claim':
      // Turned into ClaimsTakenError before any role is looked at (explainCancellation).
      return new StreamConflictError(`idempotency key ${JSON.stringify(role.key)} is held already`);
  }
}

/** The conflict a shared rule throws for the stored item, or null when the rule passes. */
function ruleConflict(rule: () => void): StreamConflictError | null {
  try {
    rule();
    return null;
  } catch (conflict) {
    if (conflict instanceof StreamConflictError) return conflict;
    throw conflict;
  }
}
