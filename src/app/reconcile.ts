import type { Payment, PaymentOutcome } from '../core/payment.js';
import { applyOutcome, recordCard } from '../core/payment.js';
import { rfc3339 } from '../core/time.js';
import type { LookupReply } from '../ports/gateway.js';
import { ClaimLostError } from '../ports/store.js';
import type { AppContext, Caller } from './context.js';
import { IDEMPOTENCY_TTL_MIN_MS } from './idempotency.js';
import { draft } from './records.js';

export const RECONCILE_BATCH_MAX = 100;
export const LOOKUP_TIMEOUT_MS = 5_000;
/**
 * How long a reconciler holds its claim on a payment before another may presume it crashed and
 * take over: far beyond one gateway lookup and one commit, so a live reconciler keeps it.
 */
export const RECONCILE_LEASE_MS = 12 * LOOKUP_TIMEOUT_MS;
/** The prefix of the idempotency key a reconciler claims: never an HMAC (hex), so never a client's key. */
const RECONCILE_KEY_PREFIX = 'reconcile:';

export interface ReconcileResult {
  examined: number;
  resolved: { id: string; status: Payment['status'] }[];
  /** Payments the gateway could not answer for this time; they stay processing. */
  unresolved: string[];
  /** Payments whose claim another reconciler took over while this one stalled; that one settles them. */
  overtaken: string[];
}

/**
 * Resolves payments left processing (timeout, malformed reply, or a crash between
 * payment.received and its outcome) by asking the gateway what happened under their
 * gateway key, and appends `payment.reconciled` with the final status.
 */
export async function reconcile(ctx: AppContext, caller: Caller, limit = RECONCILE_BATCH_MAX): Promise<ReconcileResult> {
  const cutoff = rfc3339(ctx.clock.now() - ctx.settings.reconcileAfterMs);
  const stale = await ctx.store.payments.listProcessing(cutoff, Math.min(limit, RECONCILE_BATCH_MAX));
  const result: ReconcileResult = { examined: stale.length, resolved: [], unresolved: [], overtaken: [] };
  for (const payment of stale) {
    // One reconciler per payment, whatever the number of processes: the claim is the store's
    // idempotency claim (exactly one claimant wins, on every store), completed in the same commit
    // as `payment.reconciled`, so a later reconciler sees it completed and skips the payment.
    // That commit is fenced by the claim's lease: a reconciler that stalled past it, and was
    // taken over, writes nothing (docs/operations.md, "Reconciling from several processes").
    const key = RECONCILE_KEY_PREFIX + payment.id;
    const nowMs = ctx.clock.now();
    const lease = rfc3339(nowMs + RECONCILE_LEASE_MS);
    const claim = await ctx.store.idempotency.claim({
      merchantId: payment.merchantId, key, fingerprint: RECONCILE_KEY_PREFIX, now: rfc3339(nowMs),
      leaseExpiresAt: lease,
      expiresAt: rfc3339(nowMs + Math.max(ctx.settings.idempotencyTtlMs, IDEMPOTENCY_TTL_MIN_MS)),
    });
    if (claim.kind !== 'claimed' && claim.kind !== 'recovered') continue;
    // Re-read under the claim: another reconciler may have settled it since the list was read.
    const current = await ctx.store.payments.get(payment.merchantId, payment.id);
    if (!current || current.status !== 'processing') {
      await ctx.store.idempotency.release(payment.merchantId, key);
      continue;
    }
    let reply: LookupReply;
    try {
      reply = await ctx.gateway.lookup(current.id, AbortSignal.timeout(LOOKUP_TIMEOUT_MS));
    } catch {
      await ctx.store.idempotency.release(payment.merchantId, key).catch(() => undefined);
      result.unresolved.push(current.id);
      ctx.metrics.reconciliation('unresolved');
      continue;
    }
    const outcome = outcomeOf(reply);
    const updated = applyOutcome(current, outcome, current.attempts, rfc3339(ctx.clock.now()));
    try {
      await ctx.writer.append({
        records: [
          draft({ ...caller, merchantId: current.merchantId }, 'payment.reconciled', current.id, updated.status === 'succeeded' ? 'success' : 'failure', {
            merchantId: current.merchantId, amount: current.amount, currency: current.currency, card: recordCard(current.card),
            previousStatus: current.status, status: updated.status, gatewayAnswer: reply.kind,
            declineCode: updated.declineCode, failureCode: updated.failureCode,
          }, updated.failureCode),
        ],
        payment: updated,
        idempotency: {
          merchantId: current.merchantId, key, paymentId: current.id, response: { status: 200, body: { status: updated.status }, headers: {} }, heldUntil: lease,
        },
      });
    } catch (err) {
      // Taken over while this reconciler stalled: the one that took over writes the record.
      if (!(err instanceof ClaimLostError)) throw err;
      result.overtaken.push(current.id);
      ctx.metrics.reconciliation('overtaken');
      continue;
    }
    result.resolved.push({ id: current.id, status: updated.status });
    ctx.metrics.reconciliation(updated.status);
  }
  return result;
}

/** No record at the gateway under the key means it was never charged. */
function outcomeOf(reply: LookupReply): PaymentOutcome {
  switch (reply.kind) {
    case 'approved': return { status: 'succeeded' };
    case 'declined': return { status: 'declined', failureCode: reply.code, declineCode: reply.declineCode ?? reply.code };
    case 'not_found': return { status: 'failed', failureCode: 'gateway_unavailable' };
  }
}
