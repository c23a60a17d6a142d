import { expect } from 'vitest';
import type { AppContext } from '../../src/app/context.js';
import { storedIdempotencyKey } from '../../src/app/idempotency.js';
import { draft } from '../../src/app/records.js';
import { type CardDetails, maskCard } from '../../src/core/card.js';
import { newId } from '../../src/core/ids.js';
import { type Payment, recordCard } from '../../src/core/payment.js';
import { rfc3339 } from '../../src/core/time.js';
import { FUTURE_YEAR } from './harness.js';

export interface CrashedPayment {
  card?: CardDetails;
  amount?: number;
  /** Upper case, as a payment holds it. */
  currency?: string;
  description?: string | null;
  merchantReference?: string | null;
  metadata?: Record<string, string>;
  /** The Idempotency-Key the request held: recorded, and bound to the payment under the key. */
  idempotencyKey?: string | null;
  /** How long ago the request died (its payment's createdAt and updatedAt). */
  agoMs?: number;
}

/**
 * What a request that died right after `payment.received` leaves behind, written through the
 * journal writer as the request would have: the record and a durable, processing payment for
 * merchant acme (and, with a key, the key's paymentId). Returns the payment as stored.
 */
export async function receivedThenCrashed(ctx: AppContext, options: CrashedPayment = {}): Promise<Payment> {
  const nowMs = ctx.clock.now() - (options.agoMs ?? 0);
  const masked = maskCard(options.card ?? { number: '4242424242424242', expMonth: 12, expYear: FUTURE_YEAR, cvc: '123' }, ctx.fingerprintKey);
  const id = newId('txn', nowMs, ctx.random.bytes(16));
  const now = rfc3339(nowMs);
  const amount = options.amount ?? 2500;
  const currency = options.currency ?? 'EUR';
  const key = options.idempotencyKey ?? null;
  const payment: Payment = {
    id, object: 'payment', status: 'processing', amount, currency, merchantId: 'acme', card: masked,
    attempts: 0, declineCode: null, failureCode: null, description: options.description ?? null,
    merchantReference: options.merchantReference ?? null, metadata: options.metadata ?? {},
    createdAt: now, updatedAt: now, audit: null,
  };
  const caller = { merchantId: 'acme', actor: 'key_crashed', origin: { requestId: 'req_crashed', traceId: null, ip: '127.0.0.1' } };
  await ctx.writer.append({
    records: [draft(caller, 'payment.received', id, 'success', {
      merchantId: 'acme', amount, currency, card: recordCard(masked),
      ...(options.merchantReference !== undefined && { merchantReference: options.merchantReference }), idempotencyKey: key,
    })],
    payment,
    ...(key !== null && { idempotency: { merchantId: 'acme', key: storedIdempotencyKey(ctx, key), paymentId: id } }),
  });
  const stored = await ctx.store.payments.get('acme', id);
  expect(stored?.status).toBe('processing');
  return stored as Payment;
}
