import type { AuditRecord } from '../core/audit-record.js';
import { PaylogError } from '../core/errors.js';
import { isId } from '../core/ids.js';
import { containsCardNumber } from '../core/redact.js';
import type { Payment, PaymentStatus } from '../core/payment.js';
import type { RecordPosition } from '../ports/journal-store.js';
import type { PaymentPage } from '../ports/payment-store.js';
import type { AppContext } from './context.js';
import { cardDataRefused } from './validate-payment.js';

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
  merchantReference?: string;
}

export async function listPayments(ctx: AppContext, merchantId: string, options: ListOptions): Promise<PaymentPage> {
  if (options.startingAfter !== undefined && !isId('txn', options.startingAfter)) {
    throw new PaylogError('parameter_invalid', { param: 'startingAfter', message: '"startingAfter" must be a payment ID (txn_…).' });
  }
  // Intake refuses a reference holding a card number, so none is stored; one in a filter is
  // refused the same way (never echoed) rather than carried into logs and store queries.
  if (options.merchantReference !== undefined && containsCardNumber(options.merchantReference)) throw cardDataRefused('merchantReference');
  return ctx.store.payments.list({
    merchantId,
    limit: Math.min(options.limit ?? LIST_LIMIT_DEFAULT, LIST_LIMIT_MAX),
    ...(options.startingAfter !== undefined && { startingAfter: options.startingAfter }),
    ...(options.status !== undefined && { status: options.status }),
    ...(options.merchantReference !== undefined && { merchantReference: options.merchantReference }),
  });
}

export const EVENTS_LIMIT_DEFAULT = 100;
export const EVENTS_LIMIT_MAX = 100;
/** How a page of records names where it starts: the last record received, as `<stream>:<seq>`. */
const RECORD_CURSOR = /^(str_[0-9a-z]{26}):([1-9][0-9]{0,15})$/;

export interface EventPageOptions {
  limit?: number;
  /** `<stream>:<seq>` of the last record of the previous page. */
  startingAfter?: string;
}

export interface EventPage {
  data: AuditRecord[];
  hasMore: boolean;
}

/**
 * A page of the payment's audit records in time order, each with its hash. Every idempotent
 * replay adds a record, so a payment's records are paged like the payment list.
 */
export async function paymentEvents(ctx: AppContext, merchantId: string, id: string, options: EventPageOptions = {}): Promise<EventPage> {
  await getPayment(ctx, merchantId, id);
  const limit = Math.min(options.limit ?? EVENTS_LIMIT_DEFAULT, EVENTS_LIMIT_MAX);
  const after = options.startingAfter === undefined ? undefined : await recordPosition(ctx, id, options.startingAfter);
  const records = await ctx.store.journal.readByResource(id, { limit: limit + 1, ...(after && { after }) });
  return { data: records.slice(0, limit), hasMore: records.length > limit };
}

/** Where the record a cursor names sits; it must be one of this payment's records. */
async function recordPosition(ctx: AppContext, id: string, cursor: string): Promise<RecordPosition> {
  const match = RECORD_CURSOR.exec(cursor);
  const [record] = match ? await ctx.store.journal.readStream(match[1]!, Number(match[2]), 1) : [];
  if (!record || record.seq !== Number(match?.[2]) || record.resource !== id) {
    throw new PaylogError('parameter_invalid', {
      param: 'startingAfter', message: '"startingAfter" must name a record of this payment as <stream>:<seq>, from the last page.',
    });
  }
  return { ts: record.ts, stream: record.stream, seq: record.seq };
}
