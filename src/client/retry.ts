import { PaylogApiError, PaylogConnectionError, type PaylogError, PaylogUnexpectedResponseError } from './errors.js';

/** How a call is retried: the same request, the same Idempotency-Key, full-jitter exponential backoff. */
export interface RetryPolicy {
  /** Requests per call, the first included (1 turns retries off). */
  maxAttempts: number;
  /** The ceiling of the first wait; it doubles with each retry. */
  backoffBaseMs: number;
  /** The ceiling no wait's jitter range exceeds. */
  backoffMaxMs: number;
  /** The longest `Retry-After` the client waits for; an answer asking for longer is thrown at once. */
  retryAfterMaxMs: number;
}

export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = { maxAttempts: 4, backoffBaseMs: 500, backoffMaxMs: 5_000, retryAfterMaxMs: 60_000 };

/** Bounds on the settings: a retry loop is never unbounded. */
const MAX_ATTEMPTS_LIMIT = 10;
const WAIT_MS_LIMIT = 600_000;

export function retryPolicy(options: Partial<RetryPolicy> = {}): RetryPolicy {
  const policy = { ...DEFAULT_RETRY_POLICY, ...options };
  const whole = (name: keyof RetryPolicy, min: number, max: number): void => {
    const value = policy[name];
    if (!Number.isInteger(value) || value < min || value > max) throw new RangeError(`paylog client: ${name} must be a whole number from ${min} to ${max}, got ${value}`);
  };
  whole('maxAttempts', 1, MAX_ATTEMPTS_LIMIT);
  whole('backoffBaseMs', 0, WAIT_MS_LIMIT);
  whole('backoffMaxMs', policy.backoffBaseMs, WAIT_MS_LIMIT);
  whole('retryAfterMaxMs', 0, WAIT_MS_LIMIT);
  return policy;
}

/** `Retry-After` as delay-seconds (what paylog sends), in milliseconds; null otherwise. */
export function retryAfterMs(header: string | null): number | null {
  if (header === null || !/^\s*\d+\s*$/.test(header)) return null;
  return Number(header) * 1000;
}

/**
 * Whether a failed attempt is worth repeating with the same Idempotency-Key: no answer; 409
 * idempotency_key_in_use (the first request is still running); 429; a 5xx, unless it is an
 * outcome stored under the key (a replay, or an error carrying the payment it created: the
 * same key would only replay it). Declines and every other 4xx are final.
 */
export function isRetryable(error: PaylogError): boolean {
  if (error instanceof PaylogConnectionError) return true;
  if (error instanceof PaylogApiError) {
    if (error.code === 'idempotency_key_in_use' || error.status === 429) return true;
    return error.status >= 500 && !error.idempotentReplayed && error.payment === undefined;
  }
  if (error instanceof PaylogUnexpectedResponseError) return error.status === 429 || (error.status >= 500 && !error.idempotentReplayed);
  return false;
}

/**
 * How long to wait before attempt `attempt + 1` after `error`, or null to give up: full jitter,
 * random(0, min(max, base × 2^(attempt−1))), and at least the answer's `Retry-After`.
 */
export function retryDelayMs(error: PaylogError, attempt: number, policy: RetryPolicy, random: () => number): number | null {
  if (attempt >= policy.maxAttempts || !isRetryable(error)) return null;
  const asked = error instanceof PaylogConnectionError ? null : (error as { retryAfterMs?: number | null }).retryAfterMs ?? null;
  if (asked !== null && asked > policy.retryAfterMaxMs) return null;
  const ceilingMs = Math.min(policy.backoffMaxMs, policy.backoffBaseMs * 2 ** (attempt - 1));
  return Math.max(Math.floor(random() * ceilingMs), asked ?? 0);
}
