import type { CardErrorCode } from '../../../core/errors.js';

/** How the simulated gateway treats a card number (SPEC §2). */
export type TestCardBehaviour =
  | { kind: 'approve' }
  | { kind: 'decline'; code: CardErrorCode; declineCode: string }
  /** Answers `httpStatus` to the first call under a key (nothing charged), then approves. */
  | { kind: 'fail_once'; httpStatus: 500 | 503 | 429 }
  /** Answers 503 to every call; never charges. */
  | { kind: 'always_unavailable'; httpStatus: 503 }
  /** Charges on the first call but never answers it; a later call returns the approval. */
  | { kind: 'answer_late' }
  /** Charges, then never answers any call. */
  | { kind: 'never_answer' }
  /** Charges, then answers every call with something unreadable. */
  | { kind: 'malformed' };

const APPROVE: TestCardBehaviour = { kind: 'approve' };

function decline(code: CardErrorCode, declineCode: string): TestCardBehaviour {
  return { kind: 'decline', code, declineCode };
}

/** Every special number of SPEC §2. Unlisted Luhn-valid numbers approve. */
export const TEST_CARDS: ReadonlyMap<string, TestCardBehaviour> = new Map<string, TestCardBehaviour>([
  ['4242424242424242', APPROVE], // visa
  ['5555555555554444', APPROVE], // mastercard
  ['2223003122003222', APPROVE], // mastercard (2-series)
  ['378282246310005', APPROVE], // amex
  ['6011111111111117', APPROVE], // discover
  ['3566002020360505', APPROVE], // jcb
  ['36227206271667', APPROVE], // diners
  ['6200000000000005', APPROVE], // unionpay
  ['4000000000000002', decline('card_declined', 'generic_decline')],
  ['4000000000009995', decline('card_declined', 'insufficient_funds')],
  ['4000000000009987', decline('card_declined', 'lost_card')],
  ['4000000000009979', decline('card_declined', 'stolen_card')],
  ['4000000000000069', decline('expired_card', 'expired_card')],
  ['4000000000000127', decline('incorrect_cvc', 'incorrect_cvc')],
  ['4000000000000119', decline('processing_error', 'processing_error')],
  ['4100000000000019', decline('card_declined', 'fraudulent')],
  ['4000000005030004', { kind: 'fail_once', httpStatus: 503 }],
  ['4000000005039997', { kind: 'always_unavailable', httpStatus: 503 }],
  ['4000000004290005', { kind: 'fail_once', httpStatus: 429 }],
  ['4000000005000007', { kind: 'fail_once', httpStatus: 500 }],
  ['4000000004080000', { kind: 'answer_late' }],
  ['4000000004089993', { kind: 'never_answer' }],
  ['4000000005020005', { kind: 'malformed' }],
]);
