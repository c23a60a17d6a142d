import { cardBrand, cvcLength } from '../core/card.js';
import { PaylogError } from '../core/errors.js';
import { normalizeCurrency } from '../core/money.js';
import type { PaymentRequest } from '../core/payment.js';
import { containsCardNumber } from '../core/redact.js';

/** SPEC §1 metadata bounds, checked here again: the HTTP schema is not the only way in (Lambda, tests). */
/** The longest merchantReference a payment may carry, and so the longest worth looking for. */
export const MERCHANT_REFERENCE_CHARS_MAX = 128;
export const METADATA_KEYS_MAX = 50;
export const METADATA_KEY_CHARS_MAX = 40;
export const METADATA_VALUE_CHARS_MAX = 500;
/** Control characters and the Unicode line separators: a key holding one is refused, never skipped. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNPRINTABLE = /[\u0000-\u001f\u007f\u2028\u2029]/;

export const cardDataRefused = (param: string): PaylogError =>
  new PaylogError('parameter_invalid', { param, message: `"${param}" looks like it holds a card number; card data may only be sent in paymentMethod.card.` });

/**
 * Checks what the JSON schema cannot: the currency is real, the CVC fits the brand, and
 * no free-text field smuggles a card number into the records (the same detector that masks
 * every log line and record, src/core/redact.ts). Returns the request with its currency
 * normalized. A refusal names the field, never its value.
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
  if (request.description !== undefined && containsCardNumber(request.description)) throw cardDataRefused('description');
  if (request.merchantReference !== undefined && containsCardNumber(request.merchantReference)) throw cardDataRefused('merchantReference');
  if (request.metadata !== undefined) validateMetadata(request.metadata as unknown);
  return { ...request, currency };
}

/**
 * Every key and every value is checked, whatever the key holds: a key is named in `param`
 * only once it is known to be printable and free of card data.
 */
function validateMetadata(metadata: unknown): void {
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) {
    throw new PaylogError('parameter_invalid', { param: 'metadata', message: 'Invalid "metadata": must be object.' });
  }
  const entries = Object.entries(metadata);
  if (entries.length > METADATA_KEYS_MAX) {
    throw new PaylogError('parameter_invalid', { param: 'metadata', message: `"metadata" may hold at most ${METADATA_KEYS_MAX} keys.` });
  }
  for (const [key, value] of entries) {
    if (key.length < 1 || key.length > METADATA_KEY_CHARS_MAX || UNPRINTABLE.test(key)) {
      throw new PaylogError('parameter_invalid', {
        param: 'metadata', message: `Keys of "metadata" must be 1 to ${METADATA_KEY_CHARS_MAX} characters, without control characters.`,
      });
    }
    if (containsCardNumber(key)) throw cardDataRefused('metadata');
    const param = `metadata.${key}`;
    if (typeof value !== 'string') throw new PaylogError('parameter_invalid', { param, message: `Invalid "${param}": must be string.` });
    if (value.length > METADATA_VALUE_CHARS_MAX) {
      throw new PaylogError('parameter_invalid', { param, message: `Invalid "${param}": must NOT have more than ${METADATA_VALUE_CHARS_MAX} characters.` });
    }
    if (containsCardNumber(value)) throw cardDataRefused(param);
  }
}

/**
 * An Idempotency-Key is 1–255 printable ASCII characters. Its content is not judged: stores
 * keep only an HMAC of it, and records mask anything in it that could be a card number
 * (src/app/records.ts), as they do for every string a request brings.
 */
export function validateIdempotencyKey(key: string): void {
  if (!/^[\x20-\x7e]{1,255}$/.test(key)) throw new PaylogError('idempotency_key_invalid', { param: 'Idempotency-Key' });
}
