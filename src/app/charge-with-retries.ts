import type { CardErrorCode } from '../core/errors.js';
import type { Clock, Random } from '../ports/clock.js';
import {
  type ChargeReply, type ChargeRequest, type Gateway, GatewayMalformedReplyError, GatewayUnavailableError,
} from '../ports/gateway.js';

export interface RetryPolicy {
  /** Gateway calls per payment, the first included. */
  maxAttempts: number;
  /** One call is abandoned (and counted as a timeout) after this long. */
  attemptTimeoutMs: number;
  /** All attempts and waits together, measured from the first attempt; no attempt starts that could end past it. */
  budgetMs: number;
  /** Backoff cap before the first retry; it doubles per attempt. */
  backoffBaseMs: number;
  /** Backoff cap never grows past this (Retry-After may still ask for more). */
  backoffMaxMs: number;
}

/** 10 s leaves room under API Gateway's 29 s limit for the journal writes around the charge. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 4,
  attemptTimeoutMs: 3_000,
  budgetMs: 10_000,
  backoffBaseMs: 50,
  backoffMaxMs: 2_000,
};

export type AttemptResult = 'approved' | 'declined' | 'timeout' | 'malformed' | 'unavailable';

export interface AttemptReport {
  attempt: number;
  result: AttemptResult;
  httpStatus: number | null;
  latencyMs: number;
  retryAfterMs: number | null;
  declineCode: string | null;
  code: string | null;
}

export type ChargeOutcome =
  | { kind: 'approved'; attempts: number; authorizationCode: string }
  | { kind: 'declined'; attempts: number; code: CardErrorCode; declineCode: string | null }
  /** Every failure was an explicit "not processed" (5xx/429): known not charged. */
  | { kind: 'unavailable'; attempts: number }
  /** Some attempt timed out or got a malformed reply, and no later attempt gave a definite answer. */
  | { kind: 'unknown'; attempts: number };

export interface ChargeDeps {
  gateway: Gateway;
  clock: Clock;
  random: Random;
  /** Waits between attempts; tests pass one that returns at once. */
  sleep?: (ms: number) => Promise<void>;
}

/** The reason an attempt's signal aborts with, so a timeout is told apart from other rejections. */
class AttemptTimeout extends Error {
  constructor(timeoutMs: number) {
    super(`gateway attempt timed out after ${timeoutMs} ms`);
    this.name = 'AttemptTimeout';
  }
}

type Attempt =
  | { kind: 'reply'; reply: ChargeReply }
  | { kind: 'timeout' }
  | { kind: 'malformed' }
  | { kind: 'unavailable'; httpStatus: number; retryAfterMs: number | null };

function defaultSleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function assertPolicy(policy: RetryPolicy): void {
  const positive = [policy.maxAttempts, policy.attemptTimeoutMs, policy.budgetMs];
  const nonNegative = [policy.backoffBaseMs, policy.backoffMaxMs];
  if (!Number.isInteger(policy.maxAttempts) || positive.some((n) => !(n > 0)) || nonNegative.some((n) => !(n >= 0))) {
    throw new RangeError('retry policy: maxAttempts, attemptTimeoutMs and budgetMs must be positive, backoff bounds non-negative');
  }
  if (policy.attemptTimeoutMs > policy.budgetMs) throw new RangeError('retry policy: attemptTimeoutMs exceeds budgetMs');
}

/** Only 5xx and 429 say "try again"; any other status is final (though still not charged). */
function isRetryableStatus(httpStatus: number): boolean {
  return httpStatus === 429 || (httpStatus >= 500 && httpStatus <= 599);
}

/** One gateway call, bounded by `timeoutMs` even if the gateway ignores its signal. */
async function attemptOnce(gateway: Gateway, request: ChargeRequest, timeoutMs: number): Promise<Attempt> {
  const controller = new AbortController();
  let timeout: AttemptTimeout | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      // Made only when it fires: an Error captures a stack trace, which every attempt would pay for.
      timeout = new AttemptTimeout(timeoutMs);
      controller.abort(timeout);
      reject(timeout);
    }, timeoutMs);
  });
  try {
    return { kind: 'reply', reply: await Promise.race([gateway.charge(request, controller.signal), expired]) };
  } catch (err) {
    if (timeout !== undefined && err === timeout) return { kind: 'timeout' };
    if (err instanceof GatewayUnavailableError) {
      return { kind: 'unavailable', httpStatus: err.httpStatus, retryAfterMs: err.retryAfterMs };
    }
    if (err instanceof GatewayMalformedReplyError) return { kind: 'malformed' };
    throw err; // a bug, not a gateway answer
  } finally {
    clearTimeout(timer); // nothing may keep the process alive once the attempt is over
  }
}

function reportOf(attempt: number, result: Attempt, latencyMs: number): AttemptReport {
  const base = { attempt, latencyMs, httpStatus: null, retryAfterMs: null, declineCode: null, code: null };
  switch (result.kind) {
    case 'reply':
      return result.reply.kind === 'approved'
        ? { ...base, result: 'approved' }
        : { ...base, result: 'declined', code: result.reply.code, declineCode: result.reply.declineCode };
    case 'unavailable':
      return { ...base, result: 'unavailable', httpStatus: result.httpStatus, retryAfterMs: result.retryAfterMs };
    default:
      return { ...base, result: result.kind };
  }
}

/** Full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter"), but never shorter than Retry-After. */
export function backoffMs(policy: RetryPolicy, failedAttempt: number, random: Random, retryAfterMs: number | null): number {
  const capMs = Math.min(policy.backoffMaxMs, policy.backoffBaseMs * 2 ** (failedAttempt - 1));
  const jitteredMs = Math.floor(random.next() * capMs);
  return Math.max(jitteredMs, retryAfterMs ?? 0);
}

/**
 * Charges through the gateway, retrying transient failures (timeout, 5xx/429, malformed
 * reply) with the same request, hence the same gateway key, so the gateway charges at
 * most once. Declines and approvals end at once. `onAttempt` is called synchronously
 * after each attempt, before any wait; `last` says no attempt follows it.
 */
export async function chargeWithRetries(
  deps: ChargeDeps,
  request: ChargeRequest,
  policy: RetryPolicy,
  onAttempt: (report: AttemptReport, last: boolean) => void,
): Promise<ChargeOutcome> {
  assertPolicy(policy);
  const sleep = deps.sleep ?? defaultSleep;
  const startedMs = deps.clock.now();
  // Once any attempt may have reached the gateway unanswered, "not charged" is no longer known.
  let uncertain = false;

  for (let attempt = 1; ; attempt++) {
    const attemptStartedMs = deps.clock.now();
    const result = await attemptOnce(deps.gateway, request, policy.attemptTimeoutMs);
    const report = reportOf(attempt, result, deps.clock.now() - attemptStartedMs);
    const next = nextStep(deps, policy, startedMs, attempt, result, uncertain);
    uncertain = next.uncertain;
    onAttempt(report, next.kind === 'done');
    if (next.kind === 'done') return next.outcome;
    await sleep(next.waitMs);
  }
}

type Step =
  | { kind: 'done'; outcome: ChargeOutcome; uncertain: boolean }
  | { kind: 'retry'; waitMs: number; uncertain: boolean };

/** What follows an attempt: the outcome, or the wait before the next attempt. */
function nextStep(deps: ChargeDeps, policy: RetryPolicy, startedMs: number, attempt: number, result: Attempt, wasUncertain: boolean): Step {
  if (result.kind === 'reply') {
    const reply = result.reply;
    const outcome: ChargeOutcome = reply.kind === 'approved'
      ? { kind: 'approved', attempts: attempt, authorizationCode: reply.authorizationCode }
      : { kind: 'declined', attempts: attempt, code: reply.code, declineCode: reply.declineCode };
    return { kind: 'done', outcome, uncertain: wasUncertain };
  }
  const uncertain = wasUncertain || result.kind !== 'unavailable';
  const giveUp: Step = { kind: 'done', outcome: { kind: uncertain ? 'unknown' : 'unavailable', attempts: attempt }, uncertain };

  if (result.kind === 'unavailable' && !isRetryableStatus(result.httpStatus)) return giveUp;
  if (attempt >= policy.maxAttempts) return giveUp;
  const waitMs = backoffMs(policy, attempt, deps.random, result.kind === 'unavailable' ? result.retryAfterMs : null);
  // Start another attempt only if it could run to its timeout within the budget.
  const elapsedMs = deps.clock.now() - startedMs;
  if (elapsedMs + waitMs + policy.attemptTimeoutMs > policy.budgetMs) return giveUp;
  return { kind: 'retry', waitMs, uncertain };
}
