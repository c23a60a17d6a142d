import { join } from 'node:path';
import { isIP } from 'node:net';
import { availableParallelism } from 'node:os';
import { ConfigError, InvalidValue, type Setting, integer, nonEmpty, oneOf, pattern, pemPrivateKey, secretFlagError } from './settings.js';
import { type StoreLocation, parseStoreUrl, redactStoreUrl } from './store-url.js';
import { type WitnessEndpoint, parseWitnesses } from './witnesses.js';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/** Every setting paylog reads, typed and validated once at start. */
export interface Config {
  dataDir: string;
  store: StoreLocation;
  storeUrl: string;
  host: string;
  port: number;
  /** Where `serve` exposes Prometheus metrics (/metrics), on a listener of its own; port 0 turns it off. */
  metricsHost: string;
  metricsPort: number;
  /** Processes `serve` runs; above 1 they are node:cluster workers sharing the port. */
  workers: number;
  logLevel: LogLevel;
  journalName: string;
  rateLimitPerSecond: number;
  /** Failed authentications per client address per minute before the address gets 429; 0 turns the limit off. */
  authFailuresPerMinute: number;
  /** How long a process trusts a valid API key it looked up; 0 looks keys up on every request. */
  apiKeyCacheMs: number;
  gatewayLatencyMs: number;
  gatewayAttemptTimeoutMs: number;
  gatewayMaxAttempts: number;
  gatewayBudgetMs: number;
  gatewayBackoffBaseMs: number;
  gatewayBackoffMaxMs: number;
  idempotencyLeaseMs: number;
  idempotencyTtlHours: number;
  /** How often `serve` deletes idempotency keys past their TTL (SQLite, PostgreSQL); 0 turns it off. */
  idempotencyPurgeIntervalMs: number;
  reconcileAfterMs: number;
  reconcileIntervalMs: number;
  journalBatchRecordsMax: number;
  sqliteBatchWritesMax: number;
  shutdownTimeoutMs: number;
  fingerprintKey: string | null;
  fingerprintKeyFile: string | null;
  signingKey: string | null;
  signingKeyFile: string | null;
  previousSigningKey: string | null;
  previousSigningKeyFile: string | null;
  checkpointEveryRecords: number;
  checkpointIntervalMs: number;
  streamLeaseMs: number;
  mirror: string;
  storePoolMax: number;
  /** Witnesses every journal tree checkpoint is pushed to (C2SP tlog-witness). */
  witnesses: WitnessEndpoint[];
  /** Worker threads `verify` shares a store's streams among; 1 verifies in one pass on the main thread. */
  verifyJobs: number;
}

/** The longest a revoked key may keep working in a process that had looked it up (ms). */
export const API_KEY_CACHE_MS_MAX = 60_000;

/** Failed authentications per client address per minute by default: a client with a wrong key has retried plenty by then. */
export const AUTH_FAILURES_PER_MINUTE_DEFAULT = 20;

/** Processes one `serve` may run; beyond the cores of a large box, more only add contention. */
export const WORKERS_MAX = 64;

/** Threads one `verify` may run: each holds a connection to the store and its streams' state. */
export const VERIFY_JOBS_MAX = 64;

type Definitions = { [K in Exclude<keyof Config, 'store'>]: Setting<Config[K]> };


/** The table behind `loadConfig`, README's configuration section and `--help`. */
export const SETTINGS: Definitions = {
  dataDir: { flag: 'data-dir', env: 'PAYLOG_DATA_DIR', description: 'local files: the default SQLite database, generated keys', default: './data', parse: nonEmpty },
  storeUrl: {
    flag: 'store', env: 'PAYLOG_STORE', description: 'where everything lives: sqlite:PATH, postgres://…, dynamodb://…',
    default: (c) => `sqlite:${join(String(c.dataDir), 'paylog.db')}`, parse: (raw) => (parseStoreUrl(raw), raw),
    refusedOnCommandLine: 'PAYLOG_STORE for a URL with a password, or PGPASSWORD', holdsSecret: (raw) => redactStoreUrl(raw) !== raw,
  },
  host: { flag: 'host', env: 'PAYLOG_HOST', description: 'address `serve` listens on', default: '127.0.0.1', parse: nonEmpty },
  port: { flag: 'port', env: 'PAYLOG_PORT', description: 'port `serve` listens on', default: 3000, parse: integer(0, 65_535) },
  metricsHost: { flag: 'metrics-host', env: 'PAYLOG_METRICS_HOST', description: 'address of the Prometheus /metrics listener (its own, never the API port)', default: '127.0.0.1', parse: hostAddress },
  metricsPort: { flag: 'metrics-port', env: 'PAYLOG_METRICS_PORT', description: 'port of the Prometheus /metrics listener; 0 turns it off', default: 9464, parse: integer(0, 65_535) },
  workers: { flag: 'workers', env: 'PAYLOG_WORKERS', description: 'processes `serve` runs, sharing the port (node:cluster); each writes its own journal stream', default: 1, parse: integer(1, WORKERS_MAX) },
  logLevel: { flag: 'log-level', env: 'PAYLOG_LOG_LEVEL', description: 'operational log level', default: 'info', parse: oneOf('fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent') },
  journalName: { flag: 'journal', env: 'PAYLOG_JOURNAL', description: 'the journal name every record carries', default: 'paylog-local', parse: pattern(/^[a-z0-9][a-z0-9.-]{0,62}$/, 'lowercase letters, digits, "." or "-" (at most 63)') },
  rateLimitPerSecond: { flag: 'rate-limit', env: 'PAYLOG_RATE_LIMIT', description: 'requests per second per API key; 0 turns it off', default: 1000, parse: integer(0, 1_000_000) },
  authFailuresPerMinute: {
    flag: 'auth-failures-per-minute', env: 'PAYLOG_AUTH_FAILURES_PER_MINUTE',
    description: 'failed authentications per client address (IPv6: per /64) in a calendar minute; past it the address gets 429 until the minute ends, before its key is looked up; 0 turns it off',
    default: AUTH_FAILURES_PER_MINUTE_DEFAULT, parse: integer(0, 1_000_000),
  },
  apiKeyCacheMs: { flag: 'api-key-cache-ms', env: 'PAYLOG_API_KEY_CACHE_MS', description: 'how long a process trusts a valid API key it looked up: a key revoked by another process still works there this long; 0 looks keys up on every request', default: 5000, parse: integer(0, API_KEY_CACHE_MS_MAX) },
  gatewayLatencyMs: { flag: 'gateway-latency-ms', env: 'PAYLOG_GATEWAY_LATENCY_MS', description: "the simulated gateway's answer time", default: 5, parse: integer(0, 60_000) },
  gatewayAttemptTimeoutMs: { flag: 'gateway-attempt-timeout-ms', env: 'PAYLOG_GATEWAY_ATTEMPT_TIMEOUT_MS', description: 'time one gateway attempt may take', default: 3000, parse: integer(1, 60_000) },
  gatewayMaxAttempts: { flag: 'gateway-max-attempts', env: 'PAYLOG_GATEWAY_MAX_ATTEMPTS', description: 'gateway attempts per payment, the first included', default: 4, parse: integer(1, 10) },
  gatewayBudgetMs: { flag: 'gateway-budget-ms', env: 'PAYLOG_GATEWAY_BUDGET_MS', description: 'total time for all attempts and waits of one payment (under API Gateway’s 29 s)', default: 10_000, parse: integer(1, 25_000) },
  gatewayBackoffBaseMs: { flag: 'gateway-backoff-base-ms', env: 'PAYLOG_GATEWAY_BACKOFF_BASE_MS', description: 'first retry delay ceiling; doubles per attempt (full jitter)', default: 50, parse: integer(0, 10_000) },
  gatewayBackoffMaxMs: { flag: 'gateway-backoff-max-ms', env: 'PAYLOG_GATEWAY_BACKOFF_MAX_MS', description: 'largest retry delay ceiling', default: 2000, parse: integer(0, 20_000) },
  idempotencyLeaseMs: { flag: 'idempotency-lease-ms', env: 'PAYLOG_IDEMPOTENCY_LEASE_MS', description: 'after this, an unfinished request’s key is presumed crashed and may be taken over', default: 60_000, parse: integer(1000, 3_600_000) },
  idempotencyTtlHours: { flag: 'idempotency-ttl-hours', env: 'PAYLOG_IDEMPOTENCY_TTL_HOURS', description: 'how long idempotency keys are kept (at least 24)', default: 24, parse: integer(24, 24 * 365) },
  idempotencyPurgeIntervalMs: { flag: 'idempotency-purge-interval-ms', env: 'PAYLOG_IDEMPOTENCY_PURGE_INTERVAL_MS', description: 'how often `serve` deletes idempotency keys past their TTL, in batches of 1000 (SQLite, PostgreSQL; DynamoDB expires them by TTL); 0 turns it off', default: 60_000, parse: integer(0, 86_400_000) },
  reconcileAfterMs: { flag: 'reconcile-after-ms', env: 'PAYLOG_RECONCILE_AFTER_MS', description: 'a payment processing for this long is reconciled', default: 60_000, parse: integer(0, 86_400_000) },
  reconcileIntervalMs: { flag: 'reconcile-interval-ms', env: 'PAYLOG_RECONCILE_INTERVAL_MS', description: 'how often `serve` reconciles; 0 turns it off', default: 30_000, parse: integer(0, 86_400_000) },
  journalBatchRecordsMax: { flag: 'journal-batch-max', env: 'PAYLOG_JOURNAL_BATCH_MAX', description: 'records in one group commit', default: 512, parse: integer(1, 100_000) },
  sqliteBatchWritesMax: { flag: 'sqlite-batch-max', env: 'PAYLOG_SQLITE_BATCH_MAX', description: 'writes (claims, ledger entries, journal batches) in one SQLite commit; 1 turns group commit off', default: 1024, parse: integer(1, 100_000) },
  shutdownTimeoutMs: { flag: 'shutdown-timeout-ms', env: 'PAYLOG_SHUTDOWN_TIMEOUT_MS', description: 'time in-flight requests get to finish on SIGTERM', default: 15_000, parse: integer(0, 600_000) },
  fingerprintKey: {
    flag: 'fingerprint-key', env: 'PAYLOG_FINGERPRINT_KEY', description: 'base64 key (≥ 32 bytes) of card fingerprints; generated in the data dir if unset; refused as a flag: set the variable',
    default: null, secret: true, refusedOnCommandLine: 'PAYLOG_FINGERPRINT_KEY or --fingerprint-key-file', parse: (raw) => {
      if (Buffer.from(raw, 'base64').length < 32) throw new InvalidValue('must be base64 of at least 32 bytes');
      return raw;
    },
  },
  fingerprintKeyFile: { flag: 'fingerprint-key-file', env: 'PAYLOG_FINGERPRINT_KEY_FILE', description: 'path of a file holding the fingerprint key (base64), readable by its owner only', default: null, parse: nonEmpty },
  signingKey: { flag: 'signing-key', env: 'PAYLOG_SIGNING_KEY', description: 'Ed25519 checkpoint signing key, PKCS#8 PEM text (production); refused as a flag: set the variable', default: null, secret: true, refusedOnCommandLine: 'PAYLOG_SIGNING_KEY or --signing-key-file', parse: pemPrivateKey },
  signingKeyFile: { flag: 'signing-key-file', env: 'PAYLOG_SIGNING_KEY_FILE', description: 'path of the signing key PEM; default: generated as signing-key.pem in the data dir', default: null, parse: nonEmpty },
  previousSigningKey: { flag: 'previous-signing-key', env: 'PAYLOG_PREVIOUS_SIGNING_KEY', description: 'during a key rotation: the old key (PEM text); checkpoints are signed by both; refused as a flag: set the variable', default: null, secret: true, refusedOnCommandLine: 'PAYLOG_PREVIOUS_SIGNING_KEY or --previous-signing-key-file', parse: pemPrivateKey },
  previousSigningKeyFile: { flag: 'previous-signing-key-file', env: 'PAYLOG_PREVIOUS_SIGNING_KEY_FILE', description: 'during a key rotation: path of the old key PEM', default: null, parse: nonEmpty },
  checkpointEveryRecords: { flag: 'checkpoint-every', env: 'PAYLOG_CHECKPOINT_EVERY', description: 'records between signed checkpoints', default: 1000, parse: integer(1, 1_000_000) },
  checkpointIntervalMs: { flag: 'checkpoint-interval-ms', env: 'PAYLOG_CHECKPOINT_INTERVAL_MS', description: 'time between signed checkpoints, also when idle; 0 turns time-based checkpoints off', default: 60_000, parse: integer(0, 86_400_000) },
  verifyJobs: {
    flag: 'jobs', env: 'PAYLOG_VERIFY_JOBS', description: '`verify`: worker threads the streams of a store are shared among, each on its own connection (default: the cores available)',
    default: () => Math.min(availableParallelism(), VERIFY_JOBS_MAX), parse: integer(1, VERIFY_JOBS_MAX),
  },
  storePoolMax: { flag: 'store-pool-max', env: 'PAYLOG_STORE_POOL_MAX', description: 'PostgreSQL connections per instance (the fleet total must stay under max_connections)', default: 10, parse: integer(1, 1000) },
  mirror: {
    flag: 'mirror', env: 'PAYLOG_MIRROR', description: 'a second home for audit records: none, stdout, or cloudwatch:LOG_GROUP (the stream is named after the journal stream)',
    default: 'none', parse: pattern(/^(none|stdout|cloudwatch:[.\-_/#A-Za-z0-9]{1,512})$/, 'none, stdout or cloudwatch:LOG_GROUP'),
  },
  witnesses: {
    flag: 'witness', env: 'PAYLOG_WITNESS', repeatable: true,
    description: 'a witness to push journal checkpoints to, as "<URL> <verifier key>" (repeatable; the variable takes several separated by commas or newlines)',
    // Not echoed: the parser names the bad part itself, and a URL may carry credentials.
    default: [], secret: true, parse: parseWitnesses,
  },
  streamLeaseMs: { flag: 'stream-lease-ms', env: 'PAYLOG_STREAM_LEASE_MS', description: 'after this without renewal a writer is presumed crashed and its stream is sealed by another', default: 180_000, parse: integer(1000, 86_400_000) },
};

/** An IP address or a DNS host name (what a listener may bind to); nothing else reaches listen(). */
function hostAddress(raw: string): string {
  const host = raw.trim();
  const name = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
  if (isIP(host) === 0 && !name.test(host)) throw new InvalidValue('must be an IP address or a host name');
  return host;
}

/**
 * Builds the config from flags (highest), then the environment, then defaults. Throws a
 * ConfigError whose message is one line naming the setting.
 */
export function loadConfig(flags: Record<string, string | undefined>, env: Record<string, string | undefined>): Config {
  const out: Record<string, unknown> = {};
  for (const [name, setting] of Object.entries(SETTINGS) as [string, Setting<unknown>][]) {
    out[name] = read(setting, flags, env, out);
  }
  out.store = parseStoreUrl(String(out.storeUrl));
  const config = out as unknown as Config;
  if (config.idempotencyLeaseMs <= config.gatewayBudgetMs) {
    throw new ConfigError(`PAYLOG_IDEMPOTENCY_LEASE_MS (--idempotency-lease-ms): must be longer than PAYLOG_GATEWAY_BUDGET_MS (${config.gatewayBudgetMs})`);
  }
  if (config.checkpointIntervalMs > 0 && config.streamLeaseMs <= config.checkpointIntervalMs) {
    throw new ConfigError(`PAYLOG_STREAM_LEASE_MS (--stream-lease-ms): must be longer than PAYLOG_CHECKPOINT_INTERVAL_MS (${config.checkpointIntervalMs}), which renews it`);
  }
  if (config.signingKey !== null && config.signingKeyFile !== null) {
    throw new ConfigError('PAYLOG_SIGNING_KEY (--signing-key): set either it or PAYLOG_SIGNING_KEY_FILE, not both');
  }
  if (config.fingerprintKey !== null && config.fingerprintKeyFile !== null) {
    throw new ConfigError('PAYLOG_FINGERPRINT_KEY: set either it or PAYLOG_FINGERPRINT_KEY_FILE, not both');
  }
  if (config.gatewayAttemptTimeoutMs > config.gatewayBudgetMs) {
    throw new ConfigError(`PAYLOG_GATEWAY_ATTEMPT_TIMEOUT_MS (--gateway-attempt-timeout-ms): must not exceed PAYLOG_GATEWAY_BUDGET_MS (${config.gatewayBudgetMs})`);
  }
  if (config.reconcileAfterMs < config.gatewayBudgetMs) {
    // A payment younger than the budget may still be retried by its own request: reconciling it
    // then would race that request to settle it.
    throw new ConfigError(`PAYLOG_RECONCILE_AFTER_MS (--reconcile-after-ms): must be at least PAYLOG_GATEWAY_BUDGET_MS (${config.gatewayBudgetMs}), the time a payment's own request may still be retrying it`);
  }
  if (config.metricsPort !== 0 && config.metricsPort === config.port) {
    throw new ConfigError(`PAYLOG_METRICS_PORT (--metrics-port): must not be PAYLOG_PORT (${config.port}): metrics have a listener of their own, never reachable through the API port`);
  }
  if (config.workers > 1 && config.store.kind === 'memory') {
    throw new ConfigError('PAYLOG_WORKERS (--workers): must be 1 with the memory: store, which each worker would hold alone');
  }
  return config;
}

function read(setting: Setting<unknown>, flags: Record<string, string | undefined>, env: Record<string, string | undefined>, partial: Record<string, unknown>): unknown {
  const fromFlag = flags[setting.flag];
  if (fromFlag !== undefined && setting.refusedOnCommandLine !== undefined && (setting.holdsSecret?.(fromFlag) ?? true)) {
    throw secretFlagError(setting.env, setting.flag, setting.refusedOnCommandLine);
  }
  const raw = fromFlag ?? env[setting.env];
  if (raw === undefined || (fromFlag === undefined && raw === '')) {
    return typeof setting.default === 'function' ? (setting.default as (p: Record<string, unknown>) => unknown)(partial) : setting.default;
  }
  try {
    return setting.parse(raw);
  } catch (err) {
    const why = err instanceof InvalidValue ? err.message : 'is not valid';
    // Never echo the key or a store password; JSON-quote the value so the message stays one line.
    const echoed = setting.env === 'PAYLOG_STORE' ? redactStoreUrl(raw) : raw;
    const shown = setting.secret ? '' : `, got ${JSON.stringify(echoed.slice(0, 80))}`;
    throw new ConfigError(`${setting.env} (--${setting.flag}): ${why}${shown}`);
  }
}
