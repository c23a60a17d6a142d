import { rfc3339 } from '../core/time.js';
import type { AppContext, Caller } from './context.js';
import { draft } from './records.js';

/** Keys one purge transaction deletes at most: short enough not to hold the write lock for long. */
export const PURGE_BATCH_ROWS_MAX = 1_000;
/** Transactions one run makes at most; what is left waits for the next run. */
export const PURGE_RUN_BATCHES_MAX = 100;

export interface PurgeLimits {
  batchRowsMax: number;
  runBatchesMax: number;
}

export interface PurgeResult {
  /** Keys deleted by this run. */
  count: number;
  batches: number;
  /** True when the run stopped at runBatchesMax with expired keys perhaps left. */
  capped: boolean;
  /** True when the store expires keys by itself (DynamoDB TTL) and nothing was run. */
  skipped: boolean;
}

/**
 * Deletes idempotency keys past their TTL (and past their lease: a claim a live request
 * holds stays), a batch per transaction, until a batch comes back short or the run's cap is
 * reached. A run that deleted anything is journaled as `idempotency.purged` with its count
 * (PCI DSS 3.2.1/10.5.1: what is kept, and its removal, is on record). Several processes may
 * run it against one store at once: each delete re-checks expiry and lease in the store.
 */
export async function purgeExpiredIdempotencyKeys(
  ctx: AppContext,
  caller: Caller,
  limits: PurgeLimits = { batchRowsMax: PURGE_BATCH_ROWS_MAX, runBatchesMax: PURGE_RUN_BATCHES_MAX },
): Promise<PurgeResult> {
  if (ctx.store.idempotency.expiresByTtl) return { count: 0, batches: 0, capped: false, skipped: true };
  // One cut-off for the whole run: keys expiring while it runs wait for the next one.
  const now = rfc3339(ctx.clock.now());
  let count = 0;
  let batches = 0;
  let capped = false;
  for (;;) {
    if (batches >= limits.runBatchesMax) {
      capped = true;
      break;
    }
    const deleted = await ctx.store.idempotency.purgeExpired(now, limits.batchRowsMax);
    batches++;
    count += deleted;
    if (deleted < limits.batchRowsMax) break;
  }
  if (count > 0) {
    await ctx.writer.append({
      records: [draft(caller, 'idempotency.purged', null, 'success', { count, expiredBefore: now })],
    });
  }
  return { count, batches, capped, skipped: false };
}

/**
 * Runs the purge every `intervalMs` (first run one interval after start), never two at once
 * in this process. Failures go to `onError` and the next run tries again.
 */
export class IdempotencyPurgeSchedule {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;

  constructor(
    private readonly run: () => Promise<PurgeResult>,
    private readonly intervalMs: number,
    private readonly onRun: (result: PurgeResult) => void = () => undefined,
    private readonly onError: (err: unknown) => void = () => undefined,
  ) {}

  start(): void {
    if (this.intervalMs <= 0 || this.timer) return;
    this.timer = setInterval(() => void this.runOnce(), this.intervalMs);
    // A pending purge never keeps a process alive.
    this.timer.unref();
  }

  /** One run now (unless one is under way, which it then waits for). */
  runOnce(): Promise<void> {
    this.running ??= this.run()
      .then((result) => this.onRun(result), (err: unknown) => this.onError(err))
      .finally(() => { this.running = null; });
    return this.running;
  }

  /** No more runs; resolves once a run under way has finished. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }
}
