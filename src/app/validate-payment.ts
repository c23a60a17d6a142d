import { cardBrand, containsCardNumber, cvcLength } from '../core/card.js';
import { PaylogError } from '../core/errors.js';
import { normalizeCurrency } from '../core/money.js';
import type { PaymentRequest } from '../core/payment.js';

/**
 * Checks what the JSON schema cannot: the currency is real, the CVC fits the brand, and
 * no free-text field smuggles a card number into the records. Returns the request with
 * its currency normalized.
 */
export function validatePayment(request: PaymentRequest): PaymentRequest {
  const currency = normalizeCurrency(request.currency);
  if (!currency) {
    throw new PaylogError('parameter_invalid', { param: 'currency', message: `"currency" must be an ISO 4217 currency code in current use.` });
  }
  const card = request.paymentMethod.card;
  const expected = cvcLength(cardBrand(card.number));
  if (card.cvc.length !== expected) {
    throw new PaylogError('parameter_invalid', {
      param: 'paymentMethod.card.cvc',
      message: `"paymentMethod.card.cvc" must be ${expected} digits for this card.`,
    });
  }
  const texts: [string, string][] = [];
  if (request.description !== undefined) texts.push(['description', request.description]);
  if (request.merchantReference !== undefined) texts.push(['merchantReference', request.merchantReference]);
  for (const [key, value] of Object.entries(request.metadata ?? {})) {
    texts.push(['metadata', key], [`metadata.${key}`, value]);
  }
  for (const [param, text] of texts) {
    if (containsCardNumber(text)) {
      throw new PaylogError('parameter_invalid', { param, message: `"${param}" looks like it holds a card number; card data may only be sent in paymentMethod.card.` });
    }
  }
  return { ...request, currency };
}

/**
 * An Idempotency-Key is 1–255 printable ASCII characters. Its content is not judged: stores
 * keep only an HMAC of it, and records redact one that looks like a card number — refusing
 * such keys would reject a valid UUID now and then.
 */
export function validateIdempotencyKey(key: string): void {
  if (!/^[\x20-\x7e]{1,255}$/.test(key)) throw new PaylogError('idempotency_key_invalid', { param: 'Idempotency-Key' });
}
