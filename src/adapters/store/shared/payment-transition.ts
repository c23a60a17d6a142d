import { MUTABLE_PAYMENT_STATUSES, type PaymentStatus } from '../../../core/payment.js';

/**
 * The SQL list of statuses a payment row may still leave, for the conditional upsert of the
 * SQLite and PostgreSQL journal commits (`… DO UPDATE … WHERE payments.status IN (…)`): the
 * forward-only rule of `canTransition`, as SQL. Built from constants, never from input.
 */
export function sqlStatusList(statuses: readonly PaymentStatus[] = MUTABLE_PAYMENT_STATUSES): string {
  return statuses.map((s) => `'${s}'`).join(', ');
}
