import { createHash } from 'node:crypto';
import { luhnValid } from '../../../core/card.js';
import type { CardErrorCode } from '../../../core/errors.js';
import { rfc3339 } from '../../../core/time.js';
import type { Clock } from '../../../ports/clock.js';
import {
  type ChargeReply, type ChargeRequest, type Gateway, GatewayMalformedReplyError,
  GatewayUnavailableError, type LookupReply,
} from '../../../ports/gateway.js';
import type { GatewayLedger, LedgerCall, LedgerEntry, RecordedCall, Settlement } from '../../../ports/gateway-ledger.js';
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

/** Its authorization code is deterministic per key, so a replayed approval carries the same code. */
function approvalFor(gatewayKey: string): Settlement {
  const authorizationCode = `auth_${createHash('sha256').update(gatewayKey).digest('hex').slice(0, 16)}`;
  return { outcome: 'approved', code: null, declineCode: null, authorizationCode };
}

function settledReply(entry: LedgerEntry | null): ChargeReply | null {
  if (entry?.outcome === 'approved' && entry.authorizationCode !== null) {
    return { kind: 'approved', authorizationCode: entry.authorizationCode };
  }
  if (entry?.outcome === 'declined' && entry.code !== null) {
    // Only settlementFor() writes `code`, always from the card table, so it is a CardErrorCode.
    return { kind: 'declined', code: entry.code as CardErrorCode, declineCode: entry.declineCode };
  }
  return null;
}

/** What a call with this card settles if its key has no outcome yet, and from which call on. */
function settlementFor(behaviour: TestCardBehaviour, gatewayKey: string): Pick<LedgerCall, 'settle' | 'settleFromCall'> {
  switch (behaviour.kind) {
    case 'approve':
    case 'answer_late':
    case 'never_answer':
    case 'malformed':
      return { settle: approvalFor(gatewayKey), settleFromCall: 1 };
    case 'decline':
      return { settle: { outcome: 'declined', code: behaviour.code, declineCode: behaviour.declineCode, authorizationCode: null }, settleFromCall: 1 };
    case 'fail_once':
      return { settle: approvalFor(gatewayKey), settleFromCall: 2 }; // the first call under a key charges nothing
    case 'always_unavailable':
      return { settle: null, settleFromCall: 1 };
  }
}

/** Answers one call from the ledger entry as recorded with the settlement above. */
function answerFor(behaviour: TestCardBehaviour, { entry, settled }: RecordedCall): Answer {
  // These two cards misbehave on every call, even once the charge is settled.
  if (behaviour.kind === 'never_answer') return { kind: 'silence' };
  if (behaviour.kind === 'malformed') return { kind: 'malformed' };
  // Charged by this call, and the answer is lost; a later call replays the approval below.
  if (behaviour.kind === 'answer_late' && settled) return { kind: 'silence' };
  const reply = settledReply(entry); // idempotent gateway key: a settled outcome is replayed, never charged twice
  if (reply) return { kind: 'reply', reply };
  if (behaviour.kind === 'fail_once' || behaviour.kind === 'always_unavailable') return { kind: 'unavailable', httpStatus: behaviour.httpStatus };
  throw new Error(`ledger left key ${entry.gatewayKey} unsettled after a ${behaviour.kind} call`);
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

  /** One atomic ledger write per call; the answer follows from what it recorded. */
  async function record(request: ChargeRequest, behaviour: TestCardBehaviour): Promise<Answer> {
    const recorded = await ledger.recordCall({
      gatewayKey: request.gatewayKey, amount: request.amount, currency: request.currency, at: rfc3339(clock.now()),
      ...settlementFor(behaviour, request.gatewayKey),
    });
    return answerFor(behaviour, recorded);
  }

  return {
    async charge(request: ChargeRequest, signal: AbortSignal): Promise<ChargeReply> {
      if (signal.aborted) throw signal.reason; // never arrived: nothing recorded
      const behaviour = behaviourFor(request.card.number);
      const answer = await withLedger(() => record(request, behaviour));
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
