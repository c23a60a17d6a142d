import { afterEach, describe, expect, it, vi } from 'vitest';
import { createSimulatedGateway } from '../../src/adapters/gateway/simulated/index.js';
import {
  type AttemptReport, backoffMs, type ChargeOutcome, chargeWithRetries, DEFAULT_RETRY_POLICY, type RetryPolicy,
} from '../../src/app/charge-with-retries.js';
import type { Random } from '../../src/ports/clock.js';
import {
  type ChargeReply, type ChargeRequest, type Gateway, GatewayMalformedReplyError, GatewayUnavailableError,
} from '../../src/ports/gateway.js';
import type { LedgerEntry } from '../../src/ports/gateway-ledger.js';
import { MapLedger, seededRandom } from '../support/fakes.js';

/** Fake time: advances only when the code under test sleeps or a fake gateway says so. */
function fakeTime(): { clock: { now: () => number }; sleep: (ms: number) => Promise<void>; waits: number[]; advance: (ms: number) => void } {
  let nowMs = 1_000_000;
  const waits: number[] = [];
  return {
    clock: { now: () => nowMs },
    sleep: async (ms) => {
      waits.push(ms);
      nowMs += ms;
    },
    waits,
    advance: (ms) => {
      nowMs += ms;
    },
  };
}

const POLICY: RetryPolicy = { maxAttempts: 4, attemptTimeoutMs: 30, budgetMs: 10_000, backoffBaseMs: 10, backoffMaxMs: 100 };

function request(number: string, gatewayKey = 'gk_1'): ChargeRequest {
  return { gatewayKey, amount: 1099, currency: 'USD', card: { number, expMonth: 12, expYear: 2030, cvc: '123' } };
}

type Step = ChargeReply | 'hang' | 'ignore-signal' | 'malformed' | { status: number; retryAfterMs?: number } | Error;

/** A gateway that plays `steps` in order (the last one repeats) and records every call. */
function scripted(steps: Step[], onCall: () => void = () => undefined): Gateway & { calls: ChargeRequest[] } {
  const calls: ChargeRequest[] = [];
  return {
    calls,
    async charge(req, signal) {
      calls.push(req);
      onCall();
      const step = steps[Math.min(calls.length, steps.length) - 1];
      if (step === 'hang') {
        return new Promise<never>((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
      }
      if (step === 'ignore-signal') return new Promise<never>(() => undefined);
      if (step === 'malformed') throw new GatewayMalformedReplyError();
      if (step instanceof Error) throw step;
      if (step === undefined) throw new Error('no step');
      if ('status' in step) throw new GatewayUnavailableError(step.status, step.retryAfterMs ?? null);
      return step;
    },
    lookup: () => Promise.reject(new Error('not used')),
  };
}

const APPROVED: ChargeReply = { kind: 'approved', authorizationCode: 'auth_x' };

async function run(gateway: Gateway, policy: RetryPolicy = POLICY, number = '4242424242424242', time = fakeTime()):
  Promise<{ outcome: ChargeOutcome; reports: AttemptReport[]; waits: number[] }> {
  const reports: AttemptReport[] = [];
  const outcome = await chargeWithRetries(
    { gateway, clock: time.clock, random: seededRandom(42), sleep: time.sleep }, request(number), policy, (r) => reports.push(r),
  );
  return { outcome, reports, waits: time.waits };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('chargeWithRetries against the simulated gateway', () => {
  const ledger = new MapLedger();
  const gateway = createSimulatedGateway({ ledger, clock: { now: () => 0 }, latencyMs: 0 });
  let seq = 0;
  async function charge(number: string): Promise<{ outcome: ChargeOutcome; reports: AttemptReport[]; waits: number[]; entry: LedgerEntry | null }> {
    const key = `gk_${++seq}`;
    const time = fakeTime();
    const reports: AttemptReport[] = [];
    const outcome = await chargeWithRetries(
      { gateway, clock: time.clock, random: seededRandom(7), sleep: time.sleep }, request(number, key), POLICY, (r) => reports.push(r),
    );
    return { outcome, reports, waits: time.waits, entry: await ledger.get(key) };
  }

  it('approves in one attempt', async () => {
    const { outcome, reports } = await charge('4242424242424242');
    expect(outcome).toEqual({ kind: 'approved', attempts: 1, authorizationCode: expect.any(String) });
    expect(reports).toEqual([{ attempt: 1, result: 'approved', httpStatus: null, latencyMs: 0, retryAfterMs: null, declineCode: null, code: null }]);
  });

  it('never retries a decline', async () => {
    const { outcome, reports, entry } = await charge('4000000000009995');
    expect(outcome).toEqual({ kind: 'declined', attempts: 1, code: 'card_declined', declineCode: 'insufficient_funds' });
    expect(reports[0]).toMatchObject({ result: 'declined', code: 'card_declined', declineCode: 'insufficient_funds' });
    expect(entry?.calls).toBe(1);
  });

  it.each([['4000000005030004', 503], ['4000000005000007', 500], ['4000000004290005', 429]])(
    '%s: %i once, then approved on attempt 2', async (number, httpStatus) => {
      const { outcome, reports, entry } = await charge(number);
      expect(outcome).toMatchObject({ kind: 'approved', attempts: 2 });
      expect(reports.map((r) => [r.result, r.httpStatus])).toEqual([['unavailable', httpStatus], ['approved', null]]);
      expect(entry).toMatchObject({ calls: 2, outcome: 'approved' });
    });

  it('waits at least the Retry-After of the 429 card', async () => {
    const { reports, waits } = await charge('4000000004290005');
    expect(reports[0]?.retryAfterMs).toBe(20);
    expect(waits).toHaveLength(1);
    expect(waits[0]).toBeGreaterThanOrEqual(20);
  });

  it('gives up on the always-503 card as unavailable, nothing charged', async () => {
    const { outcome, reports, entry } = await charge('4000000005039997');
    expect(outcome).toEqual({ kind: 'unavailable', attempts: 4 });
    expect(reports.every((r) => r.result === 'unavailable' && r.httpStatus === 503)).toBe(true);
    expect(entry).toMatchObject({ calls: 4, outcome: null });
  });

  it('4000000004080000: the attempt times out, the retry returns the original approval, one charge', async () => {
    const before = ledger.settlements;
    const { outcome, reports, entry } = await charge('4000000004080000');
    expect(reports.map((r) => r.result)).toEqual(['timeout', 'approved']);
    expect(outcome).toEqual({ kind: 'approved', attempts: 2, authorizationCode: entry?.authorizationCode });
    expect(entry).toMatchObject({ calls: 2, outcome: 'approved' });
    expect(ledger.settlements - before).toBe(1);
  });

  it('4000000004089993: every attempt times out, outcome unknown', async () => {
    const { outcome, reports } = await charge('4000000004089993');
    expect(outcome).toEqual({ kind: 'unknown', attempts: 4 });
    expect(reports.map((r) => r.result)).toEqual(['timeout', 'timeout', 'timeout', 'timeout']);
  });

  it('4000000005020005: every reply is malformed, outcome unknown', async () => {
    const { outcome, reports } = await charge('4000000005020005');
    expect(outcome).toEqual({ kind: 'unknown', attempts: 4 });
    expect(reports.map((r) => r.result)).toEqual(['malformed', 'malformed', 'malformed', 'malformed']);
  });
});

describe('chargeWithRetries: bounds', () => {
  it('sends the same request, hence the same gateway key, on every attempt', async () => {
    const gateway = scripted([{ status: 503 }, 'malformed', APPROVED]);
    const { outcome } = await run(gateway);
    expect(outcome).toMatchObject({ kind: 'approved', attempts: 3 });
    expect(gateway.calls).toHaveLength(3);
    expect(new Set(gateway.calls.map((c) => c.gatewayKey))).toEqual(new Set(['gk_1']));
  });

  it('stops at maxAttempts', async () => {
    const gateway = scripted([{ status: 503 }]);
    const { outcome, waits } = await run(gateway, { ...POLICY, maxAttempts: 3 });
    expect(outcome).toEqual({ kind: 'unavailable', attempts: 3 });
    expect(gateway.calls).toHaveLength(3);
    expect(waits).toHaveLength(2);
  });

  it('starts no attempt that could end past the budget', async () => {
    const time = fakeTime();
    // Each call takes 100 ms of fake time: attempts end at 100, 200; a third could end at 300 > 250.
    const gateway = scripted([{ status: 500 }], () => time.advance(100));
    const policy = { ...POLICY, maxAttempts: 10, attemptTimeoutMs: 100, budgetMs: 250, backoffBaseMs: 0 };
    const { outcome } = await run(gateway, policy, undefined, time);
    expect(outcome).toEqual({ kind: 'unavailable', attempts: 2 });
  });

  it('gives up rather than wait out a Retry-After longer than the budget', async () => {
    const gateway = scripted([{ status: 429, retryAfterMs: 60_000 }, APPROVED]);
    const { outcome, waits } = await run(gateway, { ...POLICY, budgetMs: 5_000 });
    expect(outcome).toEqual({ kind: 'unavailable', attempts: 1 });
    expect(waits).toEqual([]);
  });

  it('honours Retry-After above the backoff cap', async () => {
    const gateway = scripted([{ status: 429, retryAfterMs: 500 }, APPROVED]);
    const { outcome, reports, waits } = await run(gateway);
    expect(outcome).toMatchObject({ kind: 'approved', attempts: 2 });
    expect(reports[0]).toMatchObject({ result: 'unavailable', httpStatus: 429, retryAfterMs: 500 });
    expect(waits).toEqual([500]);
  });

  it('jitters each wait within [0, min(max, base * 2^(n-1))), the same for the same seed', async () => {
    const policy = { ...POLICY, maxAttempts: 8, backoffBaseMs: 100, backoffMaxMs: 1_000 };
    const first = await run(scripted([{ status: 503 }]), policy);
    const second = await run(scripted([{ status: 503 }]), policy);
    expect(first.waits).toHaveLength(7);
    first.waits.forEach((ms, i) => {
      expect(ms).toBeGreaterThanOrEqual(0);
      expect(ms).toBeLessThan(Math.min(1_000, 100 * 2 ** i));
    });
    expect(new Set(first.waits).size).toBeGreaterThan(1);
    expect(second.waits).toEqual(first.waits);
  });

  it('backoffMs spans the full jitter range and never undercuts Retry-After', () => {
    const fixed = (value: number): Random => ({ next: () => value, bytes: (n) => new Uint8Array(n) });
    const policy = { ...POLICY, backoffBaseMs: 50, backoffMaxMs: 2_000 };
    expect(backoffMs(policy, 1, fixed(0), null)).toBe(0);
    expect(backoffMs(policy, 3, fixed(0.999999), null)).toBe(199);
    expect(backoffMs(policy, 10, fixed(0.999999), null)).toBe(1_999);
    expect(backoffMs(policy, 1, fixed(0.5), 300)).toBe(300);
  });

  it('times out an attempt even when the gateway ignores its signal', async () => {
    const gateway = scripted(['ignore-signal', APPROVED]);
    const { outcome, reports } = await run(gateway);
    expect(reports.map((r) => r.result)).toEqual(['timeout', 'approved']);
    expect(outcome).toMatchObject({ kind: 'approved', attempts: 2 });
  });

  it('leaves no timer behind', async () => {
    vi.useFakeTimers();
    const { outcome } = await run(scripted([APPROVED]), { ...POLICY, attemptTimeoutMs: 60_000, budgetMs: 60_000 });
    expect(outcome.kind).toBe('approved');
    expect(vi.getTimerCount()).toBe(0);
  });

  it('rejects an impossible policy', async () => {
    await expect(run(scripted([APPROVED]), { ...POLICY, maxAttempts: 0 })).rejects.toThrow(RangeError);
    await expect(run(scripted([APPROVED]), { ...POLICY, attemptTimeoutMs: 20_000, budgetMs: 10_000 })).rejects.toThrow(RangeError);
  });

  it('has a default policy whose worst case fits well under 29 s', () => {
    expect(DEFAULT_RETRY_POLICY.budgetMs).toBeLessThanOrEqual(15_000);
    expect(DEFAULT_RETRY_POLICY.attemptTimeoutMs).toBeLessThanOrEqual(DEFAULT_RETRY_POLICY.budgetMs);
  });
});

describe('chargeWithRetries: classification', () => {
  const cases: [string, Step[], ChargeOutcome['kind'], number][] = [
    ['only 5xx/429: known not charged', [{ status: 503 }, { status: 429 }, { status: 500 }, { status: 502 }], 'unavailable', 4],
    ['a timeout, then 503s: may have charged', ['hang', { status: 503 }], 'unknown', 4],
    ['a malformed reply, then 503s: may have charged', ['malformed', { status: 503 }], 'unknown', 4],
    ['503s, then a timeout', [{ status: 503 }, { status: 503 }, { status: 503 }, 'hang'], 'unknown', 4],
    ['a timeout, then an approval', ['hang', APPROVED], 'approved', 2],
    ['a malformed reply, then a decline', ['malformed', { kind: 'declined', code: 'card_declined', declineCode: 'generic_decline' }], 'declined', 2],
    ['a non-retryable status ends at once', [{ status: 400 }, APPROVED], 'unavailable', 1],
  ];
  it.each(cases)('%s', async (_name, steps, kind, attempts) => {
    const { outcome, reports } = await run(scripted(steps));
    expect(outcome).toMatchObject({ kind, attempts });
    expect(reports.map((r) => r.attempt)).toEqual(Array.from({ length: attempts }, (_, i) => i + 1));
  });

  it('never retries a decline', async () => {
    const gateway = scripted([{ kind: 'declined', code: 'incorrect_cvc', declineCode: 'incorrect_cvc' }, APPROVED]);
    const { outcome, waits } = await run(gateway);
    expect(outcome).toEqual({ kind: 'declined', attempts: 1, code: 'incorrect_cvc', declineCode: 'incorrect_cvc' });
    expect(gateway.calls).toHaveLength(1);
    expect(waits).toEqual([]);
  });

  it('propagates any other error as a bug', async () => {
    const bug = new TypeError('cannot read properties of undefined');
    const reports: AttemptReport[] = [];
    const time = fakeTime();
    const charging = chargeWithRetries(
      { gateway: scripted([{ status: 503 }, bug]), clock: time.clock, random: seededRandom(1), sleep: time.sleep },
      request('4242424242424242'), POLICY, (r) => reports.push(r),
    );
    await expect(charging).rejects.toBe(bug);
    expect(reports).toHaveLength(1);
  });

  it('reports each attempt before waiting for the next', async () => {
    const time = fakeTime();
    const reports: AttemptReport[] = [];
    const reportsAtEachWait: number[] = [];
    const sleep = async (ms: number): Promise<void> => {
      reportsAtEachWait.push(reports.length);
      await time.sleep(ms);
    };
    await chargeWithRetries(
      { gateway: scripted([{ status: 503 }, 'malformed', APPROVED]), clock: time.clock, random: seededRandom(3), sleep },
      request('4242424242424242'), POLICY, (r) => reports.push(r),
    );
    expect(reportsAtEachWait).toEqual([1, 2]);
    expect(reports.map((r) => r.result)).toEqual(['unavailable', 'malformed', 'approved']);
  });
});
