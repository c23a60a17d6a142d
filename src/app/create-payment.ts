import type { AuditRecord, JsonObject, RecordDraft } from '../core/audit-record.js';
import { isExpired, luhnValid, maskCard } from '../core/card.js';
import { PaylogError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import { type AuditPointer, type Payment, type PaymentOutcome, type PaymentRequest, applyOutcome, recordCard } from '../core/payment.js';
import { rfc3339 } from '../core/time.js';
import { type AttemptReport, type ChargeOutcome, chargeWithRetries } from './charge-with-retries.js';
import type { ApiResponse, AppContext, Caller } from './context.js';
import { claimIdempotencyKey, keyClaim, recordedIdempotencyKey, storedIdempotencyKey } from './idempotency.js';
import type { KeyClaim } from '../ports/idempotency-store.js';
import { ClaimsTakenError } from '../ports/store.js';
import { withAuditPointer } from './journal-writer.js';
import { GATEWAY_RETRY_AFTER_S, paymentResponse } from './payment-response.js';
import { draft } from './records.js';
import { validatePayment } from './validate-payment.js';

/** The Idempotency-Key a payment runs under: as sent, as stored, and the claim its first commit makes, if any. */
interface PaymentKey {
  sent: string;
  stored: string;
  /** Set when the key is claimed by the payment's first commit, not claimed already. */
  claim?: KeyClaim;
}

/**
 * POST /v1/payments: validate, claim the idempotency key with `payment.received` in one
 * durable commit, charge through the gateway with retries, and make the outcome durable
 * before answering.
 */
export async function createPayment(
  ctx: AppContext,
  caller: Caller,
  input: PaymentRequest,
  idempotencyKey: string | undefined,
): Promise<ApiResponse> {
  const request = validatePayment(input);
  if (idempotencyKey === undefined) return runPayment(ctx, caller, request, undefined);
  const stored = storedIdempotencyKey(ctx, idempotencyKey);

  // Most keys are new: the first commit claims the key and records the payment together
  // (docs/idempotency.md). A key held already makes that commit write nothing; the request
  // then claims the key on its own, as below, to learn who holds it.
  try {
    return await runPayment(ctx, caller, request, { sent: idempotencyKey, stored, claim: keyClaim(ctx, input) });
  } catch (err) {
    if (!(err instanceof ClaimsTakenError)) throw err;
  }

  const claim = await claimIdempotencyKey(ctx, caller, input, idempotencyKey);
  if (claim.response) return claim.response;
  try {
    return await runPayment(ctx, caller, request, { sent: idempotencyKey, stored });
  } catch (err) {
    // Frees the key only if no transaction was created (release is a no-op otherwise).
    await ctx.store.idempotency.release(caller.merchantId, stored).catch(() => undefined);
    throw err;
  }
}

async function runPayment(
  ctx: AppContext,
  caller: Caller,
  request: PaymentRequest,
  key: PaymentKey | undefined,
): Promise<ApiResponse> {
  const nowMs = ctx.clock.now();
  const now = rfc3339(nowMs);
  const card = request.paymentMethod.card;
  const masked = maskCard(card, ctx.fingerprintKey);
  const id = newId('txn', nowMs, ctx.random.bytes(16));
  const requestId = caller.origin.requestId ?? '';
  const received: Payment = {
    id, object: 'payment', status: 'processing',
    amount: request.amount, currency: request.currency, merchantId: caller.merchantId,
    card: masked, attempts: 0, declineCode: null, failureCode: null,
    description: request.description ?? null, merchantReference: request.merchantReference ?? null,
    metadata: request.metadata ?? {}, createdAt: now, updatedAt: now, audit: null,
  };
  const summary: PaymentSummary = { amount: request.amount, card: recordCard(masked), currency: request.currency, merchantId: caller.merchantId };
  // Record data is built with its keys in sorted order (see recordCard).
  const receivedData: JsonObject = {
    amount: summary.amount,
    card: { bin: masked.bin, brand: masked.brand, expMonth: masked.expMonth, expYear: masked.expYear, fingerprint: masked.fingerprint, last4: masked.last4 },
    currency: summary.currency,
    idempotencyKey: key === undefined ? null : recordedIdempotencyKey(key.sent),
    merchantId: summary.merchantId,
    merchantReference: request.merchantReference ?? null,
  };
  const receivedRecord = draft(caller, 'payment.received', id, 'success', receivedData);

  // Cards that cannot be charged are declined here, without a gateway call.
  const refusal = !luhnValid(card.number) ? 'incorrect_number' : isExpired(card.expMonth, card.expYear, new Date(nowMs)) ? 'expired_card' : null;
  if (refusal) {
    const outcome: PaymentOutcome = { status: 'declined', failureCode: refusal, declineCode: refusal };
    const payment = applyOutcome(received, outcome, 0, now);
    return finish(ctx, caller, [receivedRecord], payment, summary, key, requestId);
  }

  const [receivedSealed] = await ctx.writer.append({
    records: [receivedRecord],
    payment: received,
    ...(key !== undefined && { idempotency: { merchantId: caller.merchantId, key: key.stored, paymentId: id, ...(key.claim && { claim: key.claim }) } }),
  });

  // An attempt followed by a retry is made durable before the wait; the last attempt is
  // committed with the outcome, in the same group commit (one journal round trip less).
  const attemptWrites: Promise<unknown>[] = [];
  let lastAttempt: RecordDraft | null = null;
  const onAttempt = (report: AttemptReport, last: boolean): void => {
    ctx.metrics.gatewayAttempt(report.result, report.latencyMs);
    if (report.attempt > 1) ctx.metrics.gatewayRetry();
    const record = draft(caller, 'payment.attempted', id, attemptOutcome(report), attemptData(report), report.code);
    if (last) {
      lastAttempt = record;
      return;
    }
    const write = ctx.writer.append({ records: [record] });
    write.catch(() => undefined); // awaited below with the outcome
    attemptWrites.push(write);
  };
  const charged = await chargeWithRetries(
    { gateway: ctx.gateway, clock: ctx.clock, random: ctx.random },
    { gatewayKey: id, amount: request.amount, currency: request.currency, card },
    ctx.settings.retry,
    onAttempt,
  );
  const payment = applyOutcome(
    receivedSealed ? { ...received, audit: auditPointer(receivedSealed) } : received,
    toPaymentOutcome(charged),
    charged.attempts,
    rfc3339(ctx.clock.now()),
  );
  try {
    await Promise.all(attemptWrites);
    return await finish(ctx, caller, lastAttempt ? [lastAttempt] : [], payment, summary, key && { sent: key.sent, stored: key.stored }, requestId);
  } catch (err) {
    throw new PaylogError('internal_error', {
      cause: err,
      message: `The outcome of payment ${id} could not be recorded. It stays processing and will be reconciled; retry with the same Idempotency-Key, or read it by ID, to see its final state.`,
    });
  }
}

/** The payment's fields every record of it carries. */
interface PaymentSummary {
  amount: number;
  card: { bin: string; brand: string; last4: string };
  currency: string;
  merchantId: string;
}

/** Appends the outcome record with the payment and the stored idempotent response, then answers. */
async function finish(
  ctx: AppContext,
  caller: Caller,
  before: RecordDraft[],
  payment: Payment,
  summary: PaymentSummary,
  key: PaymentKey | undefined,
  requestId: string,
): Promise<ApiResponse> {
  const outcomeRecord = draft(caller, `payment.${payment.status}`, payment.id, outcomeOf(payment), {
    amount: summary.amount,
    attempts: payment.attempts,
    card: summary.card,
    currency: summary.currency,
    declineCode: payment.declineCode,
    failureCode: payment.failureCode,
    merchantId: summary.merchantId,
    status: payment.status,
  }, payment.failureCode);
  const render = (sealed: AuditRecord[]): ApiResponse =>
    paymentResponse(withAuditPointer(payment, sealed), requestId, GATEWAY_RETRY_AFTER_S);
  // The stored response carries the same audit pointer as the live one, so it is rendered once
  // sealed, and that one rendering is both stored and answered (the store keeps its own copy).
  let rendered: ApiResponse | null = null;
  const sealed = await ctx.writer.append({
    records: before.length > 0 ? [...before, outcomeRecord] : [outcomeRecord],
    payment,
    ...(key !== undefined && {
      idempotency: (own: AuditRecord[]) => {
        rendered = render(own);
        return { merchantId: caller.merchantId, key: key.stored, paymentId: payment.id, response: rendered, ...(key.claim && { claim: key.claim }) };
      },
    }),
  });
  ctx.metrics.paymentOutcome(payment.status, payment.declineCode);
  return rendered ?? render(sealed);
}

function auditPointer(record: AuditRecord): AuditPointer {
  return { stream: record.stream, seq: record.seq, hash: record.hash };
}

function toPaymentOutcome(charged: ChargeOutcome): PaymentOutcome {
  switch (charged.kind) {
    case 'approved': return { status: 'succeeded' };
    case 'declined': return { status: 'declined', failureCode: charged.code, declineCode: charged.declineCode ?? charged.code };
    case 'unavailable': return { status: 'failed', failureCode: 'gateway_unavailable' };
    case 'unknown': return { status: 'processing' };
  }
}

function outcomeOf(payment: Payment): 'success' | 'failure' | 'unknown' {
  if (payment.status === 'succeeded') return 'success';
  if (payment.status === 'processing') return 'unknown';
  return 'failure';
}

function attemptOutcome(report: AttemptReport): 'success' | 'failure' | 'unknown' {
  if (report.result === 'approved') return 'success';
  if (report.result === 'timeout' || report.result === 'malformed') return 'unknown';
  return 'failure';
}

function attemptData(report: AttemptReport): JsonObject {
  return {
    attempt: report.attempt, declineCode: report.declineCode, httpStatus: report.httpStatus,
    latencyMs: report.latencyMs, result: report.result, retryAfterMs: report.retryAfterMs,
  };
}
