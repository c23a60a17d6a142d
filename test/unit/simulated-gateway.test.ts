import { describe, expect, it, vi, afterEach } from 'vitest';
import { createSimulatedGateway } from '../../src/adapters/gateway/simulated/index.js';
import {
  type ChargeRequest, type Gateway, GatewayMalformedReplyError, GatewayUnavailableError,
} from '../../src/ports/gateway.js';
import type { GatewayLedger } from '../../src/ports/gateway-ledger.js';
import { MapLedger } from '../support/fakes.js';
import { DECLINING_CARDS } from '../support/test-cards.js';

const clock = { now: () => Date.parse('2026-11-26T16:00:00.123Z') };
const never = new AbortController().signal;

function setup(options: { latencyMs?: number; retryAfterMs?: number } = {}): { ledger: MapLedger; gateway: Gateway } {
  const ledger = new MapLedger();
  const gateway = createSimulatedGateway({ ledger, clock, latencyMs: options.latencyMs ?? 0, retryAfterMs: options.retryAfterMs });
  return { ledger, gateway };
}

/** The default key must not contain the number, or the "never stored" checks would be moot. */
const keyFor = (number: string): string => `gk_${number.slice(-6)}`;

function request(number: string, gatewayKey = keyFor(number)): ChargeRequest {
  return { gatewayKey, amount: 1099, currency: 'USD', card: { number, expMonth: 12, expYear: 2030, cvc: '123' } };
}

/** Lets every pending microtask and I/O callback run (the ledger is in-memory). */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function tracked<T>(promise: Promise<T>): { promise: Promise<T>; done: () => boolean } {
  let done = false;
  promise.then(() => (done = true), () => (done = true));
  return { promise, done: () => done };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('simulated gateway: SPEC §2 test cards', () => {
  const approving = [
    '4242424242424242', '5555555555554444', '2223003122003222', '378282246310005',
    '6011111111111117', '3566002020360505', '36227206271667', '6200000000000005',
    '4111111111111111', // unlisted but Luhn-valid
  ];
  it.each(approving)('approves %s and records one charge without the card number', async (number) => {
    const { ledger, gateway } = setup();
    const reply = await gateway.charge(request(number), never);
    expect(reply).toEqual({ kind: 'approved', authorizationCode: expect.stringMatching(/^auth_[0-9a-f]{16}$/) });
    const entry = await ledger.get(keyFor(number));
    expect(entry).toMatchObject({ calls: 1, outcome: 'approved', amount: 1099, currency: 'USD', createdAt: '2026-11-26T16:00:00.123Z' });
    expect(JSON.stringify(entry)).not.toContain(number);
    expect(Object.keys(entry ?? {})).not.toContain('cvc');
  });

  it.each(DECLINING_CARDS)('declines %s with %s / %s', async (number, code, declineCode) => {
    const { ledger, gateway } = setup();
    expect(await gateway.charge(request(number), never)).toEqual({ kind: 'declined', code, declineCode });
    expect(await ledger.get(keyFor(number))).toMatchObject({ calls: 1, outcome: 'declined', code, declineCode, authorizationCode: null });
  });

  it('declines a number that fails Luhn as incorrect_number', async () => {
    const { gateway } = setup();
    expect(await gateway.charge(request('4242424242424241'), never))
      .toEqual({ kind: 'declined', code: 'incorrect_number', declineCode: 'incorrect_number' });
  });

  const onceThenApprove: [string, number, number | null][] = [
    ['4000000005030004', 503, null],
    ['4000000004290005', 429, 20],
    ['4000000005000007', 500, null],
  ];
  it.each(onceThenApprove)('%s fails with %i once, then approves', async (number, httpStatus, retryAfterMs) => {
    const { ledger, gateway } = setup();
    const first = await gateway.charge(request(number), never).catch((err: unknown) => err);
    expect(first).toBeInstanceOf(GatewayUnavailableError);
    expect(first).toMatchObject({ httpStatus, retryAfterMs });
    expect(await ledger.get(keyFor(number))).toMatchObject({ calls: 1, outcome: null });
    expect(await gateway.lookup(keyFor(number), never)).toEqual({ kind: 'not_found' });

    expect(await gateway.charge(request(number), never)).toMatchObject({ kind: 'approved' });
    expect(await ledger.get(keyFor(number))).toMatchObject({ calls: 2, outcome: 'approved' });
    expect(ledger.settlements).toBe(1);
  });

  it('fails once per gateway key: a new key fails again', async () => {
    const { gateway } = setup();
    await expect(gateway.charge(request('4000000005030004', 'a'), never)).rejects.toBeInstanceOf(GatewayUnavailableError);
    await expect(gateway.charge(request('4000000005030004', 'b'), never)).rejects.toBeInstanceOf(GatewayUnavailableError);
  });

  it('sends the configured Retry-After with the 429 card', async () => {
    const { gateway } = setup({ retryAfterMs: 7 });
    await expect(gateway.charge(request('4000000004290005'), never)).rejects.toMatchObject({ httpStatus: 429, retryAfterMs: 7 });
  });

  it('4000000005039997 is unavailable every time and never charges', async () => {
    const { ledger, gateway } = setup();
    for (let i = 0; i < 3; i++) {
      await expect(gateway.charge(request('4000000005039997'), never)).rejects.toMatchObject({ httpStatus: 503, retryAfterMs: null });
    }
    expect(await ledger.get(keyFor('4000000005039997'))).toMatchObject({ calls: 3, outcome: null });
    expect(ledger.settlements).toBe(0);
    expect(await gateway.lookup(keyFor('4000000005039997'), never)).toEqual({ kind: 'not_found' });
  });

  it('4000000004080000 charges but never answers the first call; a retry returns that approval, one charge', async () => {
    const { ledger, gateway } = setup();
    const controller = new AbortController();
    const first = tracked(gateway.charge(request('4000000004080000'), controller.signal));
    await settle();
    expect(first.done()).toBe(false);
    expect(await ledger.get(keyFor('4000000004080000'))).toMatchObject({ calls: 1, outcome: 'approved' });

    const reason = new Error('attempt timed out');
    controller.abort(reason);
    await expect(first.promise).rejects.toBe(reason);

    const retry = await gateway.charge(request('4000000004080000'), never);
    const entry = await ledger.get(keyFor('4000000004080000'));
    expect(retry).toEqual({ kind: 'approved', authorizationCode: entry?.authorizationCode });
    expect(entry).toMatchObject({ calls: 2, outcome: 'approved' });
    expect(ledger.settlements).toBe(1);
  });

  it('4000000004089993 charges but never answers any call', async () => {
    const { ledger, gateway } = setup();
    for (let call = 1; call <= 2; call++) {
      const controller = new AbortController();
      const pending = tracked(gateway.charge(request('4000000004089993'), controller.signal));
      await settle();
      expect(pending.done()).toBe(false);
      controller.abort(new Error(`give up ${call}`));
      await expect(pending.promise).rejects.toThrow(`give up ${call}`);
    }
    expect(await ledger.get(keyFor('4000000004089993'))).toMatchObject({ calls: 2, outcome: 'approved' });
    expect(ledger.settlements).toBe(1);
    expect(await gateway.lookup(keyFor('4000000004089993'), never)).toMatchObject({ kind: 'approved' });
  });

  it('4000000005020005 charges, then answers every call with a malformed reply', async () => {
    const { ledger, gateway } = setup();
    for (let call = 1; call <= 2; call++) {
      await expect(gateway.charge(request('4000000005020005'), never)).rejects.toBeInstanceOf(GatewayMalformedReplyError);
    }
    expect(await ledger.get(keyFor('4000000005020005'))).toMatchObject({ calls: 2, outcome: 'approved' });
    expect(ledger.settlements).toBe(1);
    expect(await gateway.lookup(keyFor('4000000005020005'), never)).toMatchObject({ kind: 'approved' });
  });
});

describe('simulated gateway: idempotent gateway keys', () => {
  it('replays a settled approval with the same code and charges once', async () => {
    const { ledger, gateway } = setup();
    const first = await gateway.charge(request('4242424242424242', 'k'), never);
    const again = await gateway.charge(request('4242424242424242', 'k'), never);
    expect(again).toEqual(first);
    expect(await ledger.get('k')).toMatchObject({ calls: 2 });
    expect(ledger.settlements).toBe(1);
  });

  it('replays a settled outcome whatever card a later call carries', async () => {
    const { gateway } = setup();
    const declined = await gateway.charge(request('4000000000009995', 'k1'), never);
    expect(await gateway.charge(request('4242424242424242', 'k1'), never)).toEqual(declined);
    const approved = await gateway.charge(request('4242424242424242', 'k2'), never);
    expect(await gateway.charge(request('4000000000000002', 'k2'), never)).toEqual(approved);
  });

  it('gives different keys different authorization codes', async () => {
    const { gateway } = setup();
    const a = await gateway.charge(request('4242424242424242', 'a'), never);
    const b = await gateway.charge(request('4242424242424242', 'b'), never);
    expect(a).not.toEqual(b);
  });

  it('charges once when calls under one key race', async () => {
    const { ledger, gateway } = setup();
    const replies = await Promise.all([1, 2, 3].map(() => gateway.charge(request('4242424242424242', 'race'), never)));
    expect(new Set(replies.map((r) => JSON.stringify(r))).size).toBe(1);
    expect(await ledger.get('race')).toMatchObject({ calls: 3 });
    expect(ledger.settlements).toBe(1);
  });

  it('makes one ledger write per call and reads nothing', async () => {
    const { ledger } = setup();
    const calls = { get: 0, recordCall: 0 };
    const counted: GatewayLedger = {
      get: (key) => (calls.get++, ledger.get(key)),
      recordCall: (call) => (calls.recordCall++, ledger.recordCall(call)),
    };
    const counting = createSimulatedGateway({ ledger: counted, clock, latencyMs: 0 });
    await counting.charge(request('4242424242424242', 'k'), never);
    await counting.charge(request('4242424242424242', 'k'), never);
    await counting.charge(request('4000000000000002', 'd'), never);
    expect(calls).toEqual({ get: 0, recordCall: 3 });
  });

  it('an answer-late call that settles a key left unsettled by an earlier card still loses its answer', async () => {
    const { ledger, gateway } = setup();
    await expect(gateway.charge(request('4000000005039997', 'k'), never)).rejects.toBeInstanceOf(GatewayUnavailableError);
    const controller = new AbortController();
    const late = tracked(gateway.charge(request('4000000004080000', 'k'), controller.signal));
    await settle();
    expect(late.done()).toBe(false);
    controller.abort(new Error('attempt timed out'));
    await expect(late.promise).rejects.toThrow('attempt timed out');
    expect(await gateway.charge(request('4000000004080000', 'k'), never)).toMatchObject({ kind: 'approved' });
    expect(await ledger.get('k')).toMatchObject({ calls: 3, outcome: 'approved' });
    expect(ledger.settlements).toBe(1);
  });

  it('keeps the first amount and currency under a key', async () => {
    const { ledger, gateway } = setup();
    await gateway.charge(request('4242424242424242', 'k'), never);
    await gateway.charge({ ...request('4242424242424242', 'k'), amount: 5, currency: 'EUR' }, never);
    expect(await ledger.get('k')).toMatchObject({ amount: 1099, currency: 'USD' });
  });
});

describe('simulated gateway: lookup', () => {
  it('returns not_found for an unknown key', async () => {
    const { gateway } = setup();
    expect(await gateway.lookup('nope', never)).toEqual({ kind: 'not_found' });
  });

  it('returns the settled approval or decline', async () => {
    const { gateway } = setup();
    const approved = await gateway.charge(request('4242424242424242', 'a'), never);
    const declined = await gateway.charge(request('4000000000009987', 'd'), never);
    expect(await gateway.lookup('a', never)).toEqual(approved);
    expect(await gateway.lookup('d', never)).toEqual(declined);
  });

  it('is survived by a restart: a new gateway on the same ledger sees earlier outcomes', async () => {
    const { ledger, gateway } = setup();
    const approved = await gateway.charge(request('4242424242424242', 'k'), never);
    const restarted = createSimulatedGateway({ ledger, clock, latencyMs: 0 });
    expect(await restarted.lookup('k', never)).toEqual(approved);
    expect(await restarted.charge(request('4242424242424242', 'k'), never)).toEqual(approved);
    expect(ledger.settlements).toBe(1);
  });
});

describe('simulated gateway: latency and abort', () => {
  it('rejects an already aborted call with its reason and records nothing', async () => {
    const { ledger, gateway } = setup();
    const reason = new Error('too late');
    const signal = AbortSignal.abort(reason);
    await expect(gateway.charge(request('4242424242424242', 'k'), signal)).rejects.toBe(reason);
    await expect(gateway.lookup('k', signal)).rejects.toBe(reason);
    expect(ledger.entries.size).toBe(0);
  });

  it('answers after latencyMs', async () => {
    vi.useFakeTimers();
    const { gateway } = setup({ latencyMs: 50 });
    const pending = tracked(gateway.charge(request('4242424242424242'), never));
    await vi.advanceTimersByTimeAsync(49);
    expect(pending.done()).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(pending.done()).toBe(true);
    await expect(pending.promise).resolves.toMatchObject({ kind: 'approved' });
  });

  it('answers with latencyMs 0 without any timer', async () => {
    vi.useFakeTimers();
    const { gateway } = setup({ latencyMs: 0 });
    const reply = gateway.charge(request('4242424242424242'), never);
    expect(vi.getTimerCount()).toBe(0);
    await expect(reply).resolves.toMatchObject({ kind: 'approved' });
  });

  it('stops waiting out the latency when the signal aborts', async () => {
    vi.useFakeTimers();
    const { ledger, gateway } = setup({ latencyMs: 10_000 });
    const controller = new AbortController();
    const pending = gateway.charge(request('4242424242424242', 'k'), controller.signal);
    await vi.advanceTimersByTimeAsync(1);
    controller.abort(new Error('client gave up'));
    await expect(pending).rejects.toThrow('client gave up');
    expect(vi.getTimerCount()).toBe(0);
    // The charge went through before the answer was lost: a retry finds it.
    expect(await ledger.get('k')).toMatchObject({ outcome: 'approved' });
  });

  it('rejects invalid options', () => {
    const ledger = new MapLedger();
    expect(() => createSimulatedGateway({ ledger, clock, latencyMs: -1 })).toThrow(RangeError);
    expect(() => createSimulatedGateway({ ledger, clock, latencyMs: 0, retryAfterMs: Number.NaN })).toThrow(RangeError);
  });

  it('reports a failing ledger as the gateway\'s own 500: nothing charged', async () => {
    const broken: GatewayLedger = { get: () => Promise.reject(new Error('disk')), recordCall: () => Promise.reject(new Error('disk')) };
    const gateway = createSimulatedGateway({ ledger: broken, clock, latencyMs: 0 });
    await expect(gateway.charge(request('4242424242424242'), never)).rejects.toMatchObject({ httpStatus: 500 });
    await expect(gateway.lookup('k', never)).rejects.toBeInstanceOf(GatewayUnavailableError);
  });
});
