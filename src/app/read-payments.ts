import type { AuditRecord } from '../core/audit-record.js';
import { PaylogError } from '../core/errors.js';
import { isId } from '../core/ids.js';
import type { Payment, PaymentStatus } from '../core/payment.js';
import type { PaymentPage } from '../ports/payment-store.js';
import type { AppContext } from './context.js';

export const LIST_LIMIT_DEFAULT = 10;
export const LIST_LIMIT_MAX = 100;

/** A merchant sees only its own payments: another merchant's ID is a 404, as if unknown. */
export async function getPayment(ctx: AppContext, merchantId: string, id: string): Promise<Payment> {
  const payment = isId('txn', id) ? await ctx.store.payments.get(merchantId, id) : null;
  if (!payment) throw new PaylogError('resource_missing', { param: 'id', message: `No such payment: '${id}'.` });
  return payment;
}

export interface ListOptions {
  limit?: number;
  startingAfter?: string;
  status?: PaymentStatus;
}

export async function listPayments(ctx: AppContext, merchantId: string, options: ListOptions): Promise<PaymentPage> {
  if (options.startingAfter !== undefined && !isId('txn', options.startingAfter)) {
    throw new PaylogError('parameter_invalid', { param: 'startingAfter', message: '"startingAfter" must be a payment ID (txn_…).' });
  }
  return ctx.store.payments.list({
    merchantId,
    limit: Math.min(options.limit ?? LIST_LIMIT_DEFAULT, LIST_LIMIT_MAX),
    ...(options.startingAfter !== undefined && { startingAfter: options.startingAfter }),
    ...(options.status !== undefined && { status: options.status }),
  });
}

/** The payment's audit records in time order, each with its hash. */
export async function paymentEvents(ctx: AppContext, merchantId: string, id: string): Promise<AuditRecord[]> {
  await getPayment(ctx, merchantId, id);
  return ctx.store.journal.readByResource(id);
}
