import type { Payment, PaymentOutcome } from '../core/payment.js';
import { applyOutcome, recordCard } from '../core/payment.js';
import { rfc3339 } from '../core/time.js';
import type { LookupReply } from '../ports/gateway.js';
import type { AppContext, Caller } from './context.js';
import { draft } from './records.js';

export const RECONCILE_BATCH_MAX = 100;
export const LOOKUP_TIMEOUT_MS = 5_000;

export interface ReconcileResult {
  examined: number;
  resolved: { id: string; status: Payment['status'] }[];
  /** Payments the gateway could not answer for this time; they stay processing. */
  unresolved: string[];
}

/**
 * Resolves payments left processing (timeout, malformed reply, or a crash between
 * payment.received and its outcome) by asking the gateway what happened under their
 * gateway key, and appends `payment.reconciled` with the final status.
 */
export async function reconcile(ctx: AppContext, caller: Caller, limit = RECONCILE_BATCH_MAX): Promise<ReconcileResult> {
  const cutoff = rfc3339(ctx.clock.now() - ctx.settings.reconcileAfterMs);
  const stale = await ctx.store.payments.listProcessing(cutoff, Math.min(limit, RECONCILE_BATCH_MAX));
  const result: ReconcileResult = { examined: stale.length, resolved: [], unresolved: [] };
  for (const payment of stale) {
    let reply: LookupReply;
    try {
      reply = await ctx.gateway.lookup(payment.id, AbortSignal.timeout(LOOKUP_TIMEOUT_MS));
    } catch {
      result.unresolved.push(payment.id);
      ctx.metrics.reconciliation('unresolved');
      continue;
    }
    const outcome = outcomeOf(reply);
    const updated = applyOutcome(payment, outcome, payment.attempts, rfc3339(ctx.clock.now()));
    await ctx.writer.append({
      records: [
        draft({ ...caller, merchantId: payment.merchantId }, 'payment.reconciled', payment.id, updated.status === 'succeeded' ? 'success' : 'failure', {
          merchantId: payment.merchantId, amount: payment.amount, currency: payment.currency, card: recordCard(payment.card),
          previousStatus: payment.status, status: updated.status, gatewayAnswer: reply.kind,
          declineCode: updated.declineCode, failureCode: updated.failureCode,
        }, updated.failureCode),
      ],
      payment: updated,
    });
    result.resolved.push({ id: payment.id, status: updated.status });
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
