import type { PaymentStatus } from '../core/payment.js';
import type { AppContext } from './context.js';

/** The one window the chart asks for: the last hour, by minute. */
export const STATS_WINDOW_MINUTES = 60;
const MINUTE_MS = 60_000;
/** Payments read at most per answer; beyond, the answer says `truncated` (the oldest minutes undercount). */
export const STATS_PAYMENTS_MAX = 10_000;
/** Page size when walking the payments, newest first (the store's largest page). */
const STATS_PAGE_LIMIT = 100;

export interface MinuteCounts {
  /** The minute's start, RFC 3339 UTC. */
  minute: string;
  succeeded: number;
  declined: number;
  failed: number;
  processing: number;
}

export interface PaymentStats {
  window: '1h';
  /** Start of the oldest minute counted (inclusive) and end of the newest (exclusive). */
  from: string;
  to: string;
  minutes: MinuteCounts[];
  total: Omit<MinuteCounts, 'minute'>;
  /** More than STATS_PAYMENTS_MAX payments in the window: the oldest were not counted. */
  truncated: boolean;
}

const emptyCounts = (): Omit<MinuteCounts, 'minute'> => ({ succeeded: 0, declined: 0, failed: 0, processing: 0 });

/**
 * A merchant's payments per minute by their current status, over the last hour (the current,
 * partial minute last). The payment store has no time-range query, so this walks the list
 * newest first until a payment is older than the window, reading at most STATS_PAYMENTS_MAX.
 */
export async function paymentStats(ctx: AppContext, merchantId: string): Promise<PaymentStats> {
  const now = ctx.clock.now();
  const firstMinute = Math.floor(now / MINUTE_MS) * MINUTE_MS - (STATS_WINDOW_MINUTES - 1) * MINUTE_MS;
  const end = firstMinute + STATS_WINDOW_MINUTES * MINUTE_MS;
  const buckets = Array.from({ length: STATS_WINDOW_MINUTES }, emptyCounts);
  const total = emptyCounts();
  let read = 0;
  let startingAfter: string | undefined;
  let truncated = false;
  walk: for (;;) {
    const page = await ctx.store.payments.list({ merchantId, limit: STATS_PAGE_LIMIT, ...(startingAfter !== undefined && { startingAfter }) });
    for (const payment of page.data) {
      const at = Date.parse(payment.createdAt);
      if (at < firstMinute) break walk;
      if (read >= STATS_PAYMENTS_MAX) {
        truncated = true;
        break walk;
      }
      read++;
      // A payment stamped after `now` (another process's clock) counts in the newest minute.
      const index = Math.min(Math.floor((at - firstMinute) / MINUTE_MS), STATS_WINDOW_MINUTES - 1);
      const status: PaymentStatus = payment.status;
      buckets[index]![status]++;
      total[status]++;
    }
    const last = page.data[page.data.length - 1];
    if (!page.hasMore || last === undefined) break;
    startingAfter = last.id;
  }
  return {
    window: '1h',
    from: new Date(firstMinute).toISOString(),
    to: new Date(end).toISOString(),
    minutes: buckets.map((counts, i) => ({ minute: new Date(firstMinute + i * MINUTE_MS).toISOString(), ...counts })),
    total,
    truncated,
  };
}
