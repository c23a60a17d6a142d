import cluster from 'node:cluster';
import { AggregatorRegistry, Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { PaymentStatus } from '../../core/payment.js';
import type { AttemptResultName, AuthFailureReason, Metrics, ReconciliationOutcome } from '../../ports/metrics.js';

/**
 * Decline codes that become a `decline_code` label value as they are; any other code a gateway
 * sends is counted as `other`, so a gateway cannot grow the number of series.
 */
export const KNOWN_DECLINE_CODES: ReadonlySet<string> = new Set([
  'generic_decline', 'insufficient_funds', 'lost_card', 'stolen_card', 'expired_card', 'incorrect_cvc',
  'incorrect_number', 'processing_error', 'fraudulent', 'do_not_honor', 'call_issuer', 'card_not_supported',
  'card_velocity_exceeded', 'currency_not_supported', 'invalid_account', 'invalid_amount', 'pickup_card',
  'restricted_card', 'security_violation', 'transaction_not_allowed', 'try_again_later', 'withdrawal_count_limit_exceeded',
]);

/** Witnesses whose checkpoint age is kept (paylog takes at most 16). */
export const PROMETHEUS_WITNESSES_MAX = 16;
/** Store operations counted under their own name; more (there are fewer port methods) go under `other`. */
const STORE_OPERATIONS_MAX = 100;
/** A readiness check that has not answered by then counts as not ready (a scrape must not hang on the store). */
export const READY_CHECK_TIMEOUT_MS = 2_000;

const DEFAULT_METRICS_DROPPED = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];
const PAYMENT_OUTCOMES: readonly PaymentStatus[] = ['succeeded', 'declined', 'failed', 'processing'];
const ATTEMPT_RESULTS: readonly AttemptResultName[] = ['approved', 'declined', 'timeout', 'malformed', 'unavailable'];
const AUTH_FAILURE_REASONS: readonly AuthFailureReason[] = ['api_key_missing', 'api_key_invalid', 'api_key_revoked', 'too_many_auth_failures'];
const RECONCILIATION_OUTCOMES: readonly ReconciliationOutcome[] = ['succeeded', 'declined', 'failed', 'unresolved', 'overtaken'];

const HTTP_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** Seconds: from a fast local response to the 10 s gateway budget and beyond. */
const HTTP_DURATION_BUCKETS_S = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** Seconds: a SQLite fsync is a few ms; a PostgreSQL or DynamoDB round trip tens of ms. */
const COMMIT_DURATION_BUCKETS_S = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
/** Records per group commit: powers of two up to past the default PAYLOG_JOURNAL_BATCH_MAX (512). */
const BATCH_RECORDS_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096];

/** What only the running service knows, read at scrape time. */
export interface ScrapeSources {
  /** This process's journal stream and when its newest checkpoint was made (ms since the epoch), or null before it has one. */
  checkpoint(): { stream: string; atMs: number } | null;
  /** Whether the instance is ready, as /readyz says. */
  ready(): Promise<boolean>;
}

export interface PrometheusMetricsOptions {
  version: string;
  /** PAYLOG_CHECKPOINT_INTERVAL_MS, exported in seconds so an alert can compare a checkpoint's age to it. */
  checkpointIntervalMs: number;
  /** Default Date.now. */
  clock?: () => number;
  /** prom-client's default process metrics (process_*, nodejs_*); default true. */
  defaultMetrics?: boolean;
}

export interface PrometheusMetrics extends Metrics {
  readonly registry: Registry;
  /** Connects the scrape-time gauges (checkpoint age, readiness) to the running service. */
  bind(sources: ScrapeSources): void;
  /** The exposition text and its content type. */
  scrape(): Promise<{ contentType: string; body: string }>;
  /**
   * In a node:cluster worker: answer the primary's scrape requests with this registry, so the
   * primary's /metrics aggregates exactly one registry per worker.
   */
  answerClusterPrimary(): void;
}

/**
 * Metrics in a prom-client Registry of their own (never the global one, so two services in one
 * process, as in tests, never share counts). Names follow Prometheus conventions: `paylog_`
 * prefix, `_total` counters, base units (`_seconds`). Every label has a bounded set of values.
 * Gauges that must not be summed across cluster workers say how they aggregate.
 */
export function createPrometheusMetrics(options: PrometheusMetricsOptions): PrometheusMetrics {
  const clock = options.clock ?? Date.now;
  const registry = new Registry();
  const registers = [registry];
  let sources: ScrapeSources | null = null;
  /** Witness key name → when the newest checkpoint it cosigned was made (ms since the epoch). */
  const witnessCosignedAtMs = new Map<string, number>();
  const storeOperations = new Set<string>();

  const payments = new Counter({
    name: 'paylog_payments_total', help: 'Payments answered, by outcome and the gateway\'s decline code ("" when none).',
    labelNames: ['outcome', 'decline_code'] as const, registers,
  });
  const gatewayAttempts = new Counter({
    name: 'paylog_gateway_attempts_total', help: 'Gateway charge attempts, the first and every retry, by result.',
    labelNames: ['result'] as const, registers,
  });
  const gatewayRetries = new Counter({ name: 'paylog_gateway_retries_total', help: 'Gateway charge attempts after the first of their payment.', registers });
  const httpDuration = new Histogram({
    name: 'paylog_http_request_duration_seconds', help: 'HTTP requests answered on the API port, by method, route pattern ("unmatched" for none) and status.',
    labelNames: ['method', 'route', 'status'] as const, buckets: HTTP_DURATION_BUCKETS_S, registers,
  });
  const commitDuration = new Histogram({
    name: 'paylog_journal_commit_duration_seconds', help: 'Time the store took to make one journal group commit durable.',
    buckets: COMMIT_DURATION_BUCKETS_S, registers,
  });
  const batchRecords = new Histogram({
    name: 'paylog_journal_batch_records', help: 'Records in one durable journal group commit.',
    buckets: BATCH_RECORDS_BUCKETS, registers,
  });
  const recordsAppended = new Counter({ name: 'paylog_journal_records_appended_total', help: 'Journal records made durable.', registers });
  const writeErrors = new Counter({ name: 'paylog_journal_write_errors_total', help: 'Journal group commits that failed; their requests were answered 503.', registers });
  const conflicts = new Counter({ name: 'paylog_journal_conflicts_total', help: 'Times a journal writer found records it did not write, or refused to seal a stream that does not match its signed head.', registers });
  const replays = new Counter({ name: 'paylog_idempotency_replays_total', help: 'Requests answered from the idempotency store.', registers });
  const idempotencyConflicts = new Counter({ name: 'paylog_idempotency_conflicts_total', help: 'Requests refused because their Idempotency-Key was in use or reused with another body.', registers });
  const reconciliations = new Counter({
    name: 'paylog_reconciliations_total', help: 'Payments reconciliation settled, by the status they got ("unresolved" when the gateway could not say, "overtaken" when another reconciler took over).',
    labelNames: ['outcome'] as const, registers,
  });
  const storeErrors = new Counter({
    name: 'paylog_store_errors_total', help: 'Store calls that failed as unavailable, by operation (the store port\'s method).',
    labelNames: ['operation'] as const, registers,
  });
  const rateLimited = new Counter({ name: 'paylog_rate_limited_requests_total', help: 'Requests refused by the per-key rate limit (429 rate_limited).', registers });
  const authFailures = new Counter({
    name: 'paylog_auth_failures_total', help: 'Requests that failed authentication, by reason (the error code answered).',
    labelNames: ['reason'] as const, registers,
  });
  new Gauge({
    name: 'paylog_checkpoint_age_seconds', help: 'Age of the newest signed checkpoint of this process\'s journal stream (since the stream started, before its first).',
    labelNames: ['stream'] as const, registers,
    collect() {
      // Only the current stream: one the writer left (a conflict) must not linger as a stale series.
      this.reset();
      const checkpoint = sources?.checkpoint();
      if (checkpoint) this.set({ stream: checkpoint.stream }, Math.max(0, clock() - checkpoint.atMs) / 1000);
    },
  });
  new Gauge({
    name: 'paylog_checkpoint_interval_seconds', help: 'The configured time between signed checkpoints (PAYLOG_CHECKPOINT_INTERVAL_MS); 0 when time-based checkpoints are off.',
    registers, aggregator: 'max',
  }).set(options.checkpointIntervalMs / 1000);
  new Gauge({
    name: 'paylog_witness_checkpoint_age_seconds', help: 'Age of the newest journal checkpoint each witness cosigned, as this instance knows it.',
    labelNames: ['witness'] as const, registers,
    // Across workers, the freshest cosignature any of them saw (they push the same journal tree).
    aggregator: 'min',
    collect() {
      this.reset();
      const now = clock();
      for (const [witness, atMs] of witnessCosignedAtMs) this.set({ witness }, Math.max(0, now - atMs) / 1000);
    },
  });
  new Gauge({
    name: 'paylog_ready', help: 'Whether this instance is ready (1) or not (0), as GET /readyz answers.',
    registers, aggregator: 'min',
    async collect() {
      this.set((await readyWithin(sources, READY_CHECK_TIMEOUT_MS)) ? 1 : 0);
    },
  });
  new Gauge({
    name: 'paylog_build_info', help: 'Always 1; its label is the running paylog version.',
    labelNames: ['version'] as const, registers, aggregator: 'max',
  }).set({ version: options.version }, 1);
  if (options.defaultMetrics ?? true) {
    collectDefaultMetrics({ register: registry });
    // Gauges named like counters, which `promtool check metrics` rejects; each is the sum of
    // its labelled twin (nodejs_active_handles{type} …), which stays.
    for (const name of DEFAULT_METRICS_DROPPED) registry.removeSingleMetric(name);
  }
  // Known label values start at 0, so a rate over a series that has not moved yet is 0, not absent.
  for (const outcome of PAYMENT_OUTCOMES) payments.inc({ outcome, decline_code: '' }, 0);
  for (const result of ATTEMPT_RESULTS) gatewayAttempts.inc({ result }, 0);
  for (const reason of AUTH_FAILURE_REASONS) authFailures.inc({ reason }, 0);
  for (const outcome of RECONCILIATION_OUTCOMES) reconciliations.inc({ outcome }, 0);

  return {
    registry,
    paymentOutcome(status: PaymentStatus, declineCode: string | null = null): void {
      payments.inc({ outcome: status, decline_code: declineLabel(declineCode) });
    },
    gatewayAttempt(result: AttemptResultName): void {
      gatewayAttempts.inc({ result });
    },
    gatewayRetry: () => gatewayRetries.inc(),
    idempotentReplay: () => replays.inc(),
    idempotencyConflict: () => idempotencyConflicts.inc(),
    reconciliation: (outcome: ReconciliationOutcome) => reconciliations.inc({ outcome }),
    coldStart: () => undefined,
    journalConflict: () => conflicts.inc(),
    journalCommit(durationMs: number, records: number): void {
      commitDuration.observe(Math.max(0, durationMs) / 1000);
      batchRecords.observe(records);
      recordsAppended.inc(records);
    },
    journalWriteError: () => writeErrors.inc(),
    storeError(operation: string): void {
      if (!storeOperations.has(operation)) {
        if (storeOperations.size >= STORE_OPERATIONS_MAX) operation = 'other';
        else storeOperations.add(operation);
      }
      storeErrors.inc({ operation });
    },
    httpRequest(method: string, route: string, status: number, durationMs: number): void {
      httpDuration.observe({ method: HTTP_METHODS.has(method) ? method : 'other', route, status: String(status) }, Math.max(0, durationMs) / 1000);
    },
    rateLimited: () => rateLimited.inc(),
    authFailure: (reason: AuthFailureReason) => authFailures.inc({ reason }),
    witnessCheckpointAge(witness: string, ageMs: number): void {
      if (!Number.isFinite(ageMs) || (!witnessCosignedAtMs.has(witness) && witnessCosignedAtMs.size >= PROMETHEUS_WITNESSES_MAX)) return;
      witnessCosignedAtMs.set(witness, clock() - Math.max(0, ageMs));
    },
    flush: () => undefined,
    bind(next: ScrapeSources): void {
      sources = next;
    },
    async scrape() {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
    answerClusterPrimary(): void {
      if (!cluster.isWorker) return;
      AggregatorRegistry.setRegistries([registry]);
      // Constructing one is what makes prom-client listen for the primary's requests.
      new AggregatorRegistry();
    },
  };
}

/**
 * In a node:cluster primary: scrapes every connected worker's registry over IPC and aggregates
 * them (counters and histograms summed, gauges as each declares). A worker that does not answer
 * within prom-client's 5 s fails the scrape rather than leave its counts out.
 */
export function createClusterScrape(): () => Promise<{ contentType: string; body: string }> {
  const aggregator = new AggregatorRegistry();
  return async () => ({ contentType: aggregator.contentType, body: await aggregator.clusterMetrics() });
}

function declineLabel(code: string | null): string {
  if (code === null || code === '') return '';
  return KNOWN_DECLINE_CODES.has(code) ? code : 'other';
}

async function readyWithin(sources: ScrapeSources | null, timeoutMs: number): Promise<boolean> {
  if (!sources) return false;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(false), timeoutMs); });
  try {
    return await Promise.race([sources.ready().catch(() => false), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}
