import { createHash } from 'node:crypto';
import { luhnValid } from '../../../core/card.js';
import type { CardErrorCode } from '../../../core/errors.js';
import { rfc3339 } from '../../../core/time.js';
import type { Clock } from '../../../ports/clock.js';
import {
  type ChargeReply, type ChargeRequest, type Gateway, GatewayMalformedReplyError,
  GatewayUnavailableError, type LookupReply,
} from '../../../ports/gateway.js';
import type { GatewayLedger, LedgerEntry } from '../../../ports/gateway-ledger.js';
import { TEST_CARDS, type TestCardBehaviour } from './test-cards.js';
import { delay, untilAborted } from './wait.js';

export interface SimulatedGatewayOptions {
  /** Where every charge is remembered, so outcomes survive restarts. */
  ledger: GatewayLedger;
  clock: Clock;
  /** Time before each answer; 0 answers on the next tick without a timer. */
  latencyMs: number;
  /** Retry-After sent with the 429 test card. */
  retryAfterMs?: number;
}

export const DEFAULT_RETRY_AFTER_MS = 20;

/** What the gateway does with one call once the ledger is updated. */
type Answer =
  | { kind: 'reply'; reply: ChargeReply }
  | { kind: 'unavailable'; httpStatus: number }
  | { kind: 'malformed' }
  | { kind: 'silence' };

const APPROVE: TestCardBehaviour = { kind: 'approve' };
// A real gateway would refuse a number that fails Luhn; paylog never sends one.
const INCORRECT_NUMBER: TestCardBehaviour = { kind: 'decline', code: 'incorrect_number', declineCode: 'incorrect_number' };

function behaviourFor(cardNumber: string): TestCardBehaviour {
  return TEST_CARDS.get(cardNumber) ?? (luhnValid(cardNumber) ? APPROVE : INCORRECT_NUMBER);
}

/** Deterministic per key, so a replayed approval carries the same code. */
function authorizationCodeFor(gatewayKey: string): string {
  return `auth_${createHash('sha256').update(gatewayKey).digest('hex').slice(0, 16)}`;
}

function settledReply(entry: LedgerEntry | null): ChargeReply | null {
  if (entry?.outcome === 'approved' && entry.authorizationCode !== null) {
    return { kind: 'approved', authorizationCode: entry.authorizationCode };
  }
  if (entry?.outcome === 'declined' && entry.code !== null) {
    // Only decide() writes `code`, always from the card table, so it is a CardErrorCode.
    return { kind: 'declined', code: entry.code as CardErrorCode, declineCode: entry.declineCode };
  }
  return null;
}

function approve(entry: LedgerEntry): ChargeReply {
  if (entry.outcome === null) {
    entry.outcome = 'approved';
    entry.authorizationCode = authorizationCodeFor(entry.gatewayKey);
  }
  return settledReply(entry) as ChargeReply;
}

/** Decides one call and settles `entry` (mutated) when the charge goes through. */
function decide(entry: LedgerEntry, behaviour: TestCardBehaviour): Answer {
  // These two cards misbehave on every call, even once the charge is settled.
  if (behaviour.kind === 'never_answer' || behaviour.kind === 'malformed') {
    approve(entry);
    return { kind: behaviour.kind === 'never_answer' ? 'silence' : 'malformed' };
  }

  const settled = settledReply(entry);
  if (settled) return { kind: 'reply', reply: settled }; // idempotent gateway key: never charge twice
  switch (behaviour.kind) {
    case 'approve':
      return { kind: 'reply', reply: approve(entry) };
    case 'decline':
      entry.outcome = 'declined';
      entry.code = behaviour.code;
      entry.declineCode = behaviour.declineCode;
      return { kind: 'reply', reply: settledReply(entry) as ChargeReply };
    case 'fail_once':
      return entry.calls === 1 ? { kind: 'unavailable', httpStatus: behaviour.httpStatus } : { kind: 'reply', reply: approve(entry) };
    case 'always_unavailable':
      return { kind: 'unavailable', httpStatus: behaviour.httpStatus };
    case 'answer_late':
      // Charged now; the answer is lost. A later call finds the approval settled above.
      approve(entry);
      return { kind: 'silence' };
  }
}

/**
 * The built-in card gateway of SPEC §2. The card number only selects a behaviour;
 * the ledger keeps amount, currency and outcome, never the number or CVC.
 */
export function createSimulatedGateway(options: SimulatedGatewayOptions): Gateway {
  const { ledger, clock, latencyMs } = options;
  const retryAfterMs = options.retryAfterMs ?? DEFAULT_RETRY_AFTER_MS;
  if (!Number.isFinite(latencyMs) || latencyMs < 0) throw new RangeError(`latencyMs must be >= 0, got ${latencyMs}`);
  if (!Number.isFinite(retryAfterMs) || retryAfterMs < 0) throw new RangeError(`retryAfterMs must be >= 0, got ${retryAfterMs}`);

  // Calls under one key update the ledger one at a time, so concurrent calls in this
  // process cannot both charge. (The ledger port has no conditional write, so this
  // does not extend across processes.)
  const tails = new Map<string, Promise<unknown>>();
  function serialized<T>(key: string, work: () => Promise<T>): Promise<T> {
    const run = (tails.get(key) ?? Promise.resolve()).then(work);
    const tail = run.catch(() => undefined);
    tails.set(key, tail);
    void tail.then(() => {
      if (tails.get(key) === tail) tails.delete(key);
    });
    return run;
  }

  /** A ledger failure is the gateway's own internal error: nothing was charged. */
  async function withLedger<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (err) {
      const failure = new GatewayUnavailableError(500, null);
      failure.cause = err;
      throw failure;
    }
  }

  async function record(request: ChargeRequest, behaviour: TestCardBehaviour): Promise<Answer> {
    const now = rfc3339(clock.now());
    const previous = await ledger.get(request.gatewayKey);
    const entry: LedgerEntry = previous
      ? { ...previous, calls: previous.calls + 1, updatedAt: now }
      : {
          gatewayKey: request.gatewayKey, calls: 1, outcome: null, code: null, declineCode: null,
          authorizationCode: null, amount: request.amount, currency: request.currency, createdAt: now, updatedAt: now,
        };
    const answer = decide(entry, behaviour);
    await ledger.put(entry);
    return answer;
  }

  return {
    async charge(request: ChargeRequest, signal: AbortSignal): Promise<ChargeReply> {
      if (signal.aborted) throw signal.reason; // never arrived: nothing recorded
      const behaviour = behaviourFor(request.card.number);
      const answer = await withLedger(() => serialized(request.gatewayKey, () => record(request, behaviour)));
      if (answer.kind === 'silence') return untilAborted(signal);
      await delay(latencyMs, signal);
      switch (answer.kind) {
        case 'reply':
          return answer.reply;
        case 'unavailable':
          throw new GatewayUnavailableError(answer.httpStatus, answer.httpStatus === 429 ? retryAfterMs : null);
        case 'malformed':
          throw new GatewayMalformedReplyError();
      }
    },

    async lookup(gatewayKey: string, signal: AbortSignal): Promise<LookupReply> {
      if (signal.aborted) throw signal.reason;
      const entry = await withLedger(() => ledger.get(gatewayKey));
      await delay(latencyMs, signal);
      return settledReply(entry) ?? { kind: 'not_found' };
    },
  };
}
