import type { Origin } from '../core/audit-record.js';
import type { Clock, Random } from '../ports/clock.js';
import type { Gateway } from '../ports/gateway.js';
import type { Metrics } from '../ports/metrics.js';
import type { Store } from '../ports/store.js';
import type { ApiKeyCache } from './api-key-cache.js';
import type { RetryPolicy } from './charge-with-retries.js';
import type { JournalTreeAppender } from './journal-tree.js';
import type { JournalWriter } from './journal-writer.js';

export interface AppSettings {
  retry: RetryPolicy;
  /** An in-flight idempotency claim older than this is presumed crashed. */
  idempotencyLeaseMs: number;
  /** How long an idempotency key is remembered (at least 24 h). */
  idempotencyTtlMs: number;
  /** A processing payment is reconciled once unchanged for this long. */
  reconcileAfterMs: number;
}

/** The services every use case runs against, built once by the composition root. */
export interface AppContext {
  store: Store;
  writer: JournalWriter;
  gateway: Gateway;
  clock: Clock;
  random: Random;
  /** Key of the HMACs over card numbers and request bodies. */
  fingerprintKey: Buffer;
  metrics: Metrics;
  settings: AppSettings;
  /** Valid API keys this process looked up recently (authentication reads the store at most once per age). */
  apiKeyCache: ApiKeyCache;
  /** Appends this process's stream checkpoints to the journal tree, off the payment path. */
  journalTree: JournalTreeAppender;
}

/** Who is asking, as the audit record's actor and origin. */
export interface Caller {
  merchantId: string;
  /** The API key ID, or another actor name for commands and direct invocations. */
  actor: string;
  origin: Origin;
}

/** A response as the API sends it and as idempotency stores it. */
export interface ApiResponse {
  status: number;
  body: unknown;
  headers: Record<string, string>;
}
