import { createHmac } from 'node:crypto';
import { containsCardNumber } from '../core/card.js';
import { PaylogError } from '../core/errors.js';
import type { PaymentRequest } from '../core/payment.js';
import type { KeyClaim } from '../ports/idempotency-store.js';
import { rfc3339 } from '../core/time.js';
import type { ApiResponse, AppContext, Caller } from './context.js';
import { withAuditPointer } from './journal-writer.js';
import { GATEWAY_RETRY_AFTER_S, paymentResponse } from './payment-response.js';
import { draft } from './records.js';
import { requestFingerprint } from './request-fingerprint.js';

/**
 * Stores see an HMAC of the Idempotency-Key, never the key: a client may put anything in it
 * (even something that looks like a card number), and lookups need only equality.
 */
export function storedIdempotencyKey(ctx: AppContext, key: string): string {
  return createHmac('sha256', ctx.fingerprintKey).update('paylog/idempotency-key\0').update(key).digest('hex');
}

/** How a key appears in records: as sent, unless it looks like a card number. */
export function recordedIdempotencyKey(key: string): string {
  return containsCardNumber(key) ? '[redacted: looks like a card number]' : key;
}

/** Seconds a client should wait before retrying a key that is still in flight. */
export const IN_FLIGHT_RETRY_AFTER_S = 1;
export const IDEMPOTENCY_TTL_MIN_MS = 24 * 60 * 60 * 1000;

/** A claim on a key for this request, as of now: the request's fingerprint, its lease and the key's expiry. */
export function keyClaim(ctx: AppContext, body: PaymentRequest): KeyClaim {
  const nowMs = ctx.clock.now();
  return {
    fingerprint: requestFingerprint(ctx.fingerprintKey, body),
    now: rfc3339(nowMs),
    leaseExpiresAt: rfc3339(nowMs + ctx.settings.idempotencyLeaseMs),
    expiresAt: rfc3339(nowMs + Math.max(ctx.settings.idempotencyTtlMs, IDEMPOTENCY_TTL_MIN_MS)),
  };
}

/**
 * Claims an Idempotency-Key for this request. Returns a response when the request must
 * not run again (a replay, or a payment recovered from a crashed request); throws the
 * 409 / 422 idempotency errors; returns `{}` when the caller owns the key and proceeds.
 */
export async function claimIdempotencyKey(
  ctx: AppContext,
  caller: Caller,
  body: PaymentRequest,
  key: string,
): Promise<{ response?: ApiResponse }> {
  const claim = await ctx.store.idempotency.claim({
    merchantId: caller.merchantId,
    key: storedIdempotencyKey(ctx, key),
    ...keyClaim(ctx, body),
  });
  const data = { idempotencyKey: recordedIdempotencyKey(key) };
  switch (claim.kind) {
    case 'claimed':
      return {};
    case 'completed': {
      await ctx.writer.append({ records: [draft(caller, 'idempotency.replayed', claim.paymentId, 'success', data)] });
      ctx.metrics.idempotentReplay();
      return { response: { ...claim.response, headers: { ...claim.response.headers, 'Idempotent-Replayed': 'true' } } };
    }
    case 'in_flight':
      ctx.metrics.idempotencyConflict();
      await ctx.writer.append({ records: [draft(caller, 'idempotency.conflict', null, 'failure', data, 'idempotency_key_in_use')] });
      throw new PaylogError('idempotency_key_in_use', { retryAfterS: IN_FLIGHT_RETRY_AFTER_S });
    case 'mismatch':
      ctx.metrics.idempotencyConflict();
      await ctx.writer.append({ records: [draft(caller, 'idempotency.conflict', null, 'failure', data, 'idempotency_key_reused')] });
      throw new PaylogError('idempotency_key_reused', { param: 'Idempotency-Key' });
    case 'recovered':
      return { response: await answerRecovered(ctx, caller, key, claim.paymentId) };
  }
}

/**
 * An earlier request with this key created a payment and then died before answering.
 * The payment is answered as it stands (usually processing, until reconciled) and that
 * answer is stored, so the key never creates a second transaction.
 */
async function answerRecovered(ctx: AppContext, caller: Caller, key: string, paymentId: string): Promise<ApiResponse> {
  const payment = await ctx.store.payments.get(caller.merchantId, paymentId);
  if (!payment) throw new PaylogError('internal_error', { message: `Payment ${paymentId} of this Idempotency-Key is missing.` });
  const requestId = caller.origin.requestId ?? '';
  const sealed = await ctx.writer.append({
    records: [draft(caller, 'idempotency.replayed', paymentId, 'success', { idempotencyKey: recordedIdempotencyKey(key), recovered: true }, 'recovered_after_crash')],
    idempotency: { merchantId: caller.merchantId, key: storedIdempotencyKey(ctx, key), paymentId, response: paymentResponse(payment, requestId, GATEWAY_RETRY_AFTER_S) },
  });
  return paymentResponse(payment.audit ? payment : withAuditPointer(payment, sealed), requestId, GATEWAY_RETRY_AFTER_S);
}
