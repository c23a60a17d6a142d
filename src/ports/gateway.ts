import type { CardDetails } from '../core/card.js';
import type { CardErrorCode } from '../core/errors.js';

export interface ChargeRequest {
  /** Same key on every retry and on reconciliation: the gateway charges at most once per key. */
  gatewayKey: string;
  amount: number;
  currency: string;
  card: CardDetails;
}

/** A definite answer. Declines are values, not errors. */
export type ChargeReply =
  | { kind: 'approved'; authorizationCode: string }
  | { kind: 'declined'; code: CardErrorCode; declineCode: string | null };

/** A transient failure the gateway reported: it did not process the charge. */
export class GatewayUnavailableError extends Error {
  constructor(
    readonly httpStatus: number,
    readonly retryAfterMs: number | null,
  ) {
    super(`gateway answered ${httpStatus}`);
    this.name = 'GatewayUnavailableError';
  }
}

/** The gateway answered something that cannot be read: the charge may or may not have happened. */
export class GatewayMalformedReplyError extends Error {
  constructor() {
    super('gateway reply could not be read');
    this.name = 'GatewayMalformedReplyError';
  }
}

export type LookupReply = ChargeReply | { kind: 'not_found' };

export interface Gateway {
  /**
   * Charges a card. Resolves with an answer, or throws GatewayUnavailableError /
   * GatewayMalformedReplyError; when `signal` aborts, rejects with its reason.
   */
  charge(request: ChargeRequest, signal: AbortSignal): Promise<ChargeReply>;
  /** What the gateway did under a key, for reconciliation. */
  lookup(gatewayKey: string, signal: AbortSignal): Promise<LookupReply>;
}
