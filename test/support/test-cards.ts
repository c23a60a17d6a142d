/**
 * The simulated gateway's declining test cards (docs/api.md#test-cards): number, error code and
 * decline code, as both the gateway's and the API's tests expect them.
 */
export const DECLINING_CARDS: readonly (readonly [number: string, code: string, declineCode: string])[] = [
  ['4000000000000002', 'card_declined', 'generic_decline'],
  ['4000000000009995', 'card_declined', 'insufficient_funds'],
  ['4000000000009987', 'card_declined', 'lost_card'],
  ['4000000000009979', 'card_declined', 'stolen_card'],
  ['4000000000000069', 'expired_card', 'expired_card'],
  ['4000000000000127', 'incorrect_cvc', 'incorrect_cvc'],
  ['4000000000000119', 'processing_error', 'processing_error'],
  ['4100000000000019', 'card_declined', 'fraudulent'],
];
