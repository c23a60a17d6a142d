import { join } from 'node:path';
import { ConfigError, InvalidValue, type Setting, integer, nonEmpty, oneOf, pattern } from './settings.js';
import { type StoreLocation, parseStoreUrl, redactStoreUrl } from './store-url.js';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/** Every setting paylog reads, typed and validated once at start. */
export interface Config {
  dataDir: string;
  store: StoreLocation;
  storeUrl: string;
  host: string;
  port: number;
  logLevel: LogLevel;
  journalName: string;
  rateLimitPerSecond: number;
  gatewayLatencyMs: number;
  gatewayAttemptTimeoutMs: number;
  gatewayMaxAttempts: number;
  gatewayBudgetMs: number;
  gatewayBackoffBaseMs: number;
  gatewayBackoffMaxMs: number;
  idempotencyLeaseMs: number;
  idempotencyTtlHours: number;
  reconcileAfterMs: number;
  reconcileIntervalMs: number;
  journalBatchRecordsMax: number;
  shutdownTimeoutMs: number;
  fingerprintKey: string | null;
}

type Definitions = { [K in Exclude<keyof Config, 'store'>]: Setting<Config[K]> };


/** The table behind `loadConfig`, README's configuration section and `--help`. */
export const SETTINGS: Definitions = {
  dataDir: { flag: 'data-dir', env: 'PAYLOG_DATA_DIR', description: 'local files: the default SQLite database, generated keys', default: './data', parse: nonEmpty },
  storeUrl: {
    flag: 'store', env: 'PAYLOG_STORE', description: 'where everything lives: sqlite:PATH, postgres://…, dynamodb://…',
    default: (c) => `sqlite:${join(String(c.dataDir), 'paylog.db')}`, parse: (raw) => (parseStoreUrl(raw), raw),
  },
  host: { flag: 'host', env: 'PAYLOG_HOST', description: 'address `serve` listens on', default: '127.0.0.1', parse: nonEmpty },
  port: { flag: 'port', env: 'PAYLOG_PORT', description: 'port `serve` listens on', default: 3000, parse: integer(0, 65_535) },
  logLevel: { flag: 'log-level', env: 'PAYLOG_LOG_LEVEL', description: 'operational log level', default: 'info', parse: oneOf('fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent') },
  journalName: { flag: 'journal', env: 'PAYLOG_JOURNAL', description: 'the journal name every record carries', default: 'paylog-local', parse: pattern(/^[a-z0-9][a-z0-9.-]{0,62}$/, 'lowercase letters, digits, "." or "-" (at most 63)') },
  rateLimitPerSecond: { flag: 'rate-limit', env: 'PAYLOG_RATE_LIMIT', description: 'requests per second per API key; 0 turns it off', default: 1000, parse: integer(0, 1_000_000) },
  gatewayLatencyMs: { flag: 'gateway-latency-ms', env: 'PAYLOG_GATEWAY_LATENCY_MS', description: "the simulated gateway's answer time", default: 5, parse: integer(0, 60_000) },
  gatewayAttemptTimeoutMs: { flag: 'gateway-attempt-timeout-ms', env: 'PAYLOG_GATEWAY_ATTEMPT_TIMEOUT_MS', description: 'time one gateway attempt may take', default: 3000, parse: integer(1, 60_000) },
  gatewayMaxAttempts: { flag: 'gateway-max-attempts', env: 'PAYLOG_GATEWAY_MAX_ATTEMPTS', description: 'gateway attempts per payment, the first included', default: 4, parse: integer(1, 10) },
  gatewayBudgetMs: { flag: 'gateway-budget-ms', env: 'PAYLOG_GATEWAY_BUDGET_MS', description: 'total time for all attempts and waits of one payment (under API Gateway’s 29 s)', default: 10_000, parse: integer(1, 25_000) },
  gatewayBackoffBaseMs: { flag: 'gateway-backoff-base-ms', env: 'PAYLOG_GATEWAY_BACKOFF_BASE_MS', description: 'first retry delay ceiling; doubles per attempt (full jitter)', default: 50, parse: integer(0, 10_000) },
  gatewayBackoffMaxMs: { flag: 'gateway-backoff-max-ms', env: 'PAYLOG_GATEWAY_BACKOFF_MAX_MS', description: 'largest retry delay ceiling', default: 2000, parse: integer(0, 20_000) },
  idempotencyLeaseMs: { flag: 'idempotency-lease-ms', env: 'PAYLOG_IDEMPOTENCY_LEASE_MS', description: 'after this, an unfinished request’s key is presumed crashed and may be taken over', default: 60_000, parse: integer(1000, 3_600_000) },
  idempotencyTtlHours: { flag: 'idempotency-ttl-hours', env: 'PAYLOG_IDEMPOTENCY_TTL_HOURS', description: 'how long idempotency keys are kept (at least 24)', default: 24, parse: integer(24, 24 * 365) },
  reconcileAfterMs: { flag: 'reconcile-after-ms', env: 'PAYLOG_RECONCILE_AFTER_MS', description: 'a payment processing for this long is reconciled', default: 60_000, parse: integer(0, 86_400_000) },
  reconcileIntervalMs: { flag: 'reconcile-interval-ms', env: 'PAYLOG_RECONCILE_INTERVAL_MS', description: 'how often `serve` reconciles; 0 turns it off', default: 30_000, parse: integer(0, 86_400_000) },
  journalBatchRecordsMax: { flag: 'journal-batch-max', env: 'PAYLOG_JOURNAL_BATCH_MAX', description: 'records in one group commit', default: 512, parse: integer(1, 100_000) },
  shutdownTimeoutMs: { flag: 'shutdown-timeout-ms', env: 'PAYLOG_SHUTDOWN_TIMEOUT_MS', description: 'time in-flight requests get to finish on SIGTERM', default: 15_000, parse: integer(0, 600_000) },
  fingerprintKey: {
    flag: 'fingerprint-key', env: 'PAYLOG_FINGERPRINT_KEY', description: 'base64 key (≥ 32 bytes) of card fingerprints; generated in the data dir if unset',
    default: null, parse: (raw) => {
      if (Buffer.from(raw, 'base64').length < 32) throw new InvalidValue('must be base64 of at least 32 bytes');
      return raw;
    },
  },
};

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
  if (config.gatewayAttemptTimeoutMs > config.gatewayBudgetMs) {
    throw new ConfigError(`PAYLOG_GATEWAY_ATTEMPT_TIMEOUT_MS (--gateway-attempt-timeout-ms): must not exceed PAYLOG_GATEWAY_BUDGET_MS (${config.gatewayBudgetMs})`);
  }
  return config;
}

function read(setting: Setting<unknown>, flags: Record<string, string | undefined>, env: Record<string, string | undefined>, partial: Record<string, unknown>): unknown {
  const fromFlag = flags[setting.flag];
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
    const shown = setting.env === 'PAYLOG_FINGERPRINT_KEY' ? '' : `, got ${JSON.stringify(echoed.slice(0, 80))}`;
    throw new ConfigError(`${setting.env} (--${setting.flag}): ${why}${shown}`);
  }
}
